/**
 * Accessibility of every page, in chromium against the real server, at desktop (1366 px) and phone
 * (390 px) width: axe-core finds no serious or critical violation, each page has its own title, on
 * a phone every control is at least 44 px tall; a screenshot of each page at each width is written
 * to docs/screenshots/. Then the keyboard: the cart drawer and the sign-in dialog keep focus inside
 * and give it back, a navigation focuses the new page's heading, and a refused cart change says
 * why in words.
 *
 * To check a new page, add it to PAGES (and a dialog to DIALOGS).
 */
import AxeBuilder from "@axe-core/playwright";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { eventually, REPO, test, type Server, type TestContext } from "./harness";

export const DOCS_SCREENSHOTS = join(REPO, "docs", "screenshots");
const SHOP = "KartShoppe";
const OPERATOR = { email: "operator@kartshoppe.dev", password: "operator-demo-pass" };
export const WIDTHS = [
  { name: "desktop", width: 1366, height: 900 },
  { name: "phone", width: 390, height: 844 },
] as const;

/** What the pages need to exist: a product, an order of this browser's session. */
export interface Fixture {
  product: { id: string; name: string };
  orderId: string;
  /** The order as the shopper reads it (`Order.reference`). */
  reference: string;
}

export interface PageCheck {
  /** The screenshot's file name (without width and extension). */
  name: string;
  path: (f: Fixture) => string;
  /** The page's own part of the document title ("Catalog" for "Catalog · KartShoppe"). */
  title: (f: Fixture) => string;
  /** Shown to a signed-in operator (the operator console). */
  operator?: boolean;
}

const fixed = (text: string) => () => text;

export const PAGES: PageCheck[] = [
  { name: "home", path: fixed("/"), title: fixed("Home") },
  { name: "catalog", path: fixed("/catalog"), title: fixed("Catalog") },
  { name: "product", path: (f) => `/product/${f.product.id}`, title: (f) => f.product.name },
  { name: "checkout", path: fixed("/checkout"), title: fixed("Checkout") },
  { name: "orders", path: fixed("/orders"), title: fixed("Your orders") },
  { name: "order", path: (f) => `/orders/${f.orderId}`, title: (f) => `Order ${f.reference}` },
  { name: "shipping", path: fixed("/shipping"), title: fixed("Shipping") },
  { name: "returns", path: fixed("/returns"), title: fixed("Returns") },
  { name: "contact", path: fixed("/contact"), title: fixed("Contact") },
  { name: "not-found", path: fixed("/no-such-page"), title: fixed("Page not found") },
  { name: "ops-gate", path: fixed("/ops/dashboard"), title: fixed("Live dashboard") },
  { name: "ops-dashboard", path: fixed("/ops/dashboard"), title: fixed("Live dashboard"), operator: true },
  { name: "ops-admin", path: fixed("/ops/admin"), title: fixed("Admin"), operator: true },
  { name: "ops-events", path: fixed("/ops/events"), title: fixed("Event explorer"), operator: true },
  { name: "ops-products", path: fixed("/ops/products"), title: fixed("Products"), operator: true },
  { name: "ops-inventory", path: fixed("/ops/inventory"), title: fixed("Inventory"), operator: true },
  { name: "account", path: fixed("/account"), title: fixed("Your account"), operator: true },
  { name: "wishlist", path: fixed("/wishlist"), title: fixed("Your wishlist"), operator: true },
  { name: "reset-password", path: fixed("/reset-password"), title: fixed("Forgot your password?") },
];

/** Something opened over or into a page: a dialog (closed by Escape), or a menu. */
export interface DialogCheck {
  name: string;
  path: string;
  open: (page: Page) => Promise<void>;
  close?: (page: Page) => Promise<void>;
  /** Only at these widths (default: every width). */
  widths?: readonly string[];
}

async function closeDialog(page: Page): Promise<void> {
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "detached" });
}

export const DIALOGS: DialogCheck[] = [
  {
    name: "cart-drawer",
    path: "/catalog",
    open: async (page) => {
      await page.getByTestId("cart-button").click();
      await page.getByTestId("cart-drawer").locator('[data-testid="cart-line"]').first().waitFor();
    },
  },
  {
    name: "sign-in",
    path: "/",
    open: async (page) => {
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.getByRole("dialog", { name: "Your account" }).waitFor();
    },
  },
  {
    name: "menu",
    path: "/",
    widths: ["phone"],
    open: async (page) => {
      await page.getByRole("button", { name: "Menu" }).click();
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Orders" }).waitFor();
    },
    close: async (page) => {
      await page.getByRole("button", { name: "Menu" }).click();
      await page.getByRole("navigation", { name: "Main" }).waitFor({ state: "hidden" });
    },
  },
];

interface ProductsPage {
  items: { id: string; name: string; stock: number; available?: number }[];
}

