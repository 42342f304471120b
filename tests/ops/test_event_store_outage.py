"""The event store going down loses no order: the shop keeps taking them (the log is the
source of truth) and the supervised sink catches up once the store is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pyarrow.compute as pc

from kartshoppe.eventstore.table import EventStore, StoreConfig
from tests.ops.ops_support import API, fresh
from tests.support.server import ServerProcess, running_server

CATCH_UP_S = 60.0


def stored_order_ids(warehouse: Path) -> set[str]:
    store = EventStore(StoreConfig(str(warehouse)))
    try:
        rows = store.read(columns=["event_type", "order_id"])
    finally:
        store.close()
    placed = rows.filter(pc.equal(rows["event_type"], "ORDER_PLACED"))
    return {o for o in placed["order_id"].to_pylist() if o}


def wait_stored(warehouse: Path, order_ids: set[str]) -> set[str]:
    deadline = time.monotonic() + CATCH_UP_S
    while True:
        found = stored_order_ids(warehouse)
        if order_ids <= found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@contextmanager
def store_down(table_dir: Path) -> Iterator[None]:
    """The table's directory replaced by a plain file: every read and write of the store fails
    (ENOTDIR), even for root, until the directory is put back."""
    away = table_dir.with_name(table_dir.name + ".away")
    table_dir.rename(away)
    table_dir.write_text("the event store is down")
    try:
        yield
    finally:
        table_dir.unlink()
        away.rename(table_dir)


def place_order(client: httpx.Client, product_id: str) -> str:
    session = fresh("s")
    added = client.post(f"{API}/cart/{session}/add", json={"productId": product_id})
    assert added.status_code == 200, added.text
    placed = client.post(
        f"{API}/checkout", json={"sessionId": session, "idempotencyKey": fresh("k")}
    )
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["orderId"]
    return order_id


def sink_failures(server: ServerProcess) -> int:
    return server.log_text().count("paimon-sink failed")


def test_orders_placed_while_the_event_store_is_down_reach_it_once_it_is_back(
    tmp_path: Path,
) -> None:
    with (
        running_server(tmp_path) as server,
        httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as client,
    ):
        warehouse = server.data_dir / "warehouse"
        items = client.get(f"{API}/products", params={"pageSize": 50}).json()["items"]
        product = max(items, key=lambda p: p["available"])["id"]
        before = {place_order(client, product) for _ in range(2)}
        assert before <= wait_stored(warehouse, before)
        table_dir = Path(EventStore(StoreConfig(str(warehouse))).table_path)

        with store_down(table_dir):
            during = {place_order(client, product) for _ in range(5)}
            deadline = time.monotonic() + 15
            while sink_failures(server) == 0 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert sink_failures(server) >= 1, "the sink never noticed the store was down"
            assert client.get("/ready").status_code == 200

        found = wait_stored(warehouse, before | during)
        assert before | during <= found
        assert server.is_running()
