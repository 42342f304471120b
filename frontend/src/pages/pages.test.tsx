import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import shipping from "../generated/countries.json";
import { formatMoment } from "../lib/format";
import type { Analytics, Order } from "../lib/types";
import { cart, facets, FakeSocket, order, product, stubFetch } from "../test/fakes";
import { renderApp } from "../test/render";
import { paymentLine } from "./OrderDetailPage";

const base = {
  "GET /api/ecommerce/cart/sess_test": cart(),
  "GET /api/ecommerce/recommendations/sess_test": [],
};

beforeEach(() => {
  FakeSocket.instances = [];
  localStorage.setItem("kartshoppe.sessionId", "sess_test");
});

function asOperator() {
  localStorage.setItem("kartshoppe.auth", JSON.stringify({ token: "tok_op", userId: "user_op", role: "operator", expiresAt: Date.now() + 60_000 }));
}

describe("catalog", () => {
  it("searches, filters by category and pages through results via the API", async () => {
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/categories": [{ name: "Shoes", count: 30 }],
      "GET /api/ecommerce/products": (url: URL) => ({
        items: [product({ id: `prod_${url.searchParams.get("page") ?? "1"}`, name: `Shoe page ${url.searchParams.get("page") ?? "1"}` })],
        total: 30,
        page: Number(url.searchParams.get("page") ?? 1),
        pageSize: 12,
        facets: facets(),
      }),
    });
    renderApp("/catalog");
    expect(await screen.findByText("Shoe page 1")).toBeInTheDocument();
    expect(screen.getByText("Page 1 of 3")).toBeInTheDocument();

    await userEvent.type(screen.getByLabelText("Search"), "trail{Enter}");
    await userEvent.selectOptions(screen.getByLabelText("Category"), "Shoes");
    await userEvent.selectOptions(screen.getByLabelText("Sort by"), "price_asc");
    await userEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByText("Shoe page 2")).toBeInTheDocument();
    const last = calls.filter((c) => c.url.pathname === "/api/ecommerce/products").at(-1)!;
    expect(Object.fromEntries(last.url.searchParams)).toEqual({ q: "trail", category: "Shoes", sort: "price_asc", page: "2", pageSize: "12" });
    // four typed and clicked steps: slower than the default 5 s on a loaded machine
  }, 20_000);

  it("shows no page controls when the results fit on one page", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/categories": [], "GET /api/ecommerce/products": { items: [product()], total: 1, page: 1, pageSize: 12, facets: facets() } });
    renderApp("/catalog?q=wireless");
    expect(await screen.findByTestId("result-count")).toHaveTextContent("1 product");
    expect(screen.queryByRole("navigation", { name: "Pagination" })).not.toBeInTheDocument();
  });

  it("says so when nothing matches", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/categories": [], "GET /api/ecommerce/products": { items: [], total: 0, page: 1, pageSize: 12, facets: facets() } });
    renderApp("/catalog?q=zzz");
    expect(await screen.findByText("No products match")).toBeInTheDocument();
  });

  it("shows the server's error with a way to retry", async () => {
    let fail = true;
    stubFetch({
      ...base,
      "GET /api/ecommerce/categories": [],
      "GET /api/ecommerce/products": () => (fail ? new Response(JSON.stringify({ error: "oops", message: "catalog is down" }), { status: 500 }) : { items: [product()], total: 1, page: 1, pageSize: 12, facets: facets() }),
    });
    renderApp("/catalog");
    expect(await screen.findByRole("alert")).toHaveTextContent("catalog is down");
    fail = false;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByText("Trail Shoe")).toBeInTheDocument();
  });

  it("narrows by a facet, shows it as a chip, and clears all filters", async () => {
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/categories": [{ name: "Shoes", count: 30 }],
      "GET /api/ecommerce/products": (url: URL) => ({
        items: [product({ name: url.searchParams.get("brand") ? "Trekka only" : "Everything" })],
        total: 1,
        page: 1,
        pageSize: 12,
        facets: facets({ brand: [{ value: "Trekka", count: 4 }], inStock: 28, onSale: 3 }),
      }),
    });
    renderApp("/catalog?q=shoe");
    expect(await screen.findByText("Everything")).toBeInTheDocument();
    const brands = screen.getByRole("region", { name: "Brand" });
    await userEvent.click(within(brands).getByRole("button", { name: /Trekka/ }));
    expect(await screen.findByText("Trekka only")).toBeInTheDocument();
    const chips = screen.getByRole("list", { name: "Active filters" });
    expect(within(chips).getByRole("button", { name: /Trekka/ })).toBeInTheDocument();
    expect(within(chips).getByRole("button", { name: /shoe/ })).toBeInTheDocument();
    await userEvent.click(within(chips).getByRole("button", { name: "Clear all" }));
    expect(await screen.findByText("Everything")).toBeInTheDocument();
    expect(screen.queryByRole("list", { name: "Active filters" })).toBeNull();
    const last = calls.filter((c) => c.url.pathname === "/api/ecommerce/products").at(-1)!;
    expect(Object.fromEntries(last.url.searchParams)).toEqual({ sort: "relevance", page: "1", pageSize: "12" });
  });

  it("never shows the previous filter's results while the new ones load", async () => {
    let release: () => void = () => undefined;
    stubFetch({
      ...base,
      "GET /api/ecommerce/categories": [{ name: "Shoes", count: 30 }, { name: "Books", count: 3 }],
      "GET /api/ecommerce/products": async (url: URL) => {
        if (url.searchParams.get("category") === "Books") await new Promise<void>((ok) => (release = ok));
        return { items: [product({ name: url.searchParams.get("category") ?? "All of it" })], total: 1, page: 1, pageSize: 12, facets: facets() };
      },
    });
    renderApp("/catalog");
    expect(await screen.findByText("All of it")).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText("Category"), "Books");
    expect(await screen.findByTestId("results-loading")).toBeInTheDocument();
    expect(screen.queryByText("All of it")).toBeNull();
    release();
    expect(await screen.findByText("Books", { selector: "h3" })).toBeInTheDocument();
  });

  it("numbers the pages around the current one", async () => {
    const { pageWindow } = await import("./CatalogPage");
    expect(pageWindow(1, 1)).toEqual([1]);
    expect(pageWindow(5, 11)).toEqual([1, null, 3, 4, 5, 6, 7, null, 11]);
    expect(pageWindow(2, 4)).toEqual([1, 2, 3, 4]);
  });
});

