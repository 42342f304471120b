/** The signed-in shopper's wishlist: the products saved, newest first, each live like any card,
 * to buy or to remove; a sign-in form otherwise. */
import { useState } from "react";
import { Link } from "react-router-dom";
import { ProductCard } from "../components/ProductCard";
import { SignInForm } from "../components/SignIn";
import { ProductGridSkeleton } from "../components/Skeleton";
import { Empty, ErrorState } from "../components/States";
import { useWishlist, wishlistError } from "../components/Wishlist";
import { usePageTitle } from "../components/page";

export function WishlistPage() {
  const { userId, wishlist, change } = useWishlist();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  usePageTitle("Your wishlist");
  if (!userId) {
    return (
      <div className="mx-auto max-w-sm">
        <h1 className="mb-2 text-2xl font-bold">Your wishlist</h1>
        <p className="mb-4 text-slate-600">Sign in to keep a wishlist and hear when its products get cheaper or come back in stock.</p>
        <div className="rounded-lg border border-slate-200 bg-white p-4"><SignInForm idPrefix="wishlist-signin" /></div>
      </div>
    );
  }
  const remove = async (productId: string) => {
    setBusy(productId);
    setError(null);
    try {
      await change(productId, false);
    } catch (err) {
      setError(wishlistError(err));
    } finally {
      setBusy(null);
    }
  };
  const items = wishlist.data?.items;
  return (
    <div>
      <h1 className="mb-1 text-2xl font-bold">Your wishlist</h1>
      <p className="mb-4 text-sm text-slate-600">We tell you here and by e-mail when one of these gets cheaper or comes back in stock (at most one e-mail a day for each).</p>
      {error ? <p role="alert" className="mb-3 text-sm text-red-700">{error}</p> : null}
      {wishlist.error ? <ErrorState error={wishlist.error} onRetry={() => void wishlist.refetch()} /> : !items ? <ProductGridSkeleton count={4} /> : items.length === 0 ? (
        <Empty title="Your wishlist is empty">Save products from their pages: <Link to="/catalog" className="text-indigo-700 underline">browse the catalog</Link>.</Empty>
      ) : (
        <ul className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-4" data-testid="wishlist">
          {items.map((p) => (
            <li key={p.id} className="flex flex-col gap-2" data-testid="wishlist-item" data-product-id={p.id}>
              <ProductCard product={p} source="wishlist" />
              <button type="button" disabled={busy === p.id} onClick={() => void remove(p.id)} className="min-h-11 rounded border border-slate-300 px-3 py-2 text-sm hover:bg-slate-50 focus-visible:outline-2" aria-label={`Remove ${p.name} from your wishlist`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
