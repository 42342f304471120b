import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { cart, FakeSocket, product, stubFetch } from "../test/fakes";
import { renderApp } from "../test/render";
import { BarList, TimeChart } from "./Charts";
import { ConnectionIndicator } from "./ConnectionIndicator";
import { PriceTag } from "./Price";
import { Rating } from "./Rating";

const line = { productId: "prod_1", name: "Trail Shoe", quantity: 2, unitPrice: 80, lineTotal: 160 };

function shopRoutes(extra: Record<string, unknown> = {}) {
  return stubFetch({
    "GET /api/ecommerce/products/featured": [product()],
    "GET /api/ecommerce/products/trending": [],
    "GET /api/ecommerce/recommendations/sess_test": [],
    ...extra,
  });
}

beforeEach(() => {
  FakeSocket.instances = [];
  localStorage.setItem("kartshoppe.sessionId", "sess_test");
});

describe("ConnectionIndicator", () => {
  it("says Live when connected and Reconnecting while the socket retries", () => {
    const { rerender } = render(<ConnectionIndicator status="open" />);
    expect(screen.getByRole("status")).toHaveTextContent("Live");
    rerender(<ConnectionIndicator status="reconnecting" />);
    expect(screen.getByRole("status")).toHaveTextContent("Reconnecting");
  });
});

describe("PriceTag", () => {
  it("shows the sale price, the struck was price and a countdown during a flash sale", () => {
    const now = Date.now();
    const sale = { discountPercent: 25, startsAt: now - 1000, endsAt: now + 65_000, salePrice: 60 };
    const onSale = product({ price: 60, listPrice: 80, originalPrice: 80, reductionPercent: 25, flashSale: sale });
    render(<PriceTag product={onSale} />);
    expect(screen.getByTestId("price")).toHaveTextContent("$60.00");
    expect(screen.getByTestId("was-price").tagName).toBe("S");
    expect(screen.getByTestId("was-price")).toHaveTextContent("was $80.00");
    expect(screen.getByTestId("sale-badge")).toHaveTextContent("−25 %");
    expect(screen.getByTestId("countdown").textContent).toMatch(/^01:0[45]$/);
  });

  it("strikes through the server's was price with a reduction badge", () => {
    render(<PriceTag product={product({ reductionPercent: 20 })} />);
    expect(screen.getByTestId("price")).toHaveTextContent("$80.00");
    expect(screen.getByTestId("was-price")).toHaveTextContent("$100.00");
    expect(screen.getByTestId("sale-badge")).toHaveTextContent("−20 %");
  });

  it("shows no was price and no badge when the rule allows none", () => {
    render(<PriceTag product={product({ originalPrice: 80, reductionPercent: null })} />);
    expect(screen.queryByTestId("was-price")).toBeNull();
    expect(screen.queryByTestId("sale-badge")).toBeNull();
  });
});

describe("Rating", () => {
  it("shows the average with its count and says so when there are no reviews", () => {
    const { rerender } = render(<Rating product={{ rating: 4.4, reviewCount: 1234 }} />);
    expect(screen.getByTestId("rating")).toHaveTextContent("4.4 out of 5 stars, 1,234 reviews (1,234)");
    rerender(<Rating product={{ rating: 5, reviewCount: 1 }} />);
    expect(screen.getByTestId("rating")).toHaveTextContent("5.0 out of 5 stars, 1 review (1)");
    rerender(<Rating product={{ rating: 0, reviewCount: 0 }} />);
    expect(screen.getByTestId("rating")).toHaveTextContent("No reviews yet");
  });
});

describe("charts", () => {
  it("describe their data in text for screen readers, with the unit", () => {
    render(<TimeChart points={[{ t: 0, v: 1 }, { t: 1000, v: 5 }, { t: 2000, v: 3 }]} title="Events per second" unit="events per second" />);
    expect(screen.getByRole("img").getAttribute("aria-label")).toMatch(/^Events per second, events per second: 3 intervals from .* total 9, peak 5$/);
  });

  it("label a time axis as precisely as its buckets, each tick once", () => {
    const at = (s: number) => new Date(2026, 10, 27, 12, 54, s).getTime();
    const { unmount } = render(<TimeChart points={[0, 1, 2, 3].map((s) => ({ t: at(s), v: 1 }))} title="Per second" unit="events per second" />);
    const ticks = () => Array.from(document.querySelectorAll('[data-axis="x"]')).map((e) => e.textContent);
    const labels = ticks();
    expect(new Set(labels).size).toBe(3);
    expect(labels[0]).toBe(new Date(at(0)).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }));
    unmount();
    render(<TimeChart points={[{ t: at(0), v: 1 }]} title="One" unit="events per second" />);
    expect(ticks()).toHaveLength(1);
  });

  it("list every bar with its value", () => {
    render(<BarList label="Funnel" bars={[{ label: "Viewed", value: 10 }, { label: "Ordered", value: 2 }]} />);
    const items = within(screen.getByRole("list", { name: "Funnel" })).getAllByRole("listitem");
    expect(items.map((i) => i.textContent)).toEqual(["Viewed10", "Ordered2"]);
  });
});

