/** A product's price, with the flash-sale price and a countdown while a sale runs. */
import { useEffect, useState } from "react";
import { formatCountdown, formatMoney, secondsLeft } from "../lib/format";
import type { Product } from "../lib/types";

export function activeSale(product: Product, now: number): Product["flashSale"] | null {
  const sale = product.flashSale;
  return sale && sale.startsAt <= now && now < sale.endsAt ? sale : null;
}

export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}

export function Countdown({ endsAt }: { endsAt: number }) {
  const now = useNow();
  const left = secondsLeft(endsAt, now);
  return (
    <span className="font-mono" data-testid="countdown" aria-label={`Sale ends in ${left} seconds`}>
      {formatCountdown(left)}
    </span>
  );
}

/**
 * The "was" price is the server's `originalPrice`: the lowest price of the 30 days before the
 * reduction (docs/API.md), struck through only when it is above the price paid.
 */
function WasPrice({ product }: { product: Product }) {
  if (!(product.originalPrice > product.price)) return null;
  return (
    <>
      <s className="text-sm text-slate-500" data-testid="was-price">
        <span className="sr-only">was </span>
        {formatMoney(product.originalPrice)}
      </s>
      {product.reductionPercent ? (
        <span className="rounded bg-rose-100 px-1.5 py-0.5 text-xs font-semibold text-rose-700" data-testid="sale-badge">
          −{product.reductionPercent} %
        </span>
      ) : null}
    </>
  );
}

export function PriceTag({ product, large = false }: { product: Product; large?: boolean }) {
  const now = useNow();
  const sale = activeSale(product, now);
  const size = large ? "text-3xl" : "text-lg";
  if (sale) {
    return (
      <div className="flex flex-wrap items-baseline gap-2">
        <span className={`${size} font-bold text-rose-600`} data-testid="price">{formatMoney(sale.salePrice)}</span>
        <WasPrice product={{ ...product, price: sale.salePrice }} />
        <span className="rounded bg-rose-100 px-1.5 py-0.5 text-xs font-semibold text-rose-700">
          Flash sale · ends in <Countdown endsAt={sale.endsAt} />
        </span>
      </div>
    );
  }
  return (
    <div className="flex flex-wrap items-baseline gap-2">
      <span className={`${size} font-bold`} data-testid="price">{formatMoney(product.price)}</span>
      <WasPrice product={product} />
    </div>
  );
}

export function StockBadge({ product }: { product: Product }) {
  const available = product.available ?? product.stock;
  if (available <= 0) return <span className="text-sm font-medium text-red-700" data-testid="stock">Sold out</span>;
  if (available <= 5)
    return <span className="text-sm font-medium text-amber-700" data-testid="stock">Only {available} left</span>;
  return <span className="text-sm text-emerald-700" data-testid="stock">{available} in stock</span>;
}
