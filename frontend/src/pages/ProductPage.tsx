/**
 * Product detail: live price, stock and rating, the description and specifications, add to cart, the wishlist,
 * readable reviews, and "Often bought with" / "Customers also viewed" from the recommender (hidden when empty).
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { PriceTag, StockBadge } from "../components/Price";
import { ProductGrid } from "../components/ProductCard";
import { ProductPicture } from "../components/ProductPicture";
import { usePageTitle } from "../components/page";
import { RatingSummary } from "../components/Rating";
import { ReviewsSection } from "../components/Reviews";
import { ProductDetailSkeleton } from "../components/Skeleton";
import { Empty, ErrorState } from "../components/States";
import { WishlistButton } from "../components/Wishlist";
import { ApiError } from "../lib/api";
import type { Product } from "../lib/types";
import { useLiveProduct } from "../state/liveProducts";
import { productQuery, relatedQuery } from "../state/queries";
import { useShop } from "../state/shop";
import { useCartActions } from "../state/useCartActions";

/** A list of related products under its heading; nothing at all when the list is empty. */
export function RelatedSection({ id, title, products }: { id: string; title: string; products: Product[] }) {
  if (products.length === 0) return null;
  return (
    <section aria-labelledby={id} className="mt-8" data-testid={id}>
      <h2 id={id} className="mb-3 text-xl font-semibold">{title}</h2>
      <ProductGrid products={products} source={id} />
    </section>
  );
}

function Specifications({ product }: { product: Product }) {
  const specs = product.specs ?? [];
  if (specs.length === 0) return null;
  return (
    <section aria-labelledby="specs-heading" className="mt-8">
      <h2 id="specs-heading" className="mb-3 text-xl font-semibold">Specifications</h2>
      <table className="w-full max-w-2xl text-sm" data-testid="specs">
        <tbody>
          {specs.map((s) => (
            <tr key={s.name} className="border-b border-slate-100">
              <th scope="row" className="w-1/3 py-2 pr-4 text-left font-medium text-slate-600">{s.name}</th>
              <td className="py-2">{s.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Breadcrumb links are touch targets too: 44 px tall on phones. */
const CRUMB = "inline-flex min-h-11 items-center hover:underline md:min-h-0";

function ProductDetail({ initial }: { initial: Product }) {
  const { live } = useShop();
  const product = useLiveProduct(live, initial);
  const related = useQuery(relatedQuery(product.id));
  const cart = useCartActions();
  const [quantity, setQuantity] = useState(1);
  const available = product.available ?? product.stock;

  return (
    <div>
      <nav aria-label="Breadcrumb" className="mb-3 text-sm text-slate-600">
        <Link to="/catalog" className={CRUMB}>Catalog</Link> ›{" "}
        <Link to={`/catalog?category=${encodeURIComponent(product.category)}`} className={CRUMB}>{product.category}</Link>
      </nav>
      <div className="grid gap-6 md:grid-cols-2">
        <ProductPicture product={product} alt={product.name} className="aspect-square w-full rounded-lg bg-slate-100 object-cover" />
        <div className="flex flex-col gap-3">
          <h1 className="text-2xl font-bold sm:text-3xl" data-testid="product-name">{product.name}</h1>
          <p><a href="#reviews-heading" className="hover:underline"><RatingSummary rating={product.rating} reviewCount={product.reviewCount} /></a></p>
          <PriceTag product={product} large />
          <StockBadge product={product} />
          {product.description.split("\n\n").map((paragraph) => (
            <p key={paragraph} className="text-slate-700">{paragraph}</p>
          ))}
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
          <WishlistButton productId={product.id} />
          {product.tags.length > 0 ? (
            <ul className="flex flex-wrap gap-1" aria-label="Tags">
              {product.tags.map((t) => <li key={t} className="rounded bg-slate-100 px-2 py-0.5 text-xs">{t}</li>)}
            </ul>
          ) : null}
        </div>
      </div>
      <Specifications product={product} />
      <ReviewsSection product={product} />
      <RelatedSection id="often-bought" title="Often bought with" products={related.data?.boughtTogether ?? []} />
      <RelatedSection id="also-viewed" title="Customers also viewed" products={related.data?.alsoViewed ?? []} />
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