describe("header search", () => {
  it("suggests products as you type, moves through them with the keyboard and opens the chosen one", async () => {
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/products/suggest": (url: URL) => ({
        query: url.searchParams.get("q"),
        suggestions: [
          { id: "prod_1", name: "Trail Shoe", brand: "Trekka", category: "Shoes", price: 80 },
          { id: "prod_2", name: "Trail Boot", brand: "Trekka", category: "Shoes", price: 120 },
        ],
      }),
      "GET /api/ecommerce/product/prod_2": product({ id: "prod_2", name: "Trail Boot" }),
    });
    renderApp("/");
    const box = screen.getByRole("combobox", { name: "Search" });
    await userEvent.type(box, "trial");
    const list = await screen.findByRole("listbox", { name: "Suggestions" });
    expect(box).toHaveAttribute("aria-expanded", "true");
    expect(within(list).getAllByRole("option")).toHaveLength(2);
    await userEvent.keyboard("{ArrowDown}{ArrowDown}");
    const second = within(list).getAllByRole("option")[1]!;
    expect(second).toHaveAttribute("aria-selected", "true");
    expect(box).toHaveAttribute("aria-activedescendant", second.id);
    await userEvent.keyboard("{Enter}");
    expect(await screen.findByTestId("product-name")).toHaveTextContent("Trail Boot");
    expect(calls.some((c) => c.url.pathname.endsWith("/suggest") && c.url.searchParams.get("q") === "trial")).toBe(true);
  });

  it("closes the suggestions on Escape and searches the catalog on Enter", async () => {
    stubFetch({
      ...base,
      "GET /api/ecommerce/categories": [],
      "GET /api/ecommerce/products/suggest": { query: "tent", suggestions: [{ id: "prod_1", name: "Tent", brand: "B", category: "C", price: 1 }] },
      "GET /api/ecommerce/products": { items: [product({ name: "A tent" })], total: 1, page: 1, pageSize: 12, facets: facets() },
    });
    renderApp("/");
    const box = screen.getByRole("combobox", { name: "Search" });
    await userEvent.type(box, "tent");
    await screen.findByRole("listbox", { name: "Suggestions" });
    await userEvent.keyboard("{Escape}");
    expect(box).toHaveAttribute("aria-expanded", "false");
    await userEvent.keyboard("{Enter}");
    expect(await screen.findByText("A tent")).toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Results for “tent”");
  });
});

