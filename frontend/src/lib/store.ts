/** Reading the event store's answers (docs/ARCHITECTURE.md, store section) defensively: it may be absent. */
import { ApiError } from "./api";

export interface StoreSnapshot {
  snapshotId: number;
  commitTime: number;
  recordCount: number;
}

export type StoredEvent = Record<string, unknown> & { eventType?: string; timestamp?: number; eventId?: string };

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function historyEvents(body: unknown): { events: StoredEvent[]; total: number } {
  const data = asRecord(body);
  const events = Array.isArray(body) ? body : Array.isArray(data.events) ? data.events : [];
  const list = events.filter((e): e is StoredEvent => !!e && typeof e === "object");
  return { events: list, total: typeof data.total === "number" ? data.total : list.length };
}

export function snapshotList(body: unknown): StoreSnapshot[] {
  const data = asRecord(body);
  const raw = Array.isArray(body) ? body : Array.isArray(data.snapshots) ? data.snapshots : [];
  return raw
    .map(asRecord)
    .filter((s) => typeof s.snapshotId === "number")
    .map((s) => ({
      snapshotId: s.snapshotId as number,
      commitTime: typeof s.commitTime === "number" ? s.commitTime : 0,
      recordCount: typeof s.recordCount === "number" ? s.recordCount : 0,
    }))
    .sort((a, b) => b.snapshotId - a.snapshotId);
}

/** A people-facing reason when the store cannot answer: missing (404), not running (503), or other. */
export function storeProblem(error: unknown): { unavailable: boolean; message: string } {
  if (error instanceof ApiError) {
    if (error.status === 503) return { unavailable: true, message: `The event store is unavailable: ${error.message}` };
    // a 404 for the route itself (not for an id) means this server has no event store
    if (error.status === 404 && (error.code !== "not_found" || error.message.startsWith("no route")))
      return { unavailable: true, message: "The event store is not part of this server." };
    return { unavailable: false, message: error.message };
  }
  return { unavailable: false, message: error instanceof Error ? error.message : String(error) };
}
