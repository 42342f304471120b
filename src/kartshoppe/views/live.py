"""Live outputs of the processors, as read from `ecommerce_processing_fanout`: the latest
analytics totals, each shopper's latest recommendations and each product's related products
(trending scores are the catalog view's), whichever runner (embedded or Flink) produced them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from pydantic import TypeAdapter

from kartshoppe.events import (
    Analytics,
    AnalyticsUpdated,
    Event,
    Recommendation,
    RelatedProducts,
    owner_key,
)

RECOMMENDATIONS_KEPT = 5
EMPTY_ANALYTICS: Final = Analytics.quiet().to_json()


class Encoded(NamedTuple):
    """A shopper's kept recommendations as a snapshot holds them: the newest one's timestamp and
    the JSON of the list, newest first. A restored view keeps them so and decodes a shopper's
    list when it is first needed: most shoppers of a snapshot are never asked for again, and
    decoding them all was most of a restart's work. (A named tuple: a restart makes one per
    shopper, at twice the speed of a frozen dataclass.)"""

    newest: int
    json: bytes


Kept = tuple[Recommendation, ...] | Encoded
"""A shopper's recommendations, newest first: immutable, so a snapshot shares them."""
KEPT: Final = TypeAdapter(list[Recommendation])


def encoded(kept: Kept) -> tuple[int, bytes]:
    """`kept` as a snapshot holds it."""
    if isinstance(kept, Encoded):
        return kept
    return kept[0].timestamp, KEPT.dump_json(list(kept))


def _decoded(kept: Kept) -> tuple[Recommendation, ...]:
    if isinstance(kept, Encoded):
        return tuple(KEPT.validate_json(kept.json))
    return kept


def _newest(kept: Kept) -> int:
    return kept.newest if isinstance(kept, Encoded) else kept[0].timestamp


class LiveView:
    """`forget_after_ms`: a shopper whose newest recommendation is this much older (in event
    time) than the newest one seen is dropped, as the recommender forgets an idle shopper;
    0 keeps every shopper."""

    def __init__(self, forget_after_ms: int = 0) -> None:
        self.analytics: dict[str, Any] = dict(EMPTY_ANALYTICS)
        self._recommendations: dict[str, Kept] = {}
        """In the order of each shopper's newest recommendation, oldest first; a restored
        shopper's stays `Encoded` until first needed."""
        self._forget_after_ms = forget_after_ms
        self._related: dict[str, RelatedProducts] = {}

    def on_event(self, event: Event) -> None:
        match event:
            case AnalyticsUpdated():
                self.analytics = {**EMPTY_ANALYTICS, **event.analytics}
            case Recommendation():
                for owner in {event.user_id, event.session_id} - {None}:
                    assert owner is not None
                    held = self._recommendations.pop(owner, None)
                    kept = () if held is None else _decoded(held)
                    self._recommendations[owner] = (event, *kept)[:RECOMMENDATIONS_KEPT]
                self._forget_before(event.timestamp - self._forget_after_ms)
            case RelatedProducts():
                self._related[event.product_id] = event
            case _:
                pass

    def image(
        self,
    ) -> tuple[dict[str, Any], dict[str, tuple[int, bytes]], dict[str, RelatedProducts]]:
        """What the view holds, for a snapshot: the analytics, the kept recommendations of each
        shopper (`encoded`) and the related products."""
        analytics, kept, related = self.captured()
        return analytics, {owner: encoded(recs) for owner, recs in kept.items()}, related

    def captured(self) -> tuple[dict[str, Any], dict[str, Kept], dict[str, RelatedProducts]]:
        """`image` without the encoding (left to `encoded`, in a thread): the kept
        recommendations are immutable, so copying the dictionaries detaches it."""
        return dict(self.analytics), dict(self._recommendations), dict(self._related)

    @staticmethod
    def encoded(kept: Kept) -> tuple[int, bytes]:
        return encoded(kept)

    def restore(
        self,
        analytics: dict[str, Any],
        recommendations: Mapping[str, tuple[int, bytes]],
        related: dict[str, RelatedProducts],
    ) -> None:
        """The view as `image` gave it (a snapshot's)."""
        self.analytics = analytics
        by_newest = sorted(recommendations.items(), key=lambda kept: kept[1][0])
        self._recommendations = {owner: Encoded._make(kept) for owner, kept in by_newest}
        self._related = dict(related)

    def _forget_before(self, timestamp: int) -> None:
        if not self._forget_after_ms:
            return
        kept = self._recommendations
        while kept:
            oldest = next(iter(kept))
            if _newest(kept[oldest]) >= timestamp:
                return
            del kept[oldest]

    def recommendations(self, session_id: str, user_id: str | None) -> list[Recommendation]:
        owner = owner_key(user_id, session_id) or ""
        held = self._recommendations.get(owner)
        if held is None:
            return []
        kept = self._recommendations[owner] = _decoded(held)
        return list(kept)

    def related(self, product_id: str) -> RelatedProducts | None:
        """The recommender's latest neighbours of a product, if it has published any."""
        return self._related.get(product_id)
