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
    def __init__(self) -> None:
        self.analytics: dict[str, Any] = dict(EMPTY_ANALYTICS)
        self._recommendations: dict[str, deque[Recommendation]] = {}
        self._related: dict[str, RelatedProducts] = {}

    def on_event(self, event: Event) -> None:
        match event:
            case AnalyticsUpdated():
                self.analytics = {**EMPTY_ANALYTICS, **event.analytics}
            case Recommendation():
                for owner in {event.user_id, event.session_id} - {None}:
                    assert owner is not None
                    kept = self._recommendations.setdefault(
                        owner, deque(maxlen=RECOMMENDATIONS_KEPT)
                    )
                    kept.appendleft(event)
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
        self._recommendations = {
            owner: deque(recs, maxlen=RECOMMENDATIONS_KEPT)
            for owner, recs in recommendations.items()
        }
        self._related = dict(related)

    def recommendations(self, session_id: str, user_id: str | None) -> list[Recommendation]:
        owner = owner_key(user_id, session_id)
        return list(self._recommendations.get(owner or "", ()))

    def related(self, product_id: str) -> RelatedProducts | None:
        """The recommender's latest neighbours of a product, if it has published any."""
        return self._related.get(product_id)
