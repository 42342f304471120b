"""Time travel and audit over HTTP: the shop as of a snapshot, the history of a subject, reports,
and clear JSON errors for unknown or expired snapshots. A real uvicorn server on loopback."""

from __future__ import annotations

import asyncio
import pathlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from kartshoppe.api import errors
from kartshoppe.api.routes.event_store import StoreOpener, StoreReads, router
from kartshoppe.events import BaseEvent
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.limits import INT64_MAX, SERIES_END_MAX
from kartshoppe.eventstore.table import EventStore

PREFIX = "/api/ecommerce/store"


async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await task
        sock.close()


def store_app(store: IndexedStore | None) -> FastAPI:
    app = FastAPI()
    errors.install(app)
    app.include_router(router, prefix="/api/ecommerce")
    if store is not None:
        app.state.event_store = store
    return app


@pytest.fixture
async def client(
    filled_store: EventStore, indexed: IndexedStore
) -> AsyncIterator[httpx.AsyncClient]:
    async for c in serve(store_app(indexed)):
        yield c


async def test_snapshots_list_ids_commit_times_and_record_counts(
    client: httpx.AsyncClient, filled_store: EventStore
) -> None:
    answer = await client.get(f"{PREFIX}/snapshots")

    assert answer.status_code == 200
    snapshots = answer.json()["snapshots"]
    assert [s["snapshotId"] for s in snapshots] == [1, 2, 3, 4, 5, 6]
    assert [s["recordCount"] for s in snapshots] == [10, 20, 30, 40, 50, 54]
    assert all(s["commitTime"] > 0 for s in snapshots)


async def test_a_cart_as_of_an_older_snapshot_differs_from_the_latest(
    client: httpx.AsyncClient,
) -> None:
    # u0's events: 3 views, 2 adds at offsets 6..10 of ecommerce_events; checkout clears it later
    early = (await client.get(f"{PREFIX}/state/cart/u0", params={"snapshotId": 2})).json()
    latest = (await client.get(f"{PREFIX}/state/cart/u0")).json()

    assert early["snapshotId"] == 2
    assert [(line["productId"], line["quantity"]) for line in early["cart"]["lines"]] == [
        ("p1", 2),
        ("p3", 1),
    ]
    assert early["cart"]["lines"][0]["name"] == "Product p1"
    assert latest["snapshotId"] == 6
    assert latest["cart"]["lines"] == []


async def test_an_anonymous_cart_is_found_by_its_session(client: httpx.AsyncClient) -> None:
    answer = (await client.get(f"{PREFIX}/state/cart/s1")).json()

    assert [(line["productId"], line["quantity"]) for line in answer["cart"]["lines"]] == [
        ("p1", 2)
    ]


async def test_an_order_exists_only_from_the_snapshot_that_stored_it(
    client: httpx.AsyncClient,
) -> None:
    before = await client.get(f"{PREFIX}/state/order/o0", params={"snapshotId": 4})
    after = await client.get(f"{PREFIX}/state/order/o0")

    assert before.status_code == 404
    assert before.json()["error"] == "not_found"
    assert after.status_code == 200
    assert after.json()["order"]["status"] == "PAID"
    assert after.json()["order"]["total"] == 119.0


async def test_a_product_price_and_stock_travel_in_time(client: httpx.AsyncClient) -> None:
    early = (await client.get(f"{PREFIX}/state/product/p1", params={"snapshotId": 1})).json()
    late = (await client.get(f"{PREFIX}/state/product/p3")).json()
    p1_now = (await client.get(f"{PREFIX}/state/product/p1")).json()

    assert early["product"]["listPrice"] == 10.0
    assert early["product"]["stock"] == 100
    assert p1_now["product"]["listPrice"] == 12.0
    assert late["product"]["stock"] == 98


