import { act, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ProductPicture, RETRIES, RETRY_MS } from "./ProductPicture";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

const hose = { id: "prod_026", imageUrl: "" };

describe("ProductPicture", () => {
  it("loads a picture whose load failed again, on a new element, with growing waits", () => {
    render(<ProductPicture product={hose} alt="Garden hose" />);
    const first = screen.getByRole("img", { name: "Garden hose" });
    expect(first).toHaveAttribute("src", "/images/products/prod_026.svg");

    fireEvent.error(first);
    act(() => vi.advanceTimersByTime(RETRY_MS - 1));
    expect(screen.getByRole("img", { name: "Garden hose" })).toBe(first);
    act(() => vi.advanceTimersByTime(1));
    const second = screen.getByRole("img", { name: "Garden hose" });
    expect(second).not.toBe(first);
    expect(second).toHaveAttribute("src", "/images/products/prod_026.svg");

    fireEvent.error(second);
    act(() => vi.advanceTimersByTime(RETRY_MS));
    expect(screen.getByRole("img", { name: "Garden hose" })).toBe(second);
    act(() => vi.advanceTimersByTime(RETRY_MS));
    expect(screen.getByRole("img", { name: "Garden hose" })).not.toBe(second);
  });

  it("gives up after its retries", () => {
    render(<ProductPicture product={hose} alt="Garden hose" />);
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      fireEvent.error(screen.getByRole("img", { name: "Garden hose" }));
      act(() => vi.advanceTimersByTime(RETRY_MS * 2 ** attempt));
    }
    const last = screen.getByRole("img", { name: "Garden hose" });
    fireEvent.error(last);
    act(() => vi.advanceTimersByTime(60_000));
    expect(screen.getByRole("img", { name: "Garden hose" })).toBe(last);
  });

  it("starts over for another picture", () => {
    const { rerender } = render(<ProductPicture product={hose} alt="Picture" />);
    fireEvent.error(screen.getByRole("img", { name: "Picture" }));
    rerender(<ProductPicture product={{ id: "prod_027", imageUrl: "/img/new.webp" }} alt="Picture" />);
    expect(screen.getByRole("img", { name: "Picture" })).toHaveAttribute("src", "/img/new.webp");
  });
});
