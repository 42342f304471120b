import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { beforeEach, describe, expect, it } from "vitest";

/** Rendering the whole app takes seconds on a busy machine. */
const APP_TEST_MS = 30_000;
import { ApiError, api, errorMessage } from "../lib/api";
import { tabbableWithin, trapTab } from "../lib/focus";
import { cart, facets, FakeSocket, product, stubFetch } from "../test/fakes";
import { renderApp } from "../test/render";
import { Dialog } from "./Dialog";
import { pageTitle, SHOP_NAME, usePageTitle } from "./page";

const shop = {
  "GET /api/ecommerce/cart/sess_test": cart({ lines: [{ productId: "prod_1", name: "Trail Shoe", quantity: 1, unitPrice: 80, lineTotal: 80 }], itemCount: 1, subtotal: 80 }),
  "GET /api/ecommerce/recommendations/sess_test": [],
  "GET /api/ecommerce/products/featured": [product()],
  "GET /api/ecommerce/products/trending": [],
  "GET /api/ecommerce/categories": [{ name: "Shoes", count: 1 }],
  "GET /api/ecommerce/products": { items: [product()], total: 1, page: 1, pageSize: 12, facets: facets() },
};

beforeEach(() => {
  FakeSocket.instances = [];
  localStorage.setItem("kartshoppe.sessionId", "sess_test");
  document.title = SHOP_NAME;
});

function tab(shiftKey = false) {
  return { key: "Tab", shiftKey, preventDefault: () => undefined };
}

describe("the focus trap", () => {
  function panel() {
    document.body.innerHTML = `<button id="outside">outside</button>
      <div id="dialog" tabindex="-1"><button id="a">a</button><button id="off" disabled>off</button><div hidden><button>hidden</button></div><a id="b" href="/x">b</a></div>`;
    return document.getElementById("dialog")!;
  }

  it("finds what Tab reaches inside, skipping disabled and hidden controls", () => {
    expect(tabbableWithin(panel()).map((el) => el.id)).toEqual(["a", "b"]);
  });

  it("wraps Tab from the last control to the first and Shift+Tab from the first to the last", () => {
    const root = panel();
    document.getElementById("b")!.focus();
    expect(trapTab(root, tab())).toBe(true);
    expect(document.activeElement?.id).toBe("a");
    expect(trapTab(root, tab(true))).toBe(true);
    expect(document.activeElement?.id).toBe("b");
  });

  it("leaves a Tab between two inner controls to the browser", () => {
    const root = panel();
    document.getElementById("a")!.focus();
    expect(trapTab(root, tab())).toBe(false);
  });

  it("brings a focus that escaped back in", () => {
    const root = panel();
    document.getElementById("outside")!.focus();
    expect(trapTab(root, tab())).toBe(true);
    expect(document.activeElement?.id).toBe("a");
  });
});

function DialogHarness() {
  const [open, setOpen] = useState(false);
  return (
    <div>
      <button type="button" onClick={() => setOpen(true)}>Open</button>
      <button type="button">Behind</button>
      <Dialog open={open} onClose={() => setOpen(false)} labelledBy="t">
        <h2 id="t">Settings</h2>
        <button type="button">First</button>
        <button type="button" onClick={() => setOpen(false)}>Done</button>
      </Dialog>
    </div>
  );
}

describe("Dialog", () => {
  it("takes focus when opened, keeps Tab inside, closes on Escape and gives focus back to its opener", async () => {
    const user = userEvent.setup();
    render(<DialogHarness />);
    const opener = screen.getByRole("button", { name: "Open" });
    await user.click(opener);
    const dialog = screen.getByRole("dialog", { name: "Settings" });
    expect(dialog).toHaveAttribute("aria-modal", "true");
    expect(within(dialog).getByRole("button", { name: "First" })).toHaveFocus();
    await user.tab();
    expect(within(dialog).getByRole("button", { name: "Done" })).toHaveFocus();
    await user.tab();
    expect(within(dialog).getByRole("button", { name: "First" })).toHaveFocus();
    await user.tab({ shift: true });
    expect(within(dialog).getByRole("button", { name: "Done" })).toHaveFocus();

    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(opener).toHaveFocus();
  }, APP_TEST_MS);

  it("pulls focus back when something behind it is focused", async () => {
    const user = userEvent.setup();
    render(<DialogHarness />);
    await user.click(screen.getByRole("button", { name: "Open" }));
    act(() => screen.getByRole("button", { name: "Behind", hidden: true }).focus());
    expect(within(screen.getByRole("dialog")).getByRole("button", { name: "First" })).toHaveFocus();
  });
});

describe("page titles", () => {
  function Titled({ title }: { title: string }) {
    usePageTitle(title);
    return null;
  }

  it("name the page before the shop", () => {
    expect(pageTitle("Catalog")).toBe("Catalog · KartShoppe");
    expect(pageTitle("  ")).toBe("KartShoppe");
    expect(pageTitle(null)).toBe("KartShoppe");
  });

  it("follow the page shown and fall back to the shop's name when it goes", () => {
    const { rerender, unmount } = render(<Titled title="Checkout" />);
    expect(document.title).toBe("Checkout · KartShoppe");
    rerender(<Titled title="Order confirmed" />);
    expect(document.title).toBe("Order confirmed · KartShoppe");
    unmount();
    expect(document.title).toBe("KartShoppe");
  });

  it("are set by every shop page", async () => {
    stubFetch({ ...shop, "GET /api/ecommerce/product/prod_1": product(), "GET /api/ecommerce/orders": [] });
    const cases: [string, string][] = [
      ["/", "Home"],
      ["/catalog", "Catalog"],
      ["/product/prod_1", "Trail Shoe"],
      ["/orders", "Your orders"],
      ["/shipping", "Shipping"],
      ["/returns", "Returns"],
      ["/contact", "Contact"],
      ["/nowhere", "Page not found"],
      ["/ops/dashboard", "Live dashboard"],
    ];
    for (const [path, title] of cases) {
      const { unmount } = renderApp(path);
      await waitFor(() => expect(document.title).toBe(`${title} · KartShoppe`));
      unmount();
    }
  }, APP_TEST_MS);
});

