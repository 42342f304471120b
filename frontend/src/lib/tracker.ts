/**
 * Batches tracking events (page views, product views, clicks, searches) and posts them to
 * `POST /api/ecommerce/events` every couple of seconds or when a batch is full.
 */
import { newId } from "./ids";
import type { TrackingEvent } from "./types";

export type TrackingInput =
  | { eventType: "PAGE_VIEW"; page: string }
  | { eventType: "PRODUCT_VIEW"; productId: string }
  | { eventType: "PRODUCT_CLICK"; productId: string; source?: string }
  | { eventType: "SEARCH"; query: string; resultCount?: number };

export interface TrackerOptions {
  send: (batch: TrackingEvent[]) => Promise<void>;
  identity: () => { sessionId: string; userId: string | null };
  maxBatch?: number;
  intervalMs?: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const MAX_QUEUE = 500;

export class EventTracker {
  private queue: TrackingEvent[] = [];
  private timer: unknown = null;
  private readonly maxBatch: number;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(private readonly options: TrackerOptions) {
    this.maxBatch = options.maxBatch ?? 20;
    this.intervalMs = options.intervalMs ?? 2000;
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  get pending(): number {
    return this.queue.length;
  }

  track(input: TrackingInput): TrackingEvent {
    const { sessionId, userId } = this.options.identity();
    const event = {
      ...input,
      eventId: newId("evt"),
      schemaVersion: 1,
      timestamp: this.now(),
      sessionId,
      ...(userId ? { userId } : {}),
    } as TrackingEvent;
    this.queue.push(event);
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE);
    if (this.queue.length >= this.maxBatch) void this.flush();
    else if (this.timer === null) this.timer = this.setTimer(() => void this.flush(), this.intervalMs);
    return event;
  }

  /** Sends everything queued; a failed batch goes back to the front of the queue for the next try. */
  async flush(): Promise<void> {
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.queue.length);
    try {
      await this.options.send(batch);
    } catch {
      this.queue.unshift(...batch);
      if (this.queue.length > MAX_QUEUE) this.queue.length = MAX_QUEUE;
      if (this.timer === null) this.timer = this.setTimer(() => void this.flush(), this.intervalMs * 2);
    }
  }
}
