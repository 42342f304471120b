/** Home: featured and trending products and the shopper's personalised recommendations with their reason. */
import { Link } from "react-router-dom";
import { ProductGrid } from "../components/ProductCard";
import { Empty, ErrorState, Loading } from "../components/States";
import { api } from "../lib/api";
import type { Product, Recommendation } from "../lib/types";
import { useAsync } from "../lib/useAsync";
import { useShop } from "../state/shop";

function Section({ title, children, id }: { title: string; children: React.ReactNode; id: string }) {
  return (
    <section aria-labelledby={id} className="mb-8">
      <h2 id={id} className="mb-3 text-xl font-semibold">{title}</h2>
      {children}
    </section>
  );
}

function ProductList({ load, source, empty, deps }: { load: () => Promise<Product[]>; source: string; empty: string; deps: unknown[] }) {
  const { data, error, loading, reload } = useAsync(load, deps);
  if (loading && !data) return <Loading />;
  if (error) return <ErrorState error={error} onRetry={reload} />;
  if (!data || data.length === 0) return <Empty title={empty} />;
  return <ProductGrid products={data} source={source} />;
}

async function loadProducts(ids: readonly string[]): Promise<Product[]> {
  const settled = await Promise.allSettled(ids.map((id) => api.product(id)));
  return settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
}

export function RecommendationBlock({ recommendation }: { recommendation: Recommendation }) {
  const key = recommendation.productIds.join(",");
  return (
    <div className="mb-4" data-testid="recommendation">
      <p className="mb-2 text-sm text-slate-600">
        <span className="font-medium text-slate-800">{recommendation.reason}</span>{" "}
        <span className="text-slate-500">({Math.round(recommendation.confidence * 100)}% match)</span>
      </p>
      <ProductList load={() => loadProducts(recommendation.productIds)} deps={[key]} source="recommendation" empty="These products are no longer available" />
    </div>
  );
}

export function HomePage() {
  const { recommendations } = useShop();
  const personal = recommendations.filter((r) => r.kind !== "BOUGHT_TOGETHER").slice(0, 2);
  return (
    <div>
      <div className="mb-6 rounded-xl bg-gradient-to-r from-indigo-600 to-violet-600 p-6 text-white">
        <h1 className="text-2xl font-bold sm:text-3xl">Welcome to KartShoppe</h1>
        <p className="mt-1 text-indigo-100">Prices, stock and deals update live.</p>
        <Link to="/catalog" className="mt-3 inline-block rounded bg-white px-4 py-2 font-medium text-indigo-700 hover:bg-indigo-50 focus-visible:outline-2">
          Browse the catalog
        </Link>
      </div>
      <Section title="Recommended for you" id="home-recs">
        {personal.length === 0 ? (
          <Empty title="No recommendations yet">Browse a few products and suggestions will appear here.</Empty>
        ) : (
          personal.map((r) => <RecommendationBlock key={r.eventId ?? r.productIds.join(",")} recommendation={r} />)
        )}
      </Section>
      <Section title="Featured" id="home-featured">
        <ProductList load={() => api.featured(8)} deps={[]} source="featured" empty="No featured products yet" />
      </Section>
      <Section title="Trending now" id="home-trending">
        <ProductList load={() => api.trending(8)} deps={[]} source="trending" empty="Nothing is trending yet" />
      </Section>
    </div>
  );
}
