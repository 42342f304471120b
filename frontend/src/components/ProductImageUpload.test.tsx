import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { FakeSocket, product, stubFetch } from "../test/fakes";
import { renderApp } from "../test/render";
import { imageFileProblem, ProductImageUpload } from "./ProductImageUpload";

const UPLOAD = "POST /api/ecommerce/admin/products/prod_1/image";

beforeEach(() => {
  FakeSocket.instances = [];
  localStorage.setItem("kartshoppe.sessionId", "sess_test");
});

describe("imageFileProblem", () => {
  it("accepts the raster types up to 5 MB and refuses SVG, other types and bigger files", () => {
    expect(imageFileProblem({ type: "image/png", size: 1000 })).toBeNull();
    expect(imageFileProblem({ type: "image/jpeg", size: 5 * 1024 * 1024 })).toBeNull();
    expect(imageFileProblem({ type: "image/svg+xml", size: 10 })).toMatch(/SVG/);
    expect(imageFileProblem({ type: "application/pdf", size: 10 })).toMatch(/PNG, JPEG, WebP or GIF/);
    expect(imageFileProblem({ type: "image/webp", size: 5 * 1024 * 1024 + 1 })).toMatch(/5 MB/);
  });
});

describe("ProductImageUpload", () => {
  it("sends the chosen file as it is and shows the re-encoded picture", async () => {
    const uploaded = product({ imageUrl: "/images/uploads/0123456789abcdef0123456789abcdef.webp" });
    const { fetchMock } = stubFetch({ [UPLOAD]: uploaded });
    renderApp("/", <ProductImageUpload product={product()} />);
    const file = new File([new Uint8Array([137, 80, 78, 71])], "mug.png", { type: "image/png" });
    await userEvent.upload(screen.getByLabelText("Product image"), file);
    await userEvent.click(screen.getByRole("button", { name: "Upload image" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Image updated");
    const init = fetchMock.mock.calls.find(([url]) => String(url).endsWith("/image"))?.[1];
    expect(init?.body).toBe(file);
    expect((init?.headers as Record<string, string>)["Content-Type"]).toBe("image/png");
    expect(screen.getByRole("img", { name: /Picture of/ })).toHaveAttribute("src", uploaded.imageUrl);
    expect(screen.getByRole("button", { name: "Use illustration" })).toBeInTheDocument();
  });

  it("refuses an SVG before sending anything", async () => {
    const { calls } = stubFetch({});
    renderApp("/", <ProductImageUpload product={product()} />);
    const svg = new File(["<svg onload='x()'/>"], "evil.svg", { type: "image/svg+xml" });
    // the picker offers raster types only; a dropped or forced file still gets checked
    await userEvent.upload(screen.getByLabelText("Product image"), svg, { applyAccept: false });
    await userEvent.click(screen.getByRole("button", { name: "Upload image" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("SVG images are not accepted");
    expect(calls.filter((c) => c.url.pathname.endsWith("/image"))).toEqual([]);
  });

  it("shows the server's reason when it refuses the file", async () => {
    const refusal = { error: "unsupported_image", message: "the file is not a PNG, JPEG, WebP or GIF image", details: [{ field: "image" }] };
    stubFetch({ [UPLOAD]: () => new Response(JSON.stringify(refusal), { status: 415 }) });
    renderApp("/", <ProductImageUpload product={product()} />);
    const fake = new File(["%PDF"], "photo.png", { type: "image/png" });
    await userEvent.upload(screen.getByLabelText("Product image"), fake);
    await userEvent.click(screen.getByRole("button", { name: "Upload image" }));
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("not a PNG, JPEG, WebP or GIF"));
  });
});
