"""The recommendations processor: runs the `recommender` model over shopper events.

The model is written as three keyed stages (`recommender` module doc: shopper -> product ->
list), but this processor still runs them composed under one key (`GLOBAL_KEY`): splitting it
into three processors joined by topics (shopper deltas keyed by product, the neighbour table as
a compacted topic read on the broadcast side) is the remaining step. The catalog arrives on the
broadcast side from `product_updates` and `inventory_updates`. Each changed recommendation goes to
`recommendations` keyed by the shopper (user id, else session id) and to
`ecommerce_processing_fanout` keyed by session id, which feeds the shopper's WebSocket. A
product whose neighbour rows changed gets `RELATED_PRODUCTS` on the fan-out, keyed by product
(the product page's "Often bought with" and "Customers also viewed").
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Final

import orjson

from kartshoppe.events import (
    AddToCart,
    CartCleared,
    CartMerged,
    Event,
    OrderPlaced,
    ProductClick,
    ProductView,
    RemoveFromCart,
    Topic,
    event_key,
)
from kartshoppe.processors.model import CATALOG_TOPICS, GLOBAL_KEY, Context, Processor
from kartshoppe.processors.recommender import (
    Catalog,
    RecommenderConfig,
    RecommenderState,
    apply_catalog_update,
)

SHOPPER_EVENTS: Final = (
    ProductView,
    ProductClick,
    AddToCart,
    RemoveFromCart,
    CartCleared,
    CartMerged,
    OrderPlaced,
)


class RecommendationsProcessor(Processor[RecommenderState]):
    name = "recommendations"
    input_topics = (Topic.EVENTS.value,)
    broadcast_topics = CATALOG_TOPICS

    def __init__(self, config: RecommenderConfig | None = None) -> None:
        self.config = config or RecommenderConfig()

    def key(self, event: Event) -> str | None:
        if isinstance(event, SHOPPER_EVENTS) and event_key(event):
            return GLOBAL_KEY
        return None

    def initial_state(self) -> RecommenderState:
        return RecommenderState(self.config)

    def on_event(
        self, state: RecommenderState, event: Event, ctx: Context
    ) -> RecommenderState | None:
        for rec in state.observe(event, Catalog(ctx.broadcast), ctx.timestamp):
            ctx.emit(Topic.RECOMMENDATIONS.value, event_key(rec), rec)
            ctx.emit(Topic.FANOUT.value, rec.session_id, rec)
        for related in state.related(ctx.timestamp):
            ctx.emit(Topic.FANOUT.value, related.product_id, related)
        return state

    def on_broadcast(self, event: Event, broadcast: MutableMapping[str, Any]) -> None:
        apply_catalog_update(event, broadcast)

    def encode_state(self, state: RecommenderState) -> bytes:
        return state.encode()

    def decode_state(self, data: bytes) -> RecommenderState:
        return RecommenderState.from_json(orjson.loads(data), self.config)
