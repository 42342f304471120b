/** A product's picture: its URL rule, and an image that loads it again when a load fails. */
import { useEffect, useState, type ImgHTMLAttributes } from "react";
import type { Product } from "../lib/types";

/** Loads again after a failed one, waiting this long times 2^attempt, at most `RETRIES` times:
 * a load cut by a dropped connection (a flaky network, a server restart) would otherwise leave
 * a broken picture until the page is reloaded. */
export const RETRY_MS = 1000;
export const RETRIES = 3;

export function productImage(product: Pick<Product, "id" | "imageUrl">): string {
  return product.imageUrl || `/images/products/${encodeURIComponent(product.id)}.svg`;
}

export function ProductPicture({ product, ...img }: { product: Pick<Product, "id" | "imageUrl"> } & ImgHTMLAttributes<HTMLImageElement>) {
  const src = productImage(product);
  const [attempt, setAttempt] = useState({ src, count: 0, failed: false });
  const current = attempt.src === src ? attempt : { src, count: 0, failed: false };

  useEffect(() => {
    if (!current.failed || current.count >= RETRIES) return;
    const timer = setTimeout(
      () => setAttempt({ src, count: current.count + 1, failed: false }),
      RETRY_MS * 2 ** current.count,
    );
    return () => clearTimeout(timer);
  }, [current.failed, current.count, src]);

  return (
    <img
      // a new element loads the same URL again; the old one keeps its failure
      key={`${src}#${current.count}`}
      src={src}
      {...img}
      onError={() => setAttempt({ src, count: current.count, failed: true })}
    />
  );
}
