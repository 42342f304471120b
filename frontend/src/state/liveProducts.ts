/** A tab-wide store of pushed product and stock changes, read by components through a hook. */
import { useEffect, useSyncExternalStore } from "react";
import { applyInventoryUpdate, applyProductUpdate, mergeLive, type LiveProducts } from "../lib/reducers";
import type { InventoryLevel, Product } from "../lib/types";

export class LiveProductStore {
  private state: LiveProducts = {};
  private readonly listeners = new Set<() => void>();
  private readonly visible = new Map<string, number>();

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): LiveProducts => this.state;

  putProduct(product: Product): void {
    this.state = applyProductUpdate(this.state, product);
    this.emit();
  }

  putInventory(level: InventoryLevel): void {
    this.state = applyInventoryUpdate(this.state, level);
    this.emit();
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

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

/** The product with every pushed change applied; while mounted it counts as visible for resync. */
export function useLiveProduct(store: LiveProductStore, product: Product): Product {
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot);
  useEffect(() => store.show(product.id), [store, product.id]);
  return mergeLive(product, state[product.id]);
}
