/**
 * Browser tests of the operator console against the real server: the product table's edit and
 * retire, inventory alerts pushed to an open page, the dashboard's stored history after a reload,
 * an order found by its reference, a shopper's password change, and a shopper who sees no
 * operator links. Names start with "operator console" (E2E_ONLY).
 */
import type { Page } from "playwright-core";
import { eventually, sleep, test, type Server } from "./harness";

const OPERATOR = { email: "operator@kartshoppe.dev", password: "operator-demo-pass" };
const SHOPPER = { email: "shopper@kartshoppe.dev", password: "shopper-demo-pass" };

async function signIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.getByRole("button", { name: "Sign in" }).first().click();
  const form = page.locator("#account-panel").getByRole("form", { name: "Sign in" });
  await form.getByLabel("Email").fill(who.email);
  await form.getByLabel("Password").fill(who.password);
  await form.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").waitFor();
}

async function operatorToken(server: Server): Promise<string> {
  return (await server.api<{ token: string }>("POST", "/auth/login", OPERATOR)).token;
}

async function waitLive(page: Page): Promise<void> {
  await page.locator('[data-testid="connection"][data-status="open"]').waitFor({ timeout: 10_000 });
}

/** A product of the test's own, so that editing or retiring it disturbs nothing else. */
async function launch(server: Server, token: string, name: string, stock = 40, price = 50): Promise<string> {
  const id = `prod_e2e_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  await server.api("POST", "/admin/products", { id, name, category: "E2E Lab", price, stock, brand: "Testbrand" }, token);
  return id;
}

async function status(server: Server, method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${server.base}/api/ecommerce${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return res.status;
}

test("operator console: an operator edits a product in the table, then retires it; shoppers can no longer buy it", async (t) => {
  // by design: the refused bad edit (422), and the shopper's open page asking for the product
  // again once it is retired (404)
  t.expectConsoleErrors(/status of (404|422)/);
  const token = await operatorToken(t.server);
  const id = await launch(t.server, token, "E2E Lantern");
  const shopper = await t.newPage();
  await shopper.goto(`/product/${id}`);
  await shopper.getByTestId("product-name").waitFor();
  await waitLive(shopper);

  const page = await t.newPage();
  await page.goto("/ops/products");
  await signIn(page, OPERATOR);
  await page.getByLabel("Search products").fill("E2E Lantern");
  const row = page.locator(`[data-testid="product-row"][data-product-id="${id}"]`);
  await row.getByRole("button", { name: "Edit" }).click();
  const form = page.getByTestId("product-edit-form");
  await form.getByLabel("Name").fill("E2E Storm Lantern");
  await form.getByLabel("Brand").fill("Northpeak");
  await form.getByLabel(/^Price/).fill("42.50");
  await form.getByLabel(/^Stock/).fill("7");
  await form.getByRole("button", { name: "Save changes" }).click();
  await form.waitFor({ state: "detached" });
  await page.getByLabel("Search products").fill("Storm Lantern");
  await row.getByText("E2E Storm Lantern").waitFor();
  await row.getByTestId("row-price").getByText("$42.50").waitFor();
  await row.getByTestId("row-stock").getByText("7 (7)").waitFor();
  await t.screenshot(page, "operator-products");
  // the shopper's open page follows without a reload
  await shopper.getByTestId("product-name").getByText("E2E Storm Lantern").waitFor({ timeout: 5000 });

  // a bad edit is refused with the server's reason, naming the field
  await row.getByRole("button", { name: "Edit" }).click();
  await form.getByLabel("Name").fill("   ");
  await form.getByRole("button", { name: "Save changes" }).click();
  await form.getByRole("alert").waitFor();
  if (!(await form.getByRole("alert").textContent())?.includes("name")) throw new Error("the refusal does not name the field");
  await form.getByRole("button", { name: "Cancel" }).click();

  await row.getByRole("button", { name: "Retire" }).click();
  await row.getByRole("button", { name: "Confirm retire" }).click();
  await row.waitFor({ state: "detached", timeout: 5000 });
  const add = await status(t.server, "POST", `/cart/sess_e2e_retired_${Date.now()}/add`, { productId: id, quantity: 1 });
  if (add !== 410) throw new Error(`adding a retired product answered ${add}, not 410`);
  if ((await status(t.server, "GET", `/product/${id}`)) !== 404) throw new Error("a retired product is still shown");
});

test("operator console: inventory alerts appear live on the open inventory page", async (t) => {
  const token = await operatorToken(t.server);
  const id = await launch(t.server, token, "E2E Kettle", 30, 80);
  const page = await t.newPage();
  await page.goto("/ops/inventory");
  await signIn(page, OPERATOR);
  await waitLive(page);
  // the subscription is sent once the socket is open again as the operator
  await sleep(500);
  await t.server.api("PATCH", `/admin/products/${id}`, { stock: 2 }, token);
  const alerts = page.getByTestId("inventory-alerts");
  await alerts.getByText("E2E Kettle is running low: 2 left").waitFor({ timeout: 10_000 });
  await page.getByTestId("inventory-table").getByText("E2E Kettle").waitFor();
  await t.server.api("PATCH", `/admin/products/${id}`, { price: 60 }, token);
  await alerts.getByText("E2E Kettle dropped from $80.00 to $60.00").waitFor({ timeout: 10_000 });
  await t.server.api("PATCH", `/admin/products/${id}`, { stock: 0 }, token);
  await alerts.getByText("E2E Kettle is sold out").waitFor({ timeout: 10_000 });
  await t.screenshot(page, "operator-inventory");
});

async function orderOnce(server: Server, productId: string, round: number): Promise<void> {
  const sessionId = `sess_e2e_hist_${round}_${Date.now()}`;
  const now = Date.now();
  await server.api("POST", "/events", [{ eventId: `evt_${sessionId}`, eventType: "PRODUCT_VIEW", productId, sessionId, timestamp: now, schemaVersion: 1 }]);
  await server.api("POST", `/cart/${sessionId}/add`, { productId, quantity: 1 });
  await server.api("POST", "/checkout", { sessionId, idempotencyKey: `key_${sessionId}` });
}

async function chartTotal(page: Page, testId: string): Promise<number> {
  const label = (await page.getByTestId(testId).locator("svg").getAttribute("aria-label")) ?? "";
  return Number(/total \$?([\d.,]+)/.exec(label)?.[1]?.replace(/,/g, "") ?? NaN);
}

test("operator console: the dashboard's history of a chosen window is the same after a reload", async (t) => {
  // the event store opens in the background: its routes answer 503 until then, and are asked again
  t.expectConsoleErrors(/503/);
  const token = await operatorToken(t.server);
  const id = await launch(t.server, token, "E2E Mug", 100, 12);
  for (let round = 0; round < 3; round += 1) await orderOnce(t.server, id, round);

  const page = await t.newPage();
  await page.goto("/ops/dashboard");
  await signIn(page, OPERATOR);
  await page.getByLabel("Time window").selectOption("15m");
  const orders = await eventually("the stored orders in the chart", async () => {
    const total = await chartTotal(page, "chart-orders");
    return total >= 3 ? total : null;
  }, 30_000);
  await page.getByTestId("chart-orders").getByText("orders per 15 seconds").waitFor();
  await t.screenshot(page, "operator-dashboard-history");

  await page.reload();
  await page.getByTestId("chart-orders").waitFor({ timeout: 20_000 });
  if ((await page.getByLabel("Time window").inputValue()) !== "15m") throw new Error("the chosen window was lost on reload");
  const after = await chartTotal(page, "chart-orders");
  if (after < orders) throw new Error(`after the reload the chart shows ${after} orders, before ${orders}`);
  await page.getByTestId("stat-conversion").waitFor();
});

/** An order of a product of its own, placed by a guest from session `sessionId`. */
async function placedOrder(server: Server, product: string, sessionId: string): Promise<{ orderId: string; reference: string; token: string }> {
  const token = await operatorToken(server);
  const id = await launch(server, token, product);
  await server.api("POST", `/cart/${sessionId}/add`, { productId: id, quantity: 1 });
  const order = await server.api<{ orderId: string; reference: string }>("POST", "/checkout", { sessionId, idempotencyKey: sessionId });
  return { ...order, token };
}

test("operator console: an operator cancels an order by the reference its shopper quotes", async (t) => {
  const order = await placedOrder(t.server, "E2E Kettle", `e2e-ref-${Date.now()}`);
  const token = order.token;
  const page = await t.newPage();
  await page.goto("/ops/admin");
  await signIn(page, OPERATOR);
  const form = page.getByRole("region", { name: "Order status" });
  // as a shopper reads it out on the phone: lower case, no dash
  await form.getByLabel("Order reference or id").fill(order.reference.toLowerCase().replace("-", ""));
  await form.getByLabel("Status", { exact: true }).selectOption("CANCELLED");
  await form.getByRole("button", { name: "Set status" }).click();
  await form.getByRole("status").getByText("Order set to CANCELLED").waitFor();
  const [found] = await t.server.api<{ status: string }[]>("GET", `/admin/orders?named=${order.orderId}`, undefined, token);
  if (found?.status !== "CANCELLED") throw new Error(`the order is ${found?.status}`);
});

test("operator console: an operator ships a paid order with the parcel's tracking number", async (t) => {
  const sessionId = `e2e-ship-${Date.now()}`;
  const order = await placedOrder(t.server, "E2E Parcel", sessionId);
  await t.server.api("POST", `/orders/${order.orderId}/pay?sessionId=${sessionId}`, { card: { number: "4242424242424242", expiry: "12/39", cvc: "123" } });
  const page = await t.newPage();
  await page.goto("/ops/admin");
  await signIn(page, OPERATOR);
  const form = page.getByRole("region", { name: "Order status" });
  await form.getByLabel("Order reference or id").fill(order.reference);
  await form.getByLabel("Status", { exact: true }).selectOption("SHIPPED");
  await form.getByLabel("Tracking number (optional)").fill("1Z999AA10123456784");
  await form.getByRole("button", { name: "Set status" }).click();
  await form.getByRole("status").getByText("Order set to SHIPPED").waitFor();
  const shopper = await t.server.api<{ status: string; trackingNumber: string | null }>("GET", `/orders/${order.orderId}?sessionId=${sessionId}`);
  if (shopper.status !== "SHIPPED" || shopper.trackingNumber !== "1Z999AA10123456784") throw new Error(`the shopper sees ${JSON.stringify(shopper)}`);
});

test("operator console: a shopper changes the password on the account page, and only the new one signs in", async (t) => {
  const who = { email: `changer-${Date.now()}@e2e.kartshoppe.dev`, password: "first-password-1" };
  await t.server.api("POST", "/auth/register", { ...who, name: "Pat Changer" });
  const page = await t.newPage();
  await page.goto("/account");
  await signIn(page, who);
  const form = page.getByRole("form", { name: "Change password" });
  await form.getByLabel(/^Current password/).fill(who.password);
  await form.getByLabel(/^New password \(/).fill("second-password-2");
  await form.getByLabel(/^New password again/).fill("second-password-2");
  await form.getByRole("button", { name: "Change password" }).click();
  await form.getByRole("status").getByText("Your password is changed.").waitFor();
  const signIns = [
    await status(t.server, "POST", "/auth/login", who),
    await status(t.server, "POST", "/auth/login", { ...who, password: "second-password-2" }),
  ];
  if (signIns.join() !== "401,200") throw new Error(`old and new password sign in with ${signIns.join(" and ")}`);
});

test("operator console: a shopper sees no operator links", async (t) => {
  const page = await t.newPage();
  await page.goto("/");
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Catalog" }).waitFor();
  await signIn(page, SHOPPER);
  for (const name of ["Dashboard", "Admin", "Events", "Products", "Inventory"]) {
    if ((await nav.getByRole("link", { name, exact: true }).count()) !== 0) throw new Error(`a shopper sees the ${name} link`);
  }
  await page.getByTestId("signed-in-as").click();
  await page.getByTestId("account-details").waitFor();
  await page.getByRole("button", { name: "Sign out" }).last().click();
  await page.goto("/");
  await signIn(page, OPERATOR);
  await nav.getByRole("link", { name: "Dashboard" }).waitFor();
});
