import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { RatingSummary } from "../components/Rating";
import type { Review, ReviewPage } from "../lib/types";
import { cart, FakeSocket, product, stubFetch } from "../test/fakes";
import { renderApp } from "../test/render";

const base = {
  "GET /api/ecommerce/cart/sess_test": cart(),
  "GET /api/ecommerce/cart/sess_test?userId=user_1": cart(),
  "GET /api/ecommerce/recommendations/sess_test": [],
  "GET /api/ecommerce/product/prod_1/related": { boughtTogether: [], alsoViewed: [] },
};

function review(n: number, overrides: Partial<Review> = {}): Review {
  return { reviewId: `r${n}`, productId: "prod_1", rating: 4, title: `Title ${n}`, body: `Body ${n}.`, author: `Author ${n}`, createdAt: 1_790_000_000_000 - n, ...overrides };
}

function page(items: Review[], total: number, pageNo = 1): ReviewPage {
  return { items, total, rating: total ? 4.0 : 0, page: pageNo, pageSize: 5, stars: { "1": 0, "2": 0, "3": 0, "4": total, "5": 0 } };
}

function signIn() {
  localStorage.setItem("kartshoppe.auth", JSON.stringify({ token: "tok_1", userId: "user_1", role: "shopper", expiresAt: Date.now() + 60_000 }));
}

beforeEach(() => {
  FakeSocket.instances = [];
  localStorage.clear();
  localStorage.setItem("kartshoppe.sessionId", "sess_test");
});

describe("rating summary", () => {
  it("says 'No reviews yet' rather than 0.0 stars for a product without reviews", () => {
    render(<RatingSummary rating={0} reviewCount={0} />);
    expect(screen.getByTestId("rating")).toHaveTextContent("No reviews yet");
    expect(screen.getByTestId("rating")).not.toHaveTextContent("0.0");
  });

  it("shows the average to one decimal and the count", () => {
    render(<RatingSummary rating={4.25} reviewCount={1} />);
    expect(screen.getByTestId("rating")).toHaveTextContent("4.3 out of 5 · 1 review");
  });
});

