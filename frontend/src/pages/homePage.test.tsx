import { screen, within } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";
import type { Recommendation } from "../lib/types";
import { cart, FakeSocket, product, stubFetch } from "../test/fakes";
import { renderApp } from "../test/render";

beforeEach(() => {
  FakeSocket.instances = [];
  localStorage.clear();
  localStorage.setItem("kartshoppe.sessionId", "sess_test");
});

describe("home page recommendations", () => {
  it("shows the list's reason and products, not the model's confidence", async () => {
    const list = { eventId: "e1", timestamp: 1, kind: "PERSONAL", productIds: ["prod_1"], reason: "Trending in Shoes", confidence: 0.07 } as Recommendation;
    stubFetch({
      "GET /api/ecommerce/cart/sess_test": cart(),
      "GET /api/ecommerce/recommendations/sess_test": [list],
      "GET /api/ecommerce/product/prod_1": product(),
    });
    renderApp("/");
    const block = await screen.findByTestId("recommendation");
    expect(block).toHaveTextContent("Trending in Shoes");
    expect(await within(block).findByText("Trail Shoe")).toBeInTheDocument();
    expect(block).not.toHaveTextContent("%");
  });
});
