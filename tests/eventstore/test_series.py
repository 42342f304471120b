"""The dashboard's history is computed from the stored events: per bucket of the chosen window,
orders, exact revenue, events, product viewers and conversion; the same from the index and from
the table, and served by `GET /store/series`."""

from __future__ import annotations

from decimal import Decimal

from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import BaseEvent, OrderLine, OrderPlaced, PageView, ProductView
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.series import series
from kartshoppe.eventstore.sink import PaimonSink, SinkConfig
from kartshoppe.eventstore.table import StoreConfig
from tests.eventstore.store_support import append_all
from tests.eventstore.test_time_travel_api import PREFIX, serve, store_app

MINUTE = 60_000
END = 1_700_000_040_000 // MINUTE * MINUTE


def order(session: str, total: str, ts: int) -> OrderPlaced:
    amount = Decimal(total)
    return OrderPlaced(
        order_id=f"o-{session}-{ts}",
        idempotency_key=f"k-{session}-{ts}",
        lines=(OrderLine(product_id="p1", quantity=1, unit_price=amount),),
        total=amount,
        session_id=session,
        timestamp=ts,
    )


def recorded() -> list[BaseEvent]:
    busy, quiet = END - 10 * MINUTE, END - 3 * MINUTE
    return [
        *(ProductView(product_id="p1", session_id=s, timestamp=busy + 1) for s in "abc"),
        ProductView(product_id="p2", session_id="a", timestamp=busy + 2),
        order("a", "19.99", busy + 3),
        order("a", "0.01", busy + 4),
        order("z", "5.10", busy + 5),  # ordered without viewing a product in this bucket
        PageView(page="/", session_id="q", timestamp=quiet),
        PageView(page="/", session_id="q", timestamp=END - 2 * 60 * MINUTE),  # before the window
    ]


async def stored(store: IndexedStore, log: SqliteEventLog) -> IndexedStore:
    await append_all(log, recorded())
    await PaimonSink(store, log, SinkConfig(max_events=100, max_delay_ms=50)).drain()
    return store


async def test_each_bucket_counts_orders_exact_revenue_viewers_and_conversion(
    indexed: IndexedStore, event_log: SqliteEventLog, warehouse: str
) -> None:
    store = await stored(indexed, event_log)
    answer = series(store, "1h", END)
    assert (answer["bucketMs"], len(answer["points"])) == (MINUTE, 60)
    assert answer["to"] == END + MINUTE and answer["from"] == END - 59 * MINUTE
    busy = next(p for p in answer["points"] if p["start"] == END - 10 * MINUTE)
    assert busy == {
        "start": END - 10 * MINUTE,
        "events": 7,
        "orders": 3,
        "revenue": 25.1,
        "viewers": 3,
        "conversionRate": 0.3333,
    }
    quiet = next(p for p in answer["points"] if p["start"] == END - 3 * MINUTE)
    assert (quiet["events"], quiet["orders"], quiet["viewers"]) == (1, 0, 0)
    assert sum(p["events"] for p in answer["points"]) == 8  # the older page view is outside
    from_table = series(IndexedStore.open(StoreConfig(warehouse, use_index=False)), "1h", END)
    assert from_table == answer


async def test_the_series_route_answers_the_window_and_refuses_an_unknown_one(
    indexed: IndexedStore, event_log: SqliteEventLog
) -> None:
    store = await stored(indexed, event_log)
    async for client in serve(store_app(store)):
        answer = await client.get(f"{PREFIX}/series", params={"window": "15m", "to": END})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["window"], body["bucketMs"], len(body["points"])) == ("15m", 15_000, 60)
        assert sum(p["orders"] for p in body["points"]) == 3
        refused = await client.get(f"{PREFIX}/series", params={"window": "2y"})
        # this bare app has the framework's error shape; the shop's names the field the same way
        assert refused.status_code == 422 and "window" in refused.text
