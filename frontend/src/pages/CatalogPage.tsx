/**
 * Catalog: search results with facets (category, brand, price, rating, in stock, on sale) shown as
 * counts to choose from and as removable chips, sort and numbered pages, all kept in the address
 * so links and Back share a view. While a new view loads, skeletons stand in: the previous
 * filter's results are never shown under the new one.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState, type ReactNode } from "react";
import { useSearchParams } from "react-router-dom";
import { ProductGrid } from "../components/ProductCard";
import { usePageTitle } from "../components/page";
import { ProductGridSkeleton } from "../components/Skeleton";
import { Empty, ErrorState } from "../components/States";
import { countOf, formatMoney } from "../lib/format";
import type { Facets } from "../lib/types";
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
/** The filters kept in the address, as the API names them. */
const FILTERS = ["q", "category", "brand", "minPrice", "maxPrice", "minRating", "inStock", "onSale"] as const;
type Filter = (typeof FILTERS)[number];

function priceLabel(min: number | null, max: number | null): string {
  if (min !== null && max !== null) return `${formatMoney(min)} – ${formatMoney(max)}`;
  if (min !== null) return `${formatMoney(min)} and up`;
  return `under ${formatMoney(max ?? 0)}`;
}

interface Chip {
  label: string;
  remove: Filter[];
}

function chipsOf(params: URLSearchParams): Chip[] {
  const chips: Chip[] = [];
  const q = params.get("q");
  if (q) chips.push({ label: `“${q}”`, remove: ["q"] });
  const category = params.get("category");
  if (category) chips.push({ label: category, remove: ["category"] });
  const brand = params.get("brand");
  if (brand) chips.push({ label: brand, remove: ["brand"] });
  const min = params.get("minPrice");
  const max = params.get("maxPrice");
  if (min || max) chips.push({ label: priceLabel(min ? Number(min) : null, max ? Number(max) : null), remove: ["minPrice", "maxPrice"] });
  const rating = params.get("minRating");
  if (rating) chips.push({ label: `${rating}★ and up`, remove: ["minRating"] });
  if (params.get("inStock") === "true") chips.push({ label: "In stock", remove: ["inStock"] });
  if (params.get("onSale") === "true") chips.push({ label: "On sale", remove: ["onSale"] });
  return chips;
}

/** Page numbers to show: the first, the last and two either side of the current, with gaps. */
export function pageWindow(page: number, pages: number): (number | null)[] {
  const shown = [...new Set([1, pages, page - 2, page - 1, page, page + 1, page + 2])].filter((n) => n >= 1 && n <= pages).sort((a, b) => a - b);
  const out: (number | null)[] = [];
  for (const n of shown) {
    const last = out.at(-1);
    if (typeof last === "number" && n - last > 1) out.push(null);
    out.push(n);
  }
  return out;
}

const optionClass = (on: boolean) =>
  `flex min-h-11 md:min-h-9 w-full items-center justify-between gap-2 rounded px-2 py-1 text-left text-sm focus-visible:outline-2 ${on ? "bg-indigo-50 font-semibold text-indigo-700" : "hover:bg-slate-100"}`;

