"""Inventory tracking: stock-level alerts per product, reservation expiry per order.

Two processors, because Flink keys a stream one way: levels are keyed by product, reservations
by order.

`InventoryLevels` (key: product id) reads the shop's `INVENTORY_CHANGED` on `inventory_updates`,
which carries the authoritative stock, reserved and available counts after every change (the
shop's inventory is the one writer per product). It emits `INVENTORY_ALERT` to
`inventory_updates` and the fan-out only when the available count crosses a line:
`SOLD_OUT` on reaching 0, `LOW_STOCK` on falling below the threshold (from above it, or on first
sight), `BACK_IN_STOCK` on leaving 0. Staying on the same side emits nothing. It also reads the
catalog events on `product_updates` (same key): `PRICE_DROP` when one price change lowers the
price by `price_drop_percent` (10 %) or more, and `STOCK_UNCHANGED` once when a product still in
stock has not moved for `unchanged_after_ms` (event time: one timer per product, re-armed by
every change of its level, so a quiet shop is noticed by the runner's idle watermark).

`ReservationExpiry` (key: order id) follows each checkout: its `STOCK_RESERVED` holds and its
`ORDER_PLACED`. An order still unpaid at its `payBy` (`ttl_ms` after it was placed, for an
order from before `payBy`), or holding stock `ttl_ms` without ever being placed (a checkout that
died half-way), gets one `RESERVATION_EXPIRED` on `ecommerce_events`; the shop then cancels the
order and releases the stock. Any status change of the order away from `PLACED`, or the release
of everything it held, ends the tracking.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, TypedDict

from kartshoppe.events import (
    CATALOG_EVENTS,
    AlertLevel,
    CheckoutFailed,
    Event,
    InventoryAlert,
    InventoryChanged,
    OrderPlaced,
    OrderStatus,
    OrderStatusChanged,
    PriceChanged,
    ReservationExpired,
    StockReleased,
    StockReserved,
    Topic,
    event_key,
    in_cents,
)
from kartshoppe.processors.model import OUTPUT_ID, Context, Processor

Level = Literal["OK", "LOW", "OUT"]


class LevelState(TypedDict, total=False):
    level: Level | None
    available: int
    name: str
    changedAt: int
    """Event time of the last change of the level (stock or available)."""
    timer: int | None
    quietReported: bool
    """`STOCK_UNCHANGED` was sent for the current level."""


def level_of(available: int, threshold: int) -> Level:
    if available <= 0:
        return "OUT"
    return "LOW" if available < threshold else "OK"


def crossing(previous: Level | None, current: Level) -> AlertLevel | None:
    """The alert for moving from `previous` (None: never seen) to `current`, if any."""
    if previous == current:
        return None
    if current == "OUT":
        return "SOLD_OUT"
    if previous == "OUT":
        return "BACK_IN_STOCK"
    if current == "LOW":
        return "LOW_STOCK"
    return None


def price_drop(old: Decimal, new: Decimal, percent: int) -> bool:
    """A cut of at least `percent` % (exact: in cents, no float)."""
    return in_cents(new) * 100 <= in_cents(old) * (100 - percent)


@dataclass(frozen=True)
class InventoryLevels(Processor[LevelState]):
    low_stock_threshold: int = 5
    """`LOW_STOCK` when fewer than this many units are available."""
    unchanged_after_ms: int = 24 * 3600 * 1000
    """`STOCK_UNCHANGED` for a level in stock that has not moved for this long."""
    price_drop_percent: int = 10

    name = "inventory"
    input_topics = (Topic.INVENTORY_UPDATES.value, Topic.PRODUCT_UPDATES.value)

    def key(self, event: Event) -> str | None:
        return event.product_id if isinstance(event, (InventoryChanged, *CATALOG_EVENTS)) else None

    def initial_state(self) -> LevelState:
        return {"level": None, "available": 0, "timer": None, "quietReported": False}

    def on_event(self, state: LevelState, event: Event, ctx: Context) -> LevelState:
        if isinstance(event, CATALOG_EVENTS):
            state["name"] = event.product.name
            if isinstance(event, PriceChanged) and price_drop(
                event.old_price, event.new_price, self.price_drop_percent
            ):
                self._alert(
                    state,
                    ctx,
                    "PRICE_DROP",
                    old_price=event.old_price,
                    new_price=event.new_price,
                )
            return state
        if not isinstance(event, InventoryChanged):
            return state
        current = level_of(event.available, self.low_stock_threshold)
        alert = crossing(state.get("level"), current)
        moved = state.get("level") is None or state.get("available") != event.available
        state["level"] = current
        state["available"] = event.available
        if moved:
            self._moved(state, ctx)
        if alert is not None:
            self._alert(state, ctx, alert)
        return state

    def _moved(self, state: LevelState, ctx: Context) -> None:
        state["changedAt"] = ctx.timestamp
        state["quietReported"] = False
        if state.get("timer") is None:
            due = ctx.timestamp + self.unchanged_after_ms
            state["timer"] = due
            ctx.set_timer(due)

    def on_timer(self, state: LevelState, timestamp: int, ctx: Context) -> LevelState:
        state["timer"] = None
        changed_at = state.get("changedAt", timestamp)
        due = changed_at + self.unchanged_after_ms
        if due > timestamp:
            # the level moved since this timer was set: wait from its last change
            state["timer"] = due
            ctx.set_timer(due)
        elif state.get("available", 0) > 0 and not state.get("quietReported"):
            state["quietReported"] = True
            self._alert(state, ctx, "STOCK_UNCHANGED", unchanged_since=changed_at)
        return state

    def _alert(
        self,
        state: LevelState,
        ctx: Context,
        level: AlertLevel,
        *,
        old_price: Decimal | None = None,
        new_price: Decimal | None = None,
        unchanged_since: int | None = None,
    ) -> None:
        signal = InventoryAlert(
            event_id=OUTPUT_ID,
            timestamp=ctx.timestamp,
            product_id=ctx.key,
            level=level,
            available=state.get("available", 0),
            name=state.get("name"),
            old_price=old_price,
            new_price=new_price,
            unchanged_since=unchanged_since,
        )
        ctx.emit(Topic.INVENTORY_UPDATES.value, ctx.key, signal)
        ctx.emit(Topic.FANOUT.value, ctx.key, signal)


ReservationStatus = Literal["RESERVING", "PLACED", "EXPIRED"]


class ReservationState(TypedDict):
    status: ReservationStatus
    held: dict[str, int]
    deadline: int | None
    session_id: str | None
    user_id: str | None


_TRACKED: Final = (StockReserved, StockReleased, OrderPlaced, OrderStatusChanged, CheckoutFailed)


@dataclass(frozen=True)
class ReservationExpiry(Processor[ReservationState]):
    ttl_ms: int = 15 * 60 * 1000
    """How long an order may stay unpaid (or a reservation unplaced) before it expires."""

    name = "reservations"
    input_topics = (Topic.EVENTS.value,)

    def key(self, event: Event) -> str | None:
        return event.order_id if isinstance(event, _TRACKED) else None

    def initial_state(self) -> ReservationState:
        return {
            "status": "RESERVING",
            "held": {},
            "deadline": None,
            "session_id": None,
            "user_id": None,
        }

    def on_event(
        self, state: ReservationState, event: Event, ctx: Context
    ) -> ReservationState | None:
        state["session_id"] = event.session_id or state["session_id"]
        state["user_id"] = event.user_id or state["user_id"]
        if isinstance(event, StockReserved):
            state["held"][event.product_id] = (
                state["held"].get(event.product_id, 0) + event.quantity
            )
            if state["deadline"] is None and state["status"] == "RESERVING":
                self._arm(state, ctx.timestamp + self.ttl_ms, ctx)
        elif isinstance(event, StockReleased):
            left = state["held"].get(event.product_id, 0) - event.quantity
            if left > 0:
                state["held"][event.product_id] = left
            else:
                state["held"].pop(event.product_id, None)
            if not state["held"] and state["status"] != "PLACED":
                self._stop_tracking(state, ctx)
                return None
        elif isinstance(event, OrderPlaced):
            if state["status"] == "RESERVING":
                state["status"] = "PLACED"
                # the deadline the shopper was told; `ttl_ms` for orders placed before it was
                pay_by = event.pay_by if event.pay_by is not None else ctx.timestamp + self.ttl_ms
                self._arm(state, pay_by, ctx)
        elif isinstance(event, OrderStatusChanged):
            if event.status != OrderStatus.PLACED:
                self._stop_tracking(state, ctx)
                return None
        elif isinstance(event, CheckoutFailed) and not state["held"]:
            self._stop_tracking(state, ctx)
            return None
        return state

    def on_timer(
        self, state: ReservationState, timestamp: int, ctx: Context
    ) -> ReservationState | None:
        if state["deadline"] != timestamp:
            return state
        if state["status"] == "EXPIRED":
            # the order's late events have had a TTL to arrive and be ignored: without the
            # shop's policy answering the expiry, nothing else would ever end this key
            return None
        state["status"] = "EXPIRED"
        self._arm(state, timestamp + self.ttl_ms, ctx)
        order_id = ctx.key
        expired = ReservationExpired(
            event_id=OUTPUT_ID,
            timestamp=timestamp,
            order_id=order_id,
            session_id=state["session_id"],
            user_id=state["user_id"],
        )
        ctx.emit(Topic.EVENTS.value, event_key(expired) or order_id, expired)
        return state

    def _arm(self, state: ReservationState, deadline: int, ctx: Context) -> None:
        if state["deadline"] is not None:
            ctx.delete_timer(state["deadline"])
        state["deadline"] = deadline
        ctx.set_timer(deadline)

    def _stop_tracking(self, state: ReservationState, ctx: Context) -> None:
        if state["deadline"] is not None:
            ctx.delete_timer(state["deadline"])
