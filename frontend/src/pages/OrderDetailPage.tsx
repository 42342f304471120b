/**
 * One order: status timeline, lines, address, delivery, payments and the bill line by line; the
 * shopper pays a placed order here (after a declined card, or coming back later while its
 * reservation holds) and cancels it before it ships. `OrderSummary` is the one bill shown by the checkout,
 * the confirmation and this page, so all three show the same figures.
 */
import { useEffect, useState, type FormEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { CardFields, NO_CARD, problemOfCommand } from "../components/FormFields";
import { usePageTitle } from "../components/page";
import { useNow } from "../components/Price";
import { LinesSkeleton } from "../components/Skeleton";
import { ErrorState } from "../components/States";
import { api, errorMessage, type OrderAccess } from "../lib/api";
import { formatCalendarDate, formatMoment, formatMoney } from "../lib/format";
import type { Card, Order, Quote } from "../lib/types";

type Payment = Order["payments"][number];
import { useQuery } from "@tanstack/react-query";
import { useIdentity, useSocket } from "../state/shop";
import { useCartActions } from "../state/useCartActions";
import { useCommand } from "../state/useCommand";
import { payBy, StatusBadge, STEP_TEXT } from "./OrdersPage";

/** The bill. `taxToCome`: the quote was made without a shipping address, so its tax (which
 * the destination sets) is not known yet and its total is before tax. */
export function OrderSummary({ order, taxToCome = false }: { order: Order | Quote; taxToCome?: boolean }) {
  const rows: [string, number, string][] = [
    ["Subtotal", order.subtotal, "subtotal"],
    [`Discount${order.couponCode ? ` (${order.couponCode})` : ""}`, -order.discount, "discount"],
    ["Shipping", order.shipping, "shipping"],
    ["Tax", order.tax, "tax"],
  ];
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="mb-2 text-lg font-semibold">Summary</h2>
      <ul className="space-y-1 text-sm">
        {order.lines.map((l) => (
          <li key={l.productId} className="flex justify-between gap-2" data-testid="summary-line">
            <span className="min-w-0 break-words">{l.quantity} × {l.name || l.productId} <span className="text-slate-500">@ {formatMoney(l.unitPrice)}</span></span>
            <span>{formatMoney(l.lineTotal)}</span>
          </li>
        ))}
      </ul>
      <dl className="mt-3 space-y-1 border-t pt-2 text-sm">
        {rows.filter(([, value, key]) => value !== 0 || key !== "discount").map(([label, value, key]) => (
          <div key={key} className="flex justify-between gap-2">
            <dt>{label}</dt>
            <dd data-testid={`summary-${key}`} className={key === "tax" && taxToCome ? "text-right text-slate-500" : undefined}>{key === "tax" && taxToCome ? "from the shipping address" : formatMoney(value)}</dd>
          </div>
        ))}
        <div className="flex justify-between border-t pt-1 text-base font-bold"><dt>{taxToCome ? "Total before tax" : "Total"}</dt><dd data-testid="summary-total">{formatMoney(order.total)}</dd></div>
      </dl>
    </div>
  );
}

/** A payment in a shopper's words: "Paid $96.00 with card •••• 4242", "Card •••• 0002 declined
 * (insufficient funds)", "Refunded $96.00". */
export function paymentLine(p: Payment): string {
  const card = p.cardLast4 ? `card •••• ${p.cardLast4}` : "";
  switch (p.kind) {
    case "CAPTURED":
      return `Paid ${formatMoney(p.amount)}${card ? ` with ${card}` : ""}`;
    case "DECLINED":
      return `${card ? `Card •••• ${p.cardLast4}` : "A card"} declined${p.reason ? ` (${p.reason})` : ""}`;
    default:
      return `Refunded ${formatMoney(p.amount)}`;
  }
}

/** The card form of an order placed and not yet paid; charges the order's total. */
function PayOrder({ order, access, onPaid }: { order: Order; access: OrderAccess; onPaid: (order: Order) => void }) {
  const [card, setCard] = useState(NO_CARD);
  const now = useNow(60_000);
  const pay = useCommand((paidWith: Card) => api.pay(order.orderId, access, paidWith, order.total), { onSuccess: onPaid });
  const problem = problemOfCommand(pay);
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    pay.run(card);
  };
  return (
    <form onSubmit={submit} className="mt-3 space-y-3" aria-label="Pay for this order" data-testid="pay-order">
      <p className="text-sm text-slate-700" data-testid="pay-by">This order waits for payment. Pay {payBy(order, now) ?? "soon"}: an order not paid in time is cancelled and its items go back on sale.</p>
      <CardFields card={card} onChange={setCard} problem={problem} />
      {problem ? <div className="rounded border border-red-300 bg-red-50 p-3 text-sm text-red-800" role="alert">{problem.message}</div> : null}
      <button type="submit" disabled={pay.busy} className="w-full rounded bg-indigo-600 px-4 py-3 font-medium text-white hover:bg-indigo-700 disabled:bg-slate-400">
        {pay.busy ? "Paying…" : `Pay ${formatMoney(order.total)}`}
      </button>
    </form>
  );
}

