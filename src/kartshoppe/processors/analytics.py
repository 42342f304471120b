"""Live analytics: the dashboard's totals, published every second of event time.

Over `ecommerce_events`. What it counts and how:

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
  remembered for `signal_memory_ms` of event time from when they were counted (the watermark
  then, for a late one), and a repeated one is not counted.
- `topProducts`, `topCategories`: the trending scores (same weights and decay as `trending`),
  with each product's catalog name as of its last interaction.

Two stages (`model` module doc, two-phase aggregation), so that the work spreads over keys:
1. keyed by shopper (session id, else user id; events of neither go to key `-`): the session's
   last activity, funnel stages reached in this visit, whether it is counted live, the cart
   signal ids it has seen, and a `Partial` of what its events added in the current second,
   sent to the merger at the last millisecond of that second. A second timer per key sends
   `live: -1` once the session has been idle for `live_window_ms` and forgets the key once it
   has been idle for `session_ttl_ms` (and its signal ids are older than `signal_memory_ms`).
   A key left holding nothing but a partial (a processor's signal fed back after its session
   was forgotten) is forgotten once the partial is sent.
2. the merger (`analytics.merge`, one key): sums the partials' counters (`AnalyticsTotals`),
   adds their scores (sorted, so the float sums do not depend on arrival order), and on its
   tick emits `ANALYTICS_UPDATED` to the fan-out topic.

Adding a total: count it under a new name in `Partial.counts` (stage 1, `_count`), it is summed
by the merger as it is, and read it in `AnalyticsMerge.snapshot`.

Totals are plain counters: they are exact because the runner commits state and input position
together (a processor and its merger in one commit), so a replayed record is never counted twice.

The first partial sets a tick at the next whole second; each tick emits `ANALYTICS_UPDATED` and
re-arms one second later while anything is still live, so the dashboard winds down to zero in a
quiet shop and then stops. When the watermark is already past the next second (catching up on a
backlog), the intermediate seconds are skipped: only the latest whole second the watermark has
reached is published.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, TypedDict

import orjson

from kartshoppe.events import (
    SCHEMA_VERSION,
    AddToCart,
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
    Topic,
    in_cents,
    json_number,
)
from kartshoppe.processors.model import (
    CATALOG_TOPICS,
    GLOBAL_KEY,
    OUTPUT_ID,
    Context,
    Merger,
    Processor,
    WireEvent,
    apply_catalog_event,
    catalog_entry,
)
from kartshoppe.processors.ranking import RisingTop
from kartshoppe.processors.trending import (
    PRUNE_INTERVAL_MS,
    Scores,
    add_score,
    flush_time,
    interactions,
    kept_top,
    merge_scores,
    prune,
    ranked,
)

EPS_WINDOW_S: Final = 10
TICK_MS: Final = 1000
NO_SHOPPER: Final = "-"
"""Key of the events with neither a session nor a user id."""
VIEWED, CARTED, CHECKED_OUT, ORDERED = 1, 2, 4, 8
FUNNEL_STAGES: Final = (
    ("views", VIEWED),
    ("carts", CARTED),
    ("checkouts", CHECKED_OUT),
    ("orders", ORDERED),
)
FUNNEL: Final = "funnel:"
"""Prefix of the funnel stages' counter names."""

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


class Partial(TypedDict):
    """What one shopper's events added in one second (stage 1 -> merger); all sums."""

    counts: dict[str, int]
    """events, orders, revenue (cents), abandoned, recovered, live (+1/-1), funnel:<stage>"""
    seconds: dict[str, int]
    """second (epoch s, as a string: JSON keys) -> events in it"""
    products: Scores
    categories: Scores
    names: dict[str, str]
    """product -> catalog name, for the top products"""


def new_partial() -> Partial:
    return {"counts": {}, "seconds": {}, "products": {}, "categories": {}, "names": {}}


