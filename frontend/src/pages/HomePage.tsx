/** Home: featured and trending products and the shopper's personalised recommendations with their
 * reason. Not their confidence: a calibrated hit rate ("7%") that a shopper would read as how
 * well the products suit them; it stays in the event for operators (the events page). */
import { useQuery, type UseQueryResult } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { ProductGrid } from "../components/ProductCard";
import { usePageTitle } from "../components/page";
import { ProductGridSkeleton } from "../components/Skeleton";
import { Empty, ErrorState } from "../components/States";
import type { Product, Recommendation } from "../lib/types";
import { featuredQuery, productsByIdQuery, trendingQuery } from "../state/queries";
import { useRecommendations } from "../state/shop";

function Section({ title, children, id }: { title: string; children: React.ReactNode; id: string }) {
  return (
    <section aria-labelledby={id} className="mb-8">
      <h2 id={id} className="mb-3 text-xl font-semibold">{title}</h2>
      {children}
    </section>
  );
}

function ProductList({ result, source, empty }: { result: UseQueryResult<Product[]>; source: string; empty: string }) {
  const { data, error, isPending, refetch } = result;
  if (isPending) return <ProductGridSkeleton count={4} />;
  if (error) return <ErrorState error={error} onRetry={() => void refetch()} />;
  if (data.length === 0) return <Empty title={empty} />;
  return <ProductGrid products={data} source={source} />;
}

export function RecommendationBlock({ recommendation }: { recommendation: Recommendation }) {
  const products = useQuery(productsByIdQuery(recommendation.productIds));
  return (
    <div className="mb-4" data-testid="recommendation">
      <p className="mb-2 text-sm font-medium text-slate-800">{recommendation.reason}</p>
      <ProductList result={products} source="recommendation" empty="These products are no longer available" />
    </div>
  );
}

export function HomePage() {
  const recommendations = useRecommendations();
  const featured = useQuery(featuredQuery(8));
  const trending = useQuery(trendingQuery(8));
  const personal = recommendations.filter((r) => r.kind !== "BOUGHT_TOGETHER").slice(0, 2);
  usePageTitle("Home");
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
        <ProductList result={featured} source="featured" empty="No featured products yet" />
      </Section>
      <Section title="Trending now" id="home-trending">
        <ProductList result={trending} source="trending" empty="Nothing is trending yet" />
      </Section>
    </div>
  );
}
