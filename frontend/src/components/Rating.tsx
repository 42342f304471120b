/** A product's average rating as stars with its number and review count; none shown as such. */
import type { Product } from "../lib/types";

const STARS = 5;

export function Rating({ product }: { product: Pick<Product, "rating" | "reviewCount"> }) {
  if (product.reviewCount <= 0) {
    return <p className="text-xs text-slate-500" data-testid="rating">No reviews yet</p>;
  }
  const filled = Math.round(product.rating);
  return (
    <p className="flex items-center gap-1 text-xs text-slate-600" data-testid="rating">
      <span aria-hidden className="tracking-tight text-amber-500">
        {"★".repeat(filled)}
        <span className="text-slate-300">{"★".repeat(STARS - filled)}</span>
      </span>
      <span>
        {product.rating.toFixed(1)}
        <span className="sr-only"> out of 5 stars,</span> ({product.reviewCount.toLocaleString("en-US")}
        <span className="sr-only"> reviews</span>)
      </span>
    </p>
  );
}
