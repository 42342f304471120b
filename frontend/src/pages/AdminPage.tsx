/** Operator admin: change a price, restock, start or end a flash sale, launch a product, set an order's status. */
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";
import { PriceTag, StockBadge } from "../components/Price";
import { ProductImageUpload } from "../components/ProductImageUpload";
import { ErrorState, Loading } from "../components/States";
import { api } from "../lib/api";
import { ORDER_STATUSES, type LaunchProduct, type OrderStatus, type Product } from "../lib/types";
import { useLiveProduct } from "../state/liveProducts";
import { productSearchQuery } from "../state/queries";
import { useShop } from "../state/shop";
import { useCommand } from "../state/useCommand";
import { CouponsAdmin, OrdersAdmin, OutboxAdmin } from "./AdminShop";

type Outcome = { ok: true; text: string } | { ok: false; text: string } | null;

/** An operator's action, answered with its label when it worked or the server's reason when not. */
function useAction() {
  const command = useCommand(async ({ label, action }: { label: string; action: () => Promise<unknown> }) => {
    await action();
    return label;
  });
  const outcome: Outcome = command.error
    ? { ok: false, text: command.error }
    : command.result
      ? { ok: true, text: command.result }
      : null;
  return { busy: command.busy, outcome, run: (label: string, action: () => Promise<unknown>) => command.run({ label, action }) };
}

function Panel({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-4" aria-label={title}>
      <h2 className="mb-3 text-lg font-semibold">{title}</h2>
      {children}
    </section>
  );
}

function OutcomeLine({ outcome }: { outcome: Outcome }) {
  if (!outcome) return null;
  return (
    <p role={outcome.ok ? "status" : "alert"} className={`mt-2 text-sm ${outcome.ok ? "text-emerald-700" : "text-red-700"}`}>
      {outcome.text}
    </p>
  );
}

const input = "w-full rounded border border-slate-300 px-2 py-1";
const button = "rounded bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 disabled:bg-slate-400";

function ProductControls({ initial }: { initial: Product }) {
  const { live } = useShop();
  const product = useLiveProduct(live, initial);
  const { busy, outcome, run } = useAction();
  const [price, setPrice] = useState(String(product.price));
  const [restock, setRestock] = useState("10");
  const [discount, setDiscount] = useState("20");
  const [duration, setDuration] = useState("300");

  const submit = (fn: () => Promise<unknown>, label: string) => (ev: FormEvent) => {
    ev.preventDefault();
    run(label, fn);
  };

  return (
    <div className="space-y-4">
      <div className="rounded bg-slate-50 p-3" data-testid="admin-product">
        <p className="font-semibold">{product.name} <span className="font-mono text-xs text-slate-500">{product.id}</span></p>
        <PriceTag product={product} />
        <StockBadge product={product} />
      </div>
      <ProductImageUpload product={product} />
      <form onSubmit={submit(() => api.setPrice(product.id, Number(price)), "Price changed")} className="flex items-end gap-2">
        <div className="flex-1">
          <label htmlFor="admin-price" className="block text-sm font-medium">New price</label>
          <input id="admin-price" type="number" step="0.01" min="0.01" required value={price} onChange={(e) => setPrice(e.target.value)} className={input} />
        </div>
        <button type="submit" disabled={busy} className={button}>Change price</button>
      </form>
      <form onSubmit={submit(() => api.restock(product.id, Number(restock)), "Restocked")} className="flex items-end gap-2">
        <div className="flex-1">
          <label htmlFor="admin-restock" className="block text-sm font-medium">Units to add</label>
          <input id="admin-restock" type="number" min="1" max="100000" required value={restock} onChange={(e) => setRestock(e.target.value)} className={input} />
        </div>
        <button type="submit" disabled={busy} className={button}>Restock</button>
      </form>
      <form onSubmit={submit(() => api.startFlashSale(product.id, Number(discount), Number(duration)), "Flash sale started")} className="flex flex-wrap items-end gap-2">
        <div className="flex-1">
          <label htmlFor="admin-discount" className="block text-sm font-medium">Discount %</label>
          <input id="admin-discount" type="number" min="1" max="99" required value={discount} onChange={(e) => setDiscount(e.target.value)} className={input} />
        </div>
        <div className="flex-1">
          <label htmlFor="admin-duration" className="block text-sm font-medium">Duration (seconds)</label>
          <input id="admin-duration" type="number" min="1" max="604800" required value={duration} onChange={(e) => setDuration(e.target.value)} className={input} />
        </div>
        <button type="submit" disabled={busy} className={button}>Start flash sale</button>
        <button type="button" disabled={busy || !product.flashSale} onClick={() => run("Flash sale ended", () => api.endFlashSale(product.id))} className="rounded border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-100 focus-visible:outline-2 disabled:opacity-40">
          End flash sale
        </button>
      </form>
      <OutcomeLine outcome={outcome} />
    </div>
  );
}

