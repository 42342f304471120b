import { act, render, screen, waitFor } from "@testing-library/react";
import { Profiler, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import { beforeEach, describe, expect, it } from "vitest";
import { cart, FakeSocket, product, stubFetch } from "../test/fakes";
import { useLiveProduct } from "./liveProducts";
import { relatedQuery } from "./queries";
import { ShopProvider, useCart, useConnectionStatus, useShop } from "./shop";

const renders: Record<string, number> = {};
const counted = (id: string, children: ReactNode) => (
  <Profiler id={id} onRender={() => (renders[id] = (renders[id] ?? 0) + 1)}>
    {children}
  </Profiler>
);

function CartCount() {
  const { data, isFetching } = useCart();
  return <span data-testid="count" data-fetching={isFetching}>{data?.itemCount ?? "-"}</span>;
}

function LivePrice() {
  const { live } = useShop();
  return <span data-testid="price">{useLiveProduct(live, product()).price}</span>;
}

function RelatedIds() {
  const { data } = useQuery(relatedQuery("prod_1"));
  return <span data-testid="related">{data?.boughtTogether.map((p) => p.id).join(",") ?? "-"}</span>;
}

function Status() {
  return <span data-testid="status">{useConnectionStatus()}</span>;
}

function renderShop() {
  render(
    <ShopProvider createSocket={(url) => new FakeSocket(url)}>
      {counted("cart", <CartCount />)}
      {counted("price", <LivePrice />)}
      {counted("status", <Status />)}
    </ShopProvider>,
  );
}

beforeEach(() => {
  FakeSocket.instances = [];
  for (const id of Object.keys(renders)) delete renders[id];
  localStorage.setItem("kartshoppe.sessionId", "sess_test");
  stubFetch({ "GET /api/ecommerce/cart/sess_test": cart(), "GET /api/ecommerce/recommendations/sess_test": [] });
});

describe("shop state", () => {
  it("re-renders only the components that read what a push changed", async () => {
    renderShop();
    await waitFor(() => expect(screen.getByTestId("count")).toHaveTextContent("0"));
    act(() => FakeSocket.latest().serverOpens());
    const before = { ...renders };

    act(() => FakeSocket.latest().serverSends({ type: "PRODUCT_UPDATED", product: product({ price: 55 }) }));
    expect(screen.getByTestId("price")).toHaveTextContent("55");
    expect(renders.price).toBe((before.price ?? 0) + 1);
    expect(renders.cart).toBe(before.cart);
    expect(renders.status).toBe(before.status);

    act(() => FakeSocket.latest().serverSends({ type: "CART_UPDATED", cart: cart({ itemCount: 3, updatedAt: 9 }) }));
    expect(screen.getByTestId("count")).toHaveTextContent("3");
    expect(renders.cart).toBe((before.cart ?? 0) + 1);
    expect(renders.price).toBe((before.price ?? 0) + 1);
    expect(renders.status).toBe(before.status);
  });

  it("keeps a pushed cart when an older REST answer for it arrives later", async () => {
    renderShop();
    await waitFor(() => expect(screen.getByTestId("count")).toHaveTextContent("0"));
    act(() => FakeSocket.latest().serverSends({ type: "CART_UPDATED", cart: cart({ itemCount: 2, updatedAt: 9 }) }));
    const { calls } = stubFetch({ "GET /api/ecommerce/cart/sess_test": cart({ itemCount: 1, updatedAt: 5 }) });
    act(() => {
      FakeSocket.latest().serverOpens();
      FakeSocket.latest().serverCloses();
    });
    await waitFor(() => expect(FakeSocket.instances.length).toBe(2), { timeout: 3000 });
    act(() => FakeSocket.latest().serverOpens());
    await waitFor(() => expect(calls.some((c) => c.url.pathname === "/api/ecommerce/cart/sess_test")).toBe(true));
    await waitFor(() => expect(screen.getByTestId("count")).toHaveAttribute("data-fetching", "false"));
    expect(screen.getByTestId("count")).toHaveTextContent("2");
  });

  it("reconnects at once when the network comes back or the tab is shown again", async () => {
    renderShop();
    await waitFor(() => expect(screen.getByTestId("count")).toHaveTextContent("0"));
    act(() => {
      FakeSocket.latest().serverOpens();
      FakeSocket.latest().serverCloses();
    });
    expect(screen.getByTestId("status")).toHaveTextContent("reconnecting");
    act(() => void window.dispatchEvent(new Event("online")));
    expect(FakeSocket.instances).toHaveLength(2); // at once, not after the backoff's timer
    act(() => FakeSocket.latest().serverCloses());
    act(() => void document.dispatchEvent(new Event("visibilitychange")));
    expect(FakeSocket.instances).toHaveLength(3);
    act(() => FakeSocket.latest().serverOpens());
    act(() => void window.dispatchEvent(new Event("online")));
    expect(FakeSocket.instances).toHaveLength(3); // connected: nothing to do
  });

  it("drops a retired product from the related products it was shown in", async () => {
    let related = [product({ id: "prod_2" }), product({ id: "prod_3" })];
    stubFetch({
      "GET /api/ecommerce/cart/sess_test": cart(),
      "GET /api/ecommerce/recommendations/sess_test": [],
      "GET /api/ecommerce/product/prod_1/related": () => ({ boughtTogether: related, alsoViewed: [] }),
    });
    render(
      <ShopProvider createSocket={(url) => new FakeSocket(url)}>
        <RelatedIds />
      </ShopProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("related")).toHaveTextContent("prod_2,prod_3"));
    related = [product({ id: "prod_3" })];
    act(() => FakeSocket.latest().serverSends({ type: "PRODUCT_RETIRED", productId: "prod_2" }));
    await waitFor(() => expect(screen.getByTestId("related")).toHaveTextContent(/^prod_3$/));
  });
});
