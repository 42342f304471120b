/** Who is signed in: the stored sign-in, kept in step with localStorage and the API's Bearer token. */
import { setAuthToken } from "../lib/api";
import { loadAuth, saveAuth } from "../lib/session";
import type { AuthSession } from "../lib/types";
import { ExternalStore } from "./externalStore";

export class AuthStore extends ExternalStore<AuthSession | null> {
  constructor() {
    const stored = loadAuth();
    // set before the first queries run, so they already carry the token
    setAuthToken(stored?.token ?? null);
    super(stored);
  }

  signedIn(session: AuthSession): void {
    setAuthToken(session.token);
    saveAuth(session);
    this.set(session);
  }

  signedOut(): void {
    setAuthToken(null);
    saveAuth(null);
    this.set(null);
  }
}
