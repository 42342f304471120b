/**
 * The shop's tab-wide state as small stores, each read on its own: who the shopper is, the socket's
 * status, the cart drawer, the abandoned-cart reminder, pushed product changes and the tracker.
 * Server state (cart, recommendations, orders) lives in the TanStack Query cache; `connect` writes
 * the socket's pushes into these stores and that cache.
 */
import { queryOptions, type QueryClient } from "@tanstack/react-query";
import { ApiError, api, sendTrackingBatch, setAuthToken } from "../lib/api";
import type { ConnectionStatus, RealtimeClient } from "../lib/realtime";
import { mergeRecommendations, newerCart, upsertOrder } from "../lib/reducers";
import { loadSessionId } from "../lib/session";
import { EventTracker, type TrackingInput } from "../lib/tracker";
import type { Cart, Order, Recommendation, WishlistAlertMessage } from "../lib/types";
import { AuthStore } from "./auth";
import { ExternalStore } from "./externalStore";
import { LiveProductStore } from "./liveProducts";
import { keys, type Owner } from "./queries";

export type SignInRequest =
  | { mode: "login"; email: string; password: string }
  | { mode: "register"; email: string; password: string; name: string };

export class ShopStores {
  readonly sessionId = loadSessionId();
  readonly auth = new AuthStore();
  readonly status = new ExternalStore<ConnectionStatus>("connecting");
  readonly cartOpen = new ExternalStore(false);
  readonly reminder = new ExternalStore<string | null>(null);
  /** The latest wishlist alert (a price drop or a return to stock), until dismissed. */
  readonly wishlistAlert = new ExternalStore<WishlistAlertMessage | null>(null);
  readonly live = new LiveProductStore();
  private readonly tracker = new EventTracker({ send: sendTrackingBatch, identity: () => this.owner() });

  constructor(readonly queries: QueryClient) {}

  owner(): Owner {
    return { sessionId: this.sessionId, userId: this.auth.get()?.userId ?? null };
  }

  cartQuery(owner: Owner) {
    return queryOptions({
      queryKey: keys.cart(owner),
      queryFn: () => this.fetchCart(owner),
      // pushes keep the cart fresh; a reconnect refetches it
      staleTime: Infinity,
      // a late REST answer must not undo a fresher push
      structuralSharing: (old: unknown, next: unknown) => newerCart(old as Cart | undefined, next as Cart),
    });
  }

  recommendationsQuery(owner: Owner) {
    const queryKey = keys.recommendations(owner);
    return queryOptions({
      queryKey,
      queryFn: async (): Promise<Recommendation[]> => {
        let fetched: Recommendation[] = [];
        try {
          fetched = await api.recommendations(owner.sessionId, owner.userId);
        } catch {
          // recommendations are optional: the home page shows its empty state
        }
        return mergeRecommendations(this.queries.getQueryData(queryKey) ?? [], fetched);
      },
      staleTime: Infinity,
    });
  }

  setCart = (cart: Cart): void => {
    this.queries.setQueryData(keys.cart(this.owner()), (current: Cart | undefined) => newerCart(current, cart));
  };

  refreshCart = (): Promise<void> => this.queries.invalidateQueries({ queryKey: keys.cart(this.owner()) });

  signIn = async (how: SignInRequest): Promise<void> => {
    const session =
      how.mode === "login"
        ? await api.login(how.email, how.password)
        : await api.register(how.email, how.password, how.name);
    setAuthToken(session.token);
    let merged: Cart;
    try {
      merged = await api.mergeCart(this.sessionId, session.userId);
    } catch (err) {
      setAuthToken(this.auth.get()?.token ?? null);
      throw err;
    }
    this.forgetShopper();
    this.queries.setQueryData(keys.cart({ sessionId: this.sessionId, userId: session.userId }), merged);
    this.auth.signedIn(session);
  };

