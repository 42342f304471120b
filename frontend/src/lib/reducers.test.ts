import { describe, expect, it } from "vitest";
import { cart, product } from "../test/fakes";
import type { Analytics, Order, Recommendation } from "./types";
import { appendAnalytics, applyInventoryUpdate, applyProductUpdate, applyRefetched, mergeLive, mergeRecommendations, newerCart, newerOrders, upsertOrder } from "./reducers";

const level = { productId: "prod_1", stock: 7, reserved: 2, available: 5, lowStock: true, soldOut: false };

describe("live products", () => {
  it("shows a pushed price change over the fetched product", () => {
    const state = applyProductUpdate({}, product({ price: 55 }));
    expect(mergeLive(product(), state.prod_1).price).toBe(55);
  });

  it("applies pushed stock on top of the catalog copy", () => {
    const state = applyInventoryUpdate(applyProductUpdate({}, product({ price: 55 })), level);
    const merged = mergeLive(product(), state.prod_1);
    expect(merged).toMatchObject({ price: 55, stock: 7, available: 5 });
  });

  it("shows a product fetched again with its own stock over the stock pushed before", () => {
    const before = applyInventoryUpdate(applyProductUpdate({}, product({ price: 55 })), level);
    const state = applyRefetched(before, product({ price: 44, stock: 3 }), { product: false, inventory: false });
    expect(mergeLive(product(), state.prod_1)).toMatchObject({ price: 44, stock: 3 });
  });

  it("keeps a push that came while the product was fetched again", () => {
    const pushed = applyInventoryUpdate(applyProductUpdate({}, product({ price: 55 })), level);
    const late = product({ price: 44, stock: 3 });
    expect(applyRefetched(pushed, late, { product: true, inventory: false })).toBe(pushed);
    const merged = mergeLive(product(), applyRefetched(pushed, late, { product: false, inventory: true }).prod_1);
    expect(merged).toMatchObject({ price: 44, stock: 7 });
  });

  it("leaves a product without pushes untouched", () => {
    const base = product();
    expect(mergeLive(base, undefined)).toBe(base);
  });
});

describe("orders", () => {
  const order = (id: string, createdAt: number, status: Order["status"] = "PLACED") =>
    ({ orderId: id, createdAt, status, lines: [], total: 1, updatedAt: createdAt, history: [], sessionId: "s", userId: null, idempotencyKey: "k" }) as unknown as Order;

  it("replaces an order in place when its status changes", () => {
    const list = upsertOrder([order("o1", 1), order("o2", 2)], order("o1", 1, "PAID"));
    expect(list.map((o) => [o.orderId, o.status])).toEqual([["o2", "PLACED"], ["o1", "PAID"]]);
  });

  it("adds a new order first", () => {
    expect(upsertOrder([order("o1", 1)], order("o2", 5))[0]?.orderId).toBe("o2");
  });

  it("keeps what was pushed while the list was fetched again", () => {
    const paid = { ...order("o1", 1, "PAID"), updatedAt: 9 };
    const placed = order("o3", 8);
    const late = [order("o2", 2), order("o1", 1)];
    const merged = newerOrders([placed, paid], late);
    expect(merged.map((o) => [o.orderId, o.status])).toEqual([["o3", "PLACED"], ["o2", "PLACED"], ["o1", "PAID"]]);
  });

  it("takes a fresher answer as it is", () => {
    const answer = [{ ...order("o1", 1, "SHIPPED"), updatedAt: 20 }];
    expect(newerOrders([{ ...order("o1", 1, "PAID"), updatedAt: 9 }], answer)).toEqual(answer);
  });
});

describe("carts", () => {
  it("keeps the fresher cart when a late answer arrives after a push", () => {
    const pushed = cart({ updatedAt: 10, itemCount: 2 });
    const late = cart({ updatedAt: 5, itemCount: 1 });
    expect(newerCart(pushed, late)).toBe(pushed);
    expect(newerCart(late, pushed)).toBe(pushed);
  });

  it("takes a different cart as is (after sign-in the user's cart replaces the session's)", () => {
    const user = cart({ cartId: "cart_user_u1", updatedAt: 1 });
    expect(newerCart(cart({ updatedAt: 99 }), user)).toBe(user);
  });
});

describe("analytics history", () => {
  const analytics = (updatedAt: number, eventsPerSecond: number) =>
    ({ updatedAt, eventsPerSecond, liveUsers: 1, revenue: 0, orders: 0, funnel: {}, abandonmentRate: 0, recoveredCarts: 0, topProducts: [], topCategories: [] }) as Analytics;

  it("appends one point per update and keeps only the newest", () => {
    let h = appendAnalytics([], analytics(1, 1), 2);
    h = appendAnalytics(h, analytics(2, 2), 2);
    h = appendAnalytics(h, analytics(3, 3), 2);
    expect(h.map((p) => p.eventsPerSecond)).toEqual([2, 3]);
  });

  it("replaces a repeated update instead of adding a duplicate point", () => {
    const h = appendAnalytics(appendAnalytics([], analytics(1, 1)), analytics(1, 4));
    expect(h).toHaveLength(1);
    expect(h[0]?.eventsPerSecond).toBe(4);
  });
});

describe("recommendations", () => {
  const rec = (eventId: string, timestamp: number) =>
    ({ eventId, timestamp, kind: "PERSONAL" as const, productIds: ["prod_1"], reason: "r", confidence: 0.5 }) as Recommendation;

  it("keeps one of each, newest first", () => {
    const merged = mergeRecommendations([rec("r1", 1), rec("r2", 2)], [rec("r2", 2), rec("r3", 3)]);
    expect(merged.map((r) => r.eventId)).toEqual(["r3", "r2", "r1"]);
  });

  it("keeps only the newest few", () => {
    expect(mergeRecommendations([rec("r1", 1)], [rec("r2", 2), rec("r3", 3)], 2).map((r) => r.eventId)).toEqual(["r3", "r2"]);
  });
});