function FacetPanel({ facets, params, set }: { facets: Facets; params: URLSearchParams; set: (c: Partial<Record<Filter, string>>) => void }) {
  const brand = params.get("brand") ?? "";
  const minPrice = params.get("minPrice") ?? "";
  const maxPrice = params.get("maxPrice") ?? "";
  const minRating = params.get("minRating") ?? "";
  const group = (title: string, children: ReactNode) => (
    <section aria-label={title} className="mb-3">
      <h2 className="mb-1 text-sm font-semibold text-slate-700">{title}</h2>
      <ul className="space-y-0.5">{children}</ul>
    </section>
  );
  return (
    <div data-testid="facets">
      {group(
        "Availability",
        <>
          <li>
            <button type="button" aria-pressed={params.get("inStock") === "true"} className={optionClass(params.get("inStock") === "true")} onClick={() => set({ inStock: params.get("inStock") === "true" ? "" : "true" })}>
              In stock <span className="text-slate-500">{facets.inStock}</span>
            </button>
          </li>
          <li>
            <button type="button" aria-pressed={params.get("onSale") === "true"} className={optionClass(params.get("onSale") === "true")} onClick={() => set({ onSale: params.get("onSale") === "true" ? "" : "true" })}>
              On sale <span className="text-slate-500">{facets.onSale}</span>
            </button>
          </li>
        </>,
      )}
      {group(
        "Brand",
        facets.brand.slice(0, 15).map((b) => (
          <li key={b.value}>
            <button type="button" aria-pressed={brand === b.value} className={optionClass(brand === b.value)} onClick={() => set({ brand: brand === b.value ? "" : b.value })}>
              {b.value} <span className="text-slate-500">{b.count}</span>
            </button>
          </li>
        )),
      )}
      {group(
        "Price",
        facets.price.map((b) => {
          const lo = String(b.min);
          const hi = b.max === null || b.max === undefined ? "" : String(b.max);
          const on = minPrice === lo && maxPrice === hi;
          return (
            <li key={lo}>
              <button type="button" aria-pressed={on} className={optionClass(on)} onClick={() => set(on ? { minPrice: "", maxPrice: "" } : { minPrice: lo, maxPrice: hi })}>
                {priceLabel(b.min, b.max ?? null)} <span className="text-slate-500">{b.count}</span>
              </button>
            </li>
          );
        }),
      )}
      {group(
        "Rating",
        facets.rating.map((r) => {
          const value = String(r.min);
          const on = minRating === value;
          return (
            <li key={value}>
              <button type="button" aria-pressed={on} className={optionClass(on)} onClick={() => set({ minRating: on ? "" : value })}>
                {value}★ and up <span className="text-slate-500">{r.count}</span>
              </button>
            </li>
          );
        }),
      )}
    </div>
  );
}

