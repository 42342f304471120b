/**
 * Browser tests of the whole shop against the real server: browse and search, a cart shared live
 * by two browsers of one user, checkout and orders, a live admin price change, the live dashboard.
 */
import type { Page } from "playwright-core";
import "./accessibility";
import { fillCheckout, GOOD_CARD, payWith } from "./checkout";
import "./operator";
import "./product-page";
import "./pictures";
import "./search";
import { eventually, runAll, sleep, test, type Server } from "./harness";

interface ProductPage {
  items: { id: string; name: string; price: number; category: string }[];
  total: number;
}

const OPERATOR = { email: "operator@kartshoppe.dev", password: "operator-demo-pass" };

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByRole("button", { name: "Sign in" }).first().click();
  const form = page.locator("#account-panel").getByRole("form", { name: "Sign in" });
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Password").fill(password);
  await form.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").waitFor();
}

async function signInOperator(page: Page): Promise<void> {
  await signIn(page, OPERATOR.email, OPERATOR.password);
}

async function operatorToken(server: Server): Promise<string> {
  const session = await server.api<{ token: string }>("POST", "/auth/login", OPERATOR);
  return session.token;
}

async function waitLive(page: Page): Promise<void> {
  await page.locator('[data-testid="connection"][data-status="open"]').waitFor({ timeout: 10_000 });
}

async function cartCount(page: Page): Promise<number> {
  return Number(await page.getByTestId("cart-count").textContent());
}

async function firstProduct(server: Server, q = ""): Promise<ProductPage["items"][number]> {
  const page = await server.api<ProductPage>("GET", `/products?pageSize=5&sort=name${q ? `&q=${q}` : ""}`);
  const product = page.items[0];
  if (!product) throw new Error("the seeded catalog is empty");
  return product;
}

test("a shopper browses the home page and finds products by search and category", async (t) => {
  const page = await t.newPage();
  await page.goto("/");
  await page.locator('section[aria-labelledby="home-featured"] [data-testid="product-card"]').first().waitFor();
  await waitLive(page);
  await t.screenshot(page, "home");

  await page.getByRole("link", { name: "Catalog" }).first().click();
  await page.getByTestId("result-count").waitFor();
  await page.getByLabel("Search", { exact: true }).fill("garden");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await eventually("search results for garden", async () => page.url().includes("q=garden"));
  const expected = await t.server.api<ProductPage>("GET", "/products?q=garden&pageSize=12");
  await eventually("the server's garden results on the page", async () => {
    const names = await page.locator('[data-testid="product-card"] h3').allTextContents();
    return names.length > 0 && names.join("|") === expected.items.map((p) => p.name).join("|");
  });
  if (!expected.items.some((p) => /garden/i.test(p.name))) throw new Error("search found no garden product");

  await page.getByLabel("Search", { exact: true }).fill("");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  // the page has rendered the cleared search (the address changes before React renders it)
  await page.getByRole("heading", { level: 1, name: "Catalog", exact: true }).waitFor();
  await page.getByLabel("Category").selectOption("Books");
  await eventually("only books", async () => {
    const cats = await page.locator('[data-testid="product-card"] span.uppercase').allTextContents();
    return cats.length > 0 && cats.every((c) => c === "Books");
  });
  await page.getByLabel("Sort by").selectOption("price_asc");
  await eventually("prices ascending", async () => {
    const prices = (await page.locator('[data-testid="product-card"] [data-testid="price"]').allTextContents()).map((p) => Number(p.replace(/[^0-9.]/g, "")));
    return prices.length > 1 && prices.every((p, i) => i === 0 || (prices[i - 1] ?? 0) <= p);
  });
  await t.screenshot(page, "catalog");

  await page.locator('[data-testid="product-card"] a').first().click();
  await page.getByTestId("product-name").waitFor();
  await t.screenshot(page, "product");
});

