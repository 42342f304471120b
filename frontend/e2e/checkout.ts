/**
 * The checkout like a real shop, in chromium against the real server and a real SMTP server
 * (aiosmtpd, started here before the server so the server sends to it): a guest fills the
 * address, picks a delivery, applies a coupon, is declined and then pays; totals agree between
 * confirmation and orders; the e-mail arrives; after signing in the order is in the account; a
 * flash sale started while the cart is open reprices the cart and the checkout live; a declined
 * shopper pays the placed order later on its page; a forgotten password is set anew by the
 * link the shop e-mails.
 */
import { spawn } from "node:child_process";
import type { Page } from "playwright-core";
import { eventually, freePort, REPO, test, type Server } from "./harness";

export const GOOD_CARD = "4242 4242 4242 4242";
export const DECLINED_CARD = "4000 0000 0000 0002";
const OPERATOR = { email: "operator@kartshoppe.dev", password: "operator-demo-pass" };

const smtpPort = await freePort();
const smtpLog: string[] = [];
const smtp = spawn(process.env.PYTHON ?? `${REPO}/.venv/bin/python`, ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${smtpPort}`], {
  stdio: ["ignore", "pipe", "pipe"],
});
smtp.stdout?.on("data", (chunk: Buffer) => smtpLog.push(chunk.toString()));
smtp.stderr?.on("data", (chunk: Buffer) => smtpLog.push(chunk.toString()));
process.on("exit", () => smtp.kill());
// the server the harness starts inherits these: it sends its e-mail to the SMTP server above
process.env.KARTSHOPPE_SMTP_HOST = "127.0.0.1";
process.env.KARTSHOPPE_SMTP_PORT = String(smtpPort);
process.env.KARTSHOPPE_SMTP_SECURITY = "none";

export interface Address {
  country: string;
  region: string;
  postalCode: string;
  city: string;
}

const SF: Address = { country: "US", region: "CA", postalCode: "94105", city: "San Francisco" };

export async function fillCheckout(page: Page, email: string, address: Address = SF): Promise<void> {
  await page.getByLabel("Email").fill(email);
  // first, as on the page: the postal code and region are checked against the country
  await page.getByLabel("Country").selectOption(address.country);
  await page.getByLabel("Full name").fill("Grace Hopper");
  await page.getByLabel("Address", { exact: true }).fill("1 Market Street");
  await page.getByLabel("City").fill(address.city);
  // a choice of the country's states where it has them (the US, Canada), typed elsewhere
  const region = page.getByLabel("State / province");
  if ((await region.evaluate((el) => el.tagName)) === "SELECT") await region.selectOption(address.region);
  else await region.fill(address.region);
  const example = await page.getByLabel("Postal code").getAttribute("placeholder");
  if (!example?.startsWith("e.g. ")) throw new Error(`the postal code shows no example for ${address.country}: ${example}`);
  await page.getByLabel("Postal code").fill(address.postalCode);
}

/** The first link `pattern` finds in the e-mail to `to`, from the message as the SMTP server
 * printed it: quoted-printable, soft line breaks and all. */
function linkInMail(to: string, pattern: RegExp): string | null {
  const mail = smtpLog.join("").replace(/=\r?\n/g, "").replace(/=3D/g, "=");
  const at = mail.indexOf(`To: ${to}`);
  return at < 0 ? null : pattern.exec(mail.slice(at))?.[0] ?? null;
}

export async function payWith(page: Page, card: string): Promise<void> {
  await page.getByLabel("Card number").fill(card);
  await page.getByLabel("Expiry (MM/YY)").fill("12/39");
  await page.getByLabel("CVC").fill("123");
  await page.getByTestId("place-order").click();
}

async function operatorToken(server: Server): Promise<string> {
  return (await server.api<{ token: string }>("POST", "/auth/login", OPERATOR)).token;
}

async function products(server: Server, count: number): Promise<{ id: string; name: string; price: number }[]> {
  const page = await server.api<{ items: { id: string; name: string; price: number; available: number; flashSale: unknown }[] }>(
    "GET",
    "/products?pageSize=40&sort=name",
  );
  const fit = page.items.filter((p) => p.available > 20 && !p.flashSale && p.price > 20);
  if (fit.length < count) throw new Error("not enough products in stock");
  return fit.slice(0, count);
}

async function addToCart(page: Page, productId: string): Promise<void> {
  await page.goto(`/product/${productId}`);
  await page.getByTestId("product-name").waitFor();
  await page.getByRole("button", { name: "Add to cart", exact: true }).click();
  await page.getByTestId("cart-drawer").waitFor();
  await page.locator(`[data-testid="cart-line"][data-product-id="${productId}"]`).waitFor();
}

const text = async (page: Page, testId: string) => (await page.getByTestId(testId).first().textContent())?.trim() ?? "";

async function noSidewaysScroll(page: Page, what: string): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) throw new Error(`${what} is ${overflow}px wider than the screen`);
}

test("a guest checks out like in a real shop: address, delivery, coupon, a declined then a good card, e-mail, orders follow into the account", async (t) => {
  // the browser logs the declined payment's 402 answer; the page shows its message
  t.expectConsoleErrors(/status of 402 \(Payment Required\)/);
  const token = await operatorToken(t.server);
  const code = `E2E${Date.now() % 100000}`;
  await t.server.api("POST", "/admin/coupons", { code, kind: "PERCENT", value: 10 }, token);
  const [first, second] = await products(t.server, 2);
  const page = await t.newPage();
  await page.goto("/");
  await page.locator('[data-testid="connection"][data-status="open"]').waitFor({ timeout: 10_000 });

  // a flash sale started while the cart is open changes the cart's total live
  await addToCart(page, first!.id);
  const before = await text(page, "cart-subtotal");
  await t.screenshot(page, "cart-desktop");
  await t.server.api("POST", `/admin/products/${first!.id}/flash-sale`, { discountPercent: 20, durationSeconds: 600 }, token);
  await eventually("the open cart to show the sale price", async () => (await text(page, "cart-subtotal")) !== before, 10_000);
  await addToCart(page, second!.id);
  await page.getByRole("link", { name: "Checkout" }).click();

  const email = `guest${Date.now()}@e2e.kartshoppe.dev`;
  await fillCheckout(page, email);
  await page.getByTestId("delivery-options").getByText("Express").click();
  await page.getByLabel("Coupon code").fill(code);
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByTestId("coupon-applied").waitFor();
  await page.getByTestId("summary-discount").waitFor();

  // ... and the checkout's total, live, too
  const quoted = await text(page, "summary-total");
  await t.server.api("POST", `/admin/products/${second!.id}/flash-sale`, { discountPercent: 30, durationSeconds: 600 }, token);
  await eventually("the checkout total to follow the sale", async () => (await text(page, "summary-total")) !== quoted, 10_000);
  const shown = await text(page, "summary-total");
  await t.screenshot(page, "checkout-desktop");

  await payWith(page, DECLINED_CARD);
  const problem = await page.getByTestId("checkout-problem").textContent();
  if (!problem?.includes("declined")) throw new Error(`no clear decline message: ${problem}`);
  await page.getByTestId("order-payable").waitFor();
  await payWith(page, GOOD_CARD);
  await page.getByTestId("order-confirmation").waitFor({ timeout: 15_000 });
  const orderId = (await page.getByTestId("confirmed-order-id").getAttribute("data-order-id")) ?? "";
  const reference = (await page.getByTestId("confirmed-order-id").textContent()) ?? "";
  if (!/^[0-9A-F]{4}-[0-9A-F]{4}$/.test(reference)) throw new Error(`the order is confirmed as "${reference}"`);
  const confirmed = await text(page, "summary-total");
  if (confirmed !== shown) throw new Error(`charged ${confirmed}, shown ${shown}`);
  await t.screenshot(page, "confirmation-desktop");

  await page.getByRole("link", { name: "See your orders" }).click();
  const row = page.locator(`[data-testid="order"][data-order-id="${orderId}"]`);
  await row.waitFor();
  const listed = (await row.getByTestId("order-total").textContent())?.trim();
  if (listed !== confirmed) throw new Error(`orders page says ${listed}, confirmation ${confirmed}`);

  await eventually("the confirmation e-mail at the SMTP server", async () => smtpLog.join("").includes(reference), 20_000);
  if (!smtpLog.join("").includes(email)) throw new Error("the e-mail went to someone else");

  // the e-mail's link opens the order on another device, where no session placed it
  const orderLink = linkInMail(email, new RegExp(`/orders/${orderId}\\?key=[\\w-]+`));
  if (!orderLink) throw new Error("the confirmation e-mail has no link to the order");
  const phone = await t.newPage();
  await phone.goto(orderLink);
  await phone.getByRole("heading", { name: `Order ${reference}` }).waitFor();
  await phone.getByTestId("order-status").getByText("Paid").waitFor();

  // the guest signs in: the order follows into the account
  const password = "e2e-password-1";
  await t.server.api("POST", "/auth/register", { email: `acct${email}`, password, name: "Guest" });
  await page.getByRole("button", { name: "Sign in" }).first().click();
  const form = page.locator("#account-panel").getByRole("form", { name: "Sign in" });
  await form.getByLabel("Email").fill(`acct${email}`);
  await form.getByLabel("Password").fill(password);
  await form.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").waitFor();
  await page.goto("/orders");
  await page.locator(`[data-testid="order"][data-order-id="${orderId}"]`).waitFor();
  await page.goto(`/orders/${orderId}`);
  await page.getByTestId("order-detail").waitFor();
  if ((await text(page, "summary-total")) !== confirmed) throw new Error("the order page shows another total");
});

test("a shopper whose card was declined comes back later and pays the placed order on its page", async (t) => {
  t.expectConsoleErrors(/status of 402 \(Payment Required\)/);
  const [product] = await products(t.server, 1);
  const page = await t.newPage();
  await page.goto("/");
  await addToCart(page, product!.id);
  await page.getByRole("link", { name: "Checkout" }).click();
  await fillCheckout(page, `later${Date.now()}@e2e.kartshoppe.dev`);
  await payWith(page, DECLINED_CARD);
  // the shop's hold (15 minutes from placing) is told as the time on the shopper's clock (with
  // the date when that is tomorrow)
  const by = /pay by (\w{3} \d+, \d{4}, )?\d{1,2}:\d{2} [AP]M with another card/;
  await page.getByTestId("order-payable").filter({ hasText: by }).waitFor();

  // the tab is left; the order is found again under the shopper's orders
  await page.goto("/orders");
  await page.locator('[data-testid="order"]').first().getByRole("link", { name: /^Pay for order .* by (\w{3} \d+, \d{4}, )?\d{1,2}:\d{2} [AP]M$/ }).click();
  const form = page.getByRole("form", { name: "Pay for this order" });
  await form.getByLabel("Card number").fill(DECLINED_CARD);
  await form.getByLabel("Expiry (MM/YY)").fill("12/39");
  await form.getByLabel("CVC").fill("123");
  await form.getByRole("button", { name: /^Pay \$/ }).click();
  await form.getByRole("alert").filter({ hasText: "declined" }).first().waitFor();
  await form.getByLabel(/^Card number/).fill(GOOD_CARD);
  await form.getByRole("button", { name: /^Pay \$/ }).click();
  await form.waitFor({ state: "detached" });
  await page.getByTestId("order-status").getByText("Paid").waitFor();
  await page.getByTestId("payments").getByText(/^Paid \$/).waitFor();

  // and, once it has it, buys the same again: the cart (emptied by the checkout) opens with it
  await page.getByRole("button", { name: "Buy again" }).click();
  await page.getByRole("dialog").getByText(product!.name).first().waitFor();
  await eventually("the cart to hold the order's line again", async () => (await page.getByTestId("cart-count").textContent())?.trim() === "1");
});

test("a shopper who forgot the password sets a new one by the link the shop e-mails", async (t) => {
  const who = { email: `forgot${Date.now()}@e2e.kartshoppe.dev`, password: "first-password-1" };
  await t.server.api("POST", "/auth/register", { ...who, name: "Fay Forgetful" });
  const page = await t.newPage();
  await page.goto("/");
  await page.getByRole("button", { name: "Sign in" }).first().click();
  await page.locator("#account-panel").getByRole("link", { name: "Forgot your password?" }).click();
  const ask = page.getByRole("form", { name: "Ask for a link" });
  await ask.getByLabel("Email").fill(who.email);
  await ask.getByRole("button", { name: "Send the link" }).click();
  await page.getByText(`If ${who.email} has an account`).waitFor();

  const link = await eventually("the reset e-mail at the SMTP server", async () => linkInMail(who.email, /\/reset-password\?token=[\w.-]+/), 20_000);
  await page.goto(link);
  const set = page.getByRole("form", { name: "Set a new password" });
  await set.getByLabel(/^New password \(/).fill("second-password-2");
  await set.getByLabel(/^New password again/).fill("second-password-2");
  await set.getByRole("button", { name: "Set the new password" }).click();
  const signIn = page.getByRole("main").getByRole("form", { name: "Sign in" });
  await signIn.getByLabel("Email").fill(who.email);
  await signIn.getByLabel("Password").fill("second-password-2");
  await signIn.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").getByText("Fay Forgetful").waitFor();
});

test("a real shop's cart, checkout and confirmation fit a phone screen", async (t) => {
  const [product] = await products(t.server, 1);
  const context = await t.newContext({ width: 375, height: 800 });
  const page = await t.newPage(context);
  await addToCart(page, product!.id);
  await noSidewaysScroll(page, "the cart");
  await t.screenshot(page, "cart-phone");
  await page.getByRole("link", { name: "Checkout" }).click();
  await fillCheckout(page, `phone${Date.now()}@e2e.kartshoppe.dev`, { country: "GB", region: "", postalCode: "SW1A 2AA", city: "London" });
  await page.getByTestId("summary-total").waitFor();
  await noSidewaysScroll(page, "the checkout");
  await t.screenshot(page, "checkout-phone");
  await payWith(page, GOOD_CARD);
  await page.getByTestId("order-confirmation").waitFor({ timeout: 15_000 });
  await noSidewaysScroll(page, "the confirmation");
  await t.screenshot(page, "confirmation-phone");
});