describe("product page reviews", () => {
  it("reads the reviews page by page, newest first, with the specifications and both description paragraphs", async () => {
    const first = [1, 2, 3, 4, 5].map((n) => review(n));
    stubFetch({
      ...base,
      "GET /api/ecommerce/product/prod_1": product({ description: "A shoe.\n\nMade to last.", specs: [{ name: "Weight", value: "280 g" }] }),
      "GET /api/ecommerce/product/prod_1/reviews": (url: URL) =>
        url.searchParams.get("page") === "2" ? page([review(6)], 6, 2) : page(first, 6),
    });
    renderApp("/product/prod_1");
    const section = await screen.findByTestId("reviews");
    expect(await within(section).findAllByTestId("review")).toHaveLength(5);
    expect(within(section).getAllByTestId("review")[0]).toHaveTextContent("Title 1");
    await userEvent.click(within(section).getByRole("button", { name: "Show more reviews (5 of 6)" }));
    await waitFor(() => expect(within(section).getAllByTestId("review")).toHaveLength(6));
    expect(within(section).queryByRole("button", { name: /Show more/ })).not.toBeInTheDocument();
    expect(screen.getByText("Made to last.")).toBeInTheDocument();
    expect(within(screen.getByTestId("specs")).getByRole("rowheader", { name: "Weight" })).toBeInTheDocument();
    // several rendered and clicked steps: slower than the default 5 s on a loaded machine
  }, 20_000);

  it("says 'No reviews yet' for a product nobody reviewed and asks a signed-out shopper to sign in", async () => {
    stubFetch({
      ...base,
      "GET /api/ecommerce/product/prod_1": product({ rating: 0, reviewCount: 0 }),
      "GET /api/ecommerce/product/prod_1/reviews": page([], 0),
    });
    renderApp("/product/prod_1");
    expect(await screen.findByText(/No reviews yet. Bought it\?/)).toBeInTheDocument();
    expect(screen.getByText("Sign in to review a product you bought.")).toBeInTheDocument();
    expect(screen.queryByText(/0\.0 out of 5/)).not.toBeInTheDocument();
    expect(screen.getAllByTestId("rating").every((r) => r.textContent === "No reviews yet")).toBe(true);
  });

  it("publishes a signed-in buyer's review and shows the server's reason when it is refused", async () => {
    signIn();
    let posted: unknown = null;
    let refuse = true;
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/cart/sess_test": cart({ userId: "user_1" }),
      "GET /api/ecommerce/wishlist": { items: [] },
      "GET /api/ecommerce/product/prod_1": product(),
      "GET /api/ecommerce/product/prod_1/reviews": () => page(posted ? [review(9)] : [], posted ? 1 : 0),
      "POST /api/ecommerce/product/prod_1/reviews": (_: URL, init?: RequestInit) => {
        if (refuse) {
          return new Response(JSON.stringify({ error: "not_a_buyer", message: "only shoppers who bought Trail Shoe can review it", details: [{ field: "productId" }] }), { status: 403 });
        }
        posted = JSON.parse(String(init?.body));
        return review(9);
      },
    });
    renderApp("/product/prod_1");
    const form = await screen.findByRole("form", { name: "Write a review" });
    await userEvent.click(within(form).getByRole("button", { name: "Publish review" }));
    expect(within(form).getByRole("alert")).toHaveTextContent("Choose from 1 to 5 stars.");
    await userEvent.click(within(form).getByLabelText("5 ★"));
    await userEvent.type(within(form).getByLabelText("Title"), "Great");
    await userEvent.click(within(form).getByRole("button", { name: "Publish review" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("only shoppers who bought Trail Shoe can review it");
    refuse = false;
    await userEvent.click(within(form).getByRole("button", { name: "Publish review" }));
    expect(await screen.findByText("Thank you: your review is published.")).toBeInTheDocument();
    expect(posted).toEqual({ rating: 5, title: "Great", body: "" });
    const post = calls.find((c) => c.method === "POST" && c.url.pathname.endsWith("/reviews"));
    expect(post?.body).toEqual({ rating: 5, title: "Great", body: "" });
    expect(await screen.findAllByTestId("review")).toHaveLength(1);
  }, 20_000);

  it("updates the rating and reloads the reviews when another shopper's review is pushed", async () => {
    let total = 1;
    stubFetch({
      ...base,
      "GET /api/ecommerce/product/prod_1": product({ rating: 4, reviewCount: 1 }),
      "GET /api/ecommerce/product/prod_1/reviews": () => page([1, 2].slice(0, total).map((n) => review(n)), total),
    });
    renderApp("/product/prod_1");
    expect(await screen.findAllByTestId("review")).toHaveLength(1);
    total = 2;
    act(() => {
      FakeSocket.latest().serverOpens();
      FakeSocket.latest().serverSends({ type: "PRODUCT_UPDATED", change: "REVIEW_POSTED", product: product({ rating: 4.5, reviewCount: 2 }) });
    });
    await waitFor(() => expect(screen.getAllByTestId("review")).toHaveLength(2));
    expect(screen.getAllByTestId("review-count")[0]).toHaveTextContent("2 reviews");
  }, 20_000);
});

describe("wishlist", () => {
  it("adds the product to a signed-in shopper's wishlist and shows a pushed price-drop alert", async () => {
    signIn();
    const { calls } = stubFetch({
      ...base,
      "GET /api/ecommerce/cart/sess_test": cart({ userId: "user_1" }),
      "GET /api/ecommerce/product/prod_1": product(),
      "GET /api/ecommerce/product/prod_1/reviews": page([], 0),
      "GET /api/ecommerce/wishlist": { items: [] },
      "PUT /api/ecommerce/wishlist/prod_1": { items: [product()] },
    });
    renderApp("/product/prod_1");
    const toggle = await screen.findByRole("button", { name: /Add to wishlist/ });
    await waitFor(() => expect(toggle).toBeEnabled());
    await userEvent.click(toggle);
    expect(await screen.findByRole("button", { name: /On your wishlist/ })).toHaveAttribute("aria-pressed", "true");
    expect(calls.some((c) => c.method === "PUT" && c.url.pathname === "/api/ecommerce/wishlist/prod_1")).toBe(true);
    act(() => {
      FakeSocket.latest().serverOpens();
      FakeSocket.latest().serverSends({
        type: "WISHLIST_ALERT",
        alert: { eventType: "WISHLIST_ALERT", productId: "prod_1", reason: "PRICE_DROP", oldPrice: 80, newPrice: 60, userId: "user_1" },
        product: product({ price: 60 }),
      });
    });
    expect(screen.getByTestId("wishlist-alert")).toHaveTextContent("Price drop on your wishlist: Trail Shoe is now $60.00 (was $80.00).");
    await userEvent.click(screen.getByRole("button", { name: "Dismiss wishlist alert" }));
    expect(screen.queryByTestId("wishlist-alert")).not.toBeInTheDocument();
  }, 20_000);

  it("hides both related lists when the recommender has none", async () => {
    stubFetch({ ...base, "GET /api/ecommerce/product/prod_1": product(), "GET /api/ecommerce/product/prod_1/reviews": page([], 0) });
    renderApp("/product/prod_1");
    await screen.findByTestId("reviews");
    expect(screen.queryByRole("heading", { name: "Often bought with" })).not.toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Customers also viewed" })).not.toBeInTheDocument();
  });
});