function ProductAdmin() {
  const [q, setQ] = useState("");
  const products = useQuery(productSearchQuery({ q, pageSize: 100, sort: "name" }));
  const [selected, setSelected] = useState("");
  const product = products.data?.items.find((p) => p.id === selected) ?? products.data?.items[0];
  return (
    <Panel title="Products">
      <div className="mb-3 grid gap-2 sm:grid-cols-2">
        <div>
          <label htmlFor="admin-filter" className="block text-sm font-medium">Find</label>
          <input id="admin-filter" type="search" value={q} onChange={(e) => setQ(e.target.value)} className={input} placeholder="name or category" />
        </div>
        <div>
          <label htmlFor="admin-product-select" className="block text-sm font-medium">Product</label>
          <select id="admin-product-select" value={product?.id ?? ""} onChange={(e) => setSelected(e.target.value)} className={input}>
            {(products.data?.items ?? []).map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
          </select>
        </div>
      </div>
      {products.isPending ? <Loading /> : null}
      {products.error ? <ErrorState error={products.error} onRetry={() => void products.refetch()} /> : null}
      {product ? <ProductControls key={product.id} initial={product} /> : null}
    </Panel>
  );
}

function LaunchForm() {
  const { busy, outcome, run } = useAction();
  const [form, setForm] = useState({ name: "", category: "", price: "", stock: "10", description: "", featured: false });
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    const body: LaunchProduct = {
      name: form.name.trim(),
      category: form.category.trim(),
      price: Number(form.price),
      stock: Number(form.stock),
      description: form.description,
      featured: form.featured,
    };
    run(`Launched ${body.name}`, () => api.launchProduct(body));
  };
  return (
    <Panel title="Launch a product">
      <form onSubmit={submit} className="grid gap-2 sm:grid-cols-2">
        <div><label htmlFor="launch-name" className="block text-sm font-medium">Name</label><input id="launch-name" required maxLength={200} value={form.name} onChange={set("name")} className={input} /></div>
        <div><label htmlFor="launch-category" className="block text-sm font-medium">Category</label><input id="launch-category" required maxLength={80} value={form.category} onChange={set("category")} className={input} /></div>
        <div><label htmlFor="launch-price" className="block text-sm font-medium">Price</label><input id="launch-price" type="number" step="0.01" min="0.01" required value={form.price} onChange={set("price")} className={input} /></div>
        <div><label htmlFor="launch-stock" className="block text-sm font-medium">Stock</label><input id="launch-stock" type="number" min="0" required value={form.stock} onChange={set("stock")} className={input} /></div>
        <div className="sm:col-span-2"><label htmlFor="launch-description" className="block text-sm font-medium">Description</label><textarea id="launch-description" maxLength={4000} value={form.description} onChange={set("description")} className={input} /></div>
        <label className="flex items-center gap-2 text-sm"><input type="checkbox" checked={form.featured} onChange={(e) => setForm({ ...form, featured: e.target.checked })} /> Featured</label>
        <div className="sm:col-span-2"><button type="submit" disabled={busy} className={button}>Launch</button></div>
      </form>
      <OutcomeLine outcome={outcome} />
    </Panel>
  );
}

/** The id of the order `typed` names: its id, or the reference a shopper quotes ("DD40-0C09",
 * any case, the dash optional), found by the server among all orders. */
export async function orderIdOf(typed: string): Promise<string> {
  const text = typed.trim();
  const found = await api.ordersNamed(text);
  if (found.length === 1) return found[0]!.orderId;
  throw new Error(found.length === 0 ? `No order has the id or reference ${text}.` : `${found.length} orders have the reference ${text}: enter the order id.`);
}

function OrderStatusForm() {
  const { busy, outcome, run } = useAction();
  const [order, setOrder] = useState("");
  const [status, setStatus] = useState<OrderStatus>("SHIPPED");
  const [tracking, setTracking] = useState("");
  const shipping = status === "SHIPPED";
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    run(`Order set to ${status}`, async () => api.setOrderStatus(await orderIdOf(order), status, shipping ? tracking.trim() : undefined));
  };
  return (
    <Panel title="Order status">
      <form onSubmit={submit} className="flex flex-wrap items-end gap-2">
        <div className="flex-1"><label htmlFor="status-order" className="block text-sm font-medium">Order reference or id</label><input id="status-order" required value={order} onChange={(e) => setOrder(e.target.value)} className={input} /></div>
        <div>
          <label htmlFor="status-value" className="block text-sm font-medium">Status</label>
          <select id="status-value" value={status} onChange={(e) => setStatus(e.target.value as OrderStatus)} className={input}>
            {ORDER_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </div>
        {shipping ? <div><label htmlFor="status-tracking" className="block text-sm font-medium">Tracking number (optional)</label><input id="status-tracking" maxLength={40} value={tracking} onChange={(e) => setTracking(e.target.value)} className={input} /></div> : null}
        <button type="submit" disabled={busy} className={button}>Set status</button>
      </form>
      <OutcomeLine outcome={outcome} />
    </Panel>
  );
}

export function AdminPage() {
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-bold">Admin</h1>
      <div className="grid gap-4 lg:grid-cols-2">
        <ProductAdmin />
        <div className="space-y-4">
          <LaunchForm />
          <OrderStatusForm />
        </div>
      </div>
      <div className="grid gap-4 lg:grid-cols-2">
        <OrdersAdmin />
        <div className="space-y-4">
          <CouponsAdmin />
          <OutboxAdmin />
        </div>
      </div>
    </div>
  );
}
