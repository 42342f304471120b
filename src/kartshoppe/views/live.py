"""Live outputs of the processors, as read from `ecommerce_processing_fanout`: the latest
analytics totals, each shopper's latest recommendations and each product's related products
(trending scores are the catalog view's), whichever runner (embedded or Flink) produced them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


class Stored(NamedTuple):
    """A shopper's kept recommendations as a restored view holds them: the newest one's
    timestamp and the number of the list's JSON (newest first) in the snapshot's file, which
    the view's `read` gives. A shopper's list is read and decoded when it is first needed:
    most shoppers of a snapshot are never asked for again, and decoding them all was most of a
    restart's work, holding their JSON most of a restarted server's memory. (A named tuple: a
    restart makes one per shopper, at twice the speed of a frozen dataclass.)"""

    newest: int
    entry: int


Kept = tuple[Recommendation, ...] | Stored
"""A shopper's recommendations, newest first: immutable, so a snapshot shares them."""
KEPT: Final = TypeAdapter(list[Recommendation])


def _newest(kept: Kept) -> int:
    return kept.newest if isinstance(kept, Stored) else kept[0].timestamp


def _unread(entry: int) -> bytes:
    raise LookupError(f"no stored recommendations to read: entry {entry}")


class LiveView:
    """`forget_after_ms`: a shopper whose newest recommendation is this much older (in event
    time) than the newest one seen is dropped, as the recommender forgets an idle shopper;
    0 keeps every shopper."""

    def __init__(self, forget_after_ms: int = 0) -> None:
        self.analytics: dict[str, Any] = dict(EMPTY_ANALYTICS)
        self._recommendations: dict[str, Kept] = {}
        """In the order of each shopper's newest recommendation, oldest first; a restored
        shopper's stays `Stored` until first needed."""
        self._forget_after_ms = forget_after_ms
        self._related: dict[str, RelatedProducts] = {}
        self._read: Callable[[int], bytes] = _unread
        """A `Stored` entry's JSON (the restored snapshot's file)."""

    def on_event(self, event: Event) -> None:
        match event:
            case AnalyticsUpdated():
                self.analytics = {**EMPTY_ANALYTICS, **event.analytics}
            case Recommendation():
                for owner in {event.user_id, event.session_id} - {None}:
                    assert owner is not None
                    held = self._recommendations.pop(owner, None)
                    kept = () if held is None else self._decoded(held)
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
        return analytics, {owner: self.encoded(recs) for owner, recs in kept.items()}, related

    def captured(self) -> tuple[dict[str, Any], dict[str, Kept], dict[str, RelatedProducts]]:
        """`image` without the encoding (left to `encoded`, in a thread): the kept
        recommendations are immutable, so copying the dictionaries detaches it."""
        return dict(self.analytics), dict(self._recommendations), dict(self._related)

    def encoded(self, kept: Kept) -> tuple[int, bytes]:
        """`kept` as `image` gives it: the newest one's timestamp and the list's JSON (a
        stored one's as it was read)."""
        newest, held = self.held(kept)
        return newest, held if type(held) is bytes else self._read(int(held))

    @staticmethod
    def held(kept: Kept) -> tuple[int, bytes | int]:
        """`kept` as a snapshot writes it: the newest one's timestamp and the list's JSON, or
        a stored one's entry number (copied from the file as it is)."""
        if isinstance(kept, Stored):
            return kept
        return kept[0].timestamp, KEPT.dump_json(list(kept))

    def _decoded(self, kept: Kept) -> tuple[Recommendation, ...]:
        if isinstance(kept, Stored):
            return tuple(KEPT.validate_json(self._read(kept.entry)))
        return kept

    def restore(
        self,
        analytics: dict[str, Any],
        recommendations: Mapping[str, tuple[int, int]],
        related: dict[str, RelatedProducts],
        read: Callable[[int], bytes],
    ) -> None:
        """The view as a snapshot gave it: the kept recommendations as each shopper's newest
        one's timestamp and the number of the list's JSON, which `read` gives."""
        self.analytics = analytics
        by_newest = sorted(recommendations.items(), key=lambda kept: kept[1][0])
        self._recommendations = {owner: Stored._make(kept) for owner, kept in by_newest}
        self._related = dict(related)
        self._read = read

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
        kept = self._recommendations[owner] = self._decoded(held)
        return list(kept)

    def related(self, product_id: str) -> RelatedProducts | None:
        """The recommender's latest neighbours of a product, if it has published any."""
        return self._related.get(product_id)
