/** The cart as a side drawer; it follows CART_UPDATED pushes, so every tab of a user shows the same cart. */
import { useQuery } from "@tanstack/react-query";
import { useRef } from "react";
import { Link } from "react-router-dom";
import { countOf, formatMoney } from "../lib/format";
import { productQuery } from "../state/queries";
import { useCart, useCartOpen, useShop } from "../state/shop";
import { useCartActions } from "../state/useCartActions";
import { Dialog } from "./Dialog";
import { ProductPicture } from "./ProductPicture";
import { QuantityInput } from "./QuantityInput";
import { LinesSkeleton } from "./Skeleton";
import { Empty, ErrorState } from "./States";

export function CartDrawer() {
  const stores = useShop();
  const { data: cart, error: cartError, refetch } = useCart();
  const cartOpen = useCartOpen();
  const setCartOpen = (open: boolean) => stores.cartOpen.set(open);
  const actions = useCartActions();
  const closeRef = useRef<HTMLButtonElement>(null);

  return (
    <Dialog
      open={cartOpen}
      onClose={() => setCartOpen(false)}
      labelledBy="cart-title"
      initialFocus={closeRef}
      frameClassName="fixed inset-0 z-40 flex justify-end"
      className="relative flex h-full w-full max-w-md flex-col bg-white shadow-xl"
      testId="cart-drawer"
    >
      <header className="flex items-center justify-between border-b p-4">
        <h2 id="cart-title" className="text-lg font-semibold">Your cart</h2>
        <button ref={closeRef} type="button" onClick={() => setCartOpen(false)} className="rounded px-2 py-1 hover:bg-slate-100 focus-visible:outline-2" aria-label="Close cart">
          ✕
        </button>
      </header>
      <div className="flex-1 overflow-y-auto p-4">
        {cartError && !cart ? <ErrorState error={cartError} onRetry={() => void refetch()} /> : null}
        {!cart && !cartError ? <LinesSkeleton lines={2} label="Loading cart…" /> : null}
        {cart && cart.lines.length === 0 ? <Empty title="Your cart is empty">Add something you like.</Empty> : null}
        {cart && cart.lines.length > 0 ? (
          <ul className="divide-y" data-testid="cart-lines">
            {cart.lines.map((line) => (
              <li key={line.productId} className="flex flex-wrap items-center gap-2 py-3" data-testid="cart-line" data-product-id={line.productId}>
                <div className="flex min-w-0 basis-full items-center gap-3">
                  <LinePicture productId={line.productId} />
                  <div className="min-w-0">
                    <Link
                      to={`/product/${encodeURIComponent(line.productId)}`}
                      onClick={() => setCartOpen(false)}
                      className="line-clamp-2 font-medium hover:underline focus-visible:outline-2"
                    >
                      {line.name || line.productId}
                    </Link>
                    <p className="text-sm text-slate-500">{formatMoney(line.unitPrice)} each</p>
                  </div>
                </div>
                <QuantityInput
                  id={`qty-${line.productId}`}
                  label={line.name || line.productId}
                  value={line.quantity}
                  onCommit={(q) => void actions.update(line.productId, q)}
                />
                <span className="w-20 text-right font-medium">{formatMoney(line.lineTotal)}</span>
                <button type="button" onClick={() => void actions.remove(line.productId)} className="rounded px-2 py-1 text-sm text-red-700 hover:bg-red-50 focus-visible:outline-2" aria-label={`Remove ${line.name || line.productId}`}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
        ) : null}
        {actions.error ? <p role="alert" className="mt-2 text-sm text-red-700">{actions.error}</p> : null}
      </div>
      {cart && cart.lines.length > 0 ? (
        <footer className="border-t p-4">
          <div className="mb-3 flex justify-between text-lg">
            <span>Subtotal ({countOf(cart.itemCount, "item")})</span>
            <span className="font-semibold" data-testid="cart-subtotal">{formatMoney(cart.subtotal)}</span>
          </div>
          <Link to="/checkout" onClick={() => setCartOpen(false)} className="flex min-h-11 items-center justify-center rounded bg-indigo-600 px-4 py-2 font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2">
            Checkout
          </Link>
        </footer>
      ) : null}
    </Dialog>
  );
}

/** A cart line's picture: the product's own (an operator's upload) once it is loaded, its
 * illustration until then; decorative, as the line names the product beside it. */
function LinePicture({ productId }: { productId: string }) {
  const { data: product } = useQuery(productQuery(productId));
  return (
    <ProductPicture
      product={product ?? { id: productId, imageUrl: "" }}
      alt=""
      loading="lazy"
      data-testid="cart-line-picture"
      className="h-14 w-14 shrink-0 rounded bg-slate-100 object-cover"
    />
  );
}
