"""Abandoned carts: a cart with items left idle past a timeout, and the shopper's return.

Keyed like the cart itself: by user id when the shopper is signed in, else by session id. The
processor mirrors the cart's lines from the cart events to know its value and item count. Any
shopper activity on the key (browsing included) counts as not idle. When a cart with items has
seen no activity for `timeout_ms`, `CART_ABANDONED` (value, item count) goes to
`ecommerce_events` and the fan-out. The next activity of that shopper emits `CART_RECOVERED`
(with `offer`, if one is configured) to both topics, addressed to the session that came back.
An abandoned cart whose shopper stays away for `recovery_window_ms` (a week) is forgotten.
A checkout in progress, an order or an emptied cart disarms the timeout.

`CART_MERGED` concerns two keys: the user's cart gains the lines, the anonymous session's cart is
gone (so it can never be reported abandoned).

Timers are coalesced: activity only moves `lastActive`; the one pending timer, when it fires
early, re-arms itself at `lastActive + timeout_ms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict

from kartshoppe.events import (
    MAX_QUANTITY,
    SHOPPER_EVENTS,
    AddToCart,
    CartAbandoned,
    CartCleared,
    CartMerged,
    CartQuantityChanged,
    CartRecovered,
    CheckoutFailed,
    CheckoutStarted,
    Event,
    OrderPlaced,
    RemoveFromCart,
    Topic,
    event_key,
    in_cents,
)
from kartshoppe.processors.model import OUTPUT_ID, Context, Processor


class CartState(TypedDict):
    lines: dict[str, list[int]]
    """product id -> [quantity, unit price in cents] (exact, and JSON for the state store)"""
    lastActive: int
    timer: int | None
    checkingOut: bool
    abandoned: bool
    sessionId: str | None
    userId: str | None


def cart_value(state: CartState) -> Decimal:
    return Decimal(sum(q * cents for q, cents in state["lines"].values())) / 100


def item_count(state: CartState) -> int:
    return int(sum(q for q, _ in state["lines"].values()))


@dataclass(frozen=True)
class AbandonedCarts(Processor[CartState]):
    timeout_ms: int = 30 * 60 * 1000
    offer: str = ""
    """Text of the offer sent with `CART_RECOVERED`, e.g. a discount code; empty for none."""
    recovery_window_ms: int = 7 * 24 * 3600 * 1000
    """How long after its last activity an abandoned cart can still be recovered."""

    name = "abandoned_carts"
    input_topics = (Topic.EVENTS.value,)

    def key(self, event: Event) -> str | None:
        return event_key(event) if isinstance(event, SHOPPER_EVENTS) else None

    def keys(self, event: Event) -> tuple[str, ...]:
        key = self.key(event)
        if key is None:
            return ()
        if isinstance(event, CartMerged) and event.from_session_id != key:
            return (key, event.from_session_id)
        return (key,)

    def initial_state(self) -> CartState:
        return {
            "lines": {},
            "lastActive": 0,
            "timer": None,
            "checkingOut": False,
            "abandoned": False,
            "sessionId": None,
            "userId": None,
        }

    def on_event(self, state: CartState, event: Event, ctx: Context) -> CartState | None:
        if isinstance(event, CartMerged) and ctx.key == event.from_session_id:
            return self._disarm(state, ctx, clear=True)
        if state["abandoned"]:
            state["abandoned"] = False
            self._disarm(state, ctx, clear=False)
            recovered = CartRecovered(
                event_id=OUTPUT_ID,
                timestamp=ctx.timestamp,
                session_id=event.session_id,
                user_id=event.user_id,
                offer=self.offer,
            )
            ctx.emit(Topic.EVENTS.value, ctx.key, recovered)
            ctx.emit(Topic.FANOUT.value, event.session_id or ctx.key, recovered)
        state["lastActive"] = max(state["lastActive"], ctx.timestamp)
        state["sessionId"] = event.session_id or state["sessionId"]
        state["userId"] = event.user_id or state["userId"]
        self._apply(state, event)
        if not state["lines"]:
            return self._disarm(state, ctx, clear=True)
        if state["checkingOut"]:
            return self._disarm(state, ctx, clear=False)
        if state["timer"] is None:
            timer = state["lastActive"] + self.timeout_ms
            state["timer"] = timer
            ctx.set_timer(timer)
        return state

    def _apply(self, state: CartState, event: Event) -> None:
        lines = state["lines"]
        if isinstance(event, AddToCart):
            held = lines.get(event.product_id, [0, in_cents(event.price)])
            lines[event.product_id] = [min(held[0] + event.quantity, MAX_QUANTITY), held[1]]
        elif isinstance(event, CartMerged):
            for line in event.lines:
                held = lines.get(line.product_id, [0, in_cents(line.unit_price)])
                lines[line.product_id] = [min(held[0] + line.quantity, MAX_QUANTITY), held[1]]
        elif isinstance(event, RemoveFromCart):
            lines.pop(event.product_id, None)
        elif isinstance(event, CartQuantityChanged) and event.product_id in lines:
            lines[event.product_id][0] = event.quantity
        elif isinstance(event, CartCleared | OrderPlaced):
            lines.clear()
            state["checkingOut"] = False
        elif isinstance(event, CheckoutStarted):
            state["checkingOut"] = True
        elif isinstance(event, CheckoutFailed):
            state["checkingOut"] = False

    def _disarm(self, state: CartState, ctx: Context, *, clear: bool) -> CartState | None:
        if state["timer"] is not None:
            ctx.delete_timer(state["timer"])
            state["timer"] = None
        return None if clear else state

    def on_timer(self, state: CartState, timestamp: int, ctx: Context) -> CartState | None:
        state["timer"] = None
        if state["abandoned"]:
            # the recovery window has passed: the cart is gone for good
            return None if timestamp >= state["lastActive"] + self.recovery_window_ms else state
        if not state["lines"] or state["checkingOut"]:
            return state
        due = state["lastActive"] + self.timeout_ms
        if due > timestamp:
            state["timer"] = due
            ctx.set_timer(due)
            return state
        state["abandoned"] = True
        forget = state["lastActive"] + self.recovery_window_ms
        state["timer"] = forget
        ctx.set_timer(forget)
        abandoned = CartAbandoned(
            event_id=OUTPUT_ID,
            timestamp=timestamp,
            session_id=state["sessionId"],
            user_id=state["userId"],
            cart_value=cart_value(state),
            item_count=item_count(state),
        )
        ctx.emit(Topic.EVENTS.value, ctx.key, abandoned)
        ctx.emit(Topic.FANOUT.value, state["sessionId"] or ctx.key, abandoned)
        return state
