"""Live outputs of the processors, as read from `ecommerce_processing_fanout`: the latest
analytics totals, each shopper's latest recommendations and each product's related products
(trending scores are the catalog view's), whichever runner (embedded or Flink) produced them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Final

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


class LiveView:
    """`forget_after_ms`: a shopper whose newest recommendation is this much older (in event
    time) than the newest one seen is dropped, as the recommender forgets an idle shopper;
    0 keeps every shopper."""

    def __init__(self, forget_after_ms: int = 0) -> None:
        self.analytics: dict[str, Any] = dict(EMPTY_ANALYTICS)
        self._recommendations: dict[str, deque[Recommendation]] = {}
        """In the order of each shopper's newest recommendation, oldest first."""
        self._forget_after_ms = forget_after_ms
        self._related: dict[str, RelatedProducts] = {}

    def on_event(self, event: Event) -> None:
        match event:
            case AnalyticsUpdated():
                self.analytics = {**EMPTY_ANALYTICS, **event.analytics}
            case Recommendation():
                for owner in {event.user_id, event.session_id} - {None}:
                    assert owner is not None
                    kept = self._recommendations.pop(owner, None)
                    if kept is None:
                        kept = deque(maxlen=RECOMMENDATIONS_KEPT)
                    kept.appendleft(event)
                    self._recommendations[owner] = kept
                self._forget_before(event.timestamp - self._forget_after_ms)
            case RelatedProducts():
                self._related[event.product_id] = event
            case _:
                pass

    def image(
        self,
    ) -> tuple[dict[str, Any], dict[str, list[Recommendation]], dict[str, RelatedProducts]]:
        """What the view holds, for a snapshot: the analytics, the kept recommendations of each
        shopper (newest first) and the related products."""
        kept = {owner: list(recs) for owner, recs in self._recommendations.items()}
        return dict(self.analytics), kept, dict(self._related)

    def restore(
        self,
        analytics: dict[str, Any],
        recommendations: Mapping[str, Sequence[Recommendation]],
        related: dict[str, RelatedProducts],
    ) -> None:
        """The view as `image` gave it (a snapshot's)."""
        self.analytics = analytics
        by_newest = sorted(
            ((owner, recs) for owner, recs in recommendations.items() if recs),
            key=lambda kept: kept[1][0].timestamp,
        )
        self._recommendations = {
            owner: deque(recs, maxlen=RECOMMENDATIONS_KEPT) for owner, recs in by_newest
        }
        self._related = dict(related)

    def _forget_before(self, timestamp: int) -> None:
        if not self._forget_after_ms:
            return
        kept = self._recommendations
        while kept:
            oldest = next(iter(kept))
            if kept[oldest][0].timestamp >= timestamp:
                return
            del kept[oldest]

    def recommendations(self, session_id: str, user_id: str | None) -> list[Recommendation]:
        owner = owner_key(user_id, session_id)
        return list(self._recommendations.get(owner or "", ()))

    def related(self, product_id: str) -> RelatedProducts | None:
        """The recommender's latest neighbours of a product, if it has published any."""
        return self._related.get(product_id)
