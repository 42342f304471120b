/** Cart commands through the REST API; the answer (and the server's push) updates the cart. */
import { api } from "../lib/api";
import type { Cart } from "../lib/types";
import { useIdentity, useShop } from "./shop";
import { useCommand } from "./useCommand";

interface CartChange {
  send: () => Promise<Cart>;
  openCart: boolean;
}

export function useCartActions() {
  const stores = useShop();
  const { sessionId, userId } = useIdentity();
  const command = useCommand((change: CartChange) => change.send(), {
    onSuccess: (cart, change) => {
      stores.setCart(cart);
      if (change.openCart) stores.cartOpen.set(true);
    },
    fallbackError: "Your cart could not be changed. Please try again.",
  });
  const run = (send: () => Promise<Cart>, openCart = false) => command.run({ send, openCart });

  return {
    busy: command.busy,
    error: command.error,
    add: (productId: string, quantity = 1) => run(() => api.addToCart(sessionId, userId, productId, quantity), true),
    /** Each line in turn ("Buy again"); stops at the first the shop refuses, whose message is
     * the error, the lines before it staying in the cart. */
    addAll: (lines: { productId: string; quantity: number }[]) =>
      run(async () => {
        let cart: Cart | null = null;
        for (const l of lines) cart = await api.addToCart(sessionId, userId, l.productId, l.quantity);
        return cart ?? api.cart(sessionId, userId);
      }, true),
    update: (productId: string, quantity: number) => run(() => api.updateQuantity(sessionId, userId, productId, quantity)),
    remove: (productId: string) => run(() => api.removeFromCart(sessionId, userId, productId)),
    clear: () => run(() => api.clearCart(sessionId, userId)),
  };
}
