/** Cart commands through the REST API; the answer (and the server's push) updates the cart. */
import { useCallback, useState } from "react";
import { api } from "../lib/api";
import { useShop } from "./shop";

export function useCartActions() {
  const { sessionId, userId, setCart, setCartOpen } = useShop();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = useCallback(async (action: () => ReturnType<typeof api.cart>, open = false) => {
    setBusy(true);
    setError(null);
    try {
      setCart(await action());
      if (open) setCartOpen(true);
    } catch (err) {
      setError(err instanceof Error ? err.message : "the cart could not be changed");
    } finally {
      setBusy(false);
    }
  }, [setCart, setCartOpen]);

  return {
    busy,
    error,
    add: (productId: string, quantity = 1) =>
      run(() => api.addToCart(sessionId, userId, productId, quantity), true),
    update: (productId: string, quantity: number) =>
      run(() => api.updateQuantity(sessionId, userId, productId, quantity)),
    remove: (productId: string) => run(() => api.removeFromCart(sessionId, userId, productId)),
    clear: () => run(() => api.clearCart(sessionId, userId)),
  };
}
