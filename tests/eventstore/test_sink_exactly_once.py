"""The sink stores every appended event exactly once, even when its process dies mid-cycle."""

from __future__ import annotations

import pathlib

import pyarrow as pa
import pytest

from kartshoppe.eventlog.port import Record
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.schema import SINK_GROUP
from kartshoppe.eventstore.sink import PaimonSink, SinkConfig, records_to_rows
from kartshoppe.eventstore.table import EventStore, StoreConfig
from tests.eventstore.crash_support import crash_the_sink
from tests.eventstore.store_support import append_all, message, shop_day


def stored_ids(store: EventStore) -> list[str]:
    ids: list[str] = store.read(columns=["event_id"]).column("event_id").to_pylist()
    return ids


def written_records(store: EventStore) -> int:
    """Rows physically written over all snapshots (before the primary-key merge of a read)."""
    snapshot = store.table.snapshot_manager().get_latest_snapshot()
    return int(snapshot.total_record_count)


async def test_sink_stores_every_event_once_with_log_positions_in_the_snapshot(
    store: EventStore, event_log: SqliteEventLog
) -> None:
    events = shop_day()
    await append_all(event_log, events)
    sink = PaimonSink(IndexedStore(store), event_log, SinkConfig(max_events=10, max_delay_ms=50))

    await sink.drain()

    assert sorted(stored_ids(store)) == sorted(e.event_id for e in events)
    assert written_records(store) == len(events)
    assert len(store.snapshots()) == -(-len(events) // 10)
    ends = {
        (topic, part): end
        for topic in sink.config.topics
        for part, end in (await event_log.end_offsets(topic)).items()
    }
    assert store.committed_positions() == ends


async def test_a_batch_closes_after_the_configured_delay_even_when_small(
    store: EventStore, event_log: SqliteEventLog
) -> None:
    events = shop_day()[:3]
    await append_all(event_log, events)
    sink = PaimonSink(
        IndexedStore(store), event_log, SinkConfig(max_events=10_000, max_delay_ms=100)
    )

    await sink.drain()

    assert sink.snapshots_committed == 1
    assert sorted(stored_ids(store)) == sorted(e.event_id for e in events)


@pytest.mark.parametrize("point", ["before-write", "before-commit", "before-log-commit"])
async def test_after_a_crash_at_any_point_a_restart_neither_loses_nor_duplicates_events(
    tmp_path: pathlib.Path, point: str
) -> None:
    warehouse, log_db, events = await crash_the_sink(tmp_path, point)

    store = EventStore(StoreConfig(warehouse))
    committed_before_restart = store.committed_positions()
    stored_before_restart = len(stored_ids(store))
    expected_before = {"before-write": 20, "before-commit": 20, "before-log-commit": 30}[point]
    assert stored_before_restart == expected_before

    async with SqliteEventLog(log_db) as log:
        if point == "before-log-commit":
            # the group lags the snapshot: the log will redeliver the stored third batch
            async with log.consumer(["ecommerce_events"], group=SINK_GROUP) as lagging:
                first = (await lagging.poll(1, timeout=1))[0]
            assert first.offset < committed_before_restart[("ecommerce_events", 0)]
        await PaimonSink(
            IndexedStore(store), log, SinkConfig(max_events=10, max_delay_ms=50)
        ).drain()

    ids = stored_ids(store)
    assert sorted(ids) == sorted(e.event_id for e in events)
    assert len(ids) == len(set(ids))
    # not one duplicate row was even written: exactly-once, not merge-on-read
    assert written_records(store) == len(events)


def test_rows_written_twice_collapse_by_primary_key_on_read(store: EventStore) -> None:
    """The second line of defence: what pypaimon returns for a key written in two snapshots."""
    events = shop_day()[:5]
    records = [
        Record(m.topic, 0, i, m.key, m.value, e.timestamp)
        for i, (e, m) in enumerate((e, message(e)) for e in events)
    ]
    rows = records_to_rows(records)
    for _ in range(2):
        store.commit(store.write(rows), {})

    read = store.read()

    assert written_records(store) == 2 * len(events)
    assert read.num_rows == len(events)
    assert sorted(read.column("event_id").to_pylist()) == sorted(e.event_id for e in events)
    assert isinstance(read, pa.Table)
