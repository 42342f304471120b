/** A product tile in lists: live price and stock, a link to its page and an add-to-cart button. */
import { Link } from "react-router-dom";
import { useLiveProduct } from "../state/liveProducts";
import { useShop } from "../state/shop";
import { useCartActions } from "../state/useCartActions";
import type { Product } from "../lib/types";
import { PriceTag, StockBadge } from "./Price";
import { ProductPicture } from "./ProductPicture";
import { Rating } from "./Rating";

export function ProductCard({ product: initial, source }: { product: Product; source: string }) {
  const { live, track } = useShop();
  const product = useLiveProduct(live, initial);
  const cart = useCartActions();
  const available = product.available ?? product.stock;
  return (
    <article className="flex flex-col overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm" data-testid="product-card" data-product-id={product.id}>
      <Link
        to={`/product/${encodeURIComponent(product.id)}`}
        onClick={() => track({ eventType: "PRODUCT_CLICK", productId: product.id, source })}
        className="group flex flex-1 flex-col focus-visible:outline-2 focus-visible:outline-indigo-600"
      >
        <ProductPicture product={product} alt="" loading="lazy" className="aspect-square w-full bg-slate-100 object-cover" />
        <div className="flex flex-1 flex-col gap-1 p-3">
          <span className="text-xs uppercase tracking-wide text-slate-500">{product.category}</span>
          <h3 className="font-semibold group-hover:underline">{product.name}</h3>
          <Rating product={product} />
          <PriceTag product={product} />
          <StockBadge product={product} />
        </div>
      </Link>
      <div className="p-3 pt-0">
        <button
          type="button"
          disabled={cart.busy || available <= 0}
          onClick={() => void cart.add(product.id)}
          className="w-full rounded bg-indigo-600 px-3 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 disabled:cursor-not-allowed disabled:bg-slate-300"
        >
          {/* the name says which product, after the visible words so speech control still finds them */}
          {available <= 0 ? "Sold out" : "Add to cart"}<span className="sr-only">, {product.name}</span>
        </button>
        {cart.error ? <p role="alert" className="mt-1 text-xs text-red-700">{cart.error}</p> : null}
      </div>
    </article>
  );
}

export function ProductGrid({ products, source }: { products: Product[]; source: string }) {
  return (
    <div className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-4">
      {products.map((p) => (
        <ProductCard key={p.id} product={p} source={source} />
      ))}
    </div>
  );
}