describe("cart drawer", () => {
  it("follows CART_UPDATED pushes from another tab of the same user", async () => {
    shopRoutes({ "GET /api/ecommerce/cart/sess_test": cart() });
    renderApp("/");
    await waitFor(() => expect(screen.getByTestId("cart-count")).toHaveTextContent("0"));
    act(() => FakeSocket.latest().serverOpens());
    await userEvent.click(screen.getByTestId("cart-button"));
    expect(screen.getByText("Your cart is empty")).toBeInTheDocument();

    act(() => FakeSocket.latest().serverSends({ type: "CART_UPDATED", cart: cart({ lines: [line], itemCount: 2, subtotal: 160, updatedAt: 5 }) }));
    expect(screen.getByTestId("cart-count")).toHaveTextContent("2");
    const drawer = screen.getByRole("dialog", { name: "Your cart" });
    expect(within(drawer).getByText("Trail Shoe")).toBeInTheDocument();
    expect(within(drawer).getByTestId("cart-subtotal")).toHaveTextContent("$160.00");
  });

  it("changes a quantity through the API and closes with Escape, giving focus back", async () => {
    const { calls } = shopRoutes({
      "GET /api/ecommerce/cart/sess_test": cart({ lines: [line], itemCount: 2, subtotal: 160 }),
      "POST /api/ecommerce/cart/sess_test/update": cart({ lines: [{ ...line, quantity: 3, lineTotal: 240 }], itemCount: 3, subtotal: 240, updatedAt: 2 }),
    });
    renderApp("/");
    await waitFor(() => expect(screen.getByTestId("cart-count")).toHaveTextContent("2"));
    await userEvent.click(screen.getByTestId("cart-button"));
    const qty = screen.getByLabelText("Quantity of Trail Shoe");
    await userEvent.clear(qty);
    await userEvent.type(qty, "3{Enter}");
    await waitFor(() => expect(screen.getByTestId("cart-count")).toHaveTextContent("3"));
    expect(calls.find((c) => c.method === "POST" && c.url.pathname.endsWith("/update"))?.body).toEqual({ productId: "prod_1", quantity: 3 });
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(screen.getByTestId("cart-button")).toHaveFocus();
  });

  it("shows each line with the product's own picture and a link to its page", async () => {
    shopRoutes({
      "GET /api/ecommerce/cart/sess_test": cart({ lines: [line], itemCount: 2, subtotal: 160 }),
      "GET /api/ecommerce/product/prod_1": product({ id: "prod_1", name: "Trail Shoe", imageUrl: "/images/uploads/abc.webp" }),
    });
    renderApp("/");
    await waitFor(() => expect(screen.getByTestId("cart-count")).toHaveTextContent("2"));
    await userEvent.click(screen.getByTestId("cart-button"));
    const drawer = screen.getByRole("dialog", { name: "Your cart" });
    const picture = within(drawer).getByTestId("cart-line-picture");
    expect(picture).toHaveAttribute("alt", "");
    await waitFor(() => expect(picture).toHaveAttribute("src", "/images/uploads/abc.webp"));
    await userEvent.click(within(drawer).getByRole("link", { name: "Trail Shoe" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(await screen.findByRole("heading", { level: 1, name: "Trail Shoe" })).toBeInTheDocument();
  });

  it("refetches the cart after the socket reconnects", async () => {
    const { calls } = shopRoutes({ "GET /api/ecommerce/cart/sess_test": cart() });
    renderApp("/");
    act(() => FakeSocket.latest().serverOpens());
    await waitFor(() => expect(screen.getByTestId("connection")).toHaveAttribute("data-status", "open"));
    const before = calls.filter((c) => c.url.pathname === "/api/ecommerce/cart/sess_test").length;
    act(() => FakeSocket.latest().serverCloses());
    expect(screen.getByTestId("connection")).toHaveAttribute("data-status", "reconnecting");
    await waitFor(() => expect(FakeSocket.instances.length).toBe(2), { timeout: 3000 });
    act(() => FakeSocket.latest().serverOpens());
    await waitFor(() => expect(calls.filter((c) => c.url.pathname === "/api/ecommerce/cart/sess_test").length).toBe(before + 1));
  });
});

describe("abandoned-cart reminder", () => {
  it("shows the offer a CART_REMINDER push carries and opens the cart from it", async () => {
    shopRoutes({ "GET /api/ecommerce/cart/sess_test": cart() });
    renderApp("/");
    act(() => FakeSocket.latest().serverOpens());
    act(() => FakeSocket.latest().serverSends({ type: "CART_REMINDER", cart: cart({ lines: [line], itemCount: 2, updatedAt: 9 }), offer: "10% off if you check out now" }));
    expect(screen.getByTestId("cart-reminder")).toHaveTextContent("10% off if you check out now");
    await userEvent.click(screen.getByRole("button", { name: "View cart" }));
    expect(screen.getByRole("dialog", { name: "Your cart" })).toHaveTextContent("Trail Shoe");
    expect(screen.queryByTestId("cart-reminder")).not.toBeInTheDocument();
  });
});

describe("sign-in", () => {
  const session = { token: "tok_alice", userId: "user_alice", role: "shopper", expiresAt: Date.now() + 60_000 };

  async function signInThroughMenu(email: string, password: string) {
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    const form = screen.getByRole("form", { name: "Sign in" });
    await userEvent.type(within(form).getByLabelText("Email"), email);
    await userEvent.type(within(form).getByLabelText("Password"), password);
    await userEvent.click(within(form).getByRole("button", { name: "Sign in" }));
    return form;
  }

  it("shows the server's reason when the password is wrong", async () => {
    stubFetch({
      "GET /api/ecommerce/cart/sess_test": cart(),
      "POST /api/ecommerce/auth/login": new Response(JSON.stringify({ error: "invalid_credentials", message: "wrong email or password" }), { status: 401 }),
    });
    renderApp("/");
    const form = await signInThroughMenu("a@b.dev", "nope");
    expect(await within(form).findByRole("alert")).toHaveTextContent("wrong email or password");
    expect(localStorage.getItem("kartshoppe.auth")).toBeNull();
  });

  it("merges the session's cart into the user's with the token, then reconnects as that user", async () => {
    const merged = cart({ cartId: "user_alice", userId: "user_alice", lines: [line], itemCount: 2 });
    const { calls } = stubFetch({
      "GET /api/ecommerce/cart/sess_test": (url: URL) => (url.searchParams.get("userId") ? merged : cart()),
      "POST /api/ecommerce/auth/login": session,
      "POST /api/ecommerce/cart/sess_test/merge": merged,
    });
    renderApp("/");
    await signInThroughMenu("alice@kartshoppe.dev", "secret-pass");
    await waitFor(() => expect(screen.getByTestId("signed-in-as")).toBeInTheDocument());
    const merge = calls.find((c) => c.url.pathname.endsWith("/merge"));
    expect(merge?.body).toEqual({ userId: "user_alice" });
    const headers = (vi.mocked(fetch).mock.calls.find(([u]) => String(u).endsWith("/merge"))?.[1]?.headers ?? {}) as Record<string, string>;
    expect(headers.Authorization).toBe("Bearer tok_alice");
    expect(screen.getByTestId("cart-count")).toHaveTextContent("2");
    expect(JSON.parse(localStorage.getItem("kartshoppe.auth") ?? "{}").userId).toBe("user_alice");
    expect(FakeSocket.latest().url).toMatch(/\/ecommerce\/sess_test\/user_alice\?token=tok_alice$/);
  });

  it("signs out when the server no longer accepts the stored token", async () => {
    localStorage.setItem("kartshoppe.auth", JSON.stringify(session));
    stubFetch({
      "GET /api/ecommerce/cart/sess_test": (url: URL) =>
        url.searchParams.get("userId") ? new Response(JSON.stringify({ error: "token_expired", message: "expired" }), { status: 401 }) : cart(),
    });
    renderApp("/");
    await waitFor(() => expect(screen.getByRole("button", { name: "Sign in" })).toBeInTheDocument());
    expect(localStorage.getItem("kartshoppe.auth")).toBeNull();
  });

  it("keeps operator pages closed to shoppers", async () => {
    localStorage.setItem("kartshoppe.auth", JSON.stringify(session));
    stubFetch({ "GET /api/ecommerce/cart/sess_test": cart() });
    renderApp("/ops/admin");
    expect(screen.getByTestId("operator-required")).toHaveTextContent("for operators");
  });
});
