"""The Paimon sink: consumes the event log in batches and commits one snapshot per batch.

Exactly-once. Every snapshot the sink commits carries, in its snapshot properties, the log
positions (next offset per topic partition) its rows reach; the Paimon commit is a single atomic
rename of the snapshot file, so rows and positions become visible together or not at all. On
start the sink takes its positions from the newest such snapshot, not from the log's consumer
group, and drops any redelivered record below them. The consumer-group commit ("paimon-sink")
that follows each snapshot only tells operators how far the sink is; losing it costs nothing.

After each snapshot commit the sink hands the rows it committed to the secondary index
(`kartshoppe.eventstore.index`) under the new snapshot id; the index is derived, so a crash between
the Paimon commit and the index write only leaves the index behind, and its next catch-up reads
the missing snapshot from Paimon.

Crash points and their outcome:
- before the data files are written: nothing was written; the batch is read again.
- after the files are written, before the snapshot commit: the files are orphans no snapshot
  references (invisible); the batch is read again and written anew.
- after the snapshot commit, before the index write: the index catches up from the table.
- after the snapshot commit, before the consumer-group commit: the log redelivers the batch; its
  records are below the snapshot's positions and are skipped.
As a second line, the table's primary key `(dt, event_id)` collapses any duplicate on read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from kartshoppe.eventlog.port import Consumer, EventLog, Record
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.schema import SINK_GROUP, STORED_TOPICS
from kartshoppe.eventstore.table import ARROW_SCHEMA, day_of
from kartshoppe.resilience import supervise

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SinkConfig:
    """`max_events` or `max_delay_ms`, whichever comes first, closes a batch into a snapshot."""

    max_events: int = 10_000
    max_delay_ms: int = 1_000
    poll_records: int = 5_000
    topics: tuple[str, ...] = STORED_TOPICS
    group: str = SINK_GROUP


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def records_to_rows(records: Sequence[Record]) -> pa.Table:
    """Table rows for log records; the payload is the record's JSON exactly as logged."""
    columns: dict[str, list[Any]] = {name: [] for name in ARROW_SCHEMA.names}
    for record in records:
        try:
            event = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            event = {}
        if not isinstance(event, dict):
            event = {}
        timestamp = event.get("timestamp")
        if not isinstance(timestamp, int):
            timestamp = record.timestamp
        # a record without an event id still gets a stable key: its log position
        event_id = (
            _text(event.get("eventId")) or f"{record.topic}:{record.partition}:{record.offset}"
        )
        columns["dt"].append(day_of(timestamp))
        columns["event_id"].append(event_id)
        columns["event_type"].append(_text(event.get("eventType")) or "UNKNOWN")
        columns["session_id"].append(_text(event.get("sessionId")))
        columns["user_id"].append(_text(event.get("userId")))
        columns["product_id"].append(_text(event.get("productId")))
        columns["order_id"].append(_text(event.get("orderId")))
        columns["timestamp"].append(timestamp)
        columns["payload"].append(record.value.decode("utf-8", errors="replace"))
        columns["topic"].append(record.topic)
        columns["log_partition"].append(record.partition)
        columns["log_offset"].append(record.offset)
        columns["log_timestamp"].append(record.timestamp)
    return pa.table(columns, schema=ARROW_SCHEMA)


