/** The wishlist: its query, a toggle on the product page, and the live alert when a wished-for product gets cheaper or returns. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router-dom";
import { ApiError, api } from "../lib/api";
import { formatMoney } from "../lib/format";
import type { Wishlist } from "../lib/types";
import { useStoreValue } from "../state/externalStore";
import { keys } from "../state/queries";
import { useIdentity, useShop } from "../state/shop";

/** The signed-in shopper's wishlist (nothing while signed out): one cache entry for the product
 * page's button and the wishlist page; `change` adds or removes a product and keeps the answer. */
export function useWishlist() {
  const { sessionId, userId } = useIdentity();
  const queries = useQueryClient();
  const key = keys.wishlist({ sessionId, userId });
  const wishlist = useQuery({ queryKey: key, queryFn: () => api.wishlist(), enabled: userId !== null });
  const change = async (productId: string, wished: boolean) => {
    const next: Wishlist = wished ? await api.wish(productId) : await api.unwish(productId);
    queries.setQueryData(key, next);
  };
  return { userId, wishlist, change };
}

export function wishlistError(err: unknown): string {
  return err instanceof ApiError ? err.message : "The wishlist could not be changed; please try again.";
}

export function WishlistButton({ productId }: { productId: string }) {
  const { userId, wishlist, change } = useWishlist();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!userId) return <p className="text-sm text-slate-600">Sign in to save it to your wishlist and hear when the price drops.</p>;
  const saved = wishlist.data?.items.some((p) => p.id === productId) ?? false;
  const toggle = async () => {
    setBusy(true);
    setError(null);
    try {
      await change(productId, !saved);
    } catch (err) {
      setError(wishlistError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <button type="button" aria-pressed={saved} disabled={busy || wishlist.isPending} onClick={() => void toggle()} className="min-h-11 rounded border border-slate-300 px-4 py-2 hover:bg-slate-50 focus-visible:outline-2 aria-pressed:border-rose-400 aria-pressed:bg-rose-50" data-testid="wishlist-toggle">
        <span aria-hidden="true">{saved ? "♥" : "♡"}</span> {saved ? "On your wishlist" : "Add to wishlist"}
      </button>
      {error ? <p role="alert" className="text-sm text-red-700">{error}</p> : null}
    </div>
  );
}

/** The latest wishlist alert, shown under the header until dismissed. */
export function WishlistAlertBanner() {
  const stores = useShop();
  const current = useStoreValue(stores.wishlistAlert);
  if (!current) return null;
  const { alert, product } = current;
  const text =
    alert.reason === "PRICE_DROP" && alert.newPrice !== undefined && alert.newPrice !== null
      ? `Price drop on your wishlist: ${product.name} is now ${formatMoney(alert.newPrice)}${alert.oldPrice ? ` (was ${formatMoney(alert.oldPrice)})` : ""}.`
      : `Back in stock from your wishlist: ${product.name}.`;
  return (
    <div role="status" className="border-b border-rose-200 bg-rose-50" data-testid="wishlist-alert">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-2 px-3 py-2 text-sm text-rose-900">
        <span className="flex-1">{text}</span>
        <Link to={`/product/${encodeURIComponent(product.id)}`} onClick={() => stores.wishlistAlert.set(null)} className="rounded bg-rose-600 px-2 py-1 text-white hover:bg-rose-700 focus-visible:outline-2">View product</Link>
        <button type="button" onClick={() => stores.wishlistAlert.set(null)} className="rounded px-2 py-1 hover:bg-rose-100 focus-visible:outline-2" aria-label="Dismiss wishlist alert">✕</button>
      </div>
    </div>
  );
}
