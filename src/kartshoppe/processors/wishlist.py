"""Wishlist alerts (key: product id): tells the shoppers who wished for a product when it gets
cheaper or comes back in stock.

It reads the wishes (`WISHLIST_ITEM_ADDED`/`_REMOVED` on `ecommerce_events`), the price changes
and flash sales on `product_updates` and the stock levels on `inventory_updates`, all keyed by
the product, so who wishes for it and its last level are one key's state. A price drop
(`PRICE_CHANGED` to a lower price, or a flash sale starting) and a level leaving 0 each emit one
`WISHLIST_ALERT` per wisher to the fan-out, keyed by the wisher, for their WebSocket.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from kartshoppe.events import (
    Event,
    FlashSaleStarted,
    InventoryChanged,
    PriceChanged,
    Topic,
    WishlistAlert,
    WishlistAlertReason,
    WishlistItemAdded,
    WishlistItemRemoved,
)
from kartshoppe.processors.model import OUTPUT_ID, Context, Processor

_WATCHED = (
    WishlistItemAdded,
    WishlistItemRemoved,
    PriceChanged,
    FlashSaleStarted,
    InventoryChanged,
)


class WatchState(TypedDict):
    wishers: list[str]
    """User ids, in the order they wished for the product."""
    available: int | None
    """The last available count seen; None before the first."""


class WishlistAlerts(Processor[WatchState]):
    name = "wishlist-alerts"
    cost = 2
    input_topics = (
        Topic.EVENTS.value,
        Topic.PRODUCT_UPDATES.value,
        Topic.INVENTORY_UPDATES.value,
    )

    def key(self, event: Event) -> str | None:
        return event.product_id if isinstance(event, _WATCHED) else None

    def initial_state(self) -> WatchState:
        return {"wishers": [], "available": None}

    def on_event(self, state: WatchState, event: Event, ctx: Context) -> WatchState:
        wishers = state["wishers"]
        if isinstance(event, WishlistItemAdded):
            if event.user_id is not None and event.user_id not in wishers:
                wishers.append(event.user_id)
        elif isinstance(event, WishlistItemRemoved):
            if event.user_id in wishers:
                wishers.remove(event.user_id)
        elif isinstance(event, PriceChanged):
            if event.new_price < event.old_price:
                self._alert(state, ctx, "PRICE_DROP", event.old_price, event.new_price)
        elif isinstance(event, FlashSaleStarted):
            sale = event.flash_sale.sale_price
            self._alert(state, ctx, "PRICE_DROP", event.product.price, sale)
        elif isinstance(event, InventoryChanged):
            if state["available"] == 0 and event.available > 0:
                self._alert(state, ctx, "BACK_IN_STOCK", available=event.available)
            state["available"] = event.available
        return state

    @staticmethod
    def _alert(
        state: WatchState,
        ctx: Context,
        reason: WishlistAlertReason,
        old_price: Decimal | None = None,
        new_price: Decimal | None = None,
        available: int | None = None,
    ) -> None:
        for user_id in state["wishers"]:
            alert = WishlistAlert(
                event_id=OUTPUT_ID,
                timestamp=ctx.timestamp,
                user_id=user_id,
                product_id=ctx.key,
                reason=reason,
                old_price=old_price,
                new_price=new_price,
                available=available,
            )
            ctx.emit(Topic.FANOUT.value, user_id, alert)
