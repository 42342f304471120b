/** Operator panels for the shop side: the orders list with status actions, coupons, the e-mail outbox. */
import { useState, type FormEvent } from "react";
import { ErrorState, Loading } from "../components/States";
import { api, errorMessage } from "../lib/api";
import { formatMoney } from "../lib/format";
import { ORDER_STATUSES, type NewCoupon, type OrderStatus } from "../lib/types";
import { useQuery } from "@tanstack/react-query";

const NEXT: Record<OrderStatus, OrderStatus[]> = {
  PLACED: ["PAID", "CANCELLED"],
  PAID: ["SHIPPED", "CANCELLED"],
  SHIPPED: ["DELIVERED"],
  DELIVERED: [],
  CANCELLED: [],
};
const input = "mt-1 w-full rounded border border-slate-300 px-2 py-1";

export function OrdersAdmin() {
  const [status, setStatus] = useState<OrderStatus | null>(null);
  const orders = useQuery({ queryKey: ["admin", "orders", status], queryFn: () => api.allOrders(status) });
  const [problem, setProblem] = useState<string | null>(null);
  const move = async (orderId: string, to: OrderStatus) => {
    setProblem(null);
    try {
      await api.setOrderStatus(orderId, to);
      void orders.refetch();
    } catch (err) {
      setProblem(errorMessage(err));
    }
  };
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-4" aria-label="Orders">
      <h2 className="mb-3 text-lg font-semibold">Orders</h2>
      <label className="text-sm">Status{" "}
        <select value={status ?? ""} onChange={(e) => setStatus((e.target.value || null) as OrderStatus | null)} className="rounded border px-1">
          <option value="">all</option>
          {ORDER_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </label>
      {problem ? <p role="alert" className="text-sm text-red-700">{problem}</p> : null}
      {orders.error ? <ErrorState error={orders.error} onRetry={() => void orders.refetch()} /> : !orders.data ? <Loading label="Loading orders…" /> : (
        <ul className="mt-2 divide-y text-sm" data-testid="admin-orders">
          {orders.data.map((o) => (
            <li key={o.orderId} className="flex flex-wrap items-center gap-2 py-2">
              <span className="min-w-0 flex-1">
                <span className="font-medium">{o.reference}</span>{" "}
                <span className="break-all font-mono text-xs text-slate-500">{o.orderId}</span>
              </span>
              <span>{o.status}</span>
              <span className="font-medium">{formatMoney(o.total)}</span>
              {NEXT[o.status].map((to) => (
                <button key={to} type="button" onClick={() => void move(o.orderId, to)} className="rounded border border-indigo-600 px-2 text-indigo-700">{to === "CANCELLED" ? "Cancel" : `Mark ${to.toLowerCase()}`}</button>
              ))}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function CouponsAdmin() {
  const coupons = useQuery({ queryKey: ["admin", "coupons"], queryFn: () => api.coupons() });
  const [form, setForm] = useState({ code: "", kind: "PERCENT", value: "10", minSubtotal: "0", maxRedemptions: "", endsInDays: "" });
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    const coupon: NewCoupon = {
      code: form.code,
      kind: form.kind as NewCoupon["kind"],
      value: Number(form.value),
      minSubtotal: Number(form.minSubtotal || 0),
      ...(form.maxRedemptions ? { maxRedemptions: Number(form.maxRedemptions) } : {}),
      ...(form.endsInDays ? { endsAt: Date.now() + Number(form.endsInDays) * 86_400_000 } : {}),
    };
    try {
      await api.createCoupon(coupon);
      void coupons.refetch();
    } catch (err) {
      setProblem(errorMessage(err));
    }
  };
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-4" aria-label="Coupons">
      <h2 className="mb-3 text-lg font-semibold">Coupons</h2>
      <form onSubmit={(e) => void submit(e)} className="grid gap-2 sm:grid-cols-3">
        <label className="text-sm">Code<input className={input} required value={form.code} onChange={set("code")} /></label>
        <label className="text-sm">Kind<select className={input} value={form.kind} onChange={set("kind")}><option value="PERCENT">percent</option><option value="FIXED">fixed amount</option></select></label>
        <label className="text-sm">Value<input className={input} inputMode="decimal" required value={form.value} onChange={set("value")} /></label>
        <label className="text-sm">Minimum subtotal<input className={input} inputMode="decimal" value={form.minSubtotal} onChange={set("minSubtotal")} /></label>
        <label className="text-sm">Max redemptions<input className={input} inputMode="numeric" value={form.maxRedemptions} onChange={set("maxRedemptions")} /></label>
        <label className="text-sm">Valid for days<input className={input} inputMode="numeric" value={form.endsInDays} onChange={set("endsInDays")} /></label>
        <div className="sm:col-span-3"><button type="submit" className="rounded bg-indigo-600 px-3 py-1.5 text-white">Create coupon</button></div>
      </form>
      {problem ? <p role="alert" className="text-sm text-red-700">{problem}</p> : null}
      <ul className="mt-2 text-sm">
        {(coupons.data ?? []).map((c) => (
          <li key={c.code}><strong>{c.code}</strong> {c.kind === "PERCENT" ? `${c.value}%` : formatMoney(c.value)} off · used {c.redeemed}{c.maxRedemptions ? ` of ${c.maxRedemptions}` : ""}</li>
        ))}
      </ul>
    </section>
  );
}

export function OutboxAdmin() {
  const outbox = useQuery({ queryKey: ["admin", "outbox"], queryFn: () => api.outbox() });
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-4" aria-label="E-mail outbox">
      <h2 className="mb-3 text-lg font-semibold">E-mail outbox</h2>
      <button type="button" onClick={() => void outbox.refetch()} className="mb-2 rounded border px-2 text-sm">Refresh</button>
      {outbox.error ? <ErrorState error={outbox.error} onRetry={() => void outbox.refetch()} /> : (
        <ul className="space-y-2 text-sm" data-testid="outbox">
          {(outbox.data ?? []).map((m) => (
            <li key={m.key}>
              <details>
                <summary className="cursor-pointer break-all"><strong>{m.status}</strong> {m.to}: {m.subject}</summary>
                <pre className="mt-1 overflow-x-auto whitespace-pre-wrap rounded bg-slate-50 p-2 text-xs">{m.text}</pre>
                {m.lastError ? <p className="text-xs text-red-700">{m.attempts} attempts: {m.lastError}</p> : null}
              </details>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
