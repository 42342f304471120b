/** A product's rating as people read it: stars and a count, or "No reviews yet", never "0.0". */

function reviewsLabel(count: number): string {
  return `${count.toLocaleString("en")} ${count === 1 ? "review" : "reviews"}`;
}

export function RatingSummary({ rating, reviewCount }: { rating: number; reviewCount: number }) {
  if (reviewCount <= 0) {
    return <span className="text-sm text-slate-600" data-testid="rating">No reviews yet</span>;
  }
  const stars = rating.toFixed(1);
  return (
    <span className="text-sm text-slate-700" data-testid="rating">
      <span aria-hidden="true" className="text-amber-500">★</span> {stars} out of 5 · <span data-testid="review-count">{reviewsLabel(reviewCount)}</span>
    </span>
  );
}

/** Five stars, `value` of them filled, for one review. */
export function Stars({ value }: { value: number }) {
  return (
    <span role="img" aria-label={`${value} out of 5 stars`} className="text-amber-500">
      {"★".repeat(value)}
      <span className="text-slate-300">{"★".repeat(5 - value)}</span>
    </span>
  );
}
