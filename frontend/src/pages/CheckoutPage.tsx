/** Checkout: places the order with an idempotency key (a retry never orders twice), then pays it. */
import { useState } from "react";
import { Link } from "react-router-dom";
import { Empty, ErrorState, Loading } from "../components/States";
import { api } from "../lib/api";
import { newId } from "../lib/ids";
import { formatMoney } from "../lib/format";
import type { Order } from "../lib/types";
import { useCart, useIdentity, useShop } from "../state/shop";
import { useCommand } from "../state/useCommand";

export function CheckoutPage() {
  const { refreshCart } = useShop();
  const { sessionId, userId } = useIdentity();
  const { data: cart } = useCart();
  // one key per checkout attempt: a retry after a lost answer gets the same order back
  const [idempotencyKey, setIdempotencyKey] = useState(() => newId("chk"));
  const [placed, setPlaced] = useState<Order | null>(null);

  const checkout = useCommand(
    async (): Promise<Order> => {
      let order = placed;
      if (!order) {
        order = await api.checkout(sessionId, userId, idempotencyKey);
        setPlaced(order);
      }
      return api.pay(order.orderId, sessionId);
    },
    {
      onSuccess: () => {
        setIdempotencyKey(newId("chk"));
        setPlaced(null);
        void refreshCart();
      },
      fallbackError: "checkout failed",
    },
  );
  const paid = checkout.result;
  const error = checkout.error;

  if (paid) {
    return (
      <div className="mx-auto max-w-lg rounded-lg border border-emerald-200 bg-emerald-50 p-6" data-testid="order-confirmation">
        <h1 className="text-2xl font-bold text-emerald-800">Thank you! Your order is confirmed.</h1>
        <p className="mt-2">Order <span className="font-mono" data-testid="confirmed-order-id">{paid.orderId}</span></p>
        <p>Total {formatMoney(paid.total)} · status <strong>{paid.status}</strong></p>
        <Link to="/orders" className="mt-4 inline-block rounded bg-indigo-600 px-4 py-2 text-white hover:bg-indigo-700 focus-visible:outline-2">See your orders</Link>
      </div>
    );
  }
  if (!cart) return <Loading label="Loading cart…" />;
  if (cart.lines.length === 0 && !placed) {
    return <Empty title="Your cart is empty"><Link to="/catalog" className="text-indigo-700 underline">Find something</Link></Empty>;
  }
  const busy = checkout.busy;
  return (
    <div className="mx-auto max-w-2xl">
      <h1 className="mb-4 text-2xl font-bold">Checkout</h1>
      <table className="w-full text-left">
        <caption className="sr-only">Items in your order</caption>
        <thead><tr className="border-b text-sm text-slate-600"><th className="py-2">Item</th><th>Qty</th><th className="text-right">Total</th></tr></thead>
        <tbody>
          {cart.lines.map((l) => (
            <tr key={l.productId} className="border-b">
              <td className="py-2">{l.name || l.productId}</td>
              <td>{l.quantity}</td>
              <td className="text-right">{formatMoney(l.lineTotal)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot><tr><th className="py-2" colSpan={2}>Subtotal</th><td className="text-right font-semibold">{formatMoney(cart.subtotal)}</td></tr></tfoot>
      </table>
      <p className="mt-3 text-sm text-slate-600">Payment is simulated. {userId ? `Ordering as ${userId}.` : "Sign in to see your orders on every device."}</p>
      {error ? <div className="mt-3"><ErrorState error={error} /></div> : null}
      <button type="button" disabled={busy} onClick={() => checkout.run(undefined)} className="mt-4 w-full rounded bg-indigo-600 px-4 py-3 font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 disabled:bg-slate-400" data-testid="place-order">
        {busy ? (placed ? "Paying…" : "Placing order…") : placed ? "Retry payment" : "Place order and pay"}
      </button>
    </div>
  );
}
