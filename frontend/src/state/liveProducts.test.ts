import { describe, expect, it } from "vitest";
import { mergeLive } from "../lib/reducers";
import type { Product } from "../lib/types";
import { product } from "../test/fakes";
import { LiveProductStore } from "./liveProducts";

/** A fetch whose answer the test releases when it wants. */
function pending(answer: Product): { fetch: () => Promise<Product>; answer: () => void } {
  let release = (): void => undefined;
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { fetch: () => done.then(() => answer), answer: release };
}

const shown = (store: LiveProductStore): Product => mergeLive(product(), store.get().prod_1);

describe("a product fetched again after a reconnect", () => {
  it("is shown when nothing was pushed while it was on its way", async () => {
    const store = new LiveProductStore();
    store.putProduct(product({ price: 55 }));
    const request = pending(product({ price: 44 }));
    const refetched = store.refetch("prod_1", request.fetch);
    request.answer();
    await refetched;
    expect(shown(store).price).toBe(44);
  });

  it("does not overwrite a price pushed while it was on its way", async () => {
    const store = new LiveProductStore();
    const request = pending(product({ price: 55 }));
    const refetched = store.refetch("prod_1", request.fetch);
    store.putProduct(product({ price: 44 }));
    request.answer();
    await refetched;
    expect(shown(store).price).toBe(44);
  });

  it("replaces stock pushed before the disconnect, not stock pushed meanwhile", async () => {
    const level = (stock: number) => ({ productId: "prod_1", stock, reserved: 0, available: stock, lowStock: false, soldOut: false });
    const store = new LiveProductStore();
    store.putInventory(level(7));
    const first = pending(product({ stock: 3 }));
    const refetched = store.refetch("prod_1", first.fetch);
    first.answer();
    await refetched;
    expect(shown(store).stock).toBe(3);

    const second = pending(product({ stock: 3, price: 40 }));
    const again = store.refetch("prod_1", second.fetch);
    store.putInventory(level(2));
    second.answer();
    await again;
    expect(shown(store)).toMatchObject({ stock: 2, price: 40 });
  });
});
