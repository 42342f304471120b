"""The live view keeps each shopper's latest recommendations, and forgets an idle shopper as
the recommender does, so its memory (and the views' snapshot) does not grow with every shopper
ever seen."""

from __future__ import annotations

from kartshoppe.events import Recommendation
from kartshoppe.views.live import RECOMMENDATIONS_KEPT, LiveView

DAY_MS = 24 * 3600 * 1000


def suggested(session: str, at: int, product: str = "p1") -> Recommendation:
    return Recommendation(
        session_id=session, timestamp=at, product_ids=(product,), confidence=0.5, reason="r"
    )


def test_a_shopper_keeps_the_latest_recommendations_newest_first() -> None:
    view = LiveView()
    for i in range(RECOMMENDATIONS_KEPT + 2):
        view.on_event(suggested("s1", at=i, product=f"p{i}"))
    kept = view.recommendations("s1", None)
    assert [r.product_ids[0] for r in kept] == [
        f"p{i}" for i in reversed(range(2, RECOMMENDATIONS_KEPT + 2))
    ]


def test_a_shopper_idle_longer_than_the_ttl_in_event_time_is_forgotten() -> None:
    view = LiveView(forget_after_ms=DAY_MS)
    view.on_event(suggested("idle", at=0))
    view.on_event(suggested("active", at=0))
    view.on_event(suggested("active", at=DAY_MS // 2))
    view.on_event(suggested("newcomer", at=DAY_MS + 1))
    assert view.recommendations("idle", None) == []
    assert len(view.recommendations("active", None)) == 2
    assert len(view.recommendations("newcomer", None)) == 1


def test_without_a_ttl_every_shopper_is_kept() -> None:
    view = LiveView()
    view.on_event(suggested("old", at=0))
    view.on_event(suggested("new", at=365 * DAY_MS))
    assert view.recommendations("old", None) != []


def test_a_restored_view_forgets_in_the_order_of_each_shoppers_newest_recommendation() -> None:
    original = LiveView(forget_after_ms=DAY_MS)
    original.on_event(suggested("b", at=0))
    original.on_event(suggested("a", at=10))
    original.on_event(suggested("b", at=DAY_MS // 2))
    analytics, kept, related = original.image()
    restored = LiveView(forget_after_ms=DAY_MS)
    # a snapshot's mapping need not keep the view's order; its lists are read by number
    lists = [json for _, json in kept.values()]
    numbered = {owner: (newest, lists.index(json)) for owner, (newest, json) in kept.items()}
    restored.restore(analytics, dict(reversed(list(numbered.items()))), related, lists.__getitem__)
    restored.on_event(suggested("c", at=DAY_MS + 11))
    assert restored.recommendations("a", None) == []
    assert len(restored.recommendations("b", None)) == 2
