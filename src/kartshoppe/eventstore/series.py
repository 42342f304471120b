"""The dashboard's history: per time bucket of a chosen window, what the stored events say.

Computed from the event store (its index when there is one, else the table), so the charts show
the same past after a reload, on any instance, whatever the live pushes missed. Per bucket:
`orders` and `revenue` (`ORDER_PLACED` and its exact total), `events` (everything shoppers and
the shop wrote to `ecommerce_events`), `viewers` (distinct sessions that viewed a product) and
`conversionRate` (sessions that placed an order among those viewers / viewers, like the live
analytics' funnel, at most 1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import orjson

from kartshoppe.events import Topic, json_number
from kartshoppe.eventstore.limits import WINDOWS, SeriesWindow

if TYPE_CHECKING:
    from kartshoppe.eventstore.indexed import IndexedStore

COLUMNS: Final = ("timestamp", "event_type", "session_id", "topic", "payload")
COUNTED: Final = ("ORDER_PLACED", "PRODUCT_VIEW")


@dataclass(slots=True)
class Bucket:
    events: int = 0
    orders: int = 0
    revenue: Decimal = Decimal(0)
    viewers: set[str] = field(default_factory=set)
    buyers: set[str] = field(default_factory=set)

    def to_json(self, start: int) -> dict[str, Any]:
        viewers = self.viewers
        converted = len(self.buyers & viewers)
        rate = round(converted / len(viewers), 4) if viewers else 0.0
        return {
            "start": start,
            "events": self.events,
            "orders": self.orders,
            "revenue": json_number(self.revenue),
            "viewers": len(viewers),
            "conversionRate": rate,
        }


def _rows(store: IndexedStore, start: int, end: int) -> Iterable[tuple[Any, ...]]:
    """(timestamp, type, session, topic, payload) of the stored events in [start, end)."""
    snapshot_id = store.events.latest_snapshot_id()
    if snapshot_id is None:
        return []
    index = store.index_at(snapshot_id)
    if index is not None:
        return index.select(COLUMNS, "timestamp >= ? AND timestamp < ?", (start, end), snapshot_id)
    table = store.events.read(snapshot_id, columns=list(COLUMNS)).to_pylist()
    return [
        tuple(row[c] for c in COLUMNS) for row in table if start <= (row["timestamp"] or 0) < end
    ]


def series(store: IndexedStore, window: SeriesWindow, end: int) -> dict[str, Any]:
    """The buckets of `window` ending at `end` (epoch ms), oldest first, empty ones included."""
    length, step = WINDOWS[window]
    last = end // step * step
    first = last - (length // step - 1) * step
    buckets: defaultdict[int, Bucket] = defaultdict(Bucket)
    for timestamp, event_type, session_id, topic, payload in _rows(store, first, last + step):
        bucket = buckets[(timestamp - first) // step * step + first]
        if topic == Topic.EVENTS.value:
            bucket.events += 1
        if event_type not in COUNTED:
            continue
        if event_type == "ORDER_PLACED":
            bucket.orders += 1
            # back through the shortest repr: the exact amount the JSON number stands for
            bucket.revenue += Decimal(repr(orjson.loads(payload)["total"]))
            if session_id:
                bucket.buyers.add(session_id)
        elif session_id:
            bucket.viewers.add(session_id)
    points = [buckets[t].to_json(t) for t in range(first, last + step, step)]
    return {"window": window, "bucketMs": step, "from": first, "to": last + step, "points": points}
