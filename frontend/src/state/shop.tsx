/**
 * The shop's provider and the hooks pages read it through. The context holds only objects that do not
 * change while the tab lives (the stores) or change on sign-in and sign-out (the socket), so a push
 * re-renders just the components that read what it changed.
 */
import { QueryClientProvider, useQuery } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { RealtimeClient, socketUrl, type SocketFactory } from "../lib/realtime";
import type { Recommendation } from "../lib/types";
import { useStoreValue } from "./externalStore";
import { newQueryClient, type Owner } from "./queries";
import { ShopStores } from "./shopStores";

export type { SignInRequest } from "./shopStores";

const StoresContext = createContext<ShopStores | null>(null);
const SocketContext = createContext<RealtimeClient | null>(null);

export function ShopProvider({ children, createSocket }: { children: ReactNode; createSocket?: SocketFactory }) {
  const [stores] = useState(() => new ShopStores(newQueryClient()));
  const auth = useStoreValue(stores.auth);

  const client = useMemo(
    () =>
      new RealtimeClient({
        url: socketUrl(window.location, stores.sessionId, auth?.userId ?? null, auth?.token ?? null),
        ...(createSocket ? { createSocket } : {}),
      }),
    [stores, auth, createSocket],
  );

  useEffect(() => stores.connect(client), [stores, client]);

  useEffect(() => {
    window.addEventListener("pagehide", stores.flushTracking);
    return () => window.removeEventListener("pagehide", stores.flushTracking);
  }, [stores]);

  return (
    <QueryClientProvider client={stores.queries}>
      <StoresContext.Provider value={stores}>
        <SocketContext.Provider value={client}>{children}</SocketContext.Provider>
      </StoresContext.Provider>
    </QueryClientProvider>
  );
}

/** The stores and commands (signIn, signOut, track, setCart, refreshCart, live): stable for the tab's life. */
export function useShop(): ShopStores {
  const stores = useContext(StoresContext);
  if (!stores) throw new Error("useShop must be used inside <ShopProvider>");
  return stores;
}

/** The tab's one WebSocket; a new one after sign-in or sign-out. */
export function useSocket(): RealtimeClient {
  const client = useContext(SocketContext);
  if (!client) throw new Error("useSocket must be used inside <ShopProvider>");
  return client;
}

export function useIdentity() {
  const stores = useShop();
  const auth = useStoreValue(stores.auth);
  const owner: Owner = { sessionId: stores.sessionId, userId: auth?.userId ?? null };
  return { ...owner, auth, isOperator: auth?.role === "operator" };
}

/** The shopper's cart, fetched once, then kept by pushes (and refetched after a reconnect). */
export function useCart() {
  const stores = useShop();
  const { sessionId, userId } = useIdentity();
  return useQuery(stores.cartQuery({ sessionId, userId }));
}

export function useRecommendations(): Recommendation[] {
  const stores = useShop();
  const { sessionId, userId } = useIdentity();
  return useQuery(stores.recommendationsQuery({ sessionId, userId })).data ?? [];
}

export function useCartOpen(): boolean {
  return useStoreValue(useShop().cartOpen);
}

export function useConnectionStatus() {
  return useStoreValue(useShop().status);
}

export function useReminder(): string | null {
  return useStoreValue(useShop().reminder);
}
