/**
 * The app's view of the contract. Event shapes come from the generated events.ts (Python's
 * events.py); API payloads from the generated api.ts (the server's OpenAPI schema).
 */
import type { KartShoppeEvent, Recommendation as RecommendationEvent } from "../generated/events";
import type { components } from "../generated/api";

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
export type Analytics = Schemas["AnalyticsOut"];
export type Category = Schemas["CategoryOut"];
export type ProductPage = Schemas["ProductPage"];
export type LaunchProduct = Schemas["LaunchBody"];
/** A signed-in user: the answer of POST /auth/login or /auth/register. */
export type AuthSession = Schemas["TokenOut"];
export type Recommendation = RecommendationEvent;
export type AnyEvent = KartShoppeEvent;

export const ORDER_STATUSES = ["PLACED", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"] as const;

export interface InventoryLevel {
  productId: string;
  stock: number;
  reserved: number;
  available: number;
  lowStock: boolean;
  soldOut: boolean;
}

/** Server-to-client WebSocket messages (docs/API.md). */
export type ServerMessage =
  | { type: "CONNECTED"; sessionId: string; userId: string }
  | { type: "CART_UPDATED"; cart: Cart }
  | { type: "PRODUCT_UPDATED"; product: Product; change: string }
  | ({ type: "INVENTORY_UPDATED" } & InventoryLevel)
  | { type: "ORDER_UPDATED"; order: Order }
  | { type: "RECOMMENDATION"; recommendation: Recommendation }
  | { type: "ANALYTICS"; analytics: Analytics }
  | { type: "EVENT"; event: AnyEvent }
  | { type: "CART_REMINDER"; cart: Cart; offer: string; couponCode?: string }
  | { type: "ERROR"; error: string; message: string }
  | { type: "PONG" };

export type Channel = "analytics" | "events";

/** Client-to-server WebSocket messages. */
export type ClientMessage =
  | { type: "ADD_TO_CART"; productId: string; quantity: number }
  | { type: "REMOVE_FROM_CART"; productId: string }
  | { type: "UPDATE_QUANTITY"; productId: string; quantity: number }
  | { type: "TRACK"; event: AnyEvent }
  | { type: "SUBSCRIBE"; channel: Channel }
  | { type: "UNSUBSCRIBE"; channel: Channel }
  | { type: "PING" };

export type TrackingEvent = Extract<
  AnyEvent,
  { eventType?: "PAGE_VIEW" | "PRODUCT_VIEW" | "PRODUCT_CLICK" | "SEARCH" }
>;