test("the cart is shared live by two browsers of one user, and checkout places an order", async (t) => {
  const email = `shopper${Date.now()}@e2e.kartshoppe.dev`;
  const password = "e2e-password-1";
  await t.server.api("POST", "/auth/register", { email, password, name: "E2E Shopper" });
  const product = await firstProduct(t.server);
  const a = await t.newPage();
  const b = await t.newPage();
  await a.goto("/catalog");
  await b.goto("/");
  await signIn(a, email, password);
  await signIn(b, email, password);
  await waitLive(a);
  await waitLive(b);
  const marker = await b.evaluate(() => {
    (window as unknown as { __noReload: number }).__noReload = 42;
    return 42;
  });

  await a.goto(`/product/${product.id}`);
  await a.getByTestId("product-name").waitFor();
  await a.getByRole("button", { name: "Add to cart", exact: true }).click();
  await a.getByTestId("cart-drawer").waitFor();
  await eventually("the first browser's cart to hold the product", async () => (await cartCount(a)) === 1);

  await eventually("the second browser's cart to follow without reload", async () => (await cartCount(b)) === 1);
  const still = await b.evaluate(() => (window as unknown as { __noReload?: number }).__noReload);
  if (still !== marker) throw new Error("the second browser reloaded");
  await b.getByTestId("cart-button").click();
  await b.locator(`[data-testid="cart-line"][data-product-id="${product.id}"]`).waitFor();
  await t.screenshot(b, "cart-drawer");

  await b.getByTestId("cart-qty").fill("2");
  await b.getByTestId("cart-qty").press("Enter");
  await eventually("the second browser's quantity change to apply", async () => (await cartCount(b)) === 2);
  await eventually("the quantity change to reach the first browser", async () => (await cartCount(a)) === 2);

  await b.getByRole("link", { name: "Checkout" }).click();
  await fillCheckout(b, email);
  await b.getByTestId("summary-total").waitFor();
  await payWith(b, GOOD_CARD);
  await b.getByTestId("order-confirmation").waitFor({ timeout: 15_000 });
  const orderId = (await b.getByTestId("confirmed-order-id").getAttribute("data-order-id")) ?? "";
  await t.screenshot(b, "checkout-confirmation");
  await eventually("the cart to be empty after the order", async () => (await cartCount(a)) === 0);

  await a.keyboard.press("Escape");
  await a.getByTestId("cart-drawer").waitFor({ state: "detached" });
  await a.getByRole("link", { name: "Orders" }).first().click();
  const order = a.locator(`[data-testid="order"][data-order-id="${orderId}"]`);
  await order.waitFor();
  await eventually("the order to show as paid", async () => (await order.getByTestId("order-status").textContent()) === "Paid");
  await t.server.api("POST", `/admin/orders/${orderId}/status`, { status: "SHIPPED" }, await operatorToken(t.server));
  await eventually("the shipped status to arrive live", async () => (await order.getByTestId("order-status").textContent()) === "Shipped");
  await t.screenshot(a, "orders");
});

test("an admin price change and flash sale appear on an open product page without reload", async (t) => {
  const product = await firstProduct(t.server, "bed");
  const shopper = await t.newPage();
  await shopper.goto(`/product/${product.id}`);
  await shopper.getByTestId("product-name").waitFor();
  await waitLive(shopper);
  await shopper.evaluate(() => {
    (window as unknown as { __noReload: number }).__noReload = 7;
  });

  const admin = await t.newPage();
  await admin.goto("/ops/admin");
  await signInOperator(admin);
  await admin.getByLabel("Product", { exact: true }).selectOption(product.id);
  await admin.getByTestId("admin-product").getByText(product.name).waitFor();
  const newPrice = (Math.round(product.price * 0.9 * 100) / 100 || 1).toFixed(2);
  await admin.getByLabel("New price").fill(newPrice);
  await admin.getByRole("button", { name: "Change price" }).click();
  await admin.getByText("Price changed").waitFor();
  await t.screenshot(admin, "admin");

  const started = Date.now();
  await eventually(`the shopper's page to show ${newPrice}`, async () => {
    const text = await shopper.locator("main [data-testid='price']").first().textContent();
    return text?.replace(/[^0-9.]/g, "") === newPrice;
  }, 5000);
  const latency = Date.now() - started;
  if (latency > 1500) throw new Error(`price change took ${latency} ms to show`);

  await admin.getByLabel("Discount %").fill("25");
  await admin.getByLabel("Duration (seconds)").fill("120");
  await admin.getByRole("button", { name: "Start flash sale" }).click();
  await shopper.getByTestId("countdown").waitFor({ timeout: 5000 });
  await t.screenshot(shopper, "product-flash-sale");
  const marker = await shopper.evaluate(() => (window as unknown as { __noReload?: number }).__noReload);
  if (marker !== 7) throw new Error("the shopper's page reloaded");
  await admin.getByRole("button", { name: "End flash sale" }).click();
  await shopper.getByTestId("countdown").waitFor({ state: "detached", timeout: 5000 });
});

