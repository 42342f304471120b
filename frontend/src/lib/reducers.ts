/** Pure state transitions for what the server pushes: products, stock, carts, recommendations, orders, analytics history. */
import type { Analytics, Cart, InventoryLevel, Order, Product, Recommendation } from "./types";

export interface LiveProduct {
  product?: Product;
  inventory?: InventoryLevel;
}

export type LiveProducts = Readonly<Record<string, LiveProduct>>;

export function applyProductUpdate(state: LiveProducts, product: Product): LiveProducts {
  const previous = state[product.id];
  // a product push carries the catalog view; a newer inventory push still wins for stock
  return { ...state, [product.id]: { ...previous, product } };
}

/**
 * A product fetched again (after a reconnect): fresher than the pushes that came before it was
 * asked for, stock included, but not than a push that came while it was on its way.
 */
export function applyRefetched(
  state: LiveProducts,
  product: Product,
  pushedMeanwhile: { product: boolean; inventory: boolean },
): LiveProducts {
  if (pushedMeanwhile.product) return state;
  const kept = pushedMeanwhile.inventory ? state[product.id]?.inventory : undefined;
  return { ...state, [product.id]: kept ? { product, inventory: kept } : { product } };
}

export function applyInventoryUpdate(state: LiveProducts, level: InventoryLevel): LiveProducts {
  const previous = state[level.productId];
  return { ...state, [level.productId]: { ...previous, inventory: level } };
}

/** A product as last known: the fetched copy, overlaid with pushed catalog and stock changes. */
export function mergeLive(base: Product, live: LiveProduct | undefined): Product {
  if (!live) return base;
  const product = live.product ?? base;
  if (!live.inventory) return product;
  return { ...product, stock: live.inventory.stock, available: live.inventory.available };
}

/** Inserts or replaces an order, keeping the newest first. */
export function upsertOrder(orders: readonly Order[], order: Order): Order[] {
  const rest = orders.filter((o) => o.orderId !== order.orderId);
  return [order, ...rest].sort((a, b) => b.createdAt - a.createdAt);
}

export interface AnalyticsPoint {
  at: number;
  eventsPerSecond: number;
  liveUsers: number;
  revenue: number;
}

export function appendAnalytics(
  history: readonly AnalyticsPoint[],
  analytics: Analytics,
  max = 120,
): AnalyticsPoint[] {
  const point: AnalyticsPoint = {
    at: analytics.updatedAt,
    eventsPerSecond: analytics.eventsPerSecond,
    liveUsers: analytics.liveUsers,
    revenue: analytics.revenue,
  };
  const last = history[history.length - 1];
  const next = last && last.at === point.at ? [...history.slice(0, -1), point] : [...history, point];
  return next.slice(-max);
}

/** Keeps the newer of two carts, so a late REST answer cannot undo a fresher push. */
export function newerCart(current: Cart | null | undefined, next: Cart): Cart {
  if (!current || current.cartId !== next.cartId) return next;
  return next.updatedAt >= current.updatedAt ? next : current;
}

/**
 * The orders as last known: an answer's list, where a copy pushed meanwhile is newer (a status
 * change) and an order pushed meanwhile is missing from it (placed after it was read).
 */
export function newerOrders(current: readonly Order[] | undefined, next: Order[]): Order[] {
  if (!current) return next;
  const known = new Map(current.map((o) => [o.orderId, o]));
  const answered = new Set(next.map((o) => o.orderId));
  const newest = Math.max(...next.map((o) => o.createdAt));
  let merged = next.map((o) => {
    const pushed = known.get(o.orderId);
    return pushed && pushed.updatedAt > o.updatedAt ? pushed : o;
  });
  for (const order of current) {
    if (!answered.has(order.orderId) && order.createdAt > newest) merged = upsertOrder(merged, order);
  }
  return merged;
}

/** Merges pushed or fetched recommendations into the list: one per id, newest first, at most `max`. */
export function mergeRecommendations(
  current: readonly Recommendation[],
  incoming: readonly Recommendation[],
  max = 10,
): Recommendation[] {
  const byId = new Map<string, Recommendation>();
  for (const rec of [...incoming, ...current]) {
    const key = rec.eventId ?? `${rec.kind ?? ""}:${rec.productIds.join(",")}`;
    if (!byId.has(key)) byId.set(key, rec);
  }
  return [...byId.values()].sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0)).slice(0, max);
}
