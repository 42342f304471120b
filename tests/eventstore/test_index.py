"""The secondary index answers audit and time-travel questions exactly as the Paimon table does,
is written in the same cycle as each snapshot, and recovers from the table alone: after a crash
between the Paimon commit and the index write, when deleted, when stale, when snapshots expired."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import sqlite3
from typing import Any

import pytest

from kartshoppe.eventlog.port import Record
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import OrderStatus, OrderStatusChanged
from kartshoppe.eventstore import timetravel as tt
from kartshoppe.eventstore.audit import AuditQuery, history, history_from_table
from kartshoppe.eventstore.index import snapshot_mark
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.sink import PaimonSink, SinkConfig, records_to_rows
from kartshoppe.eventstore.table import EventStore, StoreConfig
from tests.eventstore.crash_support import crash_the_sink
from tests.eventstore.store_support import DAY0, append_all, message, shop_day

CARTS = ("u0", "u2", "u4", "s1", "s3", "s5", "nobody")
ORDERS = ("o0", "o1", "o9")
PRODUCTS = ("p1", "p2", "p3", "p9")
AUDITS = (
    AuditQuery(user_id="u0"),
    AuditQuery(user_id="u0", page=2, page_size=4),
    AuditQuery(session_id="s1", types=("ADD_TO_CART", "REMOVE_FROM_CART")),
    AuditQuery(product_id="p3", start=DAY0 + 3_600_000, end=DAY0 + 86_400_000 + 3_700_000),
    AuditQuery(order_id="o1"),
    AuditQuery(start=DAY0, end=DAY0 + 86_400_000 - 1, page_size=7, page=3),
)


def answers(store: IndexedStore, snapshot_id: int, *, from_table: bool) -> dict[str, Any]:
    """Every question the store answers, as of one snapshot, by one of the two paths."""
    if from_table:
        table = store.events
        return {
            "carts": {c: tt.cart_at_from_table(table, c, snapshot_id) for c in CARTS},
            "orders": {o: tt.order_at_from_table(table, o, snapshot_id) for o in ORDERS},
            "products": {p: tt.product_at_from_table(table, p, snapshot_id) for p in PRODUCTS},
            "analytics": tt.analytics_at_from_table(table, snapshot_id),
            "audit": [
                history_from_table(table, dataclasses.replace(q, snapshot_id=snapshot_id)).to_json()
                for q in AUDITS
            ],
        }
    return {
        "carts": {c: tt.cart_at(store, c, snapshot_id) for c in CARTS},
        "orders": {o: tt.order_at(store, o, snapshot_id) for o in ORDERS},
        "products": {p: tt.product_at(store, p, snapshot_id) for p in PRODUCTS},
        "analytics": tt.analytics_at(store, snapshot_id),
        "audit": [
            history(store, dataclasses.replace(q, snapshot_id=snapshot_id)).to_json()
            for q in AUDITS
        ],
    }


def assert_index_agrees_with_table(store: IndexedStore) -> None:
    for snapshot_id in store.events.retained_snapshot_ids():
        assert answers(store, snapshot_id, from_table=False) == answers(
            store, snapshot_id, from_table=True
        ), f"snapshot {snapshot_id}"


def indexed_event_count(store: IndexedStore) -> int:
    index = store.index
    assert index is not None
    return index.count("1", (), 1 << 62)


async def test_index_answers_equal_the_table_answers_at_every_snapshot(
    filled_store: EventStore, indexed: IndexedStore, event_log: SqliteEventLog
) -> None:
    # o1 is cancelled in a later snapshot: revenue and cancellations move backwards too
    cancel = OrderStatusChanged(
        order_id="o1",
        status=OrderStatus.CANCELLED,
        previous_status=OrderStatus.PAID,
        session_id="s2",
        user_id="u2",
        timestamp=DAY0 + 2 * 86_400_000,
    )
    await append_all(event_log, [cancel])
    await PaimonSink(indexed, event_log, SinkConfig(max_events=10, max_delay_ms=50)).drain()

    assert_index_agrees_with_table(indexed)
    latest = tt.analytics_at(indexed)
    assert (latest["orders"], latest["cancelledOrders"], latest["revenue"]) == (2, 1, 119.0)
    assert tt.analytics_at(indexed, 6)["revenue"] == 268.0


def test_the_sink_indexes_each_snapshot_in_the_same_cycle(
    filled_store: EventStore, indexed: IndexedStore
) -> None:
    index = indexed.index
    assert index is not None

    assert index.high_water() == filled_store.latest_snapshot_id() == 6
    assert [index.totals(s).total_events for s in range(1, 7)] == [10, 20, 30, 40, 50, 54]
    assert index.path.parent.name == "warehouse.index"
    assert not list(pathlib.Path(filled_store.table_path).rglob("*.sqlite"))


@pytest.mark.parametrize("point", ["before-index", "before-commit"])
async def test_a_crash_around_the_commit_leaves_the_index_behind_never_ahead_and_it_recovers(
    tmp_path: pathlib.Path, point: str
) -> None:
    warehouse, log_db, events = await crash_the_sink(tmp_path, point)

    config = StoreConfig(warehouse)
    table_only = EventStore(dataclasses.replace(config, use_index=False))
    committed = table_only.latest_snapshot_id()
    assert committed == (3 if point == "before-index" else 2)
    index_file = config.index_file()
    assert index_file is not None
    conn = sqlite3.connect(index_file)
    # the file holds snapshots 1 and 2 only: never a row Paimon has not committed
    assert conn.execute("SELECT max(snapshot_id) FROM snapshots").fetchone() == (2,)
    assert conn.execute("SELECT count(*) FROM events").fetchone() == (table_only.read(2).num_rows,)
    conn.close()

    store = IndexedStore.open(config)
    index = store.index
    assert index is not None
    assert index.high_water() == committed
    assert indexed_event_count(store) == table_only.read(committed).num_rows

    async with SqliteEventLog(log_db) as log:
        await PaimonSink(store, log, SinkConfig(max_events=10, max_delay_ms=50)).drain()

    assert index.high_water() == store.events.latest_snapshot_id()
    assert indexed_event_count(store) == len(events)
    assert_index_agrees_with_table(store)


def test_a_query_past_the_index_catches_it_up_from_the_table_first(
    filled_store: EventStore, indexed: IndexedStore
) -> None:
    # another writer (the Flink job) commits snapshots the index is not told about
    cancel = OrderStatusChanged(
        order_id="o0",
        status=OrderStatus.CANCELLED,
        previous_status=OrderStatus.PAID,
        session_id="s0",
        user_id="u0",
        timestamp=DAY0 + 2 * 86_400_000,
    )
    for offset, event in enumerate([cancel, *shop_day(shoppers=1)[6:9]], start=100):
        record = Record("ecommerce_events", 0, offset, None, message(event).value, 0)
        filled_store.commit(filled_store.write(records_to_rows([record])), {})
    index = indexed.index
    assert index is not None
    assert index.high_water() == 6

    latest = tt.analytics_at(indexed)

    assert index.high_water() == 10
    assert (latest["totalEvents"], latest["cancelledOrders"], latest["revenue"]) == (58, 1, 149.0)
    assert_index_agrees_with_table(indexed)


def test_a_deleted_index_is_rebuilt_from_the_table(
    filled_store: EventStore, indexed: IndexedStore
) -> None:
    before = answers(indexed, 4, from_table=False)
    index = indexed.index
    assert index is not None
    indexed.close_index()
    shutil.rmtree(index.path.parent)

    reopened = IndexedStore.open(filled_store.config)

    assert answers(reopened, 4, from_table=False) == before
    rebuilt = reopened.index
    assert rebuilt is not None
    assert rebuilt.high_water() == 6
    assert indexed_event_count(reopened) == 54


def test_catching_up_twice_changes_nothing(filled_store: EventStore, indexed: IndexedStore) -> None:
    index = indexed.index
    assert index is not None
    mark = snapshot_mark(filled_store, 6)

    assert indexed.sync_index() == 6
    assert indexed.sync_index() == 6
    assert index.ingest(mark, filled_store.read_delta(6), after=5) is False
    assert indexed_event_count(indexed) == 54


def test_an_index_of_another_history_is_discarded_and_rebuilt(
    filled_store: EventStore, indexed: IndexedStore, tmp_path: pathlib.Path
) -> None:
    other = EventStore(StoreConfig(str(tmp_path / "other")))
    events = shop_day()[:5]
    records = [Record(m.topic, 0, i, m.key, m.value, 0) for i, m in enumerate(map(message, events))]
    other.commit(other.write(records_to_rows(records)), {})
    filled = indexed.index
    target = other.config.index_file()
    assert filled is not None and target is not None
    indexed.close_index()
    # a stale file from another table (a restored backup, a recreated warehouse) sits in place,
    # claiming a snapshot 1 with the same id as the table's but another commit time
    target.parent.mkdir(parents=True)
    shutil.copy(filled.path, target)
    with sqlite3.connect(target) as conn:
        conn.execute("DELETE FROM events WHERE snapshot_id > 1")
        conn.execute("DELETE FROM snapshots WHERE snapshot_id > 1")
        conn.execute("UPDATE snapshots SET commit_time = commit_time - 1")

    fresh = IndexedStore.open(other.config)

    assert tt.analytics_at(fresh)["totalEvents"] == 5
    assert indexed_event_count(fresh) == 5


async def test_after_snapshots_expire_a_rebuild_starts_from_the_earliest_retained(
    tmp_path: pathlib.Path, event_log: SqliteEventLog
) -> None:
    retention = {"snapshot.num-retained.min": "2", "snapshot.num-retained.max": "3"}
    store = IndexedStore.open(StoreConfig(str(tmp_path / "retained"), table_options=retention))
    await append_all(event_log, shop_day())
    await PaimonSink(store, event_log, SinkConfig(max_events=10, max_delay_ms=50)).drain()
    assert store.events.expire_snapshots() == [1, 2, 3]
    index = store.index
    assert index is not None
    store.close_index()
    shutil.rmtree(index.path.parent)

    assert store.sync_index() == 6

    assert tt.analytics_at(store, 4)["totalEvents"] == 40
    assert_index_agrees_with_table(store)
    with pytest.raises(LookupError, match="snapshot 2 has expired"):
        tt.cart_at(store, "u0", 2)


def test_rows_written_twice_are_indexed_once_from_the_snapshot_that_first_held_them(
    store: EventStore, indexed: IndexedStore
) -> None:
    events = shop_day()[:5]
    records = [Record(m.topic, 0, i, m.key, m.value, 0) for i, m in enumerate(map(message, events))]
    rows = records_to_rows(records)
    for _ in range(2):
        store.commit(store.write(rows), {})

    assert indexed.sync_index() == 2

    index = indexed.index
    assert index is not None
    assert index.count("1", (), 1) == 5
    assert index.totals(2).total_events == 5
    assert tt.analytics_at(indexed, 2) == tt.analytics_at_from_table(store, 2)


def test_a_compaction_snapshot_adds_nothing_to_the_index(
    filled_store: EventStore, indexed: IndexedStore
) -> None:
    filled_store.compact("2025-11-25")

    assert indexed.sync_index() == 7

    assert indexed_event_count(indexed) == 54
    assert tt.analytics_at(indexed) == tt.analytics_at_from_table(filled_store)


async def test_without_an_index_queries_read_the_table(
    tmp_path: pathlib.Path, event_log: SqliteEventLog
) -> None:
    store = IndexedStore.open(StoreConfig(str(tmp_path / "plain"), use_index=False))
    await append_all(event_log, shop_day())
    await PaimonSink(store, event_log, SinkConfig(max_events=10, max_delay_ms=50)).drain()

    assert store.index is None
    assert tt.analytics_at(store)["totalEvents"] == 54
    assert history(store, AuditQuery(order_id="o0")).total == 5
    assert not (tmp_path / "plain.index").exists()


def test_the_index_sits_beside_a_local_warehouse_and_is_configurable() -> None:
    assert StoreConfig("/data/warehouse").index_file() == pathlib.Path(
        "/data/warehouse.index/kartshoppe.ecommerce_events.sqlite"
    )
    assert StoreConfig("file:///data/wh").index_file() == pathlib.Path(
        "/data/wh.index/kartshoppe.ecommerce_events.sqlite"
    )
    assert StoreConfig("s3://bucket/wh").index_file() is None
    assert StoreConfig("s3://bucket/wh", index_path="/var/idx.sqlite").index_file() == (
        pathlib.Path("/var/idx.sqlite")
    )
