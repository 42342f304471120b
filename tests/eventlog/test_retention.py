"""Retention of the embedded log: what every group and the sink have passed, once old enough,
leaves the file; compacted topics keep their latest record per key."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import sqlite3
from collections.abc import AsyncIterator

import pytest

from kartshoppe.eventlog.port import Message, Record
from kartshoppe.eventlog.retention import GROUP_EXPIRY_MS, LogRetention, RetentionPolicy
from kartshoppe.eventlog.sqlite import SqliteEventLog, WritersTurns, checkpoint
from kartshoppe.events import Topic

EVENTS = Topic.EVENTS.value
PRODUCTS = Topic.PRODUCT_UPDATES.value
DLQ = Topic.DLQ.value
HOUR_MS = 3_600_000
SINK = "paimon-sink"


class Clock:
    """Epoch milliseconds that a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def log(tmp_path: pathlib.Path, clock: Clock) -> AsyncIterator[SqliteEventLog]:
    async with SqliteEventLog(tmp_path / "log.sqlite", clock=clock) as opened:
        yield opened


def retention(log: SqliteEventLog, hours: int = 1) -> LogRetention:
    return LogRetention(log, RetentionPolicy(hours * HOUR_MS, {EVENTS: SINK, PRODUCTS: SINK}))


async def append(log: SqliteEventLog, topic: str, count: int, key: str = "k") -> list[Record]:
    return await log.append([Message(topic, key, b'{"n":1}') for _ in range(count)])


async def commit(log: SqliteEventLog, group: str, topic: str, offset: int) -> None:
    async with log.consumer([topic], group=group) as consumer:
        await consumer.commit({(topic, 0): offset})


async def offsets(log: SqliteEventLog, topic: str) -> list[int]:
    return [r.offset for r in await log.read(topic, 0, 100_000)]


async def test_old_records_every_group_and_the_sink_passed_are_removed(
    log: SqliteEventLog, clock: Clock
) -> None:
    await append(log, EVENTS, 10)
    clock.now += 2 * HOUR_MS
    await append(log, EVENTS, 5)
    await commit(log, SINK, EVENTS, 15)
    await commit(log, "views", EVENTS, 15)

    swept = retention(log).sweep()

    assert swept.deleted == 10
    assert await offsets(log, EVENTS) == list(range(10, 15))
    assert await log.start_offsets(EVENTS) == {0: 10}


async def test_a_record_some_group_has_not_passed_stays_however_old(
    log: SqliteEventLog, clock: Clock
) -> None:
    await append(log, EVENTS, 10)
    await commit(log, SINK, EVENTS, 10)
    await commit(log, "slow-processor", EVENTS, 4)
    clock.now += 2 * HOUR_MS

    retention(log).sweep()

    assert await offsets(log, EVENTS) == list(range(4, 10))


async def test_a_stored_topic_keeps_everything_the_sink_has_not_passed(
    log: SqliteEventLog, clock: Clock
) -> None:
    await append(log, EVENTS, 10)
    await commit(log, "views", EVENTS, 10)
    clock.now += 2 * HOUR_MS

    retention(log).sweep()
    assert await offsets(log, EVENTS) == list(range(10))

    await commit(log, SINK, EVENTS, 7)
    retention(log).sweep()
    assert await offsets(log, EVENTS) == [7, 8, 9]


async def test_a_topic_the_store_does_not_keep_needs_no_sink(
    log: SqliteEventLog, clock: Clock
) -> None:
    await append(log, DLQ, 3)
    clock.now += 2 * HOUR_MS

    retention(log).sweep()

    assert await offsets(log, DLQ) == []


async def test_young_records_stay_even_when_everyone_has_passed_them(
    log: SqliteEventLog, clock: Clock
) -> None:
    await append(log, EVENTS, 10)
    await commit(log, SINK, EVENTS, 10)
    clock.now += HOUR_MS // 2

    assert retention(log).sweep().deleted == 0
    assert len(await offsets(log, EVENTS)) == 10


