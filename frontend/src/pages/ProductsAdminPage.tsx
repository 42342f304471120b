/**
 * The operator's product table: search, sort by any column, edit a product's name, description,
 * brand, price and stock in one save (PATCH /admin/products/{id}, decided as one command), and
 * retire a product (DELETE, after a confirmation). Pushed product and stock changes refresh it.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Empty, ErrorState, Loading } from "../components/States";
import { api } from "../lib/api";
import { formatMoney } from "../lib/format";
import type { Product, ProductEdit } from "../lib/types";
import { adminProductsQuery } from "../state/queries";
import { useSocket } from "../state/shop";
import { useCommand } from "../state/useCommand";

export type SortKey = "name" | "brand" | "category" | "price" | "available";
const COLUMNS: { key: SortKey; label: string }[] = [
  { key: "name", label: "Name" },
  { key: "brand", label: "Brand" },
  { key: "category", label: "Category" },
  { key: "price", label: "Price" },
  { key: "available", label: "Stock (available)" },
];

/** The products matching every word of `q` (name, brand, category or id), sorted by `key`. */
export function tableRows(products: Product[], q: string, key: SortKey, descending: boolean): Product[] {
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  const found = products.filter((p) => {
    const text = `${p.name} ${p.brand ?? ""} ${p.category} ${p.id}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
  const value = (p: Product): string | number => (key === "brand" ? (p.brand ?? "") : p[key]);
  const sorted = [...found].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return order || a.id.localeCompare(b.id);
  });
  return descending ? sorted.reverse() : sorted;
}

/** Only what the operator changed: an edit sends no field it leaves as it was. */
export function changesOf(product: Product, form: { name: string; description: string; brand: string; price: string; stock: string }): ProductEdit {
  const edit: ProductEdit = {};
  if (form.name !== product.name) edit.name = form.name;
  if (form.description !== product.description) edit.description = form.description;
  if (form.brand !== (product.brand ?? "")) edit.brand = form.brand;
  if (form.price !== String(product.listPrice)) edit.price = form.price;
  if (form.stock !== String(product.stock)) edit.stock = Number(form.stock);
  return edit;
}

const input = "mt-1 w-full rounded border border-slate-300 px-2 py-1";
const button = "rounded bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 disabled:bg-slate-400";

function EditForm({ product, onDone }: { product: Product; onDone: () => void }) {
  const queries = useQueryClient();
  const [form, setForm] = useState({
    name: product.name,
    description: product.description,
    brand: product.brand ?? "",
    price: String(product.listPrice),
    stock: String(product.stock),
  });
  const save = useCommand((edit: ProductEdit) => api.editProduct(product.id, edit), { fallbackError: "the change was not saved" });
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    const edit = changesOf(product, form);
    if (Object.keys(edit).length === 0) return onDone();
    save.run(edit, {
      onSuccess: () => {
        void queries.invalidateQueries({ queryKey: adminProductsQuery().queryKey });
        onDone();
      },
    });
  };
  const bind = (name: keyof typeof form) => ({
    id: `edit-${name}`,
    value: form[name],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [name]: e.target.value })),
    "aria-invalid": save.field === name || undefined,
    className: input,
  });
  return (
    <form onSubmit={submit} className="grid gap-2 sm:grid-cols-2" aria-label={`Edit ${product.name}`} data-testid="product-edit-form">
      <div><label htmlFor="edit-name" className="text-sm font-medium">Name</label><input {...bind("name")} required maxLength={200} /></div>
      <div><label htmlFor="edit-brand" className="text-sm font-medium">Brand</label><input {...bind("brand")} maxLength={80} /></div>
      <div className="sm:col-span-2"><label htmlFor="edit-description" className="text-sm font-medium">Description</label><textarea {...bind("description")} maxLength={4000} rows={3} /></div>
      <div><label htmlFor="edit-price" className="text-sm font-medium">Price (list, before any sale)</label><input {...bind("price")} type="number" step="0.01" min="0.01" required /></div>
      <div><label htmlFor="edit-stock" className="text-sm font-medium">Stock on the shelf (units)</label><input {...bind("stock")} type="number" step="1" min="0" required /></div>
      {save.error ? <p role="alert" className="text-sm text-red-700 sm:col-span-2">{save.error}</p> : null}
      <div className="flex gap-2 sm:col-span-2">
        <button type="submit" disabled={save.busy} className={button}>Save changes</button>
        <button type="button" onClick={onDone} className="rounded border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-100 focus-visible:outline-2">Cancel</button>
      </div>
    </form>
  );
}

function RetireButton({ product }: { product: Product }) {
  const queries = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const retire = useCommand(() => api.retireProduct(product.id), { fallbackError: "the product was not retired" });
  if (!confirming) {
    return <button type="button" onClick={() => setConfirming(true)} className="rounded border border-red-300 px-2 py-1 text-sm text-red-700 hover:bg-red-50 focus-visible:outline-2">Retire</button>;
  }
  return (
    <span className="inline-flex flex-wrap items-center gap-1">
      <button
        type="button"
        disabled={retire.busy}
        onClick={() => retire.run(undefined, { onSuccess: () => void queries.invalidateQueries({ queryKey: adminProductsQuery().queryKey }) })}
        className="rounded bg-red-700 px-2 py-1 text-sm text-white hover:bg-red-800 focus-visible:outline-2"
      >
        Confirm retire
      </button>
      <button type="button" onClick={() => setConfirming(false)} className="rounded px-2 py-1 text-sm hover:bg-slate-100 focus-visible:outline-2">Keep</button>
      {retire.error ? <span role="alert" className="text-sm text-red-700">{retire.error}</span> : null}
    </span>
  );
}

export function ProductsAdminPage() {
  const products = useQuery(adminProductsQuery());
  const queries = useQueryClient();
  const client = useSocket();
  const [q, setQ] = useState("");
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: "name", descending: false });
  const [editing, setEditing] = useState<string | null>(null);

  useEffect(() => {
    // another operator's change (or a sale) reaches this table too
    const refresh = () => void queries.invalidateQueries({ queryKey: adminProductsQuery().queryKey });
    const offs = [client.on("PRODUCT_UPDATED", refresh), client.on("PRODUCT_RETIRED", refresh), client.on("INVENTORY_UPDATED", refresh)];
    return () => offs.forEach((off) => off());
  }, [client, queries]);

  const rows = useMemo(() => tableRows(products.data ?? [], q, sort.key, sort.descending), [products.data, q, sort]);
  const by = (key: SortKey) => setSort((s) => ({ key, descending: s.key === key ? !s.descending : false }));

  return (
    <div className="space-y-3">
      <h1 className="text-2xl font-bold">Products</h1>
      <div className="max-w-sm">
        <label htmlFor="products-search" className="block text-sm font-medium">Search products</label>
        <input id="products-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="name, brand, category or id" className={input} />
      </div>
      {products.error ? <ErrorState error={products.error} onRetry={() => void products.refetch()} /> : !products.data ? <Loading label="Loading products…" /> : rows.length === 0 ? <Empty title="No product matches" /> : (
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
          <table className="w-full text-left text-sm" data-testid="products-table">
            <caption className="sr-only">Products on sale, {rows.length} shown</caption>
            <thead className="bg-slate-50">
              <tr>
                {COLUMNS.map((c) => (
                  <th key={c.key} scope="col" className="px-2 py-2" aria-sort={sort.key === c.key ? (sort.descending ? "descending" : "ascending") : "none"}>
                    <button type="button" onClick={() => by(c.key)} className="font-semibold hover:underline focus-visible:outline-2">
                      {c.label}{sort.key === c.key ? (sort.descending ? " ▼" : " ▲") : ""}
                    </button>
                  </th>
                ))}
                <th scope="col" className="px-2 py-2"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => (
                <ProductRow key={p.id} product={p} editing={editing === p.id} onEdit={() => setEditing(editing === p.id ? null : p.id)} onDone={() => setEditing(null)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function ProductRow({ product: p, editing, onEdit, onDone }: { product: Product; editing: boolean; onEdit: () => void; onDone: () => void }) {
  return (
    <>
      <tr className="border-t border-slate-100" data-testid="product-row" data-product-id={p.id}>
        <td className="px-2 py-1.5"><span className="font-medium">{p.name}</span> <span className="block font-mono text-xs text-slate-500">{p.id}</span></td>
        <td className="px-2 py-1.5">{p.brand || "—"}</td>
        <td className="px-2 py-1.5">{p.category}</td>
        <td className="px-2 py-1.5 font-mono" data-testid="row-price">{formatMoney(p.listPrice)}</td>
        <td className="px-2 py-1.5 font-mono" data-testid="row-stock">{p.stock} ({p.available})</td>
        <td className="whitespace-nowrap px-2 py-1.5">
          <button type="button" aria-expanded={editing} onClick={onEdit} className="mr-1 rounded border border-indigo-600 px-2 py-1 text-sm text-indigo-700 hover:bg-indigo-50 focus-visible:outline-2">Edit</button>
          <RetireButton product={p} />
        </td>
      </tr>
      {editing ? (
        <tr className="bg-slate-50"><td colSpan={6} className="p-3"><EditForm product={p} onDone={onDone} /></td></tr>
      ) : null}
    </>
  );
}
