import { describe, expect, it, vi } from "vitest";
import { ManualTimers } from "../test/fakes";
import { ID_PATTERN } from "./ids";
import { EventTracker } from "./tracker";
import type { TrackingEvent } from "./types";

function tracker(send = vi.fn(async (_: TrackingEvent[]) => undefined), userId: string | null = null) {
  const timers = new ManualTimers();
  const t = new EventTracker({
    send,
    identity: () => ({ sessionId: "sess_1", userId }),
    maxBatch: 3,
    intervalMs: 2000,
    now: () => 1234,
    setTimer: timers.set,
    clearTimer: timers.clear,
  });
  return { t, timers, send };
}

describe("EventTracker", () => {
  it("stamps each event with the contract's envelope fields", () => {
    const { t } = tracker(undefined, "user_1");
    const event = t.track({ eventType: "PRODUCT_VIEW", productId: "prod_1" });
    expect(event).toMatchObject({ eventType: "PRODUCT_VIEW", productId: "prod_1", sessionId: "sess_1", userId: "user_1", timestamp: 1234, schemaVersion: 1 });
    expect(event.eventId).toMatch(ID_PATTERN);
  });

  it("leaves userId out for an anonymous shopper", () => {
    const { t } = tracker();
    expect(t.track({ eventType: "PAGE_VIEW", page: "/" })).not.toHaveProperty("userId");
  });

  it("sends a batch after the interval", async () => {
    const { t, timers, send } = tracker();
    t.track({ eventType: "PAGE_VIEW", page: "/" });
    t.track({ eventType: "PAGE_VIEW", page: "/catalog" });
    expect(send).not.toHaveBeenCalled();
    expect(timers.delays()).toEqual([2000]);
    timers.runAll();
    await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(1));
    expect(send.mock.calls[0]?.[0]).toHaveLength(2);
  });

  it("sends at once when the batch is full", async () => {
    const { t, send, timers } = tracker();
    for (let i = 0; i < 3; i++) t.track({ eventType: "PRODUCT_CLICK", productId: `prod_${i}` });
    await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(1));
    expect(timers.pending.size).toBe(0);
  });

  it("keeps a batch that failed to send and retries it", async () => {
    const send = vi.fn().mockRejectedValueOnce(new Error("offline")).mockResolvedValue(undefined);
    const { t, timers } = tracker(send);
    t.track({ eventType: "SEARCH", query: "shoes", resultCount: 3 });
    await t.flush();
    expect(t.pending).toBe(1);
    timers.runAll();
    await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(2));
    expect(send.mock.calls[1]?.[0]).toHaveLength(1);
  });
});