async function signInOperator(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign in", exact: true }).first().click();
  const form = page.locator("#account-panel").getByRole("form", { name: "Sign in" });
  await form.getByLabel("Email").fill(OPERATOR.email);
  await form.getByLabel("Password").fill(OPERATOR.password);
  await form.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").waitFor();
}

async function sessionOf(page: Page): Promise<string> {
  return eventually("the browser's session id", () => page.evaluate(() => localStorage.getItem("kartshoppe.sessionId")));
}

/** An order placed by this browser's session, then one more product in its cart. */
async function shopperFixture(server: Server, page: Page): Promise<Fixture> {
  const { items } = await server.api<ProductsPage>("GET", "/products?pageSize=3&sort=name");
  const [first, second] = items;
  if (!first || !second) throw new Error("the seeded catalog is empty");
  await page.goto("/");
  const sessionId = await sessionOf(page);
  await server.api("POST", `/cart/${sessionId}/add`, { productId: first.id, quantity: 1 });
  const order = await server.api<{ orderId: string; reference: string }>("POST", "/checkout", { sessionId, idempotencyKey: `a11y-${sessionId}` });
  await server.api("POST", `/cart/${sessionId}/add`, { productId: second.id, quantity: 2 });
  return { product: first, orderId: order.orderId, reference: order.reference };
}

/** Waits until the page shows its heading and nothing in it is still loading. */
async function settled(page: Page): Promise<void> {
  await page.locator("main h1").first().waitFor();
  await eventually("the page to finish loading", async () => (await page.locator('main [aria-busy="true"], main [data-skeleton]').count()) === 0, 15_000);
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  await page.waitForLoadState("load");
}

/** axe-core's serious and critical findings, one line each with where they are. */
async function axeProblems(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]).analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
}

/** Visible controls smaller than 44 x 44 px (links in running text are exempt). */
async function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const selector = 'button, select, input:not([type="checkbox"]):not([type="radio"]):not([type="hidden"]), [role="button"], header a, nav a, footer a';
    const small: string[] = [];
    for (const el of Array.from(document.querySelectorAll<HTMLElement>(selector))) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || !el.checkVisibility()) continue;
      const tall = box.height >= 43.5;
      const wide = el.tagName === "A" || el.tagName === "INPUT" || el.tagName === "SELECT" || box.width >= 43.5;
      if (!tall || !wide) small.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 30)}" ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
    return small;
  });
}

/** The header's search field, if it is drawn too narrow to type a query in (an operator's longer
 * navigation once squeezed it to 40 px). */
async function narrowSearch(page: Page): Promise<string[]> {
  const box = await page.locator("#site-search").boundingBox();
  return box && box.width < 160 ? [`the search field is ${Math.round(box.width)} px wide`] : [];
}

async function checkPage(page: Page, label: string, width: "desktop" | "phone"): Promise<string[]> {
  const problems = (await axeProblems(page)).map((p) => `${label}: ${p}`);
  problems.push(...(await narrowSearch(page)).map((p) => `${label}: ${p}`));
  if (width === "phone") problems.push(...(await smallTargets(page)).map((s) => `${label}: touch target under 44 px: ${s}`));
  await page.screenshot({ path: join(DOCS_SCREENSHOTS, `${label}.png`) });
  return problems;
}

async function phoneContext(t: TestContext, width: (typeof WIDTHS)[number]): Promise<BrowserContext> {
  return t.newContext({ width: width.width, height: width.height });
}

for (const width of WIDTHS) {
  test(`accessibility: every page at ${width.name} width (${width.width} px) has no serious axe violation, its own title and big enough targets`, async (t) => {
    mkdirSync(DOCS_SCREENSHOTS, { recursive: true });
    const shopper = await t.newPage(await phoneContext(t, width));
    const fixture = await shopperFixture(t.server, shopper);
    const operator = await t.newPage(await phoneContext(t, width));
    await operator.goto("/");
    await signInOperator(operator);

    const problems: string[] = [];
    for (const check of PAGES) {
      const page = check.operator ? operator : shopper;
      const label = `${check.name}-${width.name}`;
      await page.goto(check.path(fixture));
      await settled(page);
      const expected = `${check.title(fixture)} · ${SHOP}`;
      const title = await page.title();
      if (title !== expected) problems.push(`${label}: the title is "${title}", not "${expected}"`);
      problems.push(...(await checkPage(page, label, width.name)));
    }
    for (const dialog of DIALOGS.filter((d) => !d.widths || d.widths.includes(width.name))) {
      await shopper.goto(dialog.path);
      await settled(shopper);
      await dialog.open(shopper);
      problems.push(...(await checkPage(shopper, `${dialog.name}-${width.name}`, width.name)));
      await (dialog.close ?? closeDialog)(shopper);
    }
    problems.push(...(await cartBesideLogo(shopper)).map((p) => `${width.name}: ${p}`));
    // on a desktop an operator's eight links fill the logo's row and the account's controls take
    // a second one; on a phone the links fold into the menu, so the signed-in row must fit
    if (width.name === "phone") problems.push(...(await cartBesideLogo(operator)).map((p) => `${width.name}, signed in: ${p}`));
    if (problems.length > 0) throw new Error(`${problems.length} accessibility problems:\n  ${problems.join("\n  ")}`);
  });
}

