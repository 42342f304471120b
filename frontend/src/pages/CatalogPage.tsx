/** Catalog: category filter, search, sort and pagination, all kept in the address so links share a view. */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import { ProductGrid } from "../components/ProductCard";
import { usePageTitle } from "../components/page";
import { ProductGridSkeleton } from "../components/Skeleton";
import { Empty, ErrorState } from "../components/States";
import { categoriesQuery, productSearchQuery } from "../state/queries";
import { useShop } from "../state/shop";

export const SORTS = [
  { value: "relevance", label: "Relevance" },
  { value: "price_asc", label: "Price: low to high" },
  { value: "price_desc", label: "Price: high to low" },
  { value: "rating", label: "Rating" },
  { value: "name", label: "Name" },
  { value: "newest", label: "Newest" },
];

const PAGE_SIZE = 12;

export function CatalogPage() {
  const [params, setParams] = useSearchParams();
  const { track } = useShop();
  usePageTitle("Catalog");
  const category = params.get("category") ?? "";
  const q = params.get("q") ?? "";
  const sort = params.get("sort") ?? "relevance";
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const [draft, setDraft] = useState(q);
  // a search from the address (back, a link) replaces the draft (adjusted while rendering)
  const [draftFor, setDraftFor] = useState(q);
  if (draftFor !== q) {
    setDraftFor(q);
    setDraft(q);
  }

  const categories = useQuery(categoriesQuery());
  const result = useQuery(productSearchQuery({ category, q, sort, page, pageSize: PAGE_SIZE }));

  useEffect(() => {
    if (q && result.data) track({ eventType: "SEARCH", query: q.slice(0, 200), resultCount: result.data.total });
  }, [q, result.data, track]);

  const update = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!("page" in changes)) next.delete("page");
    setParams(next);
  };

  const submitSearch = (ev: FormEvent) => {
    ev.preventDefault();
    update({ q: draft.trim() });
  };

  const pages = result.data ? Math.max(1, Math.ceil(result.data.total / result.data.pageSize)) : 1;

  return (
    <div>
      <h1 className="mb-4 text-2xl font-bold">Catalog</h1>
      <div className="mb-4 flex flex-col gap-3 md:flex-row md:items-end">
        <form role="search" onSubmit={submitSearch} className="flex flex-1 gap-2">
          <div className="flex-1">
            <label htmlFor="catalog-search" className="block text-sm font-medium">Search</label>
            <input id="catalog-search" type="search" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="Search products" className="w-full rounded border border-slate-300 px-3 py-2" />
          </div>
          <button type="submit" className="self-end rounded bg-slate-800 px-4 py-2 text-white hover:bg-slate-700 focus-visible:outline-2">Search</button>
        </form>
        <div>
          <label htmlFor="catalog-category" className="block text-sm font-medium">Category</label>
          <select id="catalog-category" value={category} onChange={(e) => update({ category: e.target.value })} className="w-full rounded border border-slate-300 px-3 py-2">
            <option value="">All categories</option>
            {(categories.data ?? []).map((c) => (
              <option key={c.name} value={c.name}>{c.name} ({c.count})</option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="catalog-sort" className="block text-sm font-medium">Sort by</label>
          <select id="catalog-sort" value={sort} onChange={(e) => update({ sort: e.target.value === "relevance" ? "" : e.target.value })} className="w-full rounded border border-slate-300 px-3 py-2">
            {SORTS.map((s) => (
              <option key={s.value} value={s.value}>{s.label}</option>
            ))}
          </select>
        </div>
      </div>
      {result.isPending ? <ProductGridSkeleton count={12} /> : null}
      {result.error ? <ErrorState error={result.error} onRetry={() => void result.refetch()} /> : null}
      {result.data && result.data.items.length === 0 ? (
        <Empty title="No products match">Try another search or category.</Empty>
      ) : null}
      {result.data && result.data.items.length > 0 ? (
        <>
          <p className="mb-2 text-sm text-slate-600" data-testid="result-count">{result.data.total} products</p>
          <ProductGrid products={result.data.items} source="catalog" />
          <nav aria-label="Pagination" className="mt-4 flex items-center justify-center gap-3">
            <button type="button" disabled={page <= 1} onClick={() => update({ page: String(page - 1) })} className="rounded border border-slate-300 px-3 py-1 disabled:opacity-40 focus-visible:outline-2">
              Previous
            </button>
            <span className="text-sm">Page {page} of {pages}</span>
            <button type="button" disabled={page >= pages} onClick={() => update({ page: String(page + 1) })} className="rounded border border-slate-300 px-3 py-1 disabled:opacity-40 focus-visible:outline-2">
              Next
            </button>
          </nav>
        </>
      ) : null}
    </div>
  );
}