describe("product page", () => {
  it("shows pushed price and stock changes without fetching again", async () => {
    const { calls } = stubFetch({ ...base, "GET /api/ecommerce/product/prod_1": product() });
    renderApp("/product/prod_1");
    expect(await screen.findByTestId("product-name")).toHaveTextContent("Trail Shoe");
    const fetches = calls.length;
    act(() => {
      FakeSocket.latest().serverOpens();
      FakeSocket.latest().serverSends({ type: "PRODUCT_UPDATED", change: "PRICE_CHANGED", product: product({ price: 42 }) });
      FakeSocket.latest().serverSends({ type: "INVENTORY_UPDATED", productId: "prod_1", stock: 3, reserved: 0, available: 3, lowStock: true, soldOut: false });
    });
    expect(within(screen.getByRole("main")).getAllByTestId("price")[0]).toHaveTextContent("$42.00");
    expect(screen.getByTestId("stock")).toHaveTextContent("Only 3 left");
    expect(calls.length).toBe(fetches);
  });

  it("says a product is not found", async () => {
    stubFetch(base);
    renderApp("/product/nope");
    expect(await screen.findByText("Product not found")).toBeInTheDocument();
  });

  it("lists products often bought with it from the recommender's related products", async () => {
    stubFetch({
      ...base,
      "GET /api/ecommerce/product/prod_1": product(),
      "GET /api/ecommerce/product/prod_1/related": { boughtTogether: [product({ id: "prod_2", name: "Running Socks" })], alsoViewed: [] },
    });
    renderApp("/product/prod_1");
    const section = (await screen.findByRole("heading", { name: "Often bought with" })).parentElement!;
    expect(await within(section).findByText("Running Socks")).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Customers also viewed" })).not.toBeInTheDocument();
  });
});


const QUOTE = {
  lines: [{ productId: "prod_1", name: "Trail Shoe", quantity: 1, unitPrice: 80, lineTotal: 80 }],
  subtotal: 80, discount: 0, shipping: 0, tax: 16, total: 96, couponCode: null,
  delivery: { option: "standard", label: "Standard", cost: 0, estimatedDate: "2026-12-01" },
  deliveryOptions: [{ option: "standard", label: "Standard", cost: 0, estimatedDate: "2026-12-01" }],
};

function fill(label: string, value: string): void {
  fireEvent.change(screen.getByLabelText(label), { target: { value } });
}

async function fillCheckout(cardNumber = "4242424242424242"): Promise<void> {
  await screen.findByLabelText("Email");
  fill("Email", "ada@example.com");
  fill("Full name", "Ada");
  fill("Address", "1 St");
  fill("City", "London");
  fill("Postal code", "SW1A 1AA");
  fill("Country", "GB");
  fill("Card number", cardNumber);
  fill("Expiry (MM/YY)", "12/39");
  fill("CVC", "123");
}