class ShopperState(TypedDict):
    """Stage 1, per shopper."""

    last: int
    """event time of the last shopper activity"""
    stages: int
    """funnel stages reached in this visit (bit mask)"""
    live: bool
    """counted in the merger's `live`"""
    signals: dict[str, int]
    """ids of counted cart signals -> when counted (event time, or the watermark if later)"""
    partial: Partial | None
    flush: int | None
    check: int | None
    """when to look again whether the shopper is still live, or may be forgotten"""


class AnalyticsTotals(TypedDict):
    """The merger's one key."""

    counts: dict[str, int]
    seconds: dict[str, int]
    products: Scores
    categories: Scores
    names: dict[str, str]
    inbox: list[dict[str, Any]]
    """the partials' scores since the last tick, applied sorted at the tick"""
    timer: int | None
    prunedAt: int


def _count(partial: Partial, name: str, amount: int = 1) -> None:
    partial["counts"][name] = partial["counts"].get(name, 0) + amount


def _sort_key(scores: dict[str, Any]) -> bytes:
    return orjson.dumps(scores, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class AnalyticsMerge(Merger[AnalyticsTotals]):
    live_window_ms: int = 5 * 60 * 1000
    half_life_ms: int = 10 * 60 * 1000
    top: int = 10

    name = "analytics.merge"
    kept: dict[str, RisingTop] = field(default_factory=dict, init=False, compare=False, repr=False)
    """The rankings of the state's scores (`trending.kept_top`; not state)."""

    def initial_state(self) -> AnalyticsTotals:
        return {
            "counts": {},
            "seconds": {},
            "products": {},
            "categories": {},
            "names": {},
            "inbox": [],
            "timer": None,
            "prunedAt": 0,
        }

    def on_partial(
        self, state: AnalyticsTotals, partial: dict[str, Any], ctx: Context
    ) -> AnalyticsTotals:
        for name, amount in partial["counts"].items():
            state["counts"][name] = state["counts"].get(name, 0) + amount
        for second, amount in partial["seconds"].items():
            state["seconds"][second] = state["seconds"].get(second, 0) + amount
        state["names"].update(partial["names"])
        if partial["products"] or partial["categories"]:
            state["inbox"].append({"p": partial["products"], "c": partial["categories"]})
        if state["timer"] is None:
            self._arm(state, (ctx.timestamp // TICK_MS + 1) * TICK_MS, ctx)
        return state

    def on_timer(self, state: AnalyticsTotals, timestamp: int, ctx: Context) -> AnalyticsTotals:
        latest_due = ctx.watermark // TICK_MS * TICK_MS
        if latest_due > timestamp:
            # catching up on a backlog: only the latest second already due is worth publishing
            self._arm(state, latest_due, ctx)
            return state
        kept = self.kept
        top_products = kept_top(kept, "products", state["products"], self.top)
        top_categories = kept_top(kept, "categories", state["categories"], self.top)
        for scores in sorted(state["inbox"], key=_sort_key):
            merge_scores(state["products"], scores["p"], top_products)
            merge_scores(state["categories"], scores["c"], top_categories)
        state["inbox"] = []
        self._forget_old(state, timestamp)
        snapshot = self.snapshot(state, timestamp)
        ctx.emit(
            Topic.FANOUT.value,
            GLOBAL_KEY,
            WireEvent(
                {
                    "eventId": OUTPUT_ID,
                    "schemaVersion": SCHEMA_VERSION,
                    "timestamp": timestamp,
                    "eventType": "ANALYTICS_UPDATED",
                    "analytics": snapshot,
                }
            ),
        )
        state["timer"] = None
        if snapshot["liveUsers"] or state["seconds"]:
            self._arm(state, timestamp + TICK_MS, ctx)
        return state

    def snapshot(self, state: AnalyticsTotals, ts: int) -> dict[str, Any]:
        """The analytics totals as of `ts`, in the shape of `GET /analytics`."""
        counts = state["counts"]
        recent = sum(n for s, n in state["seconds"].items() if int(s) * 1000 < ts)
        funnel = {stage: counts.get(FUNNEL + stage, 0) for stage, _ in FUNNEL_STAGES}
        carted = funnel["carts"]
        abandoned = counts.get("abandoned", 0)
        kept = self.kept
        top_products = kept_top(kept, "products", state["products"], self.top)
        products = ranked(state["products"], ts, self.half_life_ms, self.top, top_products)
        # the wire form of `events.Analytics` built as such, as `WireEvent`s are (model doc)
        return {
            "liveUsers": counts.get("live", 0),
            "eventsPerSecond": round(recent / EPS_WINDOW_S, 2),
            "totalEvents": counts.get("events", 0),
            "orders": counts.get("orders", 0),
            "revenue": json_number(Decimal(counts.get("revenue", 0)) / 100),
            "funnel": funnel,
            "abandonedCarts": abandoned,
            "abandonmentRate": rate(abandoned, carted),
            "conversionRate": rate(funnel["orders"], funnel["views"]),
            "recoveredCarts": counts.get("recovered", 0),
            "topProducts": [
                {"productId": p, "name": state["names"].get(p, p), "score": s} for p, s in products
            ],
            "topCategories": [
                {"category": c, "score": s}
                for c, s in ranked(
                    state["categories"],
                    ts,
                    self.half_life_ms,
                    self.top,
                    kept_top(kept, "categories", state["categories"], self.top),
                )
            ],
            "updatedAt": ts,
        }

    def _forget_old(self, state: AnalyticsTotals, ts: int) -> None:
        oldest_second = ts // 1000 - EPS_WINDOW_S
        state["seconds"] = {s: n for s, n in state["seconds"].items() if int(s) >= oldest_second}
        if ts - state["prunedAt"] < PRUNE_INTERVAL_MS:
            return
        state["prunedAt"] = ts
        prune(state["products"], ts, self.half_life_ms)
        prune(state["categories"], ts, self.half_life_ms)
        self.kept.clear()  # pruning lowers the rankings: sort again
        state["names"] = {p: n for p, n in state["names"].items() if p in state["products"]}

    def _arm(self, state: AnalyticsTotals, timestamp: int, ctx: Context) -> None:
        state["timer"] = timestamp
        ctx.set_timer(timestamp)


@dataclass(frozen=True)
class LiveAnalytics(Processor[ShopperState]):
    live_window_ms: int = 5 * 60 * 1000
    session_ttl_ms: int = 30 * 60 * 1000
    half_life_ms: int = 10 * 60 * 1000
    signal_memory_ms: int = 60 * 60 * 1000
    top: int = 10

    name = "analytics"
    cost = 4
    input_topics = (Topic.EVENTS.value,)
    broadcast_topics = CATALOG_TOPICS

    def key(self, event: Event) -> str | None:
        return event.session_id or event.user_id or NO_SHOPPER

    def merger(self) -> AnalyticsMerge:
        return AnalyticsMerge(self.live_window_ms, self.half_life_ms, self.top)

    def initial_state(self) -> ShopperState:
        return {
            "last": 0,
            "stages": 0,
            "live": False,
            "signals": {},
            "partial": None,
            "flush": None,
            "check": None,
        }

    def on_broadcast(self, event: Event, broadcast: MutableMapping[str, Any]) -> None:
        apply_catalog_event(event, broadcast)

    def on_event(self, state: ShopperState, event: Event, ctx: Context) -> ShopperState:
        ts = ctx.timestamp
        partial = state["partial"]
        if partial is None:
            partial = state["partial"] = new_partial()
            flush = state["flush"] = flush_time(ts, TICK_MS)
            ctx.set_timer(flush)
        second = str(ts // 1000)
        partial["seconds"][second] = partial["seconds"].get(second, 0) + 1
        if ctx.key != NO_SHOPPER and isinstance(event, SHOPPER_ACTIVITY):
            self._track_session(state, partial, funnel_stage(event), ts, ctx)
        if not isinstance(event, PROCESSOR_SIGNALS):
            _count(partial, "events")
        if isinstance(event, OrderPlaced):
            _count(partial, "orders")
            _count(partial, "revenue", in_cents(event.total))
        elif (
            isinstance(event, CartAbandoned | CartRecovered)
            and event.event_id not in state["signals"]
        ):
            # remembered from when it was counted: a fed-back signal arrives late, and its copy
            # (from a crash of its processor) later still
            seen = max(ts, ctx.watermark)
            state["signals"][event.event_id] = seen
            _count(partial, "abandoned" if isinstance(event, CartAbandoned) else "recovered")
            self._check_at(state, seen + self.signal_memory_ms, ctx)
        for product_id, weight in interactions(event):
            add_score(partial["products"], product_id, weight, ts, self.half_life_ms)
            entry = catalog_entry(ctx.broadcast, product_id)
            partial["names"][product_id] = entry.get("name", product_id)
            category = entry.get("category")
            if category is not None:
                add_score(partial["categories"], category, weight, ts, self.half_life_ms)
        return state

    def _track_session(
        self, state: ShopperState, partial: Partial, stage: int, ts: int, ctx: Context
    ) -> None:
        if state["last"] and ts - state["last"] > self.session_ttl_ms:
            # a new visit, whether or not a timer has forgotten the old one yet
            state["stages"] = 0
        state["last"] = max(state["last"], ts)
        if not state["live"]:
            state["live"] = True
            _count(partial, "live")
        self._check_at(state, state["last"] + self.live_window_ms, ctx)
        if stage and not state["stages"] & stage:
            state["stages"] |= stage
            name = next(n for n, bit in FUNNEL_STAGES if bit == stage)
            _count(partial, FUNNEL + name)

    def _check_at(self, state: ShopperState, timestamp: int, ctx: Context) -> None:
        """Make sure a check is due no later than `timestamp` (an early one sets the next)."""
        if state["check"] is None or state["check"] > timestamp:
            if state["check"] is not None:
                ctx.delete_timer(state["check"])
            state["check"] = timestamp
            ctx.set_timer(timestamp)

    def on_timer(self, state: ShopperState, timestamp: int, ctx: Context) -> ShopperState | None:
        if timestamp == state["flush"] and state["partial"] is not None:
            ctx.send(GLOBAL_KEY, dict(state["partial"]))
            state["partial"] = state["flush"] = None
            if state == self.initial_state():
                # only a partial was kept (a late signal for a forgotten session, or a session
                # forgotten with its last second unsent): no timer is left to forget the key
                return None
        if timestamp == state["check"]:
            state["check"] = None
            return self._check(state, timestamp, ctx)
        return state

    def _check(self, state: ShopperState, ts: int, ctx: Context) -> ShopperState | None:
        if state["live"] and ts - state["last"] >= self.live_window_ms:
            # no longer live at `ts` (live means last activity in (ts - window, ts])
            state["live"] = False
            ctx.send(GLOBAL_KEY, {**new_partial(), "counts": {"live": -1}})
        forgotten = ts - self.signal_memory_ms
        state["signals"] = {k: t for k, t in state["signals"].items() if t > forgotten}
        idle_until = state["last"] + self.session_ttl_ms
        if not state["live"] and not state["signals"] and ts > idle_until:
            if state["partial"] is None:
                return None
            return {**self.initial_state(), "partial": state["partial"], "flush": state["flush"]}
        if state["live"]:
            self._check_at(state, state["last"] + self.live_window_ms, ctx)
            return state
        due = idle_until
        if state["signals"]:
            due = max(due, max(state["signals"].values()) + self.signal_memory_ms)
        self._check_at(state, due + 1, ctx)
        return state
