/** The shopper's identity kept in localStorage: a session id made on first visit and the sign-in token. */
import { isValidId, newId } from "./ids";
import type { AuthSession } from "./types";

const SESSION_KEY = "kartshoppe.sessionId";
const AUTH_KEY = "kartshoppe.auth";

export function loadSessionId(storage: Storage = localStorage): string {
  const existing = storage.getItem(SESSION_KEY);
  if (existing && isValidId(existing)) return existing;
  const created = newId("sess");
  storage.setItem(SESSION_KEY, created);
  return created;
}

/** The stored sign-in, or null when there is none, it is malformed, or its token has expired. */
export function loadAuth(now = Date.now(), storage: Storage = localStorage): AuthSession | null {
  const raw = storage.getItem(AUTH_KEY);
  if (!raw) return null;
  try {
    const data = JSON.parse(raw) as Partial<AuthSession>;
    if (typeof data.token === "string" && typeof data.userId === "string" && isValidId(data.userId) && typeof data.expiresAt === "number" && data.expiresAt > now && (data.role === "shopper" || data.role === "operator")) {
      return data as AuthSession;
    }
  } catch {
    // fall through: a broken entry is dropped
  }
  storage.removeItem(AUTH_KEY);
  return null;
}

export function saveAuth(auth: AuthSession | null, storage: Storage = localStorage): void {
  if (auth) storage.setItem(AUTH_KEY, JSON.stringify(auth));
  else storage.removeItem(AUTH_KEY);
}