async def test_analytics_totals_as_of_a_timestamp(
    client: httpx.AsyncClient, filled_store: EventStore, events: list[BaseEvent]
) -> None:
    third = filled_store.snapshots()[2]
    at_third = (
        await client.get(f"{PREFIX}/state/analytics", params={"asOf": third.commit_time})
    ).json()
    latest = (await client.get(f"{PREFIX}/state/analytics")).json()

    assert at_third["snapshotId"] == 3
    assert at_third["totalEvents"] == 30
    assert latest["totalEvents"] == len(events)
    assert latest["funnel"] == {"views": 18, "carts": 12, "checkouts": 2, "orders": 2}
    assert latest["orders"] == 2
    assert latest["revenue"] == 268.0


async def test_unknown_and_expired_snapshots_answer_404_and_410_with_json(
    client: httpx.AsyncClient, filled_store: EventStore
) -> None:
    unknown = await client.get(f"{PREFIX}/state/cart/u0", params={"snapshotId": 999})
    filled_store._delete_snapshots([1, 2])
    expired = await client.get(f"{PREFIX}/state/analytics", params={"snapshotId": 1})
    both = await client.get(f"{PREFIX}/state/analytics", params={"snapshotId": 3, "asOf": 1})
    bad_type = await client.get(f"{PREFIX}/state/analytics", params={"snapshotId": "x"})

    assert unknown.status_code == 404
    assert unknown.json()["error"] == "snapshot_not_found"
    assert expired.status_code == 410
    assert expired.json() == {
        "error": "snapshot_expired",
        "message": "snapshot 1 has expired; the earliest retained is 3",
        "details": [],
    }
    assert both.status_code == 400
    assert bad_type.status_code == 422


async def test_history_of_a_user_is_paginated_newest_first_and_filtered_by_type(
    client: httpx.AsyncClient,
) -> None:
    first = (await client.get(f"{PREFIX}/history", params={"userId": "u0", "pageSize": 4})).json()
    second = (
        await client.get(f"{PREFIX}/history", params={"userId": "u0", "pageSize": 4, "page": 2})
    ).json()
    adds = (
        await client.get(f"{PREFIX}/history", params={"userId": "u0", "types": "ADD_TO_CART"})
    ).json()

    assert first["total"] == 11
    stamps = [e["timestamp"] for e in first["events"] + second["events"]]
    assert stamps == sorted(stamps, reverse=True)
    assert first["events"][0]["eventType"] == "ORDER_STATUS_CHANGED"
    assert {e["eventId"] for e in first["events"]}.isdisjoint(
        e["eventId"] for e in second["events"]
    )
    assert [e["eventType"] for e in adds["events"]] == ["ADD_TO_CART", "ADD_TO_CART"]


async def test_history_of_a_product_in_a_time_range(
    client: httpx.AsyncClient, events: list[BaseEvent]
) -> None:
    p3 = [e for e in events if getattr(e, "product_id", None) == "p3"]
    start, end = p3[2].timestamp, p3[-2].timestamp

    answer = (
        await client.get(
            f"{PREFIX}/history",
            params={"productId": "p3", "from": start, "to": end, "pageSize": 100},
        )
    ).json()

    expected = sorted(e.event_id for e in p3 if start <= e.timestamp <= end)
    assert sorted(e["eventId"] for e in answer["events"]) == expected
    assert answer["total"] == len(expected)


async def test_history_of_an_order_and_bad_queries(client: httpx.AsyncClient) -> None:
    order = (await client.get(f"{PREFIX}/history", params={"orderId": "o1"})).json()
    unbounded = await client.get(f"{PREFIX}/history")
    reversed_range = await client.get(
        f"{PREFIX}/history", params={"userId": "u0", "from": 5, "to": 1}
    )

    assert [e["eventType"] for e in order["events"]] == [
        "ORDER_STATUS_CHANGED",
        "ORDER_PLACED",
        "STOCK_RESERVED",
        "STOCK_RESERVED",
        "CHECKOUT_STARTED",
    ]
    assert unbounded.status_code == 400
    assert reversed_range.status_code == 400
    assert reversed_range.json()["message"] == "from must not be after to"


