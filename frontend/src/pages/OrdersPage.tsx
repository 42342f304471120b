/** The shopper's orders, newest first, with status following ORDER_UPDATED pushes. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { usePageTitle } from "../components/page";
import { useNow } from "../components/Price";
import { LinesSkeleton } from "../components/Skeleton";
import { Empty, ErrorState } from "../components/States";
import { countOf, formatDeadline, formatMoment, formatMoney } from "../lib/format";
import type { Order, OrderStatus } from "../lib/types";
import { ordersQuery } from "../state/queries";
import { useIdentity } from "../state/shop";

const STATUS_STYLE: Record<OrderStatus, string> = {
  PLACED: "bg-amber-100 text-amber-800",
  PAID: "bg-sky-100 text-sky-800",
  SHIPPED: "bg-indigo-100 text-indigo-800",
  DELIVERED: "bg-emerald-100 text-emerald-800",
  CANCELLED: "bg-slate-200 text-slate-700",
};

/** An order's state in a shopper's words. */
const STATUS_TEXT: Record<OrderStatus, string> = {
  PLACED: "Awaiting payment",
  PAID: "Paid",
  SHIPPED: "Shipped",
  DELIVERED: "Delivered",
  CANCELLED: "Cancelled",
};

/** What happened at a step of an order's history. */
export const STEP_TEXT: Record<OrderStatus, string> = { ...STATUS_TEXT, PLACED: "Placed" };

export function StatusBadge({ status }: { status: OrderStatus }) {
  return <span className={`rounded px-2 py-0.5 text-xs font-semibold ${STATUS_STYLE[status]}`} data-testid="order-status" data-status={status}>{STATUS_TEXT[status]}</span>;
}

/** "by 6:45 PM": until when an unpaid order holds its items; null for one placed before the shop told. */
export function payBy(order: Order, now: number): string | null {
  return order.payBy === null ? null : `by ${formatDeadline(order.payBy, now)}`;
}

export function OrdersPage() {
  const { sessionId, userId } = useIdentity();
  const now = useNow(60_000);
  // ORDER_UPDATED pushes and the reconnect resync update this cache entry (state/shopStores.ts)
  const loaded = useQuery(ordersQuery({ sessionId, userId }));

  usePageTitle("Your orders");
  const orders = loaded.data;
  return (
    <div>
      <h1 className="mb-4 text-2xl font-bold">Your orders</h1>
      {loaded.isPending ? <LinesSkeleton label="Loading orders…" /> : null}
      {loaded.error ? <ErrorState error={loaded.error} onRetry={() => void loaded.refetch()} /> : null}
      {!orders ? null : orders.length === 0 ? (
        <Empty title="No orders yet"><Link to="/catalog" className="text-indigo-700 underline">Start shopping</Link></Empty>
      ) : (
        <ul className="space-y-3">
          {orders.map((o) => (
            <li key={o.orderId} className="rounded-lg border border-slate-200 bg-white p-4" data-testid="order" data-order-id={o.orderId}>
              <div className="flex flex-wrap items-center justify-between gap-2">
                <Link to={`/orders/${o.orderId}`} className="min-w-0 break-all font-medium text-indigo-700 underline">Order {o.reference}</Link>
                <StatusBadge status={o.status} />
              </div>
              <p className="mt-1 text-sm text-slate-600">
                {formatMoment(o.createdAt)} · {countOf(o.lines.reduce((n, l) => n + l.quantity, 0), "item")} · <strong data-testid="order-total">{formatMoney(o.total)}</strong>
              </p>
              <ul className="mt-2 text-sm">
                {o.lines.map((l) => <li key={l.productId}>{l.quantity} × {l.name || l.productId}</li>)}
              </ul>
              {o.status === "PLACED" ? <Link to={`/orders/${o.orderId}`} className="mt-2 inline-block rounded bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-2" aria-label={`Pay for order ${o.reference} ${payBy(o, now) ?? "now"}`}>Pay {payBy(o, now) ?? "now"}</Link> : null}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