describe("navigation", () => {
  it("moves focus to the new page's main heading, once it has loaded", async () => {
    let release: (value: Response) => void = () => undefined;
    stubFetch({
      ...shop,
      "GET /api/ecommerce/product/prod_1": () => new Promise<Response>((ok) => (release = ok)),
    });
    const user = userEvent.setup();
    renderApp("/");
    const main = screen.getByRole("main");
    expect(document.activeElement).toBe(document.body); // not on the first page load

    await user.click(within(screen.getByRole("navigation", { name: "Main" })).getByRole("link", { name: "Catalog" }));
    const catalog = await within(main).findByRole("heading", { level: 1, name: "Catalog" });
    await waitFor(() => expect(catalog).toHaveFocus());
    expect(catalog).toHaveAttribute("tabindex", "-1");

    await user.click((await within(main).findAllByRole("link", { name: /Trail Shoe/ }))[0]!);
    expect(await within(main).findByRole("status")).toHaveTextContent("Loading product…");
    act(() => release(new Response(JSON.stringify(product()), { status: 200 })));
    const name = await within(main).findByRole("heading", { level: 1, name: "Trail Shoe" });
    await waitFor(() => expect(name).toHaveFocus());
  }, APP_TEST_MS);

  it("leaves the focus alone when the person moved it while the page loaded", async () => {
    let release: (value: Response) => void = () => undefined;
    stubFetch({ ...shop, "GET /api/ecommerce/product/prod_1": () => new Promise<Response>((ok) => (release = ok)) });
    const user = userEvent.setup();
    renderApp("/catalog");
    await user.click((await screen.findAllByRole("link", { name: /Trail Shoe/ }))[0]!);
    const cartButton = screen.getByTestId("cart-button");
    act(() => cartButton.focus());
    act(() => release(new Response(JSON.stringify(product()), { status: 200 })));
    await screen.findByRole("heading", { level: 1, name: "Trail Shoe" });
    expect(cartButton).toHaveFocus();
  }, APP_TEST_MS);
});

describe("the cart drawer", () => {
  it("is a modal dialog that focuses its close button and returns focus to the cart button", async () => {
    stubFetch(shop);
    const user = userEvent.setup();
    renderApp("/");
    const button = await screen.findByRole("button", { name: /Open cart, 1 item$/ });
    await user.click(button);
    const drawer = await screen.findByRole("dialog", { name: "Your cart" });
    expect(within(drawer).getByRole("button", { name: "Close cart" })).toHaveFocus();
    for (let i = 0; i < 6; i += 1) {
      await user.tab();
      expect(drawer).toContainElement(document.activeElement as HTMLElement);
    }
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(button).toHaveFocus();
  }, APP_TEST_MS);
});

describe("the sign-in dialog", () => {
  it("opens on the e-mail field, closes with its Close button and gives focus back", async () => {
    stubFetch(shop);
    const user = userEvent.setup();
    renderApp("/");
    const button = screen.getByRole("button", { name: "Sign in" });
    await user.click(button);
    const dialog = screen.getByRole("dialog", { name: "Your account" });
    expect(within(dialog).getByLabelText("Email")).toHaveFocus();
    await user.click(within(dialog).getByRole("button", { name: "Close" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(button).toHaveFocus();
  }, APP_TEST_MS);
});

describe("accessible names", () => {
  it("of an Add to cart button start with its visible words and say which product", async () => {
    stubFetch(shop);
    renderApp("/catalog");
    const button = await screen.findByRole("button", { name: "Add to cart, Trail Shoe" });
    expect(button.textContent?.startsWith("Add to cart")).toBe(true);
  }, APP_TEST_MS);
});

describe("error messages", () => {
  it("are the server's own message, as written", async () => {
    stubFetch({
      "POST /api/ecommerce/cart/s1/add": new Response(
        JSON.stringify({ error: "insufficient_stock", message: "Only 4 of Trailblazer Water Bottle are left; you asked for 50", details: [{ field: "quantity" }] }),
        { status: 409 },
      ),
    });
    const failure = await api.addToCart("s1", null, "prod_031", 50).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApiError);
    expect(errorMessage(failure)).toBe("Only 4 of Trailblazer Water Bottle are left; you asked for 50");
    expect((failure as ApiError).field).toBe("quantity");
  });

  it("say in words when the shop cannot be reached or answers without one", async () => {
    stubFetch({
      "GET /api/ecommerce/product/down": () => Promise.reject(new TypeError("Failed to fetch")),
      "GET /api/ecommerce/product/broken": new Response("<html>Bad gateway</html>", { status: 502 }),
    });
    expect(errorMessage(await api.product("down").catch((err: unknown) => err))).toBe(
      "The shop cannot be reached just now. Check your connection and try again.",
    );
    expect(errorMessage(await api.product("broken").catch((err: unknown) => err))).toBe(
      "The shop could not do that just now (error 502). Please try again.",
    );
    expect(errorMessage("not an error")).toBe("Something went wrong. Please try again.");
  });
});
