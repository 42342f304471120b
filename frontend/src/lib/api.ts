/** Typed calls to the REST API under `/api/ecommerce` (docs/API.md); 4xx answers become ApiError. */
import type {
  Analytics,
  AuthSession,
  Card,
  Cart,
  Category,
  Coupon,
  NewCoupon,
  OutboxMessage,
  Quote,
  QuoteRequest,
  LaunchProduct,
  Me,
  Order,
  OrderStatus,
  Product,
  ProductEdit,
  ProductPage,
  Recommendation,
  Suggestions,
  Series,
  SeriesWindow,
  NewReview,
  Related,
  ReviewPage,
  Review,
  TrackingEvent,
  Wishlist,
} from "./types";

export const API_BASE = "/api/ecommerce";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The request field the server named as the culprit, when it named one. */
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** What a person reads when nothing more specific can be said. */
export const TRY_AGAIN = "Something went wrong. Please try again.";
const UNREACHABLE = "The shop cannot be reached just now. Check your connection and try again.";

/** The sentence to show for a failure: the server's `message` as it wrote it, else `fallback`. */
export function errorMessage(err: unknown, fallback = TRY_AGAIN): string {
  return err instanceof Error && err.message ? err.message : fallback;
}

let authToken: string | null = null;

/** The Bearer token sent with every call from now on (null when signed out). */
export function setAuthToken(token: string | null): void {
  authToken = token;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (authToken) headers.Authorization = `Bearer ${authToken}`;
  const init: RequestInit = { method, headers };
  if (body instanceof Blob) {
    // a file is sent as it is, its own type saying what it is (an image upload)
    init.body = body;
    headers["Content-Type"] = body.type || "application/octet-stream";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  let res: Response;
  try {
    res = await fetch(`${API_BASE}${path}`, init);
  } catch {
    // the browser's own words ("Failed to fetch") tell a shopper nothing
    throw new ApiError(0, "unreachable", UNREACHABLE);
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = (data ?? {}) as { error?: string; message?: string; detail?: string; details?: { field?: string }[] };
    throw new ApiError(
      res.status,
      err.error ?? `http_${res.status}`,
      err.message ?? err.detail ?? (res.status >= 500 ? `The shop could not do that just now (error ${res.status}). Please try again.` : TRY_AGAIN),
      err.details?.[0]?.field ?? null,
    );
  }
  return data as T;
}

/** How a shopper reaches an order: the session an anonymous order was placed from, or the
 * order's key from the link in its e-mails (on any device, signed in or not). */
export interface OrderAccess {
  sessionId: string;
  key?: string | null;
}

function orderQuery({ sessionId, key }: OrderAccess): string {
  return query({ sessionId, key });
}

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

const enc = encodeURIComponent;

export interface ProductQuery {
  category?: string;
  q?: string;
  sort?: string;
  page?: number;
  pageSize?: number;
  brand?: string;
  minPrice?: string;
  maxPrice?: string;
  minRating?: string;
  inStock?: string;
  onSale?: string;
}

export const api = {
  products: (p: ProductQuery) => request<ProductPage>("GET", `/products${query({ ...p })}`),
  featured: (limit = 8) => request<Product[]>("GET", `/products/featured${query({ limit })}`),
  trending: (limit = 8) => request<Product[]>("GET", `/products/trending${query({ limit })}`),
  categories: () => request<Category[]>("GET", "/categories"),
  suggest: (q: string, limit = 6) => request<Suggestions>("GET", `/products/suggest${query({ q, limit })}`),
  product: (id: string) => request<Product>("GET", `/product/${enc(id)}`),
  reviews: (id: string, page = 1, pageSize = 5) =>
    request<ReviewPage>("GET", `/product/${enc(id)}/reviews${query({ page, pageSize })}`),
  postReview: (id: string, review: NewReview) => request<Review>("POST", `/product/${enc(id)}/reviews`, review),
  related: (id: string) => request<Related>("GET", `/product/${enc(id)}/related`),
  wishlist: () => request<Wishlist>("GET", "/wishlist"),
  wish: (id: string) => request<Wishlist>("PUT", `/wishlist/${enc(id)}`),
  unwish: (id: string) => request<Wishlist>("DELETE", `/wishlist/${enc(id)}`),

  cart: (sessionId: string, userId: string | null) =>
    request<Cart>("GET", `/cart/${enc(sessionId)}${query({ userId })}`),
  addToCart: (sessionId: string, userId: string | null, productId: string, quantity: number) =>
    request<Cart>("POST", `/cart/${enc(sessionId)}/add`, withUser({ productId, quantity }, userId)),
  removeFromCart: (sessionId: string, userId: string | null, productId: string) =>
    request<Cart>("POST", `/cart/${enc(sessionId)}/remove`, withUser({ productId }, userId)),
  updateQuantity: (sessionId: string, userId: string | null, productId: string, quantity: number) =>
    request<Cart>("POST", `/cart/${enc(sessionId)}/update`, withUser({ productId, quantity }, userId)),
  clearCart: (sessionId: string, userId: string | null) =>
    request<Cart>("POST", `/cart/${enc(sessionId)}/clear`, withUser({}, userId)),
  mergeCart: (sessionId: string, userId: string) =>
    request<Cart>("POST", `/cart/${enc(sessionId)}/merge`, { userId }),

  quote: (details: QuoteRequest) => request<Quote>("POST", "/checkout/quote", details),
  checkout: (details: QuoteRequest, idempotencyKey: string, expectedTotal: number) =>
    request<Order>("POST", "/checkout", { ...details, idempotencyKey, expectedTotal }),
  pay: (orderId: string, access: OrderAccess, card: Card, amount: number) =>
    request<Order>("POST", `/orders/${enc(orderId)}/pay${orderQuery(access)}`, { card, amount }),
  cancelOrder: (orderId: string, access: OrderAccess) =>
    request<Order>("POST", `/orders/${enc(orderId)}/cancel${orderQuery(access)}`, {}),
  order: (orderId: string, access: OrderAccess) =>
    request<Order>("GET", `/orders/${enc(orderId)}${orderQuery(access)}`),
  orders: (sessionId: string, userId: string | null) =>
    request<Order[]>("GET", `/orders${userId ? query({ userId }) : query({ sessionId })}`),

  track: async (events: TrackingEvent[]) => {
    await request<unknown>("POST", "/events", events);
  },

  login: (email: string, password: string) => request<AuthSession>("POST", "/auth/login", { email, password }),
  register: (email: string, password: string, name: string) =>
    request<AuthSession>("POST", "/auth/register", { email, password, name }),

  analytics: () => request<Analytics>("GET", "/analytics"),
  recommendations: (sessionId: string, userId: string | null) =>
    request<Recommendation[]>("GET", `/recommendations/${enc(sessionId)}${query({ userId })}`),

  launchProduct: (product: LaunchProduct) => request<Product>("POST", "/admin/products", product),
  setPrice: (id: string, price: number) => request<Product>("POST", `/admin/products/${enc(id)}/price`, { price }),
  uploadProductImage: (id: string, image: Blob) => request<Product>("POST", `/admin/products/${enc(id)}/image`, image),
  removeProductImage: (id: string) => request<Product>("DELETE", `/admin/products/${enc(id)}/image`),
  restock: (id: string, quantity: number) =>
    request<Product>("POST", `/admin/products/${enc(id)}/restock`, { quantity }),
  startFlashSale: (id: string, discountPercent: number, durationSeconds: number) =>
    request<Product>("POST", `/admin/products/${enc(id)}/flash-sale`, { discountPercent, durationSeconds }),
  endFlashSale: (id: string) => request<Product>("DELETE", `/admin/products/${enc(id)}/flash-sale`),
  allOrders: (status: OrderStatus | null) => request<Order[]>("GET", `/admin/orders${query({ status })}`),
  /** The orders `typed` names: an order id, or a reference a shopper quotes (the server's rule). */
  ordersNamed: (typed: string) => request<Order[]>("GET", `/admin/orders${query({ named: typed })}`),
  coupons: () => request<Coupon[]>("GET", "/admin/coupons"),
  createCoupon: (coupon: NewCoupon) => request<Coupon>("POST", "/admin/coupons", coupon),
  outbox: () => request<OutboxMessage[]>("GET", "/admin/outbox"),
  /** `trackingNumber`: the parcel's, with SHIPPED only. */
  setOrderStatus: (orderId: string, status: OrderStatus, trackingNumber?: string) =>
    request<Order>("POST", `/admin/orders/${enc(orderId)}/status`, { status, ...(trackingNumber ? { trackingNumber } : {}) }),

  me: () => request<Me>("GET", "/auth/me"),
  changePassword: (currentPassword: string, newPassword: string) =>
    request<null>("POST", "/auth/password", { currentPassword, newPassword }),
  askPasswordReset: (email: string) => request<{ message: string }>("POST", "/auth/password-reset", { email }),
  resetPassword: (token: string, newPassword: string) =>
    request<null>("POST", "/auth/password-reset/confirm", { token, newPassword }),
  adminProducts: () => request<Product[]>("GET", "/admin/products"),
  editProduct: (id: string, edit: ProductEdit) => request<Product>("PATCH", `/admin/products/${enc(id)}`, edit),
  retireProduct: (id: string) => request<null>("DELETE", `/admin/products/${enc(id)}`),
  series: (window: SeriesWindow) => request<Series>("GET", `/store/series${query({ window })}`),

  storeHistory: (key: StoreKey, value: string) =>
    request<unknown>("GET", `/store/history${query({ [key]: value })}`),
  storeSnapshots: () => request<unknown>("GET", "/store/snapshots"),
  storeState: (kind: "cart" | "product", id: string, snapshotId: string | null) =>
    request<unknown>("GET", `/store/state/${kind}/${enc(id)}${query({ snapshotId })}`),
};

export type StoreKey = "productId" | "sessionId" | "userId" | "orderId";

function withUser<T extends object>(body: T, userId: string | null): T & { userId?: string } {
  return userId ? { ...body, userId } : body;
}

/** Tracking batches: a 4xx means the server rejected (and dead-lettered) them, so no retry. */
export async function sendTrackingBatch(events: TrackingEvent[]): Promise<void> {
  try {
    await api.track(events);
  } catch (err) {
    if (err instanceof ApiError && err.status < 500) return;
    throw err;
  }
}
