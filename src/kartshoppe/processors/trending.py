"""Trending: time-decayed popularity per product and per category, published about once a second.

Each interaction adds a weight to the product's score and to its category's score: a view or
click 1, a cart add 3, an order line 5. Scores decay exponentially with a half-life (10 minutes by
default), so a score at time T is the sum of w * 2^(-(T - t) / half_life) over the interactions;
this is an exponentially weighted sliding window, and it does not depend on the order in which
events arrive. Items whose score decays below `MIN_SCORE` are dropped (checked once a minute),
which bounds the state to what was popular in the last hour or so.

One global key. The first event after a publication sets a timer at the next whole second;
when it fires, `TRENDING_UPDATED` (top products, top categories) goes to the fan-out topic.
A quiet shop publishes nothing, because nothing changed but time.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final, TypedDict

from kartshoppe.events import (
    AddToCart,
    Event,
    OrderPlaced,
    ProductClick,
    ProductView,
    ScoredCategory,
    ScoredProduct,
    Topic,
    TrendingUpdated,
)
from kartshoppe.processors.model import (
    CATALOG_TOPICS,
    GLOBAL_KEY,
    Context,
    Processor,
    apply_catalog_event,
    catalog_entry,
)

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
    added = math.log(weight) + ts * _rate(half_life_ms)
    held = scores.get(item)
    if held is None:
        scores[item] = added
        return
    high, low = (held, added) if held >= added else (added, held)
    scores[item] = high + math.log1p(math.exp(low - high))


def score_at(key: float, ts: int, half_life_ms: int) -> float:
    return math.exp(key - ts * _rate(half_life_ms))


def ranked(scores: Scores, ts: int, half_life_ms: int, limit: int) -> list[tuple[str, float]]:
    """The `limit` best items with their scores at `ts`, best first (ties by name)."""
    best = heapq.nlargest(limit, scores.items(), key=itemgetter(1))
    current = [(item, round(score_at(key, ts, half_life_ms), 4)) for item, key in best]
    return sorted(current, key=lambda pair: (-pair[1], pair[0]))


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


class TrendingState(TypedDict):
    products: Scores
    categories: Scores
    timer: int | None
    prunedAt: int


@dataclass(frozen=True)
class Trending(Processor[TrendingState]):
    half_life_ms: int = 10 * 60 * 1000
    top_products: int = 50
    top_categories: int = 10

    name = "trending"
    input_topics = (Topic.EVENTS.value,)
    broadcast_topics = CATALOG_TOPICS

    def key(self, event: Event) -> str | None:
        return (
            GLOBAL_KEY
            if isinstance(event, ProductView | ProductClick | AddToCart | OrderPlaced)
            else None
        )

    def initial_state(self) -> TrendingState:
        return {"products": {}, "categories": {}, "timer": None, "prunedAt": 0}

    def on_broadcast(self, event: Event, broadcast: MutableMapping[str, Any]) -> None:
        apply_catalog_event(event, broadcast)

    def on_event(self, state: TrendingState, event: Event, ctx: Context) -> TrendingState:
        ts = ctx.timestamp
        for product_id, weight in interactions(event):
            add_score(state["products"], product_id, weight, ts, self.half_life_ms)
            category = catalog_entry(ctx.broadcast, product_id).get("category")
            if category is not None:
                add_score(state["categories"], category, weight, ts, self.half_life_ms)
        if state["timer"] is None:
            timer = (ts // PUBLISH_INTERVAL_MS + 1) * PUBLISH_INTERVAL_MS
            state["timer"] = timer
            ctx.set_timer(timer)
        return state

    def on_timer(self, state: TrendingState, timestamp: int, ctx: Context) -> TrendingState:
        state["timer"] = None
        if timestamp - state["prunedAt"] >= PRUNE_INTERVAL_MS:
            state["prunedAt"] = timestamp
            for scores in (state["products"], state["categories"]):
                prune(scores, timestamp, self.half_life_ms)
        products = ranked(state["products"], timestamp, self.half_life_ms, self.top_products)
        categories = ranked(state["categories"], timestamp, self.half_life_ms, self.top_categories)
        update = TrendingUpdated(
            timestamp=timestamp,
            products=tuple(ScoredProduct(product_id=p, score=s) for p, s in products),
            categories=tuple(ScoredCategory(category=c, score=s) for c, s in categories),
        )
        ctx.emit(Topic.FANOUT.value, GLOBAL_KEY, update)
        return state
