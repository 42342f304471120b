/** A tab-wide store of pushed product and stock changes, read by components through a hook. */
import { useEffect } from "react";
import { applyInventoryUpdate, applyProductUpdate, applyRefetched, mergeLive, type LiveProducts } from "../lib/reducers";
import type { InventoryLevel, Product } from "../lib/types";
import { ExternalStore, useStoreValue } from "./externalStore";

export class LiveProductStore extends ExternalStore<LiveProducts> {
  private readonly visible = new Map<string, number>();
  /** Pushes received per product id, to tell whether one came while a refetch was on its way. */
  private readonly productPushes = new Map<string, number>();
  private readonly inventoryPushes = new Map<string, number>();

  constructor() {
    super({});
  }

  putProduct(product: Product): void {
    bump(this.productPushes, product.id);
    this.update((state) => applyProductUpdate(state, product));
  }

  putInventory(level: InventoryLevel): void {
    bump(this.inventoryPushes, level.productId);
    this.update((state) => applyInventoryUpdate(state, level));
  }

  /** Fetches a product again and shows it, unless a push newer than the answer came meanwhile. */
  async refetch(id: string, fetchProduct: (id: string) => Promise<Product>): Promise<void> {
    const products = this.productPushes.get(id) ?? 0;
    const inventory = this.inventoryPushes.get(id) ?? 0;
    const product = await fetchProduct(id);
    const pushedMeanwhile = {
      product: (this.productPushes.get(id) ?? 0) !== products,
      inventory: (this.inventoryPushes.get(id) ?? 0) !== inventory,
    };
    this.update((state) => applyRefetched(state, product, pushedMeanwhile));
  }

  /** Marks a product as on screen; returns the function that unmarks it. */
  show(id: string): () => void {
    this.visible.set(id, (this.visible.get(id) ?? 0) + 1);
    return () => {
      const count = (this.visible.get(id) ?? 1) - 1;
      if (count <= 0) this.visible.delete(id);
      else this.visible.set(id, count);
    };
  }

  visibleIds(): string[] {
    return [...this.visible.keys()];
  }
}

/** The product with every pushed change applied; while mounted it counts as visible for resync. */
export function useLiveProduct(store: LiveProductStore, product: Product): Product {
  const state = useStoreValue(store);
  useEffect(() => store.show(product.id), [store, product.id]);
  return mergeLive(product, state[product.id]);
}

function bump(counts: Map<string, number>, id: string): void {
  counts.set(id, (counts.get(id) ?? 0) + 1);
}
