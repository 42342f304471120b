/** A product's reviews: the star breakdown, the newest reviews page by page, and the form a buyer writes one with. */
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { ApiError, api } from "../lib/api";
import type { Product, ReviewPage } from "../lib/types";
import { keys } from "../state/queries";
import { useIdentity } from "../state/shop";
import { RatingSummary, Stars } from "./Rating";

const PAGE_SIZE = 5;

function StarBreakdown({ page }: { page: ReviewPage }) {
  return (
    <ul className="grid gap-1 text-sm" aria-label="Ratings by stars">
      {[5, 4, 3, 2, 1].map((n) => {
        const count = page.stars[String(n)] ?? 0;
        const share = page.total ? Math.round((100 * count) / page.total) : 0;
        return (
          <li key={n} className="flex items-center gap-2">
            <span className="w-14">{n} stars</span>
            <span className="h-2 flex-1 rounded bg-slate-100" aria-hidden="true">
              <span className="block h-2 rounded bg-amber-400" style={{ width: `${share}%` }} />
            </span>
            <span className="w-10 text-right">{count}</span>
          </li>
        );
      })}
    </ul>
  );
}

function ReviewForm({ productId }: { productId: string }) {
  const queries = useQueryClient();
  const [rating, setRating] = useState(0);
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (rating < 1) {
      setError("Choose from 1 to 5 stars.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.postReview(productId, { rating, title, body });
      setDone(true);
      await queries.invalidateQueries({ queryKey: keys.reviews(productId) });
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Your review could not be sent; please try again.");
    } finally {
      setBusy(false);
    }
  };

  if (done) return <p role="status" className="text-sm text-emerald-700">Thank you: your review is published.</p>;
  return (
    <form onSubmit={(e) => void submit(e)} className="grid gap-2 rounded-lg border border-slate-200 p-3" aria-label="Write a review">
      <fieldset>
        <legend className="text-sm font-medium">Your rating</legend>
        <div className="flex gap-1">
          {[1, 2, 3, 4, 5].map((n) => (
            <label key={n} className="flex min-h-11 min-w-11 cursor-pointer items-center justify-center rounded border border-slate-300 has-[:checked]:border-amber-500 has-[:checked]:bg-amber-50">
              <input type="radio" name="rating" value={n} checked={rating === n} onChange={() => setRating(n)} className="sr-only" />
              {n} ★
            </label>
          ))}
        </div>
      </fieldset>
      <label className="grid gap-1 text-sm">
        Title
        <input value={title} maxLength={120} onChange={(e) => setTitle(e.target.value)} className="rounded border border-slate-300 px-2 py-2" />
      </label>
      <label className="grid gap-1 text-sm">
        Review
        <textarea value={body} maxLength={4000} rows={3} onChange={(e) => setBody(e.target.value)} className="rounded border border-slate-300 px-2 py-2" />
      </label>
      {error ? <p role="alert" className="text-sm text-red-700">{error}</p> : null}
      <button type="submit" disabled={busy} className="justify-self-start rounded bg-indigo-600 px-4 py-2 font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 disabled:bg-slate-300">
        {busy ? "Sending…" : "Publish review"}
      </button>
    </form>
  );
}

export function ReviewsSection({ product }: { product: Product }) {
  const { userId } = useIdentity();
  const reviews = useInfiniteQuery({
    queryKey: keys.reviews(product.id),
    queryFn: ({ pageParam }) => api.reviews(product.id, pageParam, PAGE_SIZE),
    initialPageParam: 1,
    getNextPageParam: (last) => (last.page * last.pageSize < last.total ? last.page + 1 : undefined),
  });
  const first = reviews.data?.pages[0];
  const items = reviews.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section aria-labelledby="reviews-heading" className="mt-8" data-testid="reviews">
      <h2 id="reviews-heading" className="mb-2 text-xl font-semibold">Reviews</h2>
      <p className="mb-3"><RatingSummary rating={product.rating} reviewCount={product.reviewCount} /></p>
      <div className="grid gap-6 md:grid-cols-[1fr_2fr]">
        <div className="grid content-start gap-4">
          {first && first.total > 0 ? <StarBreakdown page={first} /> : null}
          {userId ? (
            <ReviewForm productId={product.id} />
          ) : (
            <p className="text-sm text-slate-600">Sign in to review a product you bought.</p>
          )}
        </div>
        <div>
          {reviews.isPending ? <p className="text-sm text-slate-600">Loading reviews…</p> : null}
          {reviews.isError ? <p role="alert" className="text-sm text-red-700">The reviews could not be loaded.</p> : null}
          {first && first.total === 0 ? <p className="text-slate-600">No reviews yet. Bought it? Be the first to review it.</p> : null}
          <ul className="grid gap-4">
            {items.map((r) => (
              <li key={r.reviewId} className="border-b border-slate-100 pb-3" data-testid="review">
                <p className="flex flex-wrap items-center gap-2">
                  <Stars value={r.rating} />
                  {r.title ? <strong>{r.title}</strong> : null}
                </p>
                {r.body ? <p className="mt-1 text-slate-700">{r.body}</p> : null}
                <p className="mt-1 text-xs text-slate-500">
                  {r.author} · {new Date(r.createdAt).toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric" })}
                </p>
              </li>
            ))}
          </ul>
          {reviews.hasNextPage ? (
            <button type="button" onClick={() => void reviews.fetchNextPage()} disabled={reviews.isFetchingNextPage} className="mt-3 min-h-11 rounded border border-slate-300 px-4 py-2 hover:bg-slate-50 focus-visible:outline-2">
              {reviews.isFetchingNextPage ? "Loading…" : `Show more reviews (${items.length} of ${first?.total ?? 0})`}
            </button>
          ) : null}
        </div>
      </div>
    </section>
  );
}