async function scriptedShopper(server: Server, round: number, productId: string): Promise<void> {
  const sessionId = `sess_e2e_${round}_${Date.now()}`;
  const now = Date.now();
  await server.api("POST", "/events", [
    { eventId: `evt_${sessionId}_1`, eventType: "PAGE_VIEW", page: "/", sessionId, timestamp: now, schemaVersion: 1 },
    { eventId: `evt_${sessionId}_2`, eventType: "PRODUCT_VIEW", productId, sessionId, timestamp: now, schemaVersion: 1 },
  ]);
  await server.api("POST", `/cart/${sessionId}/add`, { productId, quantity: 1 });
  const order = await server.api<{ orderId: string }>("POST", "/checkout", { sessionId, idempotencyKey: `key_${sessionId}` });
  const card = { number: "4242424242424242", expiry: "12/39", cvc: "123" };
  await server.api("POST", `/orders/${order.orderId}/pay?sessionId=${sessionId}`, { card });
}

test("the dashboard's numbers move while a scripted shopper generates traffic", async (t) => {
  const product = await firstProduct(t.server, "hose");
  const page = await t.newPage();
  await page.goto("/ops/dashboard");
  await signInOperator(page);
  await page.getByTestId("stat-orders").waitFor();
  await waitLive(page);
  const before = {
    orders: await page.getByTestId("stat-orders").textContent(),
    revenue: await page.getByTestId("stat-revenue").textContent(),
  };
  for (let round = 0; round < 6; round += 1) {
    await scriptedShopper(t.server, round, product.id);
    await sleep(300);
  }
  await eventually("orders and revenue to move", async () => {
    const orders = await page.getByTestId("stat-orders").textContent();
    const revenue = await page.getByTestId("stat-revenue").textContent();
    return orders !== before.orders && revenue !== before.revenue;
  }, 10_000);
  await eventually("events per second to show traffic", async () => {
    const eps = Number(await page.getByTestId("stat-eps").textContent());
    return eps > 0 || (await page.locator('[aria-label="Top products"] li').count()) > 0;
  }, 10_000);
  // each chart's value-axis title clears its tick labels ("$200.00" had run into it)
  const overlaps = await page.evaluate(() =>
    Array.from(document.querySelectorAll("svg[role=img]")).flatMap((svg) => {
      const title = svg.querySelector("text[transform]")?.getBoundingClientRect();
      if (!title) return [];
      return Array.from(svg.querySelectorAll<SVGTextElement>("text[data-axis=y]"))
        .filter((tick) => tick.getBoundingClientRect().left < title.right)
        .map((tick) => `${svg.getAttribute("aria-label")?.split(",")[0]}: ${tick.textContent}`);
    }),
  );
  if (overlaps.length) throw new Error(`value-axis titles overlap their labels: ${overlaps.join("; ")}`);
  await t.screenshot(page, "dashboard");
});

