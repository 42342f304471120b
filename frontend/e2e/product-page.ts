/**
 * Product pages in chromium against the real server: a buyer reviews a product and another
 * browser sees the rating and count change live; a shopper's wishlist alert arrives when the
 * operator lowers the price, and the wishlist page lists it at the new price.
 */
import type { BrowserContext } from "playwright-core";
import { eventually, test, type Server, type TestContext } from "./harness";

const OPERATOR = { email: "operator@kartshoppe.dev", password: "operator-demo-pass" };

interface Account {
  token: string;
  userId: string;
  role: string;
  expiresAt: number;
}

interface LaunchedProduct {
  id: string;
  name: string;
  price: number;
}

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

async function register(server: Server, name: string): Promise<Account> {
  const email = `${name.toLowerCase().replace(/\W+/g, "-")}-${unique()}@e2e.kartshoppe.dev`;
  return server.api<Account>("POST", "/auth/register", { email, password: "long-enough-pass", name });
}

async function launch(server: Server, name: string, price: number): Promise<LaunchedProduct> {
  const operator = await server.api<{ token: string }>("POST", "/auth/login", OPERATOR);
  const body = { id: `prod-e2e-${unique()}`, name, category: "Home & Kitchen", price, stock: 50, description: "A product of the test's own." };
  return server.api<LaunchedProduct>("POST", "/admin/products", body, operator.token);
}

/** A browser context already signed in as `account` (the app reads its sign-in from localStorage). */
async function signedIn(t: TestContext, account: Account): Promise<BrowserContext> {
  const context = await t.newContext();
  await context.addInitScript((auth) => localStorage.setItem("kartshoppe.auth", auth), JSON.stringify(account));
  return context;
}

/** The account buys one unit of the product and pays, through the API (what the checkout page does). */
async function buy(server: Server, account: Account, productId: string): Promise<void> {
  const session = `sess_e2e_${unique()}`;
  const owner = { userId: account.userId };
  await server.api("POST", `/cart/${session}/add`, { productId, quantity: 1, ...owner }, account.token);
  const order = await server.api<{ orderId: string }>("POST", "/checkout", { sessionId: session, ...owner, idempotencyKey: `k-${unique()}` }, account.token);
  const card = { number: "4242424242424242", expiry: "12/39", cvc: "123" };
  await server.api("POST", `/orders/${order.orderId}/pay`, { card }, account.token);
}

test("product page: a buyer reviews a product and another browser sees the rating and count change live", async (t) => {
  const product = await launch(t.server, `Walnut Serving Board ${unique()}`, 39);
  const buyer = await register(t.server, "Rita Reviewer");
  await buy(t.server, buyer, product.id);

  const watcher = await t.newPage();
  await watcher.goto(`/product/${product.id}`);
  await watcher.getByTestId("product-name").waitFor();
  await watcher.locator('[data-testid="connection"][data-status="open"]').waitFor({ timeout: 10_000 });
  await eventually("'No reviews yet' on the watcher's page", async () => (await watcher.getByText("No reviews yet. Bought it?").count()) === 1);

  const page = await t.newPage(await signedIn(t, buyer));
  await page.goto(`/product/${product.id}`);
  const form = page.getByRole("form", { name: "Write a review" });
  await form.getByText("4 ★").click();
  await form.getByLabel("Title").fill("Solid and handsome");
  await form.getByLabel("Review").fill("Heavy board, oiled well, and big enough for a loaf.");
  await form.getByRole("button", { name: "Publish review" }).click();
  await page.getByText("Thank you: your review is published.").waitFor();
  await t.screenshot(page, "product-review-posted");

  // the other browser was never reloaded: the push brings the new rating, count and review
  await eventually("the watcher's count to change", async () => {
    const rating = (await watcher.getByTestId("rating").first().textContent()) ?? "";
    return rating.includes("4.0 out of 5") && rating.includes("1 review");
  });
  await watcher.getByText("Heavy board, oiled well, and big enough for a loaf.").waitFor();
  await watcher.getByTestId("review").getByText("Rita Reviewer").waitFor();

  // a second review of the same product is refused with the server's reason (the browser logs the 409)
  t.expectConsoleErrors(/status of 409 .*\/reviews/);
  await page.reload();
  const again = page.getByRole("form", { name: "Write a review" });
  await again.getByText("1 ★").click();
  await again.getByRole("button", { name: "Publish review" }).click();
  await again.getByRole("alert").getByText(/already reviewed/).waitFor();
  await eventually("the count to stay 1", async () => ((await watcher.getByTestId("rating").first().textContent()) ?? "").includes("1 review"));
});

test("product page: a wishlist price-drop alert arrives when the operator lowers the price", async (t) => {
  const product = await launch(t.server, `Copper Kettle ${unique()}`, 60);
  const shopper = await register(t.server, "Walt Wisher");
  const page = await t.newPage(await signedIn(t, shopper));
  await page.goto(`/product/${product.id}`);
  await page.locator('[data-testid="connection"][data-status="open"]').waitFor({ timeout: 10_000 });
  await page.getByRole("button", { name: /Add to wishlist/ }).click();
  await page.getByRole("button", { name: /On your wishlist/ }).waitFor();

  // the shopper moves on; the alert finds them wherever they are in the shop
  await page.getByRole("link", { name: "Catalog" }).first().click();
  const operator = await t.server.api<{ token: string }>("POST", "/auth/login", OPERATOR);
  await t.server.api("POST", `/admin/products/${product.id}/price`, { price: 45 }, operator.token);
  const alert = page.getByTestId("wishlist-alert");
  await alert.waitFor({ timeout: 20_000 });
  const text = (await alert.textContent()) ?? "";
  if (!text.includes(product.name) || !text.includes("$45.00") || !text.includes("was $60.00")) {
    throw new Error(`unexpected alert: ${text}`);
  }
  await t.screenshot(page, "wishlist-price-drop");
  await alert.getByRole("link", { name: "View product" }).click();
  await page.getByTestId("product-name").getByText(product.name).waitFor();

  // the wishlist page, from the account, lists it at its new price; removing it empties the list
  await page.goto("/account");
  await page.getByRole("link", { name: "Your wishlist" }).click();
  const item = page.locator(`[data-testid="wishlist-item"][data-product-id="${product.id}"]`);
  await item.getByText("$45.00").first().waitFor();
  await item.getByRole("button", { name: `Remove ${product.name} from your wishlist` }).click();
  await page.getByText("Your wishlist is empty").waitFor();
});
