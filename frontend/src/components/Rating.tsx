/** A product's rating as people read it: stars and a count, or "No reviews yet", never "0.0". */
import { countOf } from "../lib/format";
import type { Product } from "../lib/types";

const STARS = 5;
type Rated = Pick<Product, "rating" | "reviewCount">;

/** `filled` of five stars, for the eye only: the caller says the number in words. */
function StarRow({ filled }: { filled: number }) {
  return (
    <>
      {"★".repeat(filled)}
      <span className="text-slate-300">{"★".repeat(STARS - filled)}</span>
    </>
  );
}

/** The compact form for product cards: stars, the average and the count in brackets. */
export function Rating({ product }: { product: Rated }) {
  if (product.reviewCount <= 0) {
    return <p className="text-xs text-slate-500" data-testid="rating">No reviews yet</p>;
  }
  return (
    <p className="flex items-center gap-1 text-xs text-slate-600" data-testid="rating">
      <span aria-hidden className="tracking-tight text-amber-500">
        <StarRow filled={Math.round(product.rating)} />
      </span>
      <span>
        {product.rating.toFixed(1)}
        <span className="sr-only"> out of 5 stars, {countOf(product.reviewCount, "review")}</span>{" "}
        <span aria-hidden="true">({product.reviewCount.toLocaleString("en-US")})</span>
      </span>
    </p>
  );
}

/** The product page's summary: the average out of 5 and the number of reviews. */
export function RatingSummary({ rating, reviewCount }: Rated) {
  if (reviewCount <= 0) {
    return <span className="text-sm text-slate-600" data-testid="rating">No reviews yet</span>;
  }
  return (
    <span className="text-sm text-slate-700" data-testid="rating">
      <span aria-hidden="true" className="text-amber-500">★</span> {rating.toFixed(1)} out of 5 · <span data-testid="review-count">{countOf(reviewCount, "review")}</span>
    </span>
  );
}

/** Five stars, `value` of them filled, for one review. */
export function Stars({ value }: { value: number }) {
  return (
    <span role="img" aria-label={`${value} out of 5 stars`} className="text-amber-500">
      <StarRow filled={value} />
    </span>
  );
}
