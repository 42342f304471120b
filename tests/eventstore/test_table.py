"""The event table is a genuine Paimon table: its files sit where Paimon puts them, plain
pypaimon reads it, and it can be read as of any retained snapshot."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import BaseEvent
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.sink import PaimonSink, SinkConfig
from kartshoppe.eventstore.table import EventStore, SnapshotUnavailableError, StoreConfig
from tests.eventstore.store_support import DAY0, append_all


def test_table_files_are_where_paimon_puts_them(filled_store: EventStore) -> None:
    root = pathlib.Path(filled_store.table_path)
    assert (
        root == pathlib.Path(filled_store.config.warehouse) / "kartshoppe.db" / "ecommerce_events"
    )
    snapshots = sorted(p.name for p in (root / "snapshot").iterdir())
    assert "LATEST" in snapshots
    assert f"snapshot-{len(filled_store.snapshots())}" in snapshots
    assert (root / "schema" / "schema-0").is_file()
    manifests = [p.name for p in (root / "manifest").iterdir()]
    assert any(n.startswith("manifest-list-") for n in manifests)
    assert any(n.startswith("manifest-") and not n.startswith("manifest-list-") for n in manifests)
    assert sorted(p.name for p in root.glob("dt=*")) == ["dt=2025-11-25", "dt=2025-11-26"]
    data_files = list(root.glob("dt=*/bucket-*/data-*.parquet"))
    assert data_files

    schema = json.loads((root / "schema" / "schema-0").read_text())
    assert schema["primaryKeys"] == ["dt", "event_id"]
    assert schema["partitionKeys"] == ["dt"]
    assert schema["options"]["file.format"] == "parquet"
    assert schema["options"]["snapshot.num-retained.min"] == "10"
    latest = json.loads((root / "snapshot" / "LATEST").read_text())
    assert latest == len(filled_store.snapshots())


def test_a_fresh_pypaimon_reader_without_project_code_reads_every_row(
    filled_store: EventStore, events: list[BaseEvent]
) -> None:
    reader = textwrap.dedent(
        """
        import json, sys
        from pypaimon import CatalogFactory
        catalog = CatalogFactory.create({"warehouse": sys.argv[1]})
        table = catalog.get_table("kartshoppe.ecommerce_events")
        builder = table.new_read_builder().with_projection(["event_id", "event_type", "payload"])
        rows = builder.new_read().to_arrow(builder.new_scan().plan().splits())
        payload_ids = [json.loads(p)["eventId"] for p in rows.column("payload").to_pylist()]
        print(json.dumps({"ids": rows.column("event_id").to_pylist(), "payloadIds": payload_ids,
                          "modules": sorted(m for m in sys.modules if m.startswith("kartshoppe"))}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", reader, filled_store.config.warehouse],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["modules"] == []
    assert sorted(out["ids"]) == sorted(e.event_id for e in events)
    assert sorted(out["payloadIds"]) == sorted(out["ids"])


def test_reading_an_older_snapshot_shows_the_table_as_it_was(filled_store: EventStore) -> None:
    snapshots = filled_store.snapshots()
    assert [s.record_count for s in snapshots] == [min(10 * (i + 1), 54) for i in range(6)]

    second = filled_store.read(snapshots[1].snapshot_id)
    latest = filled_store.read()

    assert second.num_rows == 20
    assert latest.num_rows == 54
    assert set(second.column("event_id").to_pylist()) < set(latest.column("event_id").to_pylist())


def test_a_timestamp_resolves_to_the_last_snapshot_committed_at_or_before_it(
    filled_store: EventStore,
) -> None:
    snapshots = filled_store.snapshots()
    third = snapshots[2]

    assert filled_store.resolve_snapshot(as_of=third.commit_time) == third.snapshot_id
    assert filled_store.resolve_snapshot(as_of=snapshots[-1].commit_time + 60_000) == len(snapshots)
    with pytest.raises(SnapshotUnavailableError) as before_all:
        filled_store.resolve_snapshot(as_of=snapshots[0].commit_time - 1)
    assert before_all.value.status_code == 404


async def test_an_expired_snapshot_gives_a_clear_error_and_newer_ones_still_read(
    tmp_path: pathlib.Path, event_log: SqliteEventLog, events: list[BaseEvent]
) -> None:
    retention = {"snapshot.num-retained.min": "2", "snapshot.num-retained.max": "3"}
    store = EventStore(StoreConfig(str(tmp_path / "retained"), table_options=retention))
    await append_all(event_log, events)
    await PaimonSink(
        IndexedStore(store), event_log, SinkConfig(max_events=10, max_delay_ms=50)
    ).drain()
    first_commit = store.snapshots()[0].commit_time

    expired = store.expire_snapshots()

    assert expired == [1, 2, 3]
    assert [s.snapshot_id for s in store.snapshots()] == [4, 5, 6]
    with pytest.raises(SnapshotUnavailableError, match="snapshot 2 has expired") as gone:
        store.read(store.resolve_snapshot(2))
    assert gone.value.status_code == 410
    with pytest.raises(SnapshotUnavailableError, match="does not exist") as unknown:
        store.resolve_snapshot(99)
    assert unknown.value.status_code == 404
    with pytest.raises(SnapshotUnavailableError, match="expired") as too_old:
        store.resolve_snapshot(as_of=first_commit)
    assert too_old.value.status_code == 410
    assert store.read(4).num_rows == 40
    assert store.read().num_rows == 54


async def test_time_retention_removes_old_snapshots_but_keeps_the_minimum(
    tmp_path: pathlib.Path, event_log: SqliteEventLog, events: list[BaseEvent]
) -> None:
    retention = {"snapshot.num-retained.min": "2", "snapshot.time-retained": "1 h"}
    store = EventStore(StoreConfig(str(tmp_path / "timed"), table_options=retention))
    await append_all(event_log, events)
    await PaimonSink(
        IndexedStore(store), event_log, SinkConfig(max_events=10, max_delay_ms=50)
    ).drain()
    commits = [s.commit_time for s in store.snapshots()]

    assert store.expire_snapshots(now_ms=commits[-1]) == []
    assert store.expire_snapshots(now_ms=commits[1] + 3_600_001) == [1, 2]
    assert [s.snapshot_id for s in store.snapshots()] == [3, 4, 5, 6]
    store.expire_snapshots(now_ms=commits[-1] + 86_400_000)
    assert [s.snapshot_id for s in store.snapshots()] == [5, 6]


def test_compacting_a_day_keeps_every_row_and_the_sink_positions(filled_store: EventStore) -> None:
    positions = filled_store.committed_positions()
    before = sorted(filled_store.read().column("event_id").to_pylist())

    filled_store.compact("2025-11-25")

    assert sorted(filled_store.read().column("event_id").to_pylist()) == before
    assert filled_store.committed_positions() == positions
    assert filled_store.snapshots()[-1].commit_kind == "OVERWRITE"


def test_events_are_partitioned_by_their_utc_day(filled_store: EventStore) -> None:
    rows = filled_store.read(columns=["dt", "timestamp"]).to_pylist()
    for row in rows:
        day = (row["timestamp"] - DAY0) // 86_400_000
        assert row["dt"] == f"2025-11-{25 + day}"