async def test_a_group_that_stopped_committing_no_longer_holds_the_log_back(
    log: SqliteEventLog, clock: Clock
) -> None:
    await append(log, EVENTS, 10)
    await commit(log, "gone-processor", EVENTS, 2)
    clock.now += GROUP_EXPIRY_MS + HOUR_MS
    await commit(log, SINK, EVENTS, 10)

    retention(log).sweep()

    assert await offsets(log, EVENTS) == []


async def test_a_compacted_topic_keeps_the_latest_record_of_every_key_however_old(
    log: SqliteEventLog, clock: Clock
) -> None:
    for _ in range(3):
        for key in ("p1", "p2", "p3"):
            await append(log, PRODUCTS, 1, key=key)
    await commit(log, SINK, PRODUCTS, 9)
    clock.now += 2 * HOUR_MS

    swept = retention(log).sweep()

    kept = await log.read(PRODUCTS, 0, 100)
    assert swept.compacted == 6
    assert sorted((r.key, r.offset) for r in kept) == [("p1", 6), ("p2", 7), ("p3", 8)]
    assert await log.start_offsets(PRODUCTS) == {0: 0}


async def test_a_new_consumer_reads_on_from_the_log_start_after_a_sweep(
    log: SqliteEventLog, clock: Clock
) -> None:
    await append(log, EVENTS, 6)
    await commit(log, SINK, EVENTS, 4)
    clock.now += 2 * HOUR_MS
    retention(log).sweep()

    async with log.consumer([EVENTS], group="newcomer") as consumer:
        records = await consumer.poll(timeout=0.5)

    assert [r.offset for r in records] == [4, 5]


async def test_the_file_gives_freed_space_back(log: SqliteEventLog, clock: Clock) -> None:
    payload = b"x" * 2_000
    for _ in range(20):
        await log.append([Message(EVENTS, "k", payload) for _ in range(500)])
    await commit(log, SINK, EVENTS, 10_000)
    clock.now += 2 * HOUR_MS
    await log.append([Message(EVENTS, "k", payload)])
    with contextlib.closing(sqlite3.connect(log.path)) as conn:
        turns = WritersTurns(log.path)
        checkpoint(conn, turns)  # what the log's checkpointer does in the background
        turns.close()
    full = log.path.stat().st_size

    swept = retention(log).sweep()

    assert swept.pages_freed > 0
    assert log.path.stat().st_size < full / 4


async def test_appends_go_on_while_retention_sweeps(log: SqliteEventLog, clock: Clock) -> None:
    for _ in range(40):
        await append(log, EVENTS, 500)
    await commit(log, SINK, EVENTS, 20_000)
    clock.now += 2 * HOUR_MS
    sweeper = retention(log)

    sweeping = asyncio.create_task(asyncio.to_thread(sweeper.sweep))
    appended = 0
    while not sweeping.done():
        await append(log, EVENTS, 1)
        appended += 1
    swept = await sweeping

    assert swept.deleted == 20_000
    assert appended > 0
    assert len(await offsets(log, EVENTS)) == appended


async def test_a_sweep_waits_its_turn_while_another_process_writes(
    log: SqliteEventLog, clock: Clock
) -> None:
    await append(log, EVENTS, 10)
    await commit(log, SINK, EVENTS, 10)
    clock.now += 2 * HOUR_MS
    other_writer = WritersTurns(log.path)
    try:
        with other_writer.turn():
            sweeping = asyncio.create_task(asyncio.to_thread(retention(log).sweep))
            await asyncio.wait({sweeping}, timeout=0.3)
            assert not sweeping.done()
            assert await offsets(log, EVENTS) == list(range(10))
        swept = await sweeping
    finally:
        other_writer.close()

    assert swept.deleted == 10
    assert await offsets(log, EVENTS) == []
