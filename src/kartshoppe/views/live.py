"""Live outputs of the processors, as read from `ecommerce_processing_fanout`: the latest
analytics totals and each shopper's latest recommendations (trending scores are the catalog
view's), whichever runner (embedded or Flink) produced them.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from kartshoppe.events import AnalyticsUpdated, Event, Recommendation

RECOMMENDATIONS_KEPT = 5

EMPTY_ANALYTICS: dict[str, Any] = {
    "liveUsers": 0,
    "eventsPerSecond": 0.0,
    "orders": 0,
    "revenue": 0.0,
    "funnel": {"views": 0, "carts": 0, "checkouts": 0, "orders": 0},
    "abandonmentRate": 0.0,
    "recoveredCarts": 0,
    "topProducts": [],
    "topCategories": [],
    "updatedAt": 0,
}


class LiveView:
    def __init__(self) -> None:
        self.analytics: dict[str, Any] = dict(EMPTY_ANALYTICS)
        self._recommendations: dict[str, deque[Recommendation]] = {}

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
            case _:
                pass

    def recommendations(self, session_id: str, user_id: str | None) -> list[Recommendation]:
        owner = user_id or session_id
        return list(self._recommendations.get(owner, ()))
