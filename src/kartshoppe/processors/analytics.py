"""Live analytics: the dashboard's totals, published every second of event time.

One global key over `ecommerce_events`. What it counts and how:

- `liveUsers`: distinct sessions (the user id when an event has no session) with shopper activity
  in the last `live_window_ms` (5 minutes).
- `eventsPerSecond`: events on `ecommerce_events` in the last 10 seconds, divided by 10.
- `orders`, `revenue`: every `ORDER_PLACED` and its total.
- `funnel`: sessions that viewed a product, added to cart, started a checkout, placed an order.
  Each session counts once per stage and visit; a session idle for more than `session_ttl_ms`
  (30 minutes) starts a new visit and counts again (and idle sessions are forgotten, which
  bounds the state).
- `totalEvents`: every event on `ecommerce_events` except the processors' own signals.
- `conversionRate`: visits that placed an order / visits that viewed a product (the funnel's
  `orders` / `views`, at most 1).
- `abandonedCarts`, `abandonmentRate` (abandoned carts / visits that added to cart),
  `recoveredCarts`: from the abandoned-cart processor's `CART_ABANDONED` and `CART_RECOVERED`.
  Those are another processor's outputs, delivered at least once: a crash of that processor
  between appending and committing appends them again, with the same `eventId`. Their ids are
  remembered for `signal_memory_ms` of event time, and a repeated one is not counted.
- `topProducts`, `topCategories`: the trending scores (same weights and decay as `trending`).

Totals are plain counters: they are exact because the runner commits state and input position
together, so a replayed record is never counted twice.

The first event sets a timer at the next whole second; each firing emits `ANALYTICS_UPDATED` to
the fan-out topic and re-arms one second later while anything is still live, so the dashboard
winds down to zero in a quiet shop and then stops. When the watermark is already past the next
second (catching up on a backlog), the intermediate seconds are skipped: only the latest whole
second the watermark has reached is published.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypedDict

from kartshoppe.events import (
    AddToCart,
    Analytics,
    AnalyticsUpdated,
    CartAbandoned,
    CartMerged,
    CartQuantityChanged,
    CartRecovered,
    CheckoutStarted,
    Event,
    OrderPlaced,
    PageView,
    ProductClick,
    ProductView,
    RemoveFromCart,
    ReservationExpired,
    Search,
    TopCategory,
    Topic,
    TopProduct,
    in_cents,
    json_number,
)
from kartshoppe.processors.model import (
    CATALOG_TOPICS,
    GLOBAL_KEY,
    Context,
    Processor,
    apply_catalog_event,
    catalog_entry,
)
from kartshoppe.processors.trending import (
    PRUNE_INTERVAL_MS,
    Scores,
    add_score,
    interactions,
    prune,
    ranked,
)

EPS_WINDOW_S: Final = 10
TICK_MS: Final = 1000
VIEWED, CARTED, CHECKED_OUT, ORDERED = 1, 2, 4, 8
FUNNEL_STAGES: Final = (
    ("views", VIEWED),
    ("carts", CARTED),
    ("checkouts", CHECKED_OUT),
    ("orders", ORDERED),
)

SHOPPER_ACTIVITY: Final = (
    PageView,
    ProductView,
    ProductClick,
    Search,
    AddToCart,
    RemoveFromCart,
    CartQuantityChanged,
    CartMerged,
    CheckoutStarted,
    OrderPlaced,
)
"""Events a shopper causes; processor outputs (abandonment, expiry, ...) are not activity."""

PROCESSOR_SIGNALS: Final = (CartAbandoned, CartRecovered, ReservationExpired)
"""Outputs of processors on `ecommerce_events`: at least once, so not in `totalEvents`."""


def rate(part: int, whole: int) -> float:
    """`part / whole` to four places, at most 1; 0 when there is no whole."""
    return round(min(part / whole, 1.0), 4) if whole else 0.0


def funnel_stage(event: Event) -> int:
    if isinstance(event, ProductView | ProductClick):
        return VIEWED
    if isinstance(event, AddToCart | CartMerged):
        return CARTED
    if isinstance(event, CheckoutStarted):
        return CHECKED_OUT
    if isinstance(event, OrderPlaced):
        return ORDERED
    return 0


class AnalyticsState(TypedDict):
    sessions: dict[str, list[int]]
    """session -> [last active, funnel stages reached (bit mask)]"""
    seconds: dict[str, int]
    """second (epoch s, as a string: JSON keys) -> events in it"""
    events: int
    orders: int
    revenue: int
    """in cents"""
    funnel: dict[str, int]
    abandoned: int
    recovered: int
    signals: dict[str, int]
    """ids of counted cart signals -> their event time"""
    products: Scores
    categories: Scores
    timer: int | None
    prunedAt: int


@dataclass(frozen=True)
class LiveAnalytics(Processor[AnalyticsState]):
    live_window_ms: int = 5 * 60 * 1000
    session_ttl_ms: int = 30 * 60 * 1000
    half_life_ms: int = 10 * 60 * 1000
    signal_memory_ms: int = 60 * 60 * 1000
    top: int = 10

    name = "analytics"
    input_topics = (Topic.EVENTS.value,)
    broadcast_topics = CATALOG_TOPICS

    def key(self, event: Event) -> str | None:
        return GLOBAL_KEY

    def initial_state(self) -> AnalyticsState:
        return {
            "sessions": {},
            "seconds": {},
            "events": 0,
            "orders": 0,
            "revenue": 0,
            "funnel": {stage: 0 for stage, _ in FUNNEL_STAGES},
            "abandoned": 0,
            "recovered": 0,
            "signals": {},
            "products": {},
            "categories": {},
            "timer": None,
            "prunedAt": 0,
        }

    def on_broadcast(self, event: Event, broadcast: MutableMapping[str, Any]) -> None:
        apply_catalog_event(event, broadcast)

    def on_event(self, state: AnalyticsState, event: Event, ctx: Context) -> AnalyticsState:
        ts = ctx.timestamp
        second = str(ts // 1000)
        state["seconds"][second] = state["seconds"].get(second, 0) + 1
        shopper = event.session_id or event.user_id
        if shopper is not None and isinstance(event, SHOPPER_ACTIVITY):
            self._track_session(state, shopper, funnel_stage(event), ts)
        if not isinstance(event, PROCESSOR_SIGNALS):
            state["events"] += 1
        if isinstance(event, OrderPlaced):
            state["orders"] += 1
            state["revenue"] += in_cents(event.total)
        elif (
            isinstance(event, CartAbandoned | CartRecovered)
            and event.event_id not in state["signals"]
        ):
            state["signals"][event.event_id] = ts
            state["abandoned" if isinstance(event, CartAbandoned) else "recovered"] += 1
        for product_id, weight in interactions(event):
            add_score(state["products"], product_id, weight, ts, self.half_life_ms)
            category = catalog_entry(ctx.broadcast, product_id).get("category")
            if category is not None:
                add_score(state["categories"], category, weight, ts, self.half_life_ms)
        if state["timer"] is None:
            self._arm(state, (ts // TICK_MS + 1) * TICK_MS, ctx)
        return state

    def _track_session(self, state: AnalyticsState, shopper: str, stage: int, ts: int) -> None:
        entry = state["sessions"].setdefault(shopper, [ts, 0])
        if ts - entry[0] > self.session_ttl_ms:
            # a new visit, whether or not a tick has forgotten the old one yet
            entry[1] = 0
        entry[0] = max(entry[0], ts)
        if stage and not entry[1] & stage:
            entry[1] |= stage
            name = next(n for n, bit in FUNNEL_STAGES if bit == stage)
            state["funnel"][name] += 1

    def on_timer(self, state: AnalyticsState, timestamp: int, ctx: Context) -> AnalyticsState:
        latest_due = ctx.watermark // TICK_MS * TICK_MS
        if latest_due > timestamp:
            # catching up on a backlog: only the latest second already due is worth publishing
            self._arm(state, latest_due, ctx)
            return state
        self._forget_old(state, timestamp)
        snapshot = self.snapshot(state, timestamp, ctx)
        ctx.emit(
            Topic.FANOUT.value,
            GLOBAL_KEY,
            AnalyticsUpdated(timestamp=timestamp, analytics=snapshot),
        )
        state["timer"] = None
        if snapshot["liveUsers"] or state["seconds"]:
            self._arm(state, timestamp + TICK_MS, ctx)
        return state

    def snapshot(self, state: AnalyticsState, ts: int, ctx: Context) -> dict[str, Any]:
        """The analytics totals as of `ts`, in the shape of `GET /analytics`."""
        live_since = ts - self.live_window_ms
        live = sum(1 for last, _ in state["sessions"].values() if live_since < last <= ts)
        recent = sum(n for s, n in state["seconds"].items() if int(s) * 1000 < ts)
        carted = state["funnel"]["carts"]
        viewed = state["funnel"]["views"]
        products = ranked(state["products"], ts, self.half_life_ms, self.top)
        return Analytics(
            live_users=live,
            events_per_second=round(recent / EPS_WINDOW_S, 2),
            total_events=state["events"],
            orders=state["orders"],
            revenue=json_number(Decimal(state["revenue"]) / 100),
            funnel=dict(state["funnel"]),
            abandoned_carts=state["abandoned"],
            abandonment_rate=rate(state["abandoned"], carted),
            conversion_rate=rate(state["funnel"]["orders"], viewed),
            recovered_carts=state["recovered"],
            top_products=tuple(
                TopProduct(
                    product_id=p, name=catalog_entry(ctx.broadcast, p).get("name", p), score=s
                )
                for p, s in products
            ),
            top_categories=tuple(
                TopCategory(category=c, score=s)
                for c, s in ranked(state["categories"], ts, self.half_life_ms, self.top)
            ),
            updated_at=ts,
        ).to_json()

    def _forget_old(self, state: AnalyticsState, ts: int) -> None:
        oldest_second = ts // 1000 - EPS_WINDOW_S
        state["seconds"] = {s: n for s, n in state["seconds"].items() if int(s) >= oldest_second}
        if ts - state["prunedAt"] < PRUNE_INTERVAL_MS:
            return
        state["prunedAt"] = ts
        expired = ts - self.session_ttl_ms
        state["sessions"] = {k: v for k, v in state["sessions"].items() if v[0] > expired}
        forgotten = ts - self.signal_memory_ms
        state["signals"] = {k: t for k, t in state["signals"].items() if t > forgotten}
        prune(state["products"], ts, self.half_life_ms)
        prune(state["categories"], ts, self.half_life_ms)

    def _arm(self, state: AnalyticsState, timestamp: int, ctx: Context) -> None:
        state["timer"] = timestamp
        ctx.set_timer(timestamp)
