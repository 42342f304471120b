/**
 * Product pictures in chromium against the real server: a product the operator launches is drawn
 * as what it is, and an image the operator uploads in the admin page replaces it on the open
 * product page, re-encoded by the server.
 */
import type { Page } from "playwright-core";
import { eventually, test } from "./harness";

const OPERATOR = { email: "operator@kartshoppe.dev", password: "operator-demo-pass" };
/** A 64x64 PNG: an indigo disc on amber. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAIAAAAlC+aJAAAA60lEQVR42u2ZwQ3DMAhFE5Rb9+hMVYfrMepM3aP3TtDIxoCxeFwj/f+fIRKJ9+/rtq1csi1eAAAAAAAAAADAzDo8RJ/vz79H5+Nu67UbLnMXuf1IbAC6ottijAKoo1thyPT0gzoyPf2gmmRIP6IpSdKrlSVPep2+pEqvcKm0C8Ucf69XmQ5EHn+XI98DSwDEz0+7LyMEAAAAAACA61+DkWrxZYRWAYifokbHSiMU2YR2r2IvcUwTulzEVd07vXKE/BgUyhLm5KQpwX7majLF1VCn/B2ZGiPXLWU7Sep7YtZpAAAAAAAAACgH8AO1lVhri57ktQAAAABJRU5ErkJggg==",
  "base64",
);

/** The product page's picture: its address and its decoded width once loaded (0 before). */
async function shownPicture(page: Page, name: string): Promise<{ src: string; width: number }> {
  return page.getByRole("img", { name, exact: true }).evaluate((img: HTMLImageElement) => ({
    src: img.getAttribute("src") ?? "",
    width: img.complete ? img.naturalWidth : 0,
  }));
}

test("an operator uploads a product image and the open product page shows it", async (t) => {
  const token = (await t.server.api<{ token: string }>("POST", "/auth/login", OPERATOR)).token;
  const name = `Cuddly Teddy Bear ${Date.now()}`;
  const product = await t.server.api<{ id: string; imageUrl: string }>(
    "POST",
    "/admin/products",
    { name, category: "Toys & Games", price: 24.99, stock: 10, tags: ["plush"] },
    token,
  );

  const shopper = await t.newPage();
  await shopper.goto(`/product/${product.id}`);
  await shopper.getByRole("heading", { name }).waitFor();
  const drawn = await eventually("the illustration loaded", async () => {
    const picture = await shownPicture(shopper, name);
    return picture.width > 0 ? picture : null;
  });
  if (drawn.src !== `/images/products/${product.id}.svg`) throw new Error(`unexpected picture ${drawn.src}`);
  const svg = await (await fetch(`${t.server.base}${drawn.src}`)).text();
  if (!svg.includes("<svg") || svg.includes("<text")) throw new Error("the illustration is not text-free SVG");

  const admin = await t.newPage();
  await admin.goto("/ops/admin");
  await admin.getByRole("button", { name: "Sign in" }).first().click();
  const form = admin.locator("#account-panel").getByRole("form", { name: "Sign in" });
  await form.getByLabel("Email").fill(OPERATOR.email);
  await form.getByLabel("Password").fill(OPERATOR.password);
  await form.getByRole("button", { name: "Sign in" }).click();
  await admin.getByTestId("signed-in-as").waitFor();
  await admin.getByLabel("Product", { exact: true }).selectOption(product.id);
  await admin.getByTestId("admin-product").getByText(name).waitFor();

  const upload = admin.getByTestId("product-image-upload");
  await upload.getByLabel("Product image").setInputFiles({ name: "bear.png", mimeType: "image/png", buffer: PNG });
  await upload.getByRole("button", { name: "Upload image" }).click();
  await upload.getByRole("status").filter({ hasText: "Image updated" }).waitFor();
  await t.screenshot(admin, "admin-image-upload");

  // the open product page switches to the upload live, and it decodes as the 64 px image
  const uploaded = await eventually("the uploaded image on the product page", async () => {
    const picture = await shownPicture(shopper, name);
    return picture.src.startsWith("/images/uploads/") && picture.width === 64 ? picture : null;
  });
  const served = await fetch(`${t.server.base}${uploaded.src}`);
  if (served.headers.get("content-type") !== "image/webp") throw new Error("the upload is not served as WebP");
  await t.screenshot(shopper, "product-uploaded-image");

  // a refused file is explained on the spot and changes nothing (the browser logs the 415)
  t.expectConsoleErrors(/status of 415/);
  await upload.getByLabel("Product image").setInputFiles({ name: "evil.png", mimeType: "image/png", buffer: Buffer.from("<svg onload='alert(1)'/>") });
  await upload.getByRole("button", { name: "Upload image" }).click();
  await upload.getByRole("alert").filter({ hasText: "SVG images are not accepted" }).waitFor();
  if ((await shownPicture(shopper, name)).src !== uploaded.src) throw new Error("a refused upload changed the picture");
});

/** The mean colour of the product page picture's pixels around (x, y), in a 100 px drawing. */
async function colourAt(page: Page, name: string, x: number, y: number): Promise<number[]> {
  const img = page.getByRole("img", { name, exact: true });
  await eventually("the picture loaded", async () => (await shownPicture(page, name)).width > 0);
  return img.evaluate(
    (element: HTMLImageElement, [cx, cy]: [number, number]) => {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 100;
      const context = canvas.getContext("2d");
      if (!context) throw new Error("no 2d canvas");
      context.drawImage(element, 0, 0, 100, 100);
      const data = context.getImageData(cx - 2, cy - 2, 5, 5).data;
      const mean = [0, 0, 0];
      for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c += 1) mean[c]! += data[i + c]! / 25;
      return mean.map(Math.round);
    },
    [x, y] as [number, number],
  );
}

test("a product whose name gives its colour is drawn in that colour", async (t) => {
  const token = (await t.server.api<{ token: string }>("POST", "/auth/login", OPERATOR)).token;
  const stamp = Date.now();
  const page = await t.newPage();
  const bodies: Record<string, number[]> = {};
  for (const name of [`Everyday Cotton T-Shirt ${stamp}`, `Everyday Cotton T-Shirt Black ${stamp}`]) {
    const product = await t.server.api<{ id: string }>(
      "POST",
      "/admin/products",
      { name, category: "Fashion", price: 19.99, stock: 5, tags: ["cotton"] },
      token,
    );
    await page.goto(`/product/${product.id}`);
    await page.getByRole("heading", { name }).waitFor();
    bodies[name] = await colourAt(page, name, 50, 52); // the middle of the shirt
  }
  const [plain, black] = Object.values(bodies) as [number[], number[]];
  if (Math.max(...black) > 60) throw new Error(`the black shirt is drawn in rgb(${black.join(", ")})`);
  if (Math.max(...plain) < 120) throw new Error(`the plain shirt is dark too: rgb(${plain.join(", ")})`);
  await t.screenshot(page, "product-colour");
});