describe("checkout", () => {
  const cartLine = cart({ lines: [{ productId: "prod_1", name: "Trail Shoe", quantity: 1, unitPrice: 80, lineTotal: 80 }], itemCount: 1, subtotal: 80 });

  it("fills in a returning shopper's e-mail from the account and the address of the latest order", async () => {
    localStorage.setItem("kartshoppe.auth", JSON.stringify({ token: "tok_ada", userId: "user_ada", role: "shopper", expiresAt: Date.now() + 60_000 }));
    stubFetch({
      ...base,
      "GET /api/ecommerce/cart/sess_test": cartLine,
      "POST /api/ecommerce/checkout/quote": QUOTE,
      "GET /api/ecommerce/auth/me": { userId: "user_ada", role: "shopper", email: "ada@account.dev", name: "Ada", expiresAt: Date.now() + 60_000 },
      "GET /api/ecommerce/orders": [order("PAID")],
    });
    renderApp("/checkout");
    await waitFor(() => expect(screen.getByLabelText("Email")).toHaveValue("ada@account.dev"));
    expect(screen.getByLabelText("Country")).toHaveValue("GB");
    expect(screen.getByLabelText("Full name")).toHaveValue("Ada");
    expect(screen.getByLabelText("City")).toHaveValue("London");
    expect(screen.getByLabelText("Postal code")).toHaveValue("SW1A 1AA");
  });

  it("offers the countries the server ships to, with their states to choose and a postal code's example", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/cart/sess_test": cartLine, "POST /api/ecommerce/checkout/quote": QUOTE });
    renderApp("/checkout");
    const country = await screen.findByLabelText("Country");
    expect(within(country).getAllByRole("option").map((o) => o.getAttribute("value"))).toEqual(shipping.countries.map((c) => c.code));
    const states = screen.getByLabelText("State / province");
    expect(within(states).getAllByRole("option").map((o) => o.getAttribute("value"))).toContain("CA");
    fireEvent.change(states, { target: { value: "CA" } });
    expect(screen.getByLabelText("Postal code")).toHaveAttribute("placeholder", "e.g. 94105");
    fill("Country", "GB");
    const region = screen.getByLabelText("State / province");
    expect(region.tagName).toBe("INPUT");
    expect(region).toHaveValue("");
    expect(screen.getByLabelText("Postal code")).toHaveAttribute("placeholder", "e.g. SW1A 1AA");
  });

  it("places the order at the quoted total with an idempotency key, pays that amount and confirms", async () => {
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/cart/sess_test": cartLine,
      "POST /api/ecommerce/checkout/quote": QUOTE,
      "POST /api/ecommerce/checkout": () => new Response(JSON.stringify(order("PLACED")), { status: 201 }),
      "POST /api/ecommerce/orders/order_1/pay": order("PAID"),
    });
    renderApp("/checkout");
    await fillCheckout();
    expect(await screen.findByText("arrives by Tue, Dec 1")).toBeInTheDocument();
    await userEvent.click(await screen.findByRole("button", { name: "Place order and pay $96.00" }));
    expect(await screen.findByTestId("order-confirmation")).toHaveTextContent("Order AB12-CD34");
    await waitFor(() => expect(screen.getByRole("heading", { level: 1, name: /Your order is confirmed/ })).toHaveFocus());
    expect(document.title).toBe("Order confirmed · KartShoppe");
    expect(screen.getByTestId("summary-total")).toHaveTextContent("$96.00");
    const body = calls.find((c) => c.url.pathname === "/api/ecommerce/checkout")?.body as { idempotencyKey: string; sessionId: string; expectedTotal: number; address: { country: string } };
    expect(body.sessionId).toBe("sess_test");
    expect(body.idempotencyKey).toMatch(/^chk_[0-9a-f]{32}$/);
    expect(body.address.country).toBe("GB");
    expect(body.expectedTotal).toBe(96);
    const pay = calls.find((c) => c.url.pathname.endsWith("/pay"));
    expect(pay?.url.search).toBe("?sessionId=sess_test");
    expect((pay?.body as { amount: number }).amount).toBe(96);
  });

  it("shows the tax as to come, and the total as before tax, until the address is in", async () => {
    const { calls } = stubFetch({ ...base, "GET /api/ecommerce/cart/sess_test": cartLine, "POST /api/ecommerce/checkout/quote": QUOTE });
    renderApp("/checkout");
    expect(await screen.findByTestId("summary-tax")).toHaveTextContent("from the shipping address");
    expect(screen.getByText("Total before tax")).toBeInTheDocument();
    await fillCheckout();
    await waitFor(() => expect(screen.getByTestId("summary-tax")).toHaveTextContent("$16.00"));
    expect(screen.queryByText("Total before tax")).toBeNull();
    const quoted = calls.filter((c) => c.url.pathname.endsWith("/quote")).map((c) => (c.body as { address?: unknown }).address !== undefined);
    expect(quoted.at(0)).toBe(false);
    expect(quoted.at(-1)).toBe(true);
  });

  it("shows a declined card's message as is and pays with another card without placing a second order", async () => {
    let payments = 0;
    const declined = { error: "card_declined", message: "the card was declined by its bank; try another card", details: [{ field: "card.number", message: "declined" }] };
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/cart/sess_test": cartLine,
      "POST /api/ecommerce/checkout/quote": QUOTE,
      "POST /api/ecommerce/checkout": order("PLACED"),
      "POST /api/ecommerce/orders/order_1/pay": () => (++payments === 1 ? new Response(JSON.stringify(declined), { status: 402 }) : order("PAID")),
    });
    renderApp("/checkout");
    await fillCheckout("4000000000000002");
    await userEvent.click(await screen.findByRole("button", { name: "Place order and pay $96.00" }));
    expect(await screen.findByTestId("checkout-problem")).toHaveTextContent(declined.message);
    expect(screen.getByTestId("order-payable")).toHaveTextContent(`pay by ${formatMoment(order("PLACED").payBy ?? 0)} with another card`);
    await userEvent.click(await screen.findByRole("button", { name: "Pay $96.00" }));
    expect(await screen.findByTestId("order-confirmation")).toBeInTheDocument();
    expect(calls.filter((c) => c.url.pathname === "/api/ecommerce/checkout")).toHaveLength(1);
  });
});

