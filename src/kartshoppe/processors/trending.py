"""Trending: time-decayed popularity per product and per category, published about once a second.

Each interaction adds a weight to the product's score and to its category's score: a view or
click 1, a cart add 3, an order line 5. Scores decay exponentially with a half-life (10 minutes by
default), so a score at time T is the sum of w * 2^(-(T - t) / half_life) over the interactions;
this is an exponentially weighted sliding window, and it does not depend on the order in which
events arrive. Items whose score decays below `MIN_SCORE` are dropped (checked once a minute),
which bounds the state to what was popular in the last hour or so.

Two stages (`model` module doc, two-phase aggregation):
1. keyed by product: the weights a product received in one second, summed (in log space) for
   the product and for its category (from the catalog broadcast), are sent to the merger at the
   last millisecond of that second, and the key's state is cleared;
2. the merger (`trending.merge`, one key): adds the partials to the global scores and, at the
   next whole second, sends `TRENDING_UPDATED` (top products, top categories) to the fan-out
   topic. Partials are applied sorted by product, so the sums do not depend on arrival order.
   When the watermark is already past the next second (catching up on a backlog), only the
   latest whole second it has reached is published.
A quiet shop publishes nothing, because nothing changed but time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Final, TypedDict

from kartshoppe.events import (
    SCHEMA_VERSION,
    AddToCart,
    Event,
    OrderPlaced,
    ProductClick,
    ProductView,
    Topic,
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

VIEW_WEIGHT: Final = 1.0
CLICK_WEIGHT: Final = 1.0
CART_WEIGHT: Final = 3.0
ORDER_WEIGHT: Final = 5.0
MIN_SCORE: Final = 0.01
PUBLISH_INTERVAL_MS: Final = 1000
PRUNE_INTERVAL_MS: Final = 60_000

Scores = dict[str, float]
"""item -> log(score at time t) + t * ln 2 / half_life: the score decayed to any common time,
in log space. One float per item; ordering, adding and pruning need no decay computation."""


def _rate(half_life_ms: int) -> float:
    return math.log(2) / half_life_ms


def add_score(scores: Scores, item: str, weight: float, ts: int, half_life_ms: int) -> None:
    """Add `weight` at time `ts` (in any order of arrival: the sum does not depend on it)."""
    add_key(scores, item, math.log(weight) + ts * _rate(half_life_ms))


def add_key(scores: Scores, item: str, added: float) -> None:
    """Add a score already in the `Scores` form (a partial sum from another key)."""
    held = scores.get(item)
    if held is None:
        scores[item] = added
        return
    high, low = (held, added) if held >= added else (added, held)
    scores[item] = high + math.log1p(math.exp(low - high))


def ranked(
    scores: Scores, ts: int, half_life_ms: int, limit: int, kept: RisingTop | None = None
) -> list[tuple[str, float]]:
    """The `limit` best items with their scores at `ts`, best first (ties by name); `kept`:
    the best items as kept between calls (`kept_top`), else sorted here."""
    if kept is None:
        # `sorted(...)[:limit]` is what `heapq.nlargest` promises, and faster in C at these sizes
        best = [item for item, _ in sorted(scores.items(), key=itemgetter(1), reverse=True)]
        del best[limit:]
    else:
        best = kept.top()
    offset = ts * _rate(half_life_ms)  # a score at ts is exp(key - offset)
    exp = math.exp
    current = [(item, round(exp(scores[item] - offset), 4)) for item in best]
    # by score, then name: two stable sorts in C instead of a key tuple per item
    current.sort(key=itemgetter(0))
    current.sort(key=itemgetter(1), reverse=True)
    return current


def kept_top(kept: dict[str, RisingTop], name: str, scores: Scores, limit: int) -> RisingTop:
    """The best items of the merger's `scores` called `name`, kept from tick to tick (scores
    only rise between prunes): a new ranking (one sort) for a dict it has not kept, as a
    restored state or every call on Flink (which decodes the state per call) is."""
    top = kept.get(name)
    if top is None or top.values is not scores or top.size != limit:
        top = kept[name] = RisingTop(scores, limit)
    return top


def prune(scores: Scores, ts: int, half_life_ms: int) -> None:
    """Drop the items whose score has decayed below `MIN_SCORE` by `ts`."""
    threshold = math.log(MIN_SCORE) + ts * _rate(half_life_ms)
    for item in [i for i, key in scores.items() if key < threshold]:
        del scores[item]


def interactions(event: Event) -> Iterator[tuple[str, float]]:
    """(product id, weight) for each product an event shows interest in."""
    if isinstance(event, ProductView):
        yield event.product_id, VIEW_WEIGHT
    elif isinstance(event, ProductClick):
        yield event.product_id, CLICK_WEIGHT
    elif isinstance(event, AddToCart):
        yield event.product_id, CART_WEIGHT
    elif isinstance(event, OrderPlaced):
        for line in event.lines:
            yield line.product_id, ORDER_WEIGHT


def merge_scores(
    scores: Scores, partial: Mapping[str, float], kept: RisingTop | None = None
) -> None:
    """Add partial sums (same form) into `scores`, in item order (and tell `kept`)."""
    for item in sorted(partial):
        add_key(scores, item, partial[item])
    if kept is not None:
        kept.raised(partial)


def flush_time(ts: int, interval_ms: int = PUBLISH_INTERVAL_MS) -> int:
    """The last millisecond of `ts`'s interval: a key's partial for it is sent then, so that
    the merger has it before publishing at the next whole interval."""
    return (ts // interval_ms + 1) * interval_ms - 1


class TrendingState(TypedDict):
    """Per product: what it received in the current second, until sent to the merger."""

    products: Scores
    categories: Scores
    timer: int | None


class TrendingTotals(TypedDict):
    """The merger's one key: the scores, and the partials received since the last publication."""

    products: Scores
    categories: Scores
    inbox: list[dict[str, Scores]]
    timer: int | None
    prunedAt: int


