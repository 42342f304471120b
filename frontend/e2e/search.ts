/**
 * Finding things, in chromium against the real server: suggestions as you type (misspelt), search
 * with facets as removable chips and "clear all", page numbers that start a new page at the top
 * and Back that returns to where the shopper was; and an honest "was" price after a price cut.
 */
import type { Page } from "playwright-core";
import { eventually, test, type Server } from "./harness";

interface Item {
  id: string;
  name: string;
  brand: string;
  price: number;
  soldOut: boolean;
}
interface ProductPage {
  items: Item[];
  total: number;
  facets: { brand: { value: string; count: number }[] };
}

const OPERATOR = { email: "operator@kartshoppe.dev", password: "operator-demo-pass" };

async function cardNames(page: Page): Promise<string[]> {
  return page.locator('[data-testid="product-card"] h3').allTextContents();
}

async function showsExactly(page: Page, server: Server, query: string): Promise<void> {
  const expected = await server.api<ProductPage>("GET", `/products?${query}&pageSize=12`);
  await eventually(`the page to show the server's results for ${query}`, async () => {
    const names = await cardNames(page);
    return names.length > 0 && names.join("|") === expected.items.map((p) => p.name).join("|");
  });
}

test("search: a misspelt word is suggested as you type, and facets narrow the results as removable chips", async (t) => {
  const page = await t.newPage();
  await page.goto("/");
  const box = page.getByRole("combobox", { name: "Search" });
  await box.fill("hedphones");
  const options = page.getByRole("listbox", { name: "Suggestions" }).getByRole("option");
  await options.first().waitFor();
  if (!/Headphones/.test((await options.first().textContent()) ?? "")) throw new Error("hedphones did not suggest headphones first");
  await box.press("ArrowDown");
  await box.press("Enter");
  await eventually("the headphones' product page", async () => /Headphones/.test((await page.getByTestId("product-name").textContent()) ?? ""));

  await box.fill("wireless");
  await box.press("Enter");
  await eventually("the results page", async () => page.url().includes("q=wireless"));
  await showsExactly(page, t.server, "q=wireless");
  const answer = await t.server.api<ProductPage>("GET", "/products?q=wireless");
  const brand = answer.facets.brand[0];
  if (!brand) throw new Error("no brand facet for wireless");
  await page.getByRole("region", { name: "Brand" }).getByRole("button", { name: new RegExp(`^${brand.value} ${brand.count}$`) }).click();
  await showsExactly(page, t.server, `q=wireless&brand=${encodeURIComponent(brand.value)}`);
  if ((await cardNames(page)).length !== brand.count) throw new Error("the brand facet's count is not the number of results");
  await page.getByRole("region", { name: "Availability" }).getByRole("button", { name: /^In stock/ }).click();
  const chips = page.getByRole("list", { name: "Active filters" });
  await chips.getByRole("button", { name: /In stock/ }).waitFor();
  await showsExactly(page, t.server, `q=wireless&brand=${encodeURIComponent(brand.value)}&inStock=true`);
  await t.screenshot(page, "search-facets");

  await chips.getByRole("button", { name: new RegExp(brand.value) }).click();
  await eventually("the brand chip to go", async () => (await chips.getByRole("button", { name: new RegExp(brand.value) }).count()) === 0);
  await showsExactly(page, t.server, "q=wireless&inStock=true");
  await chips.getByRole("button", { name: "Clear all" }).click();
  await eventually("no filters left", async () => (await page.getByRole("list", { name: "Active filters" }).count()) === 0);
  await showsExactly(page, t.server, "sort=relevance");
});

test("search: page numbers start the next page at the top, and Back returns to where the shopper was", async (t) => {
  const page = await t.newPage(await t.newContext({ width: 1280, height: 700 }));
  await page.goto("/catalog");
  await page.getByTestId("result-count").waitFor();
  await page.getByRole("button", { name: "Page 2" }).scrollIntoViewIfNeeded();
  const before = await page.evaluate(() => window.scrollY);
  if (before < 200) throw new Error(`the pagination should be far down the page (scrollY ${before})`);
  await page.getByRole("button", { name: "Page 2" }).click();
  await eventually("page 2", async () => page.url().includes("page=2"));
  await page.getByRole("button", { name: "Page 2" }).and(page.locator('[aria-current="page"]')).waitFor();
  await eventually("the top of the new page", async () => (await page.evaluate(() => window.scrollY)) === 0);

  const card = page.locator('[data-testid="product-card"] a').nth(9);
  await card.scrollIntoViewIfNeeded();
  const y = await page.evaluate(() => window.scrollY);
  if (y < 200) throw new Error(`the tenth card should be far down the page (scrollY ${y})`);
  await card.click();
  await page.getByTestId("product-name").waitFor();
  await eventually("the product page at its top", async () => (await page.evaluate(() => window.scrollY)) === 0);
  await page.goBack();
  await page.getByTestId("result-count").waitFor();
  await eventually(`the scroll position (${y}) restored on Back`, async () => Math.abs((await page.evaluate(() => window.scrollY)) - y) < 3);
});

test("search: honest prices, a price cut shows the lowest price of the last 30 days struck through with a badge, and an undo removes it", async (t) => {
  const session = await t.server.api<{ token: string }>("POST", "/auth/login", OPERATOR);
  const listed = await t.server.api<ProductPage>("GET", "/products?q=skillet&pageSize=1");
  const product = listed.items[0];
  if (!product) throw new Error("no skillet");
  const page = await t.newPage();
  await page.goto(`/product/${product.id}`);
  await page.getByTestId("product-name").waitFor();
  if ((await page.getByTestId("was-price").count()) !== 0) throw new Error("a seeded product claims a was price");

  const cut = Math.round(product.price * 80) / 100;
  await t.server.api("POST", `/admin/products/${product.id}/price`, { price: cut }, session.token);
  await page.locator("main").getByTestId("was-price").first().waitFor({ timeout: 5000 });
  const was = await page.locator("main").getByTestId("was-price").first().textContent();
  if (!was?.includes(product.price.toFixed(2))) throw new Error(`was price ${was}, expected ${product.price}`);
  const badge = await page.locator("main").getByTestId("sale-badge").first().textContent();
  if (!/−(19|20) %/.test(badge ?? "")) throw new Error(`badge ${badge}`);
  await t.screenshot(page, "product-was-price");

  await t.server.api("POST", `/admin/products/${product.id}/price`, { price: product.price }, session.token);
  await page.locator("main").getByTestId("was-price").first().waitFor({ state: "detached", timeout: 5000 });
});