test("the event explorer shows the live stream, a product's stored history and its state at a snapshot", async (t) => {
  const product = await firstProduct(t.server);
  const page = await t.newPage();
  await page.goto("/ops/events");
  await signInOperator(page);
  await waitLive(page);
  await t.server.api("POST", "/admin/products/" + product.id + "/restock", { quantity: 3 }, await operatorToken(t.server));
  await page.getByTestId("live-events").getByTestId("event-row").first().waitFor({ timeout: 10_000 });
  // the page's own tracked PAGE_VIEW comes back through the server's event stream; the one from
  // loading the page may have been sent (2 s batches) before sign-in subscribed, so visit it again
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboard" }).click();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Events" }).click();
  await page.getByLabel("Filter by type").fill("PAGE_VIEW");
  await page.getByTestId("live-events").getByText("page=/ops/events").first().waitFor({ timeout: 10_000 });
  await page.getByLabel("Id", { exact: true }).fill(product.id);
  // the store sink commits in the background, so ask again until the restock is stored
  await eventually("the product's stored history", async () => {
    await page.getByRole("button", { name: "Show history" }).click();
    const rows = page.getByTestId("history-events").getByText("INVENTORY_CHANGED");
    return (await rows.count()) > 0;
  }, 20_000);

  await page.getByLabel("Product id").fill(product.id);
  const firstSnapshot = await page.getByLabel("Snapshot", { exact: true }).locator("option").nth(1).getAttribute("value");
  if (!firstSnapshot) throw new Error("the store lists no snapshot");
  await page.getByLabel("Snapshot", { exact: true }).selectOption(firstSnapshot);
  await page.getByRole("button", { name: "Show state" }).click();
  await page.getByTestId("state-json").filter({ hasText: product.id }).waitFor();
  await t.screenshot(page, "event-explorer");
});

test("after the server restarts, an open page reconnects and resyncs its cart and prices", async (t) => {
  const product = await firstProduct(t.server, "hose");
  const page = await t.newPage();
  await page.goto(`/product/${product.id}`);
  await page.getByTestId("product-name").waitFor();
  await waitLive(page);
  await page.evaluate(() => {
    (window as unknown as { __noReload: number }).__noReload = 3;
  });

  // what was in flight when the server stopped is reset (a picture still loading, say)
  t.expectConsoleErrors(/ERR_CONNECTION_(REFUSED|RESET)/);
  await t.server.restart();
  const token = await operatorToken(t.server);
  // changed while the page was disconnected: only a resync can show them
  const sessionId = await page.evaluate(() => localStorage.getItem("kartshoppe.sessionId"));
  await t.server.api("POST", `/cart/${sessionId}/add`, { productId: product.id, quantity: 2 });
  const newPrice = (Math.round(product.price * 0.8 * 100) / 100).toFixed(2);
  await t.server.api("POST", `/admin/products/${product.id}/price`, { price: Number(newPrice) }, token);

  await waitLive(page);
  await eventually("the cart to be resynced", async () => (await cartCount(page)) === 2, 15_000);
  await eventually("the price to be resynced", async () => {
    const text = await page.locator("main [data-testid='price']").first().textContent();
    return text?.replace(/[^0-9.]/g, "") === newPrice;
  }, 15_000);
  // a picture whose load the restart cut is loaded again
  await eventually("the picture to be shown", async () =>
    page.getByRole("img", { name: product.name }).evaluate((img) => (img as HTMLImageElement).naturalWidth > 0),
  15_000);
  const marker = await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload);
  if (marker !== 3) throw new Error("the page reloaded");
});

test("the shop fits a 375 px wide phone screen", async (t) => {
  const context = await t.newContext({ width: 375, height: 800 });
  const page = await t.newPage(context);
  await page.goto("/");
  await signInOperator(page);
  for (const path of ["/", "/catalog", "/ops/dashboard", "/ops/admin"]) {
    await page.goto(path);
    await page.locator("main h1, main h2").first().waitFor();
    await sleep(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) throw new Error(`${path} is ${overflow}px wider than the screen`);
  }
  await page.goto("/");
  await page.locator('[data-testid="product-card"]').first().waitFor();
  await t.screenshot(page, "home-phone");
});

process.exit(await runAll());