class PaimonSink:
    """Moves log records into the event store, one snapshot per batch, exactly once."""

    def __init__(
        self, store: IndexedStore, log_: EventLog, config: SinkConfig | None = None
    ) -> None:
        self.store = store
        self.log = log_
        self.config = config or SinkConfig()
        self.positions: dict[tuple[str, int], int] = {}
        self.events_stored = 0
        self.snapshots_committed = 0
        self.index_seconds = 0.0
        """Time spent writing the secondary index (part of each cycle, after the commit)."""

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Consume until `stop` is set (or forever), flushing a last batch on the way out."""
        stop = stop or asyncio.Event()
        self.positions = await asyncio.to_thread(self.store.events.committed_positions)
        async with self.log.consumer(self.config.topics, group=self.config.group) as consumer:
            if self.positions:
                await consumer.commit(self.positions)
            batch: list[Record] = []
            opened = time.monotonic()
            while not (stop.is_set() or consumer.closed):
                timeout = self._time_left(batch, opened)
                room = min(self.config.poll_records, self.config.max_events - len(batch))
                records = await consumer.poll(room, timeout=timeout)
                fresh = self._unseen(records)
                if fresh and not batch:
                    opened = time.monotonic()
                batch.extend(fresh)
                if self._due(batch, opened):
                    await self._flush(batch, consumer)
                    batch = []
            if batch:
                await self._flush(batch, consumer)

    async def drain(self) -> int:
        """Store everything the log holds now, then return the number of events stored."""
        stop = asyncio.Event()
        task = asyncio.create_task(self.run(stop))
        try:
            while not await self._caught_up():
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        finally:
            stop.set()
            await task
        return self.events_stored

    async def _caught_up(self) -> bool:
        for topic in self.config.topics:
            for partition, end in (await self.log.end_offsets(topic)).items():
                if self.positions.get((topic, partition), 0) < end:
                    return False
        return True

    def _time_left(self, batch: Sequence[Record], opened: float) -> float:
        if not batch:
            return self.config.max_delay_ms / 1000
        return max(0.0, opened + self.config.max_delay_ms / 1000 - time.monotonic())

    def _due(self, batch: Sequence[Record], opened: float) -> bool:
        if not batch:
            return False
        elapsed_ms = (time.monotonic() - opened) * 1000
        return len(batch) >= self.config.max_events or elapsed_ms >= self.config.max_delay_ms

    def _unseen(self, records: Sequence[Record]) -> list[Record]:
        """Drop redelivered records: those below the positions the store already holds."""
        fresh = []
        for record in records:
            if record.offset >= self.positions.get((record.topic, record.partition), 0):
                fresh.append(record)
        return fresh

    async def _flush(self, batch: Sequence[Record], consumer: Consumer) -> None:
        positions = dict(self.positions)
        for record in batch:
            key = (record.topic, record.partition)
            positions[key] = max(positions.get(key, 0), record.offset + 1)
        rows = records_to_rows(batch)
        messages = await asyncio.to_thread(self._write_files, rows)
        snapshot_id = await asyncio.to_thread(self._commit_snapshot, messages, positions)
        self.positions = positions
        await asyncio.to_thread(self._index_snapshot, snapshot_id, rows)
        self.events_stored += len(batch)
        self.snapshots_committed += 1
        await self._commit_log(consumer, positions)

    def _write_files(self, rows: pa.Table) -> list[Any]:
        return self.store.events.write(rows)

    def _commit_snapshot(
        self, messages: list[Any], positions: Mapping[tuple[str, int], int]
    ) -> int | None:
        return self.store.events.commit(messages, positions)

    def _index_snapshot(self, snapshot_id: int | None, rows: pa.Table) -> None:
        started = time.perf_counter()
        try:
            self.store.index_committed(snapshot_id, rows)
        except Exception:
            # the snapshot is durable and the index derived: whatever failed here (the index
            # file, or the table read of a catch-up) is repaired by the next catch-up, so it
            # must not fail the sink's cycle
            logger.exception("indexing snapshot %s failed", snapshot_id)
        finally:
            self.index_seconds += time.perf_counter() - started

    async def _commit_log(
        self, consumer: Consumer, positions: Mapping[tuple[str, int], int]
    ) -> None:
        await consumer.commit(positions)


FINAL_DRAIN_S = 30.0


async def run_sink(store: IndexedStore, event_log: EventLog, stop: asyncio.Event) -> None:
    """Keep the store's sink running until `stop`, then drain: a clean stop leaves the store
    caught up with the log, even one that came while the store was still loading, before the
    sink had run at all."""
    # a missing or stale index is rebuilt from Paimon in the background, not on the first query
    indexing = asyncio.create_task(asyncio.to_thread(store.sync_index))
    try:
        # a failed sink (event store down) restarts from the store's committed positions
        await supervise(
            lambda: PaimonSink(store, event_log, SinkConfig()).run(stop), stop, name=SINK_GROUP
        )
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                PaimonSink(store, event_log, SinkConfig()).drain(), FINAL_DRAIN_S
            )
    finally:
        await asyncio.gather(indexing, return_exceptions=True)