  signOut = (): void => {
    this.wishlistAlert.set(null);
    this.forgetShopper();
    this.auth.signedOut();
  };

  track = (input: TrackingInput): void => void this.tracker.track(input);

  flushTracking = (): void => void this.tracker.flush();

  /** Follows the socket's pushes until the returned function is called; starts and stops the socket. */
  connect(client: RealtimeClient): () => void {
    const owner = this.owner();
    const offs = [
      client.onStatus((status) => this.status.set(status)),
      client.on("CART_UPDATED", (msg) => this.setCart(msg.cart)),
      client.on("CART_REMINDER", (msg) => {
        this.setCart(msg.cart);
        this.reminder.set(msg.offer || "You left something in your cart.");
      }),
      client.on("PRODUCT_UPDATED", (msg) => {
        this.live.putProduct(msg.product);
        if (msg.change === "REVIEW_POSTED") {
          void this.queries.invalidateQueries({ queryKey: keys.reviews(msg.product.id) });
        }
        // a price change or flash sale reprices the cart (the lower of snapshot and now)
        const cart = this.queries.getQueryData<Cart>(keys.cart(owner));
        if (cart?.lines.some((l) => l.productId === msg.product.id)) {
          void this.queries.invalidateQueries({ queryKey: keys.cart(owner) });
        }
      }),
      client.on("INVENTORY_UPDATED", (msg) => this.live.putInventory(msg)),
      // the alert names its prices itself; live prices come from PRODUCT_UPDATED
      client.on("WISHLIST_ALERT", (msg) => this.wishlistAlert.set({ alert: msg.alert, product: msg.product })),
      // a retired product leaves every list and its page (which then says it is not sold),
      // related products and the wishlist included
      client.on("PRODUCT_RETIRED", (msg) => {
        void this.queries.invalidateQueries({ queryKey: ["products"] });
        void this.queries.invalidateQueries({ queryKey: ["product", msg.productId] });
        void this.queries.invalidateQueries({ queryKey: ["related"] });
        void this.queries.invalidateQueries({ queryKey: keys.wishlist(owner) });
      }),
      client.on("RECOMMENDATION", (msg) =>
        this.queries.setQueryData(keys.recommendations(owner), (current: Recommendation[] | undefined) =>
          mergeRecommendations(current ?? [], [msg.recommendation]),
        ),
      ),
      client.on("ORDER_UPDATED", (msg) =>
        this.queries.setQueryData(keys.orders(owner), (current: Order[] | undefined) =>
          current ? upsertOrder(current, msg.order) : current,
        ),
      ),
      client.onReconnect(() => {
        void this.queries.invalidateQueries({ queryKey: keys.cart(owner) });
        void this.queries.invalidateQueries({ queryKey: keys.orders(owner) });
        for (const id of this.live.visibleIds()) {
          // a failed refetch leaves what is shown; the next push or reconnect corrects it
          this.live.refetch(id, api.product).catch(() => undefined);
        }
      }),
    ];
    // back from sleep or offline: reconnect now rather than at the end of the backoff
    const wake = () => {
      if (document.visibilityState !== "hidden") client.retryNow();
    };
    window.addEventListener("online", wake);
    document.addEventListener("visibilitychange", wake);
    client.start();
    this.status.set(client.status);
    return () => {
      window.removeEventListener("online", wake);
      document.removeEventListener("visibilitychange", wake);
      for (const off of offs) off();
      client.stop();
    };
  }

  /** A token the server no longer accepts (expired or revoked): continue signed out. */
  private async fetchCart(owner: Owner): Promise<Cart> {
    try {
      return await api.cart(owner.sessionId, owner.userId);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && owner.userId) this.auth.signedOut();
      throw err;
    }
  }

  /** Drops the cached answers of the shopper who is leaving, so the next one never sees them. */
  private forgetShopper(): void {
    this.queries.removeQueries({ queryKey: keys.shopper });
  }
}
