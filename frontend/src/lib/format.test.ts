import { describe, expect, it } from "vitest";
import { formatCountdown, formatMoney, secondsLeft } from "./format";

describe("countdown", () => {
  it("counts whole seconds down to zero, never below", () => {
    expect(secondsLeft(10_500, 0)).toBe(10);
    expect(secondsLeft(0, 5000)).toBe(0);
  });
  it("formats minutes and hours", () => {
    expect(formatCountdown(65)).toBe("01:05");
    expect(formatCountdown(3725)).toBe("1:02:05");
  });
});

describe("money", () => {
  it("shows dollars with cents", () => {
    expect(formatMoney(1234.5)).toBe("$1,234.50");
  });
});