@dataclass(frozen=True)
class TrendingMerge(Merger[TrendingTotals]):
    half_life_ms: int = 10 * 60 * 1000
    top_products: int = 50
    top_categories: int = 10

    name = "trending.merge"
    kept: dict[str, RisingTop] = field(default_factory=dict, init=False, compare=False, repr=False)
    """The rankings of the state's scores (`kept_top`; not state)."""

    def initial_state(self) -> TrendingTotals:
        return {"products": {}, "categories": {}, "inbox": [], "timer": None, "prunedAt": 0}

    def on_partial(
        self, state: TrendingTotals, partial: dict[str, Any], ctx: Context
    ) -> TrendingTotals:
        state["inbox"].append(partial)
        if state["timer"] is None:
            publish = (ctx.timestamp // PUBLISH_INTERVAL_MS + 1) * PUBLISH_INTERVAL_MS
            state["timer"] = publish
            ctx.set_timer(publish)
        return state

    def on_timer(self, state: TrendingTotals, timestamp: int, ctx: Context) -> TrendingTotals:
        latest_due = ctx.watermark // PUBLISH_INTERVAL_MS * PUBLISH_INTERVAL_MS
        if latest_due > timestamp:
            # catching up on a backlog: only the latest second already due is worth publishing
            state["timer"] = latest_due
            ctx.set_timer(latest_due)
            return state
        state["timer"] = None
        kept = self.kept
        top_products = kept_top(kept, "products", state["products"], self.top_products)
        top_categories = kept_top(kept, "categories", state["categories"], self.top_categories)
        # one product's partials go to one key and each key sends one partial per second:
        # sorting by that product makes the float sums the same whatever the arrival order
        for partial in sorted(state["inbox"], key=lambda p: min(p["products"], default="")):
            merge_scores(state["products"], partial["products"], top_products)
            merge_scores(state["categories"], partial["categories"], top_categories)
        state["inbox"] = []
        if timestamp - state["prunedAt"] >= PRUNE_INTERVAL_MS:
            state["prunedAt"] = timestamp
            for scores in (state["products"], state["categories"]):
                prune(scores, timestamp, self.half_life_ms)
            kept.clear()  # pruning lowers the rankings: sort again
        products = ranked(
            state["products"],
            timestamp,
            self.half_life_ms,
            self.top_products,
            kept_top(kept, "products", state["products"], self.top_products),
        )
        categories = ranked(
            state["categories"],
            timestamp,
            self.half_life_ms,
            self.top_categories,
            kept_top(kept, "categories", state["categories"], self.top_categories),
        )
        update = WireEvent(
            {
                "eventId": OUTPUT_ID,
                "schemaVersion": SCHEMA_VERSION,
                "timestamp": timestamp,
                "eventType": "TRENDING_UPDATED",
                "products": [{"productId": p, "score": s} for p, s in products],
                "categories": [{"category": c, "score": s} for c, s in categories],
            }
        )
        ctx.emit(Topic.FANOUT.value, GLOBAL_KEY, update)
        return state


@dataclass(frozen=True)
class Trending(Processor[TrendingState]):
    half_life_ms: int = 10 * 60 * 1000
    top_products: int = 50
    top_categories: int = 10

    name = "trending"
    cost = 4
    input_topics = (Topic.EVENTS.value,)
    broadcast_topics = CATALOG_TOPICS

    def key(self, event: Event) -> str | None:
        return next((product_id for product_id, _ in interactions(event)), None)

    def keys(self, event: Event) -> tuple[str, ...]:
        return tuple(dict.fromkeys(product_id for product_id, _ in interactions(event)))

    def merger(self) -> TrendingMerge:
        return TrendingMerge(self.half_life_ms, self.top_products, self.top_categories)

    def initial_state(self) -> TrendingState:
        return {"products": {}, "categories": {}, "timer": None}

    def on_broadcast(self, event: Event, broadcast: MutableMapping[str, Any]) -> None:
        apply_catalog_event(event, broadcast)

    def on_event(self, state: TrendingState, event: Event, ctx: Context) -> TrendingState:
        ts = ctx.timestamp
        for product_id, weight in interactions(event):
            if product_id != ctx.key:
                continue
            add_score(state["products"], product_id, weight, ts, self.half_life_ms)
            category = catalog_entry(ctx.broadcast, product_id).get("category")
            if category is not None:
                add_score(state["categories"], category, weight, ts, self.half_life_ms)
        if state["timer"] is None:
            flush = state["timer"] = flush_time(ts)
            ctx.set_timer(flush)
        return state

    def on_timer(self, state: TrendingState, timestamp: int, ctx: Context) -> None:
        ctx.send(GLOBAL_KEY, {"products": state["products"], "categories": state["categories"]})
        return None
