import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { cart, FakeSocket, product, stubFetch } from "../test/fakes";
import { renderApp } from "../test/render";

beforeEach(() => {
  FakeSocket.instances = [];
  localStorage.clear();
  localStorage.setItem("kartshoppe.sessionId", "sess_test");
});

function signIn() {
  localStorage.setItem("kartshoppe.auth", JSON.stringify({ token: "tok_1", userId: "user_1", role: "shopper", expiresAt: Date.now() + 60_000 }));
}

describe("wishlist page", () => {
  it("lists the signed-in shopper's saved products and removes one", async () => {
    signIn();
    const lamp = product({ id: "prod_2", name: "Desk Lamp" });
    const { calls } = stubFetch({
      "GET /api/ecommerce/cart/sess_test": cart({ userId: "user_1" }),
      "GET /api/ecommerce/wishlist": { items: [product(), lamp] },
      "DELETE /api/ecommerce/wishlist/prod_1": { items: [lamp] },
    });
    renderApp("/wishlist");
    const list = await screen.findByTestId("wishlist");
    expect(within(list).getAllByTestId("wishlist-item").map((li) => li.dataset.productId)).toEqual(["prod_1", "prod_2"]);
    expect(within(list).getByRole("button", { name: "Add to cart, Trail Shoe" })).toBeInTheDocument();
    await userEvent.click(within(list).getByRole("button", { name: "Remove Trail Shoe from your wishlist" }));
    await waitFor(() => expect(within(list).getAllByTestId("wishlist-item").map((li) => li.dataset.productId)).toEqual(["prod_2"]));
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.url.pathname)).toEqual(["/api/ecommerce/wishlist/prod_1"]);
    expect(document.title).toBe("Your wishlist · KartShoppe");
  });

  it("says so when nothing is saved", async () => {
    signIn();
    stubFetch({ "GET /api/ecommerce/cart/sess_test": cart({ userId: "user_1" }), "GET /api/ecommerce/wishlist": { items: [] } });
    renderApp("/wishlist");
    expect(await screen.findByText("Your wishlist is empty")).toBeInTheDocument();
  });

  it("asks a signed-out shopper to sign in", async () => {
    const { calls } = stubFetch({ "GET /api/ecommerce/cart/sess_test": cart() });
    renderApp("/wishlist");
    expect(await screen.findByRole("form", { name: "Sign in" })).toBeInTheDocument();
    expect(calls.some((c) => c.url.pathname === "/api/ecommerce/wishlist")).toBe(false);
  });
});