/** The header keeps the cart button on the logo's row (on a phone signed in too), so it takes
 * two rows at most, the search being the second. */
async function cartBesideLogo(page: Page): Promise<string[]> {
  await page.goto("/");
  await settled(page);
  const logo = await page.locator("header").getByRole("link", { name: "KartShoppe" }).boundingBox();
  const cart = await page.getByTestId("cart-button").boundingBox();
  if (!logo || !cart) return ["the header's logo or cart button is not shown"];
  return cart.y >= logo.y + logo.height ? [`the cart button is below the logo's row (at ${Math.round(cart.y)} px)`] : [];
}

/** The element that has keyboard focus, described by what it is and where it is. */
async function focused(page: Page): Promise<{ inDialog: boolean; text: string; tag: string }> {
  return page.evaluate(() => {
    const el = document.activeElement;
    return {
      inDialog: Boolean(el?.closest('[role="dialog"]')),
      text: (el?.getAttribute("aria-label") ?? el?.textContent ?? "").trim(),
      tag: el?.tagName.toLowerCase() ?? "",
    };
  });
}

test("accessibility: the cart drawer and the sign-in dialog keep keyboard focus inside, close on Escape and return it", async (t) => {
  const page = await t.newPage();
  await shopperFixture(t.server, page);
  await page.goto("/catalog");
  await settled(page);

  const cartButton = page.getByTestId("cart-button");
  await cartButton.focus();
  await page.keyboard.press("Enter");
  await page.getByTestId("cart-drawer").locator('[data-testid="cart-line"]').first().waitFor();
  if ((await focused(page)).text !== "Close cart") throw new Error(`opening the cart focused ${JSON.stringify(await focused(page))}`);
  for (const key of ["Tab", "Tab", "Tab", "Tab", "Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab"]) {
    await page.keyboard.press(key);
    const now = await focused(page);
    if (!now.inDialog) throw new Error(`${key} moved the focus out of the cart drawer to ${JSON.stringify(now)}`);
  }
  await page.keyboard.press("Escape");
  await page.getByTestId("cart-drawer").waitFor({ state: "detached" });
  if (!(await cartButton.evaluate((el) => el === document.activeElement))) throw new Error("closing the cart did not return focus to the cart button");

  const signIn = page.getByRole("button", { name: "Sign in", exact: true });
  await signIn.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Your account" });
  await dialog.waitFor();
  if ((await focused(page)).tag !== "input") throw new Error("the sign-in dialog did not focus its e-mail field");
  for (let i = 0; i < 8; i += 1) {
    await page.keyboard.press("Tab");
    if (!(await focused(page)).inDialog) throw new Error("Tab left the sign-in dialog");
  }
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  if (!(await signIn.evaluate((el) => el === document.activeElement))) throw new Error("closing the sign-in dialog did not return focus to its button");
});

test("accessibility: a navigation titles the page and moves focus to its main heading", async (t) => {
  const page = await t.newPage();
  await page.goto("/");
  await settled(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Catalog" }).click();
  await eventually("focus on the catalog's heading", async () => (await focused(page)).tag === "h1" && (await focused(page)).text === "Catalog");
  if ((await page.title()) !== `Catalog · ${SHOP}`) throw new Error(`the catalog is titled "${await page.title()}"`);

  const card = page.locator('[data-testid="product-card"]').first();
  const name = (await card.locator("h3").textContent()) ?? "";
  await card.locator("a").first().click();
  await eventually("focus on the product's name", async () => (await focused(page)).text === name);
  if ((await page.title()) !== `${name} · ${SHOP}`) throw new Error(`the product page is titled "${await page.title()}"`);

  await page.getByRole("contentinfo").getByRole("link", { name: "Returns" }).click();
  await eventually("focus on the returns page's heading", async () => (await focused(page)).text === "Returns");
});

test("accessibility: asking for more than is in stock is refused in words that name the product", async (t) => {
  const { items } = await t.server.api<ProductsPage>("GET", "/products?pageSize=100&sort=name");
  const product = items.find((p) => (p.available ?? p.stock) > 0 && (p.available ?? p.stock) < 99);
  if (!product) throw new Error("no product with less than 99 in stock");
  const available = product.available ?? product.stock;
  t.expectConsoleErrors(/status of 409/);
  const page = await t.newPage();
  await page.goto(`/product/${product.id}`);
  await settled(page);
  await page.getByLabel("Quantity").fill("99");
  await page.getByRole("button", { name: "Add to cart", exact: true }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  const expected = `Only ${available} of ${product.name} ${available === 1 ? "is" : "are"} left; you asked for 99`;
  const text = (await alert.textContent())?.trim();
  if (text !== expected) throw new Error(`the refusal reads "${text}", not "${expected}"`);
});