/** The order's lines into the cart again, at today's prices; the cart opens on them. */
function BuyAgain({ order }: { order: Order }) {
  const cart = useCartActions();
  return (
    <div className="space-y-1">
      <button type="button" disabled={cart.busy} onClick={() => cart.addAll(order.lines)} className="rounded bg-indigo-600 px-4 py-2 font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 disabled:bg-slate-400">
        {cart.busy ? "Adding to your cart…" : "Buy again"}
      </button>
      {cart.error ? <p role="alert" className="text-sm text-red-700">{cart.error}</p> : null}
    </div>
  );
}

export function OrderDetailPage() {
  const { orderId = "" } = useParams();
  const { sessionId } = useIdentity();
  const client = useSocket();
  // the link in an order's e-mails carries its key, which opens it on any device
  const key = useSearchParams()[0].get("key");
  const access: OrderAccess = { sessionId, key };
  const loaded = useQuery({ queryKey: ["order", orderId, sessionId, key], queryFn: () => api.order(orderId, access) });
  // a push or the shopper's own cancellation is newer than the loaded order
  const [latest, setOrder] = useState<Order | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const order = latest ?? loaded.data ?? null;

  useEffect(() => client.on("ORDER_UPDATED", (msg) => {
    if (msg.order.orderId === orderId) setOrder(msg.order);
  }), [client, orderId]);

  usePageTitle(order ? `Order ${order.reference}` : "Order");

  if (loaded.error) return <ErrorState error={loaded.error} onRetry={() => void loaded.refetch()} />;
  if (!order) return <LinesSkeleton label="Loading order…" />;
  const cancel = async () => {
    setProblem(null);
    try {
      setOrder(await api.cancelOrder(order.orderId, access));
    } catch (err) {
      setProblem(errorMessage(err, "The order could not be cancelled. Please try again."));
    }
  };
  const cancellable = order.status === "PLACED" || order.status === "PAID";
  return (
    <div className="mx-auto max-w-3xl space-y-4" data-testid="order-detail">
      <Link to="/orders" className="text-sm text-indigo-700 underline">← Your orders</Link>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="min-w-0 break-all text-2xl font-bold">Order {order.reference}</h1>
        <StatusBadge status={order.status} />
      </div>
      {order.lapsed ? <p className="rounded border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" data-testid="lapsed">The shop cancelled this order because it was not paid in time. Nothing was charged, and its items went back on sale.</p> : null}
      <ol className="flex flex-wrap gap-3 text-sm" aria-label="Status timeline">
        {order.history.map((h) => (
          <li key={`${h.status}-${h.timestamp}`} className="rounded bg-slate-100 px-2 py-1"><strong>{STEP_TEXT[h.status]}</strong> {formatMoment(h.timestamp)}</li>
        ))}
      </ol>
      <OrderSummary order={order} />
      <div className="grid gap-4 sm:grid-cols-2">
        {order.shipTo ? (
          <section className="rounded-lg border border-slate-200 bg-white p-4 text-sm">
            <h2 className="mb-1 font-semibold">Ship to</h2>
            <address className="not-italic" data-testid="ship-to">{order.shipTo.map((line, i) => <span key={i} className="block">{line}</span>)}</address>
            {order.email ? <p className="mt-1 break-all text-slate-600">{order.email}</p> : null}
          </section>
        ) : null}
        {order.delivery ? (
          <section className="rounded-lg border border-slate-200 bg-white p-4 text-sm">
            <h2 className="mb-1 font-semibold">Delivery</h2>
            <p>{order.delivery.label}</p>
            <p>Expected {formatCalendarDate(order.delivery.estimatedDate)}</p>
            {order.trackingNumber ? <p>Tracking number <span className="font-mono" data-testid="tracking-number">{order.trackingNumber}</span></p> : null}
          </section>
        ) : null}
      </div>
      <section className="rounded-lg border border-slate-200 bg-white p-4 text-sm">
        <h2 className="mb-1 font-semibold">Payment</h2>
        {order.payments.length === 0 ? (order.status === "PLACED" ? null : <p>Not paid.</p>) : (
          <ul className="space-y-1" data-testid="payments">
            {order.payments.map((p) => (
              <li key={`${p.kind}-${p.transactionId}`} className="break-all">
                {paymentLine(p)} <span className="font-mono text-xs text-slate-500">{p.transactionId}</span>
              </li>
            ))}
          </ul>
        )}
        {order.status === "PLACED" ? <PayOrder order={order} access={access} onPaid={setOrder} /> : null}
      </section>
      {problem ? <p className="text-sm text-red-700" role="alert">{problem}</p> : null}
      <div className="flex flex-wrap items-start gap-3">
        {order.status === "PLACED" ? null : <BuyAgain order={order} />}
        {cancellable ? <button type="button" onClick={() => void cancel()} className="rounded border border-red-600 px-4 py-2 text-red-700" data-testid="cancel-order">Cancel order{order.status === "PAID" ? " and refund" : ""}</button> : null}
      </div>
    </div>
  );
}