export function CatalogPage() {
  const [params, setParams] = useSearchParams();
  const { track } = useShop();
  usePageTitle(params.get("q") ? `Results for “${params.get("q")}”` : "Catalog");
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ""])) as Record<Filter, string>;
  const sort = params.get("sort") ?? "relevance";
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const q = filters.q;
  const [showFilters, setShowFilters] = useState(false);

  const categories = useQuery(categoriesQuery());
  const result = useQuery(productSearchQuery({ ...filters, sort, page, pageSize: PAGE_SIZE }));

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
  const clearAll = () => update(Object.fromEntries(FILTERS.map((f) => [f, ""])));

  const data = result.data;
  const pages = data ? Math.max(1, Math.ceil(data.total / data.pageSize)) : 1;
  const chips = chipsOf(params);
  const categoryCounts = new Map((data?.facets.category ?? []).map((c) => [c.value, c.count]));

  return (
    <div>
      <h1 className="mb-4 text-2xl font-bold">{q ? `Results for “${q}”` : "Catalog"}</h1>
      <div className="mb-3 flex flex-col gap-3 sm:flex-row sm:items-end">
        <div>
          <label htmlFor="catalog-category" className="block text-sm font-medium">Category</label>
          <select id="catalog-category" value={filters.category} onChange={(e) => update({ category: e.target.value })} className="min-h-11 md:min-h-9 w-full rounded border border-slate-300 px-3 py-2">
            <option value="">All categories</option>
            {(categories.data ?? []).map((c) => (
              <option key={c.name} value={c.name}>{c.name} ({categoryCounts.get(c.name) ?? (data ? 0 : c.count)})</option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="catalog-sort" className="block text-sm font-medium">Sort by</label>
          <select id="catalog-sort" value={sort} onChange={(e) => update({ sort: e.target.value === "relevance" ? "" : e.target.value })} className="min-h-11 md:min-h-9 w-full rounded border border-slate-300 px-3 py-2">
            {SORTS.map((s) => (
              <option key={s.value} value={s.value}>{s.label}</option>
            ))}
          </select>
        </div>
      </div>
      {chips.length > 0 ? (
        <ul aria-label="Active filters" className="mb-3 flex flex-wrap items-center gap-2" data-testid="filter-chips">
          {chips.map((chip) => (
            <li key={chip.label}>
              <button
                type="button"
                onClick={() => update(Object.fromEntries(chip.remove.map((f) => [f, ""])))}
                className="flex min-h-11 md:min-h-9 items-center gap-1 rounded-full border border-indigo-200 bg-indigo-50 px-3 py-1 text-sm text-indigo-800 hover:bg-indigo-100 focus-visible:outline-2"
              >
                {chip.label}
                <span aria-hidden>✕</span>
                <span className="sr-only"> (remove filter)</span>
              </button>
            </li>
          ))}
          <li>
            <button type="button" onClick={clearAll} className="min-h-11 md:min-h-9 rounded px-2 py-1 text-sm text-slate-700 underline hover:text-slate-900 focus-visible:outline-2">
              Clear all
            </button>
          </li>
        </ul>
      ) : null}
      <div className="flex flex-col gap-4 md:flex-row">
        <aside aria-label="Filters" className="md:w-56 md:shrink-0">
          <button type="button" aria-expanded={showFilters} aria-controls="catalog-facets" onClick={() => setShowFilters((s) => !s)} className="min-h-11 md:min-h-9 rounded border border-slate-300 px-3 py-2 text-sm font-medium md:hidden">
            Filters
          </button>
          <div id="catalog-facets" className={`${showFilters ? "block" : "hidden"} mt-2 md:mt-0 md:block`}>
            {data ? (
              <FacetPanel facets={data.facets} params={params} set={update} />
            ) : (
              <div aria-hidden className="space-y-2">
                {Array.from({ length: 6 }, (_, i) => (
                  <div key={i} className="h-7 animate-pulse rounded bg-slate-100" />
                ))}
              </div>
            )}
          </div>
        </aside>
        <div className="min-w-0 flex-1">
          {result.isPending ? <ProductGridSkeleton count={12} testId="results-loading" /> : null}
          {result.error ? <ErrorState error={result.error} onRetry={() => void result.refetch()} /> : null}
          {data && data.items.length === 0 ? (
            <Empty title="No products match">Try another search, or remove a filter.</Empty>
          ) : null}
          {data && data.items.length > 0 ? (
            <>
              <p className="mb-2 text-sm text-slate-600" data-testid="result-count">{countOf(data.total, "product")}</p>
              <ProductGrid products={data.items} source="catalog" />
              {pages > 1 || page > 1 ? (
                <nav aria-label="Pagination" className="mt-4 flex flex-wrap items-center justify-center gap-1">
                  <button type="button" disabled={page <= 1} onClick={() => update({ page: String(page - 1) })} className="min-h-11 md:min-h-9 rounded border border-slate-300 px-3 py-1 disabled:opacity-40 focus-visible:outline-2">
                    Previous
                  </button>
                  {pageWindow(page, pages).map((n, i) =>
                    n === null ? (
                      <span key={`gap-${i}`} aria-hidden className="px-1 text-slate-500">…</span>
                    ) : (
                      <button
                        key={n}
                        type="button"
                        aria-current={n === page ? "page" : undefined}
                        aria-label={`Page ${n}`}
                        onClick={() => update({ page: String(n) })}
                        className={`min-h-11 md:min-h-9 min-w-11 md:min-w-9 rounded border px-2 py-1 focus-visible:outline-2 ${n === page ? "border-indigo-600 bg-indigo-600 text-white" : "border-slate-300 hover:bg-slate-100"}`}
                      >
                        {n}
                      </button>
                    ),
                  )}
                  <button type="button" disabled={page >= pages} onClick={() => update({ page: String(page + 1) })} className="min-h-11 md:min-h-9 rounded border border-slate-300 px-3 py-1 disabled:opacity-40 focus-visible:outline-2">
                    Next
                  </button>
                  <span className="w-full text-center text-sm text-slate-600">Page {page} of {pages}</span>
                </nav>
              ) : null}
            </>
          ) : null}
        </div>
      </div>
    </div>
  );
}
