import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { niceMax, valueAxisLeft } from "../components/Charts";
import type { Order, Series } from "../lib/types";
import { cart, FakeSocket, order, product, stubFetch } from "../test/fakes";
import { renderApp } from "../test/render";
import { orderIdOf } from "./AdminPage";
import { OrdersAdmin } from "./AdminShop";
import { alertText } from "./InventoryPage";
import { changesOf, tableRows } from "./ProductsAdminPage";

const base = {
  "GET /api/ecommerce/cart/sess_test": cart(),
  "GET /api/ecommerce/recommendations/sess_test": [],
  "GET /api/ecommerce/products/featured": [],
  "GET /api/ecommerce/products/trending": [],
};

function signedInAs(role: "operator" | "shopper") {
  localStorage.setItem("kartshoppe.auth", JSON.stringify({ token: `tok_${role}`, userId: `user_${role}`, role, expiresAt: Date.now() + 60_000 }));
}

const me = (role: "operator" | "shopper", name: string) => ({ userId: `user_${role}`, role, email: `${role}@kartshoppe.dev`, name, expiresAt: Date.now() + 60_000 });

beforeEach(() => {
  FakeSocket.instances = [];
  localStorage.clear();
  localStorage.setItem("kartshoppe.sessionId", "sess_test");
});

describe("orders admin", () => {
  it("names each order by the reference its shopper quotes, beside its id", async () => {
    signedInAs("operator");
    stubFetch({ ...base, "GET /api/ecommerce/admin/orders": [order("PAID")] });
    renderApp("/", <OrdersAdmin />);
    const row = within(await screen.findByTestId("admin-orders")).getByRole("listitem");
    expect(row).toHaveTextContent("AB12-CD34 order_1");
    expect(within(row).getByRole("button", { name: "Mark shipped" })).toBeInTheDocument();
  });
});

describe("the order status form", () => {
  it("asks the server which order the typed id or reference names", async () => {
    const other = { ...order("PAID"), orderId: "order_2", reference: "EF56-7890" };
    const named: Record<string, Order[]> = { order_1: [order("PAID")], ab12cd34: [order("PAID")], "EF56-7890": [other, { ...other, orderId: "order_3" }] };
    const { calls } = stubFetch({ ...base, "GET /api/ecommerce/admin/orders": (url: URL) => named[url.searchParams.get("named") ?? ""] ?? [] });
    await expect(orderIdOf(" order_1 ")).resolves.toBe("order_1");
    expect(calls.at(-1)!.url.searchParams.get("named")).toBe("order_1");
    await expect(orderIdOf("ab12cd34")).resolves.toBe("order_1");
    await expect(orderIdOf("0000-0000")).rejects.toThrow("No order has the id or reference 0000-0000.");
    await expect(orderIdOf("EF56-7890")).rejects.toThrow("2 orders have the reference EF56-7890: enter the order id.");
  });
});

describe("operator links and the account", () => {
  it("shows a shopper the shop's links only, and their name in the header", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/auth/me": me("shopper", "Ada Shopper") });
    signedInAs("shopper");
    renderApp("/");
    expect(await screen.findByTestId("signed-in-as")).toHaveTextContent("Ada Shopper");
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(within(nav).queryByRole("link", { name: "Dashboard" })).toBeNull();
    expect(within(nav).queryByRole("link", { name: "Admin" })).toBeNull();
    expect(within(nav).queryByRole("link", { name: "Events" })).toBeNull();
  });

  it("shows an operator the console's links", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/auth/me": me("operator", "Olga Operator") });
    signedInAs("operator");
    renderApp("/");
    expect(await screen.findByTestId("signed-in-as")).toHaveTextContent("Olga Operator");
    const nav = screen.getByRole("navigation", { name: "Main" });
    for (const name of ["Dashboard", "Admin", "Events", "Products", "Inventory"]) {
      expect(within(nav).getByRole("link", { name })).toBeInTheDocument();
    }
  });

  it("shows the account's name, e-mail and role", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/auth/me": me("shopper", "Ada Shopper") });
    signedInAs("shopper");
    renderApp("/account");
    const details = await screen.findByTestId("account-details");
    expect(details).toHaveTextContent("Ada Shopper");
    expect(details).toHaveTextContent("shopper@kartshoppe.dev");
    expect(details).toHaveTextContent("Shopper");
  });

  it("changes the password: a repetition that differs is caught here, the server's refusal is shown at its field", async () => {
    const wrong = { error: "invalid_credentials", message: "the current password is wrong", details: [{ field: "currentPassword", message: "wrong" }] };
    let attempts = 0;
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/auth/me": me("shopper", "Ada Shopper"),
      "POST /api/ecommerce/auth/password": () => (++attempts === 1 ? new Response(JSON.stringify(wrong), { status: 403 }) : new Response(null, { status: 204 })),
    });
    signedInAs("shopper");
    renderApp("/account");
    const form = await screen.findByRole("form", { name: "Change password" });
    const type = async (label: RegExp, text: string) => {
      await userEvent.clear(within(form).getByLabelText(label));
      await userEvent.type(within(form).getByLabelText(label), text);
    };
    await type(/^Current password/, "old-password");
    await type(/^New password \(/, "new-password-1");
    await type(/^New password again/, "new-password-2");
    await userEvent.click(within(form).getByRole("button", { name: "Change password" }));
    expect(await within(form).findByText("The new password and its repetition differ.")).toBeInTheDocument();
    expect(calls.some((c) => c.url.pathname.endsWith("/auth/password"))).toBe(false);
    await type(/^New password again/, "new-password-1");
    await userEvent.click(within(form).getByRole("button", { name: "Change password" }));
    expect(await within(form).findByText("the current password is wrong")).toBeInTheDocument();
    await type(/^Current password/, "right-password");
    await userEvent.click(within(form).getByRole("button", { name: "Change password" }));
    expect(await within(form).findByRole("status")).toHaveTextContent("Your password is changed.");
    const sent = calls.filter((c) => c.url.pathname.endsWith("/auth/password")).map((c) => c.body);
    expect(sent).toEqual([
      { currentPassword: "old-password", newPassword: "new-password-1" },
      { currentPassword: "right-password", newPassword: "new-password-1" },
    ]);
  }, 20_000);
});

