/**
 * The shop's tab-wide state: who the shopper is, the one WebSocket, the cart, pushed product
 * changes, recommendations and the event tracker. Pages read it through `useShop()`.
 */
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from "react";
import { ApiError, api, sendTrackingBatch, setAuthToken } from "../lib/api";
import { RealtimeClient, socketUrl, type ConnectionStatus, type SocketFactory } from "../lib/realtime";
import { loadAuth, loadSessionId, saveAuth } from "../lib/session";
import { EventTracker, type TrackingInput } from "../lib/tracker";
import type { AuthSession, Cart, Recommendation } from "../lib/types";
import { LiveProductStore } from "./liveProducts";

export interface ShopState {
  sessionId: string;
  userId: string | null;
  auth: AuthSession | null;
  isOperator: boolean;
  signIn: (how: SignInRequest) => Promise<void>;
  signOut: () => void;
  client: RealtimeClient;
  status: ConnectionStatus;
  cart: Cart | null;
  cartError: string | null;
  cartOpen: boolean;
  setCartOpen: (open: boolean) => void;
  setCart: (cart: Cart) => void;
  refreshCart: () => Promise<void>;
  live: LiveProductStore;
  recommendations: Recommendation[];
  reminder: string | null;
  dismissReminder: () => void;
  track: (input: TrackingInput) => void;
}

export type SignInRequest =
  | { mode: "login"; email: string; password: string }
  | { mode: "register"; email: string; password: string; name: string };

const ShopContext = createContext<ShopState | null>(null);

export function useShop(): ShopState {
  const value = useContext(ShopContext);
  if (!value) throw new Error("useShop must be used inside <ShopProvider>");
  return value;
}

/** Keeps the newer of two carts, so a late REST answer cannot undo a fresher push. */
export function newerCart(current: Cart | null, next: Cart): Cart {
  if (!current || current.cartId !== next.cartId) return next;
  return next.updatedAt >= current.updatedAt ? next : current;
}

function mergeRecommendations(current: Recommendation[], incoming: Recommendation[]): Recommendation[] {
  const byId = new Map<string, Recommendation>();
  for (const rec of [...incoming, ...current]) {
    const key = rec.eventId ?? `${rec.kind ?? ""}:${rec.productIds.join(",")}`;
    if (!byId.has(key)) byId.set(key, rec);
  }
  return [...byId.values()].sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0)).slice(0, 10);
}

export function ShopProvider({ children, createSocket }: { children: ReactNode; createSocket?: SocketFactory }) {
  const [sessionId] = useState(() => loadSessionId());
  const [auth, setAuth] = useState<AuthSession | null>(() => {
    const stored = loadAuth();
    // set before the first effects run, so the first calls already carry the token
    setAuthToken(stored?.token ?? null);
    return stored;
  });
  const userId = auth?.userId ?? null;
  const token = auth?.token ?? null;
  const [status, setStatus] = useState<ConnectionStatus>("connecting");
  const [cart, setCartState] = useState<Cart | null>(null);
  const [cartError, setCartError] = useState<string | null>(null);
  const [cartOpen, setCartOpen] = useState(false);
  const [recommendations, setRecommendations] = useState<Recommendation[]>([]);
  const [reminder, setReminder] = useState<string | null>(null);
  const live = useMemo(() => new LiveProductStore(), []);
  const cartProducts = useRef(new Set<string>());
  cartProducts.current = new Set(cart?.lines.map((l) => l.productId) ?? []);
  const identity = useRef({ sessionId, userId });
  identity.current = { sessionId, userId };

  const client = useMemo(
    () =>
      new RealtimeClient({
        url: socketUrl(window.location, sessionId, userId, token),
        ...(createSocket ? { createSocket } : {}),
      }),
    [sessionId, userId, token, createSocket],
  );

  const tracker = useMemo(
    () => new EventTracker({ send: sendTrackingBatch, identity: () => identity.current }),
    [],
  );

  const setCart = useCallback((next: Cart) => setCartState((current) => newerCart(current, next)), []);

  const refreshCart = useCallback(async () => {
    try {
      const fresh = await api.cart(sessionId, userId);
      setCartState((current) => newerCart(current, fresh));
      setCartError(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && userId) {
        // the stored token is no longer accepted (expired or revoked): continue signed out
        setAuthToken(null);
        saveAuth(null);
        setAuth(null);
        return;
      }
      setCartError(err instanceof Error ? err.message : "could not load the cart");
    }
  }, [sessionId, userId]);

  const refreshRecommendations = useCallback(async () => {
    try {
      const recs = await api.recommendations(sessionId, userId);
      setRecommendations((current) => mergeRecommendations(current, recs));
    } catch {
      // recommendations are optional: the home page shows its empty state
    }
  }, [sessionId, userId]);

  useEffect(() => {
    void refreshCart();
    void refreshRecommendations();
  }, [refreshCart, refreshRecommendations]);

  useEffect(() => {
    const offs = [
      client.onStatus(setStatus),
      client.on("CART_UPDATED", (msg) => setCart(msg.cart)),
      client.on("CART_REMINDER", (msg) => {
        setCart(msg.cart);
        setReminder(msg.offer || "You left something in your cart.");
      }),
      client.on("PRODUCT_UPDATED", (msg) => {
        live.putProduct(msg.product);
        // a price change or flash sale reprices the cart (the lower of snapshot and now)
        if (cartProducts.current.has(msg.product.id)) void refreshCart();
      }),
      client.on("INVENTORY_UPDATED", (msg) => live.putInventory(msg)),
      client.on("RECOMMENDATION", (msg) =>
        setRecommendations((current) => mergeRecommendations(current, [msg.recommendation])),
      ),
      client.onReconnect(() => {
        void refreshCart();
        for (const id of live.visibleIds()) {
          api.product(id).then((p) => live.putProduct(p), () => undefined);
        }
      }),
    ];
    client.start();
    setStatus(client.status);
    return () => {
      for (const off of offs) off();
      client.stop();
    };
  }, [client, live, refreshCart, setCart]);

  useEffect(() => {
    const flush = () => void tracker.flush();
    window.addEventListener("pagehide", flush);
    return () => window.removeEventListener("pagehide", flush);
  }, [tracker]);

  const signIn = useCallback(
    async (how: SignInRequest) => {
      const session =
        how.mode === "login"
          ? await api.login(how.email, how.password)
          : await api.register(how.email, how.password, how.name);
      setAuthToken(session.token);
      try {
        setCartState(await api.mergeCart(sessionId, session.userId));
      } catch (err) {
        setAuthToken(auth?.token ?? null);
        throw err;
      }
      saveAuth(session);
      setAuth(session);
    },
    [sessionId, auth],
  );

  const signOut = useCallback(() => {
    setAuthToken(null);
    saveAuth(null);
    setAuth(null);
    setCartState(null);
    setRecommendations([]);
  }, []);

  const track = useCallback((input: TrackingInput) => void tracker.track(input), [tracker]);

  const value: ShopState = {
    sessionId,
    userId,
    auth,
    isOperator: auth?.role === "operator",
    signIn,
    signOut,
    client,
    status,
    cart,
    cartError,
    cartOpen,
    setCartOpen,
    setCart,
    refreshCart,
    live,
    recommendations,
    reminder,
    dismissReminder: () => setReminder(null),
    track,
  };
  return <ShopContext.Provider value={value}>{children}</ShopContext.Provider>;
}
