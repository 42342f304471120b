/** Product detail: live price and stock, flash-sale countdown, add to cart and "often bought with". */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { PriceTag, StockBadge } from "../components/Price";
import { productImage } from "../components/ProductCard";
import { usePageTitle } from "../components/page";
import { ProductDetailSkeleton } from "../components/Skeleton";
import { Empty, ErrorState } from "../components/States";
import { ApiError } from "../lib/api";
import type { Product } from "../lib/types";
import { useLiveProduct } from "../state/liveProducts";
import { productQuery } from "../state/queries";
import { useRecommendations, useShop } from "../state/shop";
import { useCartActions } from "../state/useCartActions";
import { RecommendationBlock } from "./HomePage";

/** Breadcrumb links are touch targets too: 44 px tall on phones. */
const CRUMB = "inline-flex min-h-11 items-center hover:underline md:min-h-0";

function ProductDetail({ initial }: { initial: Product }) {
  const { live } = useShop();
  const recommendations = useRecommendations();
  const product = useLiveProduct(live, initial);
  const cart = useCartActions();
  const [quantity, setQuantity] = useState(1);
  const available = product.available ?? product.stock;
  const related = recommendations.find(
    (r) => r.kind === "BOUGHT_TOGETHER" && r.productIds.some((id) => id !== product.id),
  );

  return (
    <div>
      <nav aria-label="Breadcrumb" className="mb-3 text-sm text-slate-600">
        <Link to="/catalog" className={CRUMB}>Catalog</Link> ›{" "}
        <Link to={`/catalog?category=${encodeURIComponent(product.category)}`} className={CRUMB}>{product.category}</Link>
      </nav>
      <div className="grid gap-6 md:grid-cols-2">
        <img src={productImage(product)} alt={product.name} className="aspect-square w-full rounded-lg bg-slate-100 object-cover" />
        <div className="flex flex-col gap-3">
          <h1 className="text-2xl font-bold sm:text-3xl" data-testid="product-name">{product.name}</h1>
          <p className="text-sm text-slate-600">
            ★ {product.rating.toFixed(1)} · {product.reviewCount} reviews
          </p>
          <PriceTag product={product} large />
          <StockBadge product={product} />
          <p className="text-slate-700">{product.description}</p>
          <div className="flex items-end gap-2">
            <div>
              <label htmlFor="detail-qty" className="block text-sm font-medium">Quantity</label>
              <input id="detail-qty" type="number" min={1} max={Math.max(1, Math.min(99, available))} value={quantity} onChange={(e) => setQuantity(Math.max(1, Math.min(99, Number(e.target.value) || 1)))} className="w-20 rounded border border-slate-300 px-2 py-2" />
            </div>
            <button type="button" disabled={cart.busy || available <= 0} onClick={() => void cart.add(product.id, quantity)} className="flex-1 rounded bg-indigo-600 px-4 py-2 font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 disabled:bg-slate-300">
              {available <= 0 ? "Sold out" : "Add to cart"}
            </button>
          </div>
          {cart.error ? <p role="alert" className="text-sm text-red-700">{cart.error}</p> : null}
          {product.tags.length > 0 ? (
            <ul className="flex flex-wrap gap-1" aria-label="Tags">
              {product.tags.map((t) => <li key={t} className="rounded bg-slate-100 px-2 py-0.5 text-xs">{t}</li>)}
            </ul>
          ) : null}
        </div>
      </div>
      <section aria-labelledby="often-bought" className="mt-8">
        <h2 id="often-bought" className="mb-3 text-xl font-semibold">Often bought with</h2>
        {related ? (
          <RecommendationBlock recommendation={{ ...related, productIds: related.productIds.filter((id) => id !== product.id) }} />
        ) : (
          <Empty title="No suggestions for this product yet" />
        )}
      </section>
    </div>
  );
}

export function ProductPage() {
  const { id = "" } = useParams();
  const { track } = useShop();
  const { data, error, isPending, refetch } = useQuery(productQuery(id));
  const missing = error instanceof ApiError && error.status === 404;
  usePageTitle(data?.name ?? (missing ? "Product not found" : "Product"));

  useEffect(() => {
    if (id) track({ eventType: "PRODUCT_VIEW", productId: id });
  }, [id, track]);

  if (isPending) return <ProductDetailSkeleton />;
  if (missing) {
    return (
      <div>
        <h1 className="mb-4 text-2xl font-bold">Product not found</h1>
        <Empty title="This product is not in the shop, or no longer is."><Link to="/catalog" className="text-indigo-700 underline">Back to the catalog</Link></Empty>
      </div>
    );
  }
  if (error) return <ErrorState error={error} onRetry={() => void refetch()} />;
  return <ProductDetail key={data.id} initial={data} />;
}
