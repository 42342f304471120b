import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff";

describe("backoffDelay", () => {
  const opts = { baseMs: 500, maxMs: 15_000 };

  it("doubles the ceiling with every attempt", () => {
    expect(backoffDelay(0, 0.999999, opts)).toBe(500);
    expect(backoffDelay(1, 0.999999, opts)).toBe(1000);
    expect(backoffDelay(3, 0.999999, opts)).toBe(4000);
  });

  it("never waits less than half the ceiling, so reconnects are not hammered", () => {
    expect(backoffDelay(0, 0, opts)).toBe(250);
    expect(backoffDelay(4, 0, opts)).toBe(4000);
  });

  it("spreads tabs apart with jitter", () => {
    expect(backoffDelay(2, 0.1, opts)).not.toBe(backoffDelay(2, 0.9, opts));
  });

  it("is capped at the maximum however many attempts failed", () => {
    expect(backoffDelay(50, 0.999999, opts)).toBe(15_000);
    expect(backoffDelay(1000, 0.5, opts)).toBeLessThanOrEqual(15_000);
  });
});