describe("product table", () => {
  const shoes = [
    product({ id: "p_b", name: "Boot", brand: "Northpeak", price: 120, listPrice: 120, stock: 4, available: 4 }),
    product({ id: "p_a", name: "Sandal", brand: "Aqua", price: 30, listPrice: 30, stock: 50, available: 48 }),
    product({ id: "p_c", name: "Trail runner", brand: "Northpeak", price: 90, listPrice: 90, category: "Running" }),
  ];

  it("finds by every word and sorts by any column either way", () => {
    expect(tableRows(shoes, "northpeak", "price", false).map((p) => p.id)).toEqual(["p_c", "p_b"]);
    expect(tableRows(shoes, "", "price", true).map((p) => p.id)).toEqual(["p_b", "p_c", "p_a"]);
    expect(tableRows(shoes, "", "brand", false).map((p) => p.id)).toEqual(["p_a", "p_b", "p_c"]);
    expect(tableRows(shoes, "trail running", "name", false).map((p) => p.id)).toEqual(["p_c"]);
  });

  it("sends only the fields the operator changed", () => {
    const boot = shoes[0]!;
    const form = { name: "Boot", description: boot.description, brand: "Northpeak", price: "99.5", stock: "4" };
    expect(changesOf(boot, form)).toEqual({ price: "99.5" });
    expect(changesOf(boot, { ...form, price: "120", name: "Boot 2", stock: "7" })).toEqual({ name: "Boot 2", stock: 7 });
  });

  it("edits a product in one save, shows the server's refusal, and retires after a confirmation", async () => {
    let saved = false;
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/auth/me": me("operator", "Olga"),
      "GET /api/ecommerce/admin/products": () => (saved ? [{ ...shoes[0]!, name: "Boot Pro" }, ...shoes.slice(1)] : shoes),
      "PATCH /api/ecommerce/admin/products/p_b": (_: URL, init?: RequestInit) => {
        const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
        if (body.stock === 1) {
          return new Response(JSON.stringify({ error: "stock_below_reserved", message: "2 units are held by open orders; stock cannot go below that", details: [{ field: "stock" }] }), { status: 409 });
        }
        saved = true;
        return { ...shoes[0]!, name: "Boot Pro" };
      },
      "DELETE /api/ecommerce/admin/products/p_a": () => new Response(null, { status: 204 }),
    });
    signedInAs("operator");
    renderApp("/ops/products");
    const table = await screen.findByTestId("products-table");
    const boot = within(table).getByText("Boot").closest("tr")!;
    await userEvent.click(within(boot).getByRole("button", { name: "Edit" }));
    const form = screen.getByTestId("product-edit-form");
    await userEvent.clear(within(form).getByLabelText(/Stock/));
    await userEvent.type(within(form).getByLabelText(/Stock/), "1");
    await userEvent.click(within(form).getByRole("button", { name: "Save changes" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("held by open orders");
    expect(within(form).getByLabelText(/Stock/)).toHaveAttribute("aria-invalid", "true");

    await userEvent.clear(within(form).getByLabelText(/Stock/));
    await userEvent.type(within(form).getByLabelText(/Stock/), "4");
    await userEvent.clear(within(form).getByLabelText("Name"));
    await userEvent.type(within(form).getByLabelText("Name"), "Boot Pro");
    await userEvent.click(within(form).getByRole("button", { name: "Save changes" }));
    expect(await screen.findByText("Boot Pro")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "PATCH").at(-1)?.body).toEqual({ name: "Boot Pro" });

    const sandal = (await screen.findByText("Sandal")).closest("tr")!;
    await userEvent.click(within(sandal).getByRole("button", { name: "Retire" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    await userEvent.click(within(sandal).getByRole("button", { name: "Confirm retire" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.url.pathname.endsWith("/p_a"))).toBe(true));
  }, 20_000);
});

describe("inventory", () => {
  it("subscribes to the inventory channel and shows each pushed alert in words", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/auth/me": me("operator", "Olga"), "GET /api/ecommerce/admin/products": [product({ id: "p1", name: "Boot", available: 3, stock: 3, lowStock: true })] });
    signedInAs("operator");
    renderApp("/ops/inventory");
    expect(await screen.findByTestId("inventory-table")).toHaveTextContent("Boot");
    act(() => FakeSocket.latest().serverOpens());
    expect(FakeSocket.latest().sent).toContainEqual({ type: "SUBSCRIBE", channel: "inventory" });
    act(() => FakeSocket.latest().serverSends({ type: "INVENTORY_ALERT", alert: { eventId: "a1", productId: "p1", name: "Boot", level: "PRICE_DROP", available: 3, oldPrice: 100, newPrice: 80, timestamp: 1 } }));
    expect(screen.getByTestId("inventory-alerts")).toHaveTextContent("Boot dropped from $100.00 to $80.00");
    act(() => FakeSocket.latest().serverSends({ type: "INVENTORY_UPDATED", productId: "p1", stock: 0, reserved: 0, available: 0, lowStock: false, soldOut: true }));
    expect(screen.getByTestId("inventory-table")).toHaveTextContent("Sold out");
  }, 20_000);

  it("words every kind of alert", () => {
    const at = { productId: "p1", name: "Boot", available: 7, timestamp: 10 * 3_600_000 };
    expect(alertText({ ...at, level: "LOW_STOCK" })).toBe("Boot is running low: 7 left");
    expect(alertText({ ...at, level: "SOLD_OUT", available: 0 })).toBe("Boot is sold out");
    expect(alertText({ ...at, level: "STOCK_UNCHANGED", unchangedSince: 4 * 3_600_000 })).toBe("Boot has not sold or moved for 6 h (7 in stock)");
  });
});

describe("dashboard history", () => {
  const series = (window: string): Series => ({
    window,
    bucketMs: 60_000,
    from: 0,
    to: 180_000,
    points: [0, 60_000, 120_000].map((start, i) => ({ start, events: i, orders: i, revenue: i * 10.5, viewers: 2, conversionRate: i / 2 })),
  });

  it("reads the chosen window's history from the event store, with axes and units, and keeps the choice in the address", async () => {
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/auth/me": me("operator", "Olga"),
      "GET /api/ecommerce/analytics": { liveUsers: 1, eventsPerSecond: 0, orders: 3, revenue: 31.5, funnel: { views: 4, carts: 2, checkouts: 1, orders: 1 }, abandonmentRate: 0.25, conversionRate: 0.25, recoveredCarts: 0, topProducts: [], topCategories: [], updatedAt: 1 },
      "GET /api/ecommerce/store/series": (url: URL) => series(url.searchParams.get("window") ?? "?"),
    });
    signedInAs("operator");
    renderApp("/ops/dashboard?window=6h");
    expect(await screen.findByTestId("stat-conversion")).toHaveTextContent("25.0%");
    const orders = await screen.findByTestId("chart-orders");
    expect(orders).toHaveTextContent("orders per minute");
    expect(orders.querySelectorAll('[data-axis="y"]')).toHaveLength(3);
    expect(orders.querySelectorAll('[data-axis="x"]')).toHaveLength(3);
    expect(screen.getByTestId("chart-revenue")).toHaveTextContent("$21.00");
    expect(calls.find((c) => c.url.pathname.endsWith("/store/series"))?.url.search).toBe("?window=6h");
    expect(screen.getByLabelText("Time window")).toHaveValue("6h");

    await userEvent.selectOptions(screen.getByLabelText("Time window"), "24h");
    await waitFor(() => expect(calls.some((c) => c.url.search === "?window=24h")).toBe(true));
    // typed and clicked steps: slower than the default 5 s on a loaded machine
  }, 20_000);

  it("tops the value axis at a round number", () => {
    expect([0, 0.3, 1, 7, 12, 250, 999].map(niceMax)).toEqual([1, 0.5, 1, 10, 20, 500, 1000]);
  });

  it("starts the plot right of the widest value label, so the axis title never runs into it", () => {
    expect(valueAxisLeft(["0", "1", "2"])).toBe(48);
    expect(valueAxisLeft(["$0.00", "$250.00", "$500.00"])).toBeGreaterThan(valueAxisLeft(["0.0", "1.0", "2.0"]));
    // the title ends about 18 px from the edge; labels end 4 px left of the axis, ~6 px a character
    expect(valueAxisLeft(["$12,000.00"]) - 4 - 6 * 10).toBeGreaterThan(18);
  });
});