describe("order page", () => {
  it("says why the shop cancelled an order that was not paid in time", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/orders/order_1": { ...order("CANCELLED"), lapsed: true } });
    renderApp("/orders/order_1");
    expect(await screen.findByTestId("lapsed")).toHaveTextContent("not paid in time");
  });

  it("buys an order again: each line into the cart, which opens; a refusal is shown as the shop says it", async () => {
    const twoLines: Order = { ...order("DELIVERED"), lines: [{ productId: "prod_1", name: "Trail Shoe", quantity: 2, unitPrice: 80, lineTotal: 160 }, { productId: "prod_2", name: "Sock", quantity: 1, unitPrice: 5, lineTotal: 5 }] };
    const soldOut = { error: "insufficient_stock", message: "Sock is sold out", details: [{ field: "productId", message: "sold out" }] };
    let refuse = false;
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/orders/order_1": twoLines,
      "POST /api/ecommerce/cart/sess_test/add": (_url: URL, init?: RequestInit) =>
        refuse && (JSON.parse(String(init?.body)) as { productId: string }).productId === "prod_2" ? new Response(JSON.stringify(soldOut), { status: 409 }) : cart({ itemCount: 3 }),
    });
    renderApp("/orders/order_1");
    await userEvent.click(await screen.findByRole("button", { name: "Buy again" }));
    await waitFor(() => expect(screen.getByTestId("cart-count")).toHaveTextContent("3"));
    const added = calls.filter((c) => c.url.pathname.endsWith("/add")).map((c) => c.body);
    expect(added).toEqual([{ productId: "prod_1", quantity: 2 }, { productId: "prod_2", quantity: 1 }]);
    refuse = true;
    await userEvent.click(screen.getByRole("button", { name: "Buy again" }));
    expect(await screen.findByText("Sock is sold out")).toBeInTheDocument();
  });

  it("opens with the key from an order e-mail's link, on a device that did not place it", async () => {
    const { calls } = stubFetch({ ...base, "GET /api/ecommerce/orders/order_1": { ...order("SHIPPED"), trackingNumber: "1Z999AA1" } });
    renderApp("/orders/order_1?key=k3y");
    expect(await screen.findByTestId("order-status")).toHaveTextContent("Shipped");
    expect(screen.getByTestId("tracking-number")).toHaveTextContent("1Z999AA1");
    const asked = calls.find((c) => c.url.pathname === "/api/ecommerce/orders/order_1");
    expect(asked?.url.searchParams.get("key")).toBe("k3y");
  });

  it("pays a placed order: a declined card's message as is, then another card, the order's total", async () => {
    let payments = 0;
    const declined = { error: "card_declined", message: "the card was declined by its bank; try another card", details: [{ field: "card.number", message: "declined" }] };
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/orders/order_1": order("PLACED"),
      "POST /api/ecommerce/orders/order_1/pay": () => (++payments === 1 ? new Response(JSON.stringify(declined), { status: 402 }) : order("PAID")),
    });
    renderApp("/orders/order_1");
    const form = await screen.findByRole("form", { name: "Pay for this order" });
    expect(within(form).getByTestId("pay-by")).toHaveTextContent(`Pay by ${formatMoment(order("PLACED").payBy ?? 0)}:`);
    await userEvent.type(within(form).getByLabelText(/^Card number/), "4000000000000002");
    await userEvent.type(within(form).getByLabelText("Expiry (MM/YY)"), "12/39");
    await userEvent.type(within(form).getByLabelText("CVC"), "123");
    await userEvent.click(within(form).getByRole("button", { name: "Pay $96.00" }));
    expect(await within(form).findAllByText(declined.message)).not.toHaveLength(0);
    await userEvent.clear(within(form).getByLabelText(/^Card number/));
    await userEvent.type(within(form).getByLabelText(/^Card number/), "4242424242424242");
    await userEvent.click(within(form).getByRole("button", { name: "Pay $96.00" }));
    await waitFor(() => expect(screen.queryByRole("form", { name: "Pay for this order" })).toBeNull());
    expect(screen.getByTestId("order-status")).toHaveTextContent("Paid");
    const paid = calls.filter((c) => c.url.pathname.endsWith("/pay"));
    expect(paid.map((c) => (c.body as { amount: number; card: { number: string } }).card.number)).toEqual(["4000000000000002", "4242424242424242"]);
    expect(paid.every((c) => (c.body as { amount: number }).amount === 96 && c.url.search === "?sessionId=sess_test")).toBe(true);
  });

  it("says each payment in a shopper's words", () => {
    const payment = { transactionId: "tx_1", timestamp: 1, cardLast4: "4242", reason: "" };
    expect(paymentLine({ ...payment, kind: "CAPTURED", amount: 96 })).toBe("Paid $96.00 with card •••• 4242");
    expect(paymentLine({ ...payment, kind: "DECLINED", amount: 0, cardLast4: "0002", reason: "insufficient funds" })).toBe("Card •••• 0002 declined (insufficient funds)");
    expect(paymentLine({ ...payment, kind: "REFUNDED", amount: 96, cardLast4: "" })).toBe("Refunded $96.00");
  });

  it("offers no payment for an order already paid, and shows where it goes", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/orders/order_1": order("PAID") });
    renderApp("/orders/order_1");
    await screen.findByTestId("order-detail");
    expect(screen.queryByRole("form", { name: "Pay for this order" })).toBeNull();
    // the address as the server writes it for its country, a line each
    expect(Array.from(screen.getByTestId("ship-to").children, (line) => line.textContent)).toEqual(["Ada", "1 St", "London", "SW1A 1AA", "United Kingdom"]);
  });
});

