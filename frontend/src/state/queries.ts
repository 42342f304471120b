/**
 * Server state through TanStack Query: the client's defaults, and one key and loader per REST read,
 * so pages that show the same data share one cache entry and one request.
 */
import { QueryClient, queryOptions } from "@tanstack/react-query";
import { api, type StoreKey } from "../lib/api";
import { newerOrders } from "../lib/reducers";
import { historyEvents, snapshotList } from "../lib/store";
import type { Order, Product, SeriesWindow } from "../lib/types";

/** The shopper a per-shopper answer (cart, orders, recommendations) belongs to. */
export interface Owner {
  sessionId: string;
  userId: string | null;
}

export function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      // errors are shown at once with a retry button; pushes and the reconnect resync keep data fresh
      queries: { retry: false, refetchOnWindowFocus: false },
      mutations: { retry: false },
    },
  });
}

export const keys = {
  /** Everything that belongs to one shopper: dropped whole on sign-in and sign-out. */
  shopper: ["shopper"] as const,
  cart: (o: Owner) => ["shopper", o.sessionId, o.userId, "cart"] as const,
  recommendations: (o: Owner) => ["shopper", o.sessionId, o.userId, "recommendations"] as const,
  orders: (o: Owner) => ["shopper", o.sessionId, o.userId, "orders"] as const,
  wishlist: (o: Owner) => ["shopper", o.sessionId, o.userId, "wishlist"] as const,
  reviews: (productId: string) => ["reviews", productId] as const,
};

export const productQuery = (id: string) => queryOptions({ queryKey: ["product", id], queryFn: () => api.product(id) });

export const relatedQuery = (id: string) =>
  queryOptions({ queryKey: ["related", id], queryFn: () => api.related(id) });

export const categoriesQuery = () => queryOptions({ queryKey: ["categories"], queryFn: () => api.categories() });

export type ProductSearch = Parameters<typeof api.products>[0];

export const productSearchQuery = (search: ProductSearch) =>
  queryOptions({
    queryKey: ["products", search],
    queryFn: () => api.products(search),
    // no placeholder: results of the previous filter must never show under a new one
  });

export const suggestQuery = (q: string) =>
  queryOptions({ queryKey: ["suggest", q], queryFn: () => api.suggest(q), staleTime: 30_000 });

export const featuredQuery = (limit: number) =>
  queryOptions({ queryKey: ["products", "featured", limit], queryFn: () => api.featured(limit) });

export const trendingQuery = (limit: number) =>
  queryOptions({ queryKey: ["products", "trending", limit], queryFn: () => api.trending(limit) });

/** The products of a recommendation; ones that no longer exist are left out. */
export const productsByIdQuery = (ids: readonly string[]) =>
  queryOptions({
    queryKey: ["products", "byId", ids],
    queryFn: async (): Promise<Product[]> => {
      const settled = await Promise.allSettled(ids.map((id) => api.product(id)));
      return settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    },
  });

export const ordersQuery = (owner: Owner) =>
  queryOptions({
    queryKey: keys.orders(owner),
    queryFn: () => api.orders(owner.sessionId, owner.userId),
    // ORDER_UPDATED pushes keep the list fresh; a late REST answer must not undo one
    structuralSharing: (old: unknown, next: unknown) => newerOrders(old as Order[] | undefined, next as Order[]),
  });

export const analyticsQuery = () => queryOptions({ queryKey: ["analytics"], queryFn: () => api.analytics() });

/** The dashboard's stored history; read again every few seconds as the store takes in new events. */
export const seriesQuery = (window: SeriesWindow) =>
  queryOptions({
    queryKey: ["eventStore", "series", window],
    queryFn: () => api.series(window),
    refetchInterval: 5000,
  });

export const meQuery = (userId: string) => queryOptions({ queryKey: ["me", userId], queryFn: () => api.me() });

export const adminProductsQuery = () => queryOptions({ queryKey: ["admin", "products"], queryFn: () => api.adminProducts() });

export const storeHistoryQuery = (key: StoreKey, value: string) =>
  queryOptions({
    queryKey: ["eventStore", "history", key, value],
    queryFn: async () => historyEvents(await api.storeHistory(key, value)),
  });

export const storeSnapshotsQuery = () =>
  queryOptions({ queryKey: ["eventStore", "snapshots"], queryFn: async () => snapshotList(await api.storeSnapshots()) });

export const storeStateQuery = (kind: "product" | "cart", id: string, snapshotId: string) =>
  queryOptions({
    queryKey: ["eventStore", "state", kind, id, snapshotId],
    queryFn: () => api.storeState(kind, id, snapshotId || null),
  });
