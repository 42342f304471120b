/** A tab-wide store of pushed product and stock changes, read by components through a hook. */
import { useEffect } from "react";
import { applyInventoryUpdate, applyProductUpdate, mergeLive, type LiveProducts } from "../lib/reducers";
import type { InventoryLevel, Product } from "../lib/types";
import { ExternalStore, useStoreValue } from "./externalStore";

export class LiveProductStore extends ExternalStore<LiveProducts> {
  private readonly visible = new Map<string, number>();

  constructor() {
    super({});
  }

  putProduct(product: Product): void {
    this.update((state) => applyProductUpdate(state, product));
  }

  putInventory(level: InventoryLevel): void {
    this.update((state) => applyInventoryUpdate(state, level));
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
