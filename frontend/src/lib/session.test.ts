import { describe, expect, it } from "vitest";
import { loadAuth, loadSessionId, saveAuth } from "./session";

const auth = { token: "t.o.k", userId: "user_alice", role: "shopper" as const, expiresAt: 2_000 };

describe("session identity", () => {
  it("creates a session id on the first visit and keeps it", () => {
    const first = loadSessionId();
    expect(first).toMatch(/^sess_[0-9a-f]{32}$/);
    expect(loadSessionId()).toBe(first);
  });

  it("remembers the sign-in until sign-out", () => {
    expect(loadAuth(1_000)).toBeNull();
    saveAuth(auth);
    expect(loadAuth(1_000)).toEqual(auth);
    saveAuth(null);
    expect(loadAuth(1_000)).toBeNull();
  });

  it("forgets a sign-in whose token has expired", () => {
    saveAuth(auth);
    expect(loadAuth(2_000)).toBeNull();
    expect(localStorage.getItem("kartshoppe.auth")).toBeNull();
  });

  it("drops a stored entry that is not a sign-in", () => {
    localStorage.setItem("kartshoppe.auth", '{"token":"x","userId":"bad id!","role":"shopper","expiresAt":9e15}');
    expect(loadAuth(1_000)).toBeNull();
    localStorage.setItem("kartshoppe.auth", "not json");
    expect(loadAuth(1_000)).toBeNull();
  });
});