@pytest.mark.parametrize(
    ("route", "field", "value"),
    [
        ("history", "page", 1_000_001),
        ("history", "to", 2**63),
        ("history", "from", 2**63),
        ("history", "snapshotId", 2**63),
        ("state/analytics", "asOf", 2**63),
        ("series", "to", SERIES_END_MAX + 1),
    ],
)
async def test_numbers_past_the_stores_64_bit_columns_are_a_422_naming_the_field(
    client: httpx.AsyncClient, route: str, field: str, value: int
) -> None:
    answer = await client.get(f"{PREFIX}/{route}", params={"userId": "u0", field: value})

    assert answer.status_code == 422
    assert answer.json()["details"][0]["field"] == field


async def test_the_latest_series_end_still_has_its_last_bucket_within_64_bits(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get(f"{PREFIX}/series", params={"window": "7d", "to": SERIES_END_MAX})

    assert answer.status_code == 200
    assert answer.json()["to"] <= INT64_MAX


async def test_named_reports_over_http(client: httpx.AsyncClient) -> None:
    sales = (await client.get(f"{PREFIX}/reports/sales-per-day")).json()
    funnel = (await client.get(f"{PREFIX}/reports/funnel-per-day")).json()
    top = (await client.get(f"{PREFIX}/reports/top-products-per-category")).json()
    unknown = await client.get(f"{PREFIX}/reports/nope")
    listing = (await client.get(f"{PREFIX}/reports")).json()

    assert sales["rows"] == [
        {"day": "2025-11-26", "orders": 2, "revenue": 268.0, "average_order": 134.0}
    ]
    assert [(r["day"], r["views"], r["orders"]) for r in funnel["rows"]] == [
        ("2025-11-25", 18, 0),
        ("2025-11-26", 0, 2),
    ]
    assert [(r["category"], r["product_id"], r["units"], r["revenue"]) for r in top["rows"]] == [
        ("audio", "p3", 2, 198.0),
        ("games", "p1", 7, 70.0),
    ]
    assert unknown.status_code == 404
    assert {r["name"] for r in listing["reports"]} == {
        "sales-per-day",
        "funnel-per-day",
        "top-products-per-category",
    }


async def test_without_a_configured_store_the_routes_answer_503() -> None:
    async for client in serve(store_app(None)):
        answer = await client.get(f"{PREFIX}/snapshots")
        assert answer.status_code == 503
        assert answer.json()["error"] == "store_unavailable"


async def test_the_store_is_opened_on_the_first_request_once_for_concurrent_ones(
    filled_store: EventStore,
) -> None:
    class CountingOpener(StoreOpener):
        opened = 0

        def _open(self) -> IndexedStore:
            self.opened += 1
            return super()._open()

    app = store_app(None)
    opener = CountingOpener(filled_store.config.warehouse)
    app.state.event_store_opener = opener

    async for client in serve(app):
        assert opener.opened == 0
        answers = await asyncio.gather(*(client.get(f"{PREFIX}/snapshots") for _ in range(4)))
        again = await client.get(f"{PREFIX}/snapshots")

    assert [a.status_code for a in [*answers, again]] == [200] * 5
    assert again.json() == {"snapshots": [s.to_json() for s in filled_store.snapshots()]}
    assert opener.opened == 1


async def test_a_store_that_cannot_be_opened_answers_503_and_is_tried_again(
    tmp_path: pathlib.Path, filled_store: EventStore
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("the warehouse is a file")
    app = store_app(None)
    app.state.event_store_opener = StoreOpener(str(blocked / "warehouse"))

    async for client in serve(app):
        answer = await client.get(f"{PREFIX}/snapshots")
        assert answer.status_code == 503
        assert answer.json()["error"] == "store_unavailable"

        app.state.event_store_opener.warehouse = filled_store.config.warehouse
        assert (await client.get(f"{PREFIX}/snapshots")).status_code == 200


async def test_a_forwarded_request_the_sink_process_does_not_answer_in_time_is_a_503(
    tmp_path: pathlib.Path,
) -> None:
    app = store_app(None)
    app.state.store_reads = StoreReads(str(tmp_path / "no-sink.sock"), "/api/ecommerce", 0.3)

    async for client in serve(app):
        answer = await client.get(f"{PREFIX}/snapshots")

    assert answer.status_code == 503
    assert answer.json()["error"] == "store_unavailable"
