/**
 * Placeholders in the shape of what is loading, so the page does not jump when it arrives. Each
 * skeleton is one status region with a spoken label ("Loading products…"); the grey blocks are
 * hidden from screen readers.
 */
import type { ReactNode } from "react";

export function Skeleton({ className = "" }: { className?: string }) {
  return <span aria-hidden className={`block animate-pulse rounded bg-slate-200 ${className}`} />;
}

/** The status region every skeleton is wrapped in: `label` is what a screen reader hears. */
export function SkeletonRegion({ label, children, className = "", testId }: { label: string; children: ReactNode; className?: string; testId?: string }) {
  return (
    <div role="status" aria-live="polite" aria-busy="true" data-skeleton className={className} data-testid={testId}>
      <span className="sr-only">{label}</span>
      {children}
    </div>
  );
}

/** A page heading's place while the page has none yet. */
export function HeadingSkeleton() {
  return <Skeleton className="mb-4 h-8 w-56" />;
}

export function ProductCardSkeleton() {
  return (
    <div className="flex flex-col overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm" data-testid="product-card-skeleton">
      <Skeleton className="aspect-square w-full rounded-none" />
      <div className="flex flex-col gap-2 p-3">
        <Skeleton className="h-3 w-16" />
        <Skeleton className="h-4 w-3/4" />
        <Skeleton className="h-5 w-20" />
        <Skeleton className="mt-1 h-11 w-full" />
      </div>
    </div>
  );
}

/** A grid of card placeholders laid out like `ProductGrid`. */
export function ProductGridSkeleton({ count = 8, label = "Loading products…", testId }: { count?: number; label?: string; testId?: string }) {
  return (
    <SkeletonRegion label={label} className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-4" testId={testId}>
      {Array.from({ length: count }, (_, i) => <ProductCardSkeleton key={i} />)}
    </SkeletonRegion>
  );
}

/** Lines of text of decreasing width (a list of orders, a cart, a panel). */
export function LinesSkeleton({ lines = 3, label = "Loading…" }: { lines?: number; label?: string }) {
  return (
    <SkeletonRegion label={label} className="flex flex-col gap-3 py-2">
      {Array.from({ length: lines }, (_, i) => <Skeleton key={i} className={`h-12 ${i % 3 === 2 ? "w-2/3" : "w-full"}`} />)}
    </SkeletonRegion>
  );
}

/** A product page's layout: picture, name, price, button. */
export function ProductDetailSkeleton() {
  return (
    <SkeletonRegion label="Loading product…" className="grid gap-6 md:grid-cols-2">
      <Skeleton className="aspect-square w-full rounded-lg" />
      <div className="flex flex-col gap-3">
        <Skeleton className="h-9 w-3/4" />
        <Skeleton className="h-4 w-32" />
        <Skeleton className="h-8 w-28" />
        <Skeleton className="h-20 w-full" />
        <Skeleton className="h-11 w-full" />
      </div>
    </SkeletonRegion>
  );
}