describe("orders page", () => {
  it("updates an order's status from ORDER_UPDATED pushes", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/orders": [order("PAID")] });
    renderApp("/orders");
    expect(await screen.findByTestId("order-status")).toHaveTextContent("Paid");
    act(() => FakeSocket.latest().serverSends({ type: "ORDER_UPDATED", order: order("SHIPPED") }));
    expect(screen.getByTestId("order-status")).toHaveTextContent("Shipped");
  });

  it("offers to pay an order that awaits payment, and only that one", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/orders": [order("PLACED"), { ...order("PAID"), orderId: "order_2", reference: "EF56-7890" }] });
    renderApp("/orders");
    const by = `by ${formatMoment(order("PLACED").payBy ?? 0)}`;
    const pay = await screen.findByRole("link", { name: `Pay for order AB12-CD34 ${by}` });
    expect(pay).toHaveAttribute("href", "/orders/order_1");
    expect(pay).toHaveTextContent(`Pay ${by}`);
    expect(screen.queryByRole("link", { name: /^Pay for order EF56-7890/ })).toBeNull();
  });

  it("has an empty state", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/orders": [] });
    renderApp("/orders");
    expect(await screen.findByText("No orders yet")).toBeInTheDocument();
  });
});

function analytics(orders: number, revenue: number): Analytics {
  return { liveUsers: 3, eventsPerSecond: 2.5, orders, revenue, funnel: { views: 10, carts: 4, checkouts: 2, orders }, abandonmentRate: 0.5, recoveredCarts: 1, topProducts: [{ productId: "prod_1", name: "Trail Shoe", score: 9 }], topCategories: [], updatedAt: orders };
}

