/** Pure state transitions for what the server pushes: products, stock, orders, analytics history. */
import type { Analytics, InventoryLevel, Order, Product } from "./types";

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

export function secondsLeft(endsAt: number, now: number): number {
  return Math.max(0, Math.floor((endsAt - now) / 1000));
}

export function formatCountdown(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

export function formatMoney(value: number): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(value);
}
