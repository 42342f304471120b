/**
 * The app's view of the contract. Event shapes come from the generated events.ts (Python's
 * events.py); API payloads from the generated api.ts (the server's OpenAPI schema); WebSocket
 * messages from the generated socket.ts (Python's api/messages.py).
 */
import type { KartShoppeEvent, Recommendation as RecommendationEvent } from "../generated/events";
import type { components } from "../generated/api";
import type {
  Channel as SocketChannel,
  Client,
  InventoryAlert as InventoryAlertEvent,
  InventoryUpdated,
  Server,
  WishlistAlertPushed,
} from "../generated/socket";

type Schemas = components["schemas"];

export type Product = Schemas["ProductOut"];
export type Cart = Schemas["CartOut"];
export type CartLine = Cart["lines"][number];
export type Order = Schemas["OrderOut"];
export type Quote = Schemas["QuoteOut"];
export type QuoteRequest = Schemas["QuoteBody"];
export type Address = Schemas["Address"];
export type Delivery = Schemas["Delivery"];
export type Card = Schemas["CardBody"];
export type Coupon = Schemas["CouponOut"];
export type NewCoupon = Schemas["CouponBody"];
export type OutboxMessage = Schemas["OutboxMessage"];
export type OrderStatus = Order["status"];
export type Analytics = Schemas["Analytics"];
export type Category = Schemas["CategoryOut"];
export type ProductPage = Schemas["ProductPage"];
export type Facets = Schemas["Facets"];
export type Suggestions = Schemas["Suggestions"];
export type LaunchProduct = Schemas["LaunchBody"];
/** The operator's edit of a product (PATCH /admin/products/{id}): only what is given changes. */
export type ProductEdit = Schemas["ProductEditBody"];
/** The dashboard's history of one window, from the event store (GET /store/series). */
export type Series = Schemas["SeriesOut"];
export type SeriesPoint = Series["points"][number];
export type SeriesWindow = "15m" | "1h" | "6h" | "24h" | "7d";
/** Who is signed in, with name and e-mail (GET /auth/me). */
export type Me = Schemas["MeOut"];
/** An `INVENTORY_ALERT` pushed on the `inventory` channel. */
export type InventoryAlert = InventoryAlertEvent;
/** A signed-in user: the answer of POST /auth/login or /auth/register. */
export type AuthSession = Schemas["TokenOut"];
export type Review = Schemas["ReviewOut"];
export type ReviewPage = Schemas["ReviewPage"];
export type NewReview = Schemas["ReviewBody"];
export type Related = Schemas["RelatedOut"];
export type Wishlist = Schemas["WishlistOut"];
export type Spec = Schemas["Spec"];
export type Recommendation = RecommendationEvent;
export type AnyEvent = KartShoppeEvent;

export const ORDER_STATUSES = ["PLACED", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"] as const;

/** A product's stock as pushed by `INVENTORY_UPDATED`. */
export type InventoryLevel = Omit<InventoryUpdated, "type">;

/** Server-to-client WebSocket messages (docs/API.md). */
export type ServerMessage = Server;

export type Channel = SocketChannel;

/** Client-to-server WebSocket messages. */
export type ClientMessage = Client;

export type TrackingEvent = Extract<
  AnyEvent,
  { eventType?: "PAGE_VIEW" | "PRODUCT_VIEW" | "PRODUCT_CLICK" | "SEARCH" }
>;

/** A product on the shopper's wishlist got cheaper or came back in stock (`WISHLIST_ALERT`). */
export type WishlistAlertMessage = Omit<WishlistAlertPushed, "type">;