describe("dashboard", () => {
  it("subscribes to analytics and shows each pushed update", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/analytics": analytics(1, 80) });
    asOperator();
    renderApp("/ops/dashboard");
    expect(await screen.findByTestId("stat-orders")).toHaveTextContent("1");
    act(() => FakeSocket.latest().serverOpens());
    expect(FakeSocket.latest().sent).toContainEqual({ type: "SUBSCRIBE", channel: "analytics" });
    act(() => FakeSocket.latest().serverSends({ type: "ANALYTICS", analytics: analytics(2, 160) }));
    expect(screen.getByTestId("stat-orders")).toHaveTextContent("2");
    expect(screen.getByTestId("stat-revenue")).toHaveTextContent("$160.00");
    expect(screen.getByTestId("stat-abandonment")).toHaveTextContent("50.0%");
    expect(screen.getByRole("list", { name: "Top products" })).toHaveTextContent("Trail Shoe");
    expect(screen.getByText("No category activity yet")).toBeInTheDocument();
  });
});

describe("event explorer", () => {
  it("shows the live stream of events", async () => {
    stubFetch(base);
    asOperator();
    renderApp("/ops/events");
    act(() => FakeSocket.latest().serverOpens());
    expect(FakeSocket.latest().sent).toContainEqual({ type: "SUBSCRIBE", channel: "events" });
    act(() => FakeSocket.latest().serverSends({ type: "EVENT", event: { eventType: "PRICE_CHANGED", eventId: "evt_1", productId: "prod_1", timestamp: 1 } }));
    expect(screen.getByTestId("live-events")).toHaveTextContent("PRICE_CHANGED");
  });

  it("says the event store is unavailable when its routes answer 503", async () => {
    const unavailable = () => new Response(JSON.stringify({ error: "store_unavailable", message: "paimon is starting" }), { status: 503 });
    stubFetch({ ...base, "GET /api/ecommerce/store/snapshots": unavailable, "GET /api/ecommerce/store/history": unavailable });
    asOperator();
    renderApp("/ops/events");
    await userEvent.type(screen.getByLabelText("Id"), "prod_1");
    await userEvent.click(screen.getByRole("button", { name: "Show history" }));
    await waitFor(() => expect(screen.getAllByText("Event store unavailable")).toHaveLength(2));
  });

  it("shows a product's history and its state at a chosen snapshot", async () => {
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/store/snapshots": { snapshots: [{ snapshotId: 4, commitTime: 1000, recordCount: 9 }] },
      "GET /api/ecommerce/store/history": { events: [{ eventType: "PRICE_CHANGED", eventId: "evt_9", productId: "prod_1", timestamp: 5 }], total: 1 },
      "GET /api/ecommerce/store/state/product/prod_1": { id: "prod_1", price: 70 },
    });
    asOperator();
    renderApp("/ops/events");
    await userEvent.type(screen.getByLabelText("Id"), "prod_1");
    await userEvent.click(screen.getByRole("button", { name: "Show history" }));
    expect(await screen.findByTestId("history-events")).toHaveTextContent("PRICE_CHANGED");

    await userEvent.type(screen.getByLabelText("Product id"), "prod_1");
    await waitFor(() => expect(screen.getByRole("option", { name: /#4/ })).toBeInTheDocument());
    await userEvent.selectOptions(screen.getByLabelText("Snapshot"), "4");
    await userEvent.click(screen.getByRole("button", { name: "Show state" }));
    expect(await screen.findByTestId("state-json")).toHaveTextContent('"price": 70');
    expect(calls.find((c) => c.url.pathname.endsWith("/state/product/prod_1"))?.url.search).toBe("?snapshotId=4");
  });
});
