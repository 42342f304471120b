"""What the embedded SQLite event log promises beyond the shared contract: its file layout,
group commit, durability across a killed process, and sharing the file between processes."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from kartshoppe.eventlog import sqlite as sqlite_log
from kartshoppe.eventlog.port import ALL_TOPICS, LogUnavailableError, Message, Record
from kartshoppe.eventlog.sqlite import WAL_BOUND, SqliteEventLog, bound_wal, second_writer
from kartshoppe.events import ProductView, Topic, encode_event
from tests.eventlog.log_support import drain

TOPIC = Topic.EVENTS.value
WRITER = pathlib.Path(__file__).with_name("log_writer_process.py")


@pytest.fixture
def db_path(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "nested" / "dir" / "events.db"


@pytest.fixture
async def log(db_path: pathlib.Path) -> AsyncIterator[SqliteEventLog]:
    async with SqliteEventLog(db_path) as log:
        yield log


class FileReads:
    """How many range queries the log's records table has had."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def file_reads(monkeypatch: pytest.MonkeyPatch) -> FileReads:
    reads = FileReads()
    query = sqlite_log._query_numbered

    def counted(
        conn: sqlite3.Connection, topic: str, start: int, limit: int
    ) -> list[sqlite_log.Numbered]:
        reads.count += 1
        return query(conn, topic, start, limit)

    monkeypatch.setattr(sqlite_log, "_query_numbered", counted)
    return reads


def start_writer(path: pathlib.Path, appends: int, batch: int, tasks: int) -> subprocess.Popen[str]:
    command = [sys.executable, str(WRITER), str(path), f"--appends={appends}"]
    command += [f"--batch={batch}", f"--tasks={tasks}"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


async def test_a_new_log_creates_its_directory_and_every_topic_with_one_empty_partition(
    log: SqliteEventLog, db_path: pathlib.Path
) -> None:
    assert db_path.is_file()
    for topic in ALL_TOPICS:
        assert await log.end_offsets(topic) == {0: 0}


async def test_the_file_is_in_wal_mode(log: SqliteEventLog, db_path: pathlib.Path) -> None:
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def wal_bytes(db_path: pathlib.Path) -> int:
    return db_path.with_name(db_path.name + "-wal").stat().st_size


async def test_an_append_never_checkpoints_the_wal_into_the_database_file(
    db_path: pathlib.Path,
) -> None:
    """SQLite's automatic checkpoint would copy the WAL into the file (and fsync it) inside the
    COMMIT that took the WAL past 1,000 pages: tens of milliseconds on that one write."""
    payload = b"x" * 2_000
    async with SqliteEventLog(db_path, checkpoint_poll_s=3600) as log:
        for _ in range(6):  # 3,000 pages and more
            await log.append([Message(TOPIC, "k", payload) for _ in range(1_000)])

        assert wal_bytes(db_path) > 10_000_000
        assert db_path.stat().st_size < 1_000_000


async def test_the_log_checkpoints_in_the_background_and_the_wal_stays_bounded(
    db_path: pathlib.Path,
) -> None:
    payload = b"x" * 2_000
    async with SqliteEventLog(db_path, checkpoint_poll_s=0.02, checkpoint_every_s=0.05) as log:
        for copied in range(1, 13):
            await log.append([Message(TOPIC, "k", payload) for _ in range(500)])
            # only a checkpoint writes records into the database file
            async with asyncio.timeout(30):
                while db_path.stat().st_size < copied * 1_000_000:
                    await asyncio.sleep(0.02)

        # 12 MB committed and in the file; a WAL never started over or emptied would hold all
        # of it; a bounded one holds at most its bound and the rounds (1 MB each) appended
        # before a checkpoint caught up
        assert db_path.stat().st_size > 12_000_000
        assert wal_bytes(db_path) < WAL_BOUND + 3_000_000
        assert [r.offset for r in await log.read(TOPIC, 5_999, 10)] == [5_999]


async def test_a_checkpoint_a_reader_held_back_is_finished_without_another_commit(
    db_path: pathlib.Path,
) -> None:
    payload = b"x" * 2_000
    every_s = 0.05
    async with SqliteEventLog(db_path, checkpoint_poll_s=0.01, checkpoint_every_s=every_s) as log:
        await log.append([Message(TOPIC, "k", payload) for _ in range(500)])
        with contextlib.closing(sqlite3.connect(db_path)) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM records").fetchone()  # a snapshot held open
            await log.append([Message(TOPIC, "k", payload) for _ in range(2_000)])
            # ten of the checkpointer's rounds: it copies what the reader lets it, not all
            await asyncio.sleep(10 * every_s)
            assert db_path.stat().st_size < 5_000_000
            reader.execute("COMMIT")

        # the last commit is long past: only a checkpointer that tries again copies the rest
        async with asyncio.timeout(10):
            while db_path.stat().st_size < 5_000_000:
                await asyncio.sleep(0.02)


async def test_a_wal_past_its_bound_is_emptied_once_its_readers_are_done(
    db_path: pathlib.Path,
) -> None:
    payload = b"x" * 2_000
    async with SqliteEventLog(db_path, checkpoint_poll_s=3600) as log:
        for _ in range(3):
            await log.append([Message(TOPIC, "k", payload) for _ in range(1_000)])
        assert wal_bytes(db_path) > WAL_BOUND
        with contextlib.closing(sqlite3.connect(db_path)) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM records").fetchone()  # a snapshot held open
            with second_writer(db_path) as (conn, turns):
                bound_wal(conn, turns)  # gives up after its wait: the reader still needs the WAL
                assert wal_bytes(db_path) > WAL_BOUND

                reader.execute("COMMIT")
                bound_wal(conn, turns)
                assert wal_bytes(db_path) == 0

        assert [r.offset for r in await log.read(TOPIC, 2_999, 10)] == [2_999]


async def test_append_to_an_unknown_topic_raises_a_value_error_naming_it(
    log: SqliteEventLog,
) -> None:
    with pytest.raises(ValueError, match="'orders_typo'"):
        await log.append([Message(TOPIC, None, b"{}"), Message("orders_typo", None, b"{}")])

    assert await log.end_offsets(TOPIC) == {0: 0}


async def test_end_offsets_and_read_refuse_an_unknown_topic(log: SqliteEventLog) -> None:
    with pytest.raises(ValueError, match="'nope'"):
        await log.end_offsets("nope")
    with pytest.raises(ValueError, match="'nope'"):
        await log.read("nope", 0, 10)


async def test_a_value_that_is_not_bytes_is_refused(log: SqliteEventLog) -> None:
    with pytest.raises(TypeError, match="bytes"):
        await log.append([Message(TOPIC, None, "text")])  # type: ignore[arg-type]


async def test_a_key_that_is_not_a_string_is_refused(log: SqliteEventLog) -> None:
    with pytest.raises(TypeError, match="key"):
        await log.append([Message(TOPIC, 42, b"{}")])  # type: ignore[arg-type]


async def test_concurrent_appends_share_transactions(log: SqliteEventLog) -> None:
    before = log.transaction_count

    results = await asyncio.gather(
        *(log.append([Message(TOPIC, None, str(i).encode())]) for i in range(500))
    )

    transactions = log.transaction_count - before
    assert sorted(r.offset for [r] in results) == list(range(500))
    assert 1 <= transactions <= 50, f"500 appends took {transactions} transactions"


async def test_a_transaction_holds_at_most_max_batch_messages_but_never_splits_an_append(
    db_path: pathlib.Path,
) -> None:
    async with SqliteEventLog(db_path, max_batch=10) as log:
        singles = asyncio.gather(*(log.append([Message(TOPIC, None, b"1")]) for _ in range(100)))
        big = log.append([Message(TOPIC, None, b"big")] * 25)
        _, stored = await asyncio.gather(singles, big)

        assert log.transaction_count >= 100 // 10 + 1
        offsets = [r.offset for r in stored]
        assert offsets == list(range(offsets[0], offsets[0] + 25))


async def test_read_returns_a_range_of_records_in_offset_order(log: SqliteEventLog) -> None:
    await log.append([Message(TOPIC, f"k{i}", str(i).encode()) for i in range(10)])

    records = await log.read(TOPIC, 3, 4)

    assert [(r.offset, r.key, r.value) for r in records] == [
        (i, f"k{i}", str(i).encode()) for i in range(3, 7)
    ]
    assert await log.read(TOPIC, 10, 5) == []


async def test_a_closed_log_refuses_appends_and_new_consumers(db_path: pathlib.Path) -> None:
    log = SqliteEventLog(db_path)
    await log.start()
    await log.close()

    with pytest.raises(LogUnavailableError):
        await log.append([Message(TOPIC, None, b"{}")])
    with pytest.raises(LogUnavailableError):
        log.consumer([TOPIC])


async def test_closing_the_log_ends_a_waiting_poll(log: SqliteEventLog) -> None:
    consumer = log.consumer([TOPIC])
    waiting = asyncio.create_task(consumer.poll(timeout=60))
    await asyncio.sleep(0.1)

    await log.close()

    assert await asyncio.wait_for(waiting, timeout=5) == []


async def test_an_idle_consumer_reads_the_file_once_a_second_and_wakes_at_a_commit(
    log: SqliteEventLog, file_reads: FileReads
) -> None:
    async with log.consumer([TOPIC]) as consumer:
        for _ in range(5):
            assert await consumer.poll(timeout=0.2) == []
        # a read every 50 ms would be 20 in that second
        assert file_reads.count <= 2

        waiting = asyncio.create_task(consumer.poll(timeout=30))
        await asyncio.sleep(0)
        await log.append([Message(TOPIC, None, b"{}")])
        assert [r.offset for r in await asyncio.wait_for(waiting, timeout=0.8)] == [0]


async def test_group_positions_are_kept_per_group(db_path: pathlib.Path) -> None:
    async with SqliteEventLog(db_path) as log:
        await log.append([Message(TOPIC, None, str(i).encode()) for i in range(5)])
        async with log.consumer([TOPIC], group="a") as a:
            await a.commit({(TOPIC, 0): 3})
        async with log.consumer([TOPIC], group="b") as b:
            await b.commit({(TOPIC, 0): 1})

    async with SqliteEventLog(db_path) as log:
        async with log.consumer([TOPIC], group="a") as a:
            assert [r.offset for r in await drain(a, 2)] == [3, 4]
        async with log.consumer([TOPIC], group="b") as b:
            assert [r.offset for r in await drain(b, 4)] == [1, 2, 3, 4]


async def test_a_consumer_sees_records_appended_by_another_process(
    log: SqliteEventLog, db_path: pathlib.Path
) -> None:
    async with log.consumer([TOPIC]) as consumer:
        assert await consumer.poll(timeout=0) == []
        writer = start_writer(db_path, appends=20, batch=1, tasks=1)
        try:
            records = await drain(consumer, 20, within_s=30)
        finally:
            await asyncio.to_thread(writer.communicate, timeout=30)

    assert writer.returncode == 0
    assert [r.offset for r in records] == list(range(20))


async def test_every_acknowledged_append_survives_the_writer_being_killed(
    db_path: pathlib.Path,
) -> None:
    batch = 3
    writer = start_writer(db_path, appends=1_000_000, batch=batch, tasks=8)
    assert writer.stdout is not None
    acknowledged: list[str] = []
    try:
        while len(acknowledged) < 600:
            line = await asyncio.to_thread(writer.stdout.readline)
            assert line, "the writer stopped before it was killed"
            acknowledged.append(line)
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        # Read through the same buffered stream as above: communicate() would skip its buffer.
        rest = await asyncio.to_thread(writer.stdout.read)
        await asyncio.to_thread(writer.wait, timeout=30)
    # Lines the writer finished printing before it died were acknowledged too.
    acknowledged += [line for line in rest.splitlines(keepends=True) if line.endswith("\n")]
    assert writer.returncode == -signal.SIGKILL

    async with SqliteEventLog(db_path) as log:
        end = (await log.end_offsets(TOPIC))[0]
        stored = {r.offset: r.value.decode() for r in await log.read(TOPIC, 0, end + 1)}

    promised = dict(line.split() for line in acknowledged)
    assert {int(o): v for o, v in promised.items()}.items() <= stored.items()
    assert sorted(stored) == list(range(end))
    # Each append is whole or absent, even the ones in flight when the process died.
    per_append = collections.Counter(value.split(":")[0] for value in stored.values())
    assert set(per_append.values()) == {batch}


async def test_closing_right_after_a_cancelled_poll_waits_for_the_read_in_flight(
    tmp_path: pathlib.Path,
) -> None:
    log = SqliteEventLog(tmp_path / "log.sqlite")
    await log.start()
    await log.append([Message(Topic.EVENTS, "k", b"{}") for _ in range(2000)])
    for _ in range(50):
        consumer = log.consumer([Topic.EVENTS])
        poll = asyncio.create_task(consumer.poll(max_records=2000, timeout=0.5))
        await asyncio.sleep(0)
        poll.cancel()
        await consumer.close()
        with contextlib.suppress(asyncio.CancelledError):
            await poll
    await log.close()


def product_view(n: int) -> ProductView:
    return ProductView(session_id="s1", product_id=f"p{n}")


async def test_a_caught_up_consumer_is_handed_this_process_s_appends_in_order_with_their_events(
    log: SqliteEventLog, file_reads: FileReads
) -> None:
    topics = [Topic.EVENTS.value, Topic.FANOUT.value]
    async with log.consumer(topics) as consumer:
        assert await consumer.poll(timeout=0) == []
        reads_when_caught_up = file_reads.count
        views = [product_view(n) for n in range(10)]
        appended = await log.append(
            [Message(topics[n % 2], None, encode_event(v), v) for n, v in enumerate(views)]
        )

        handed = await consumer.poll(timeout=0)

    assert file_reads.count == reads_when_caught_up
    assert handed == appended
    assert [r.event for r in handed] == views


async def test_concurrent_appends_reach_a_polling_consumer_once_each_in_offset_order(
    log: SqliteEventLog,
) -> None:
    topics = [Topic.EVENTS.value, Topic.FANOUT.value]
    received: list[Record] = []

    def size(n: int) -> int:
        return 1 + n % 3

    async def append(n: int) -> list[Record]:
        return await log.append(
            [Message(topics[(n + i) % 2], None, b"%d" % n) for i in range(size(n))]
        )

    async with log.consumer(topics) as consumer:

        async def consume() -> None:
            while len(received) < total:
                # a small batch leaves the consumer behind now and then: it reads the file, then
                # takes what is handed again
                received.extend(await consumer.poll(max_records=7, timeout=5))

        total = sum(map(size, range(200)))
        consuming = asyncio.create_task(consume())
        appends = await asyncio.gather(*map(append, range(200)))
        appended = [r for records in appends for r in records]
        await asyncio.wait_for(consuming, timeout=30)

    for topic in topics:
        mine = [(r.offset, r.value) for r in received if r.topic == topic]
        stored = sorted((r.offset, r.value) for r in appended if r.topic == topic)
        assert mine == stored
        assert [offset for offset, _ in mine] == list(range(len(mine)))


async def test_a_commit_of_another_writer_in_between_is_read_from_the_file_at_once(
    db_path: pathlib.Path,
) -> None:
    async with (
        SqliteEventLog(db_path) as log,
        SqliteEventLog(db_path) as other,
        log.consumer([Topic.EVENTS.value, Topic.FANOUT.value]) as consumer,
    ):
        assert await consumer.poll(timeout=0) == []
        await other.append([Message(Topic.FANOUT, None, b"other")])
        await log.append([Message(Topic.EVENTS, None, b"own")])

        # no waiting for the watcher or the fallback read: the writer saw the other's offsets
        first = await consumer.poll(timeout=0)
        second = await consumer.poll(timeout=0)

    assert sorted((r.topic, r.value) for r in first + second) == [
        (Topic.EVENTS.value, b"own"),
        (Topic.FANOUT.value, b"other"),
    ]


@pytest.fixture
def only_asked_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other processes' commits are read only when a look is asked for (`look_again`): the
    watcher's and the fallback reads out of the way."""
    monkeypatch.setattr(sqlite_log, "FOREIGN_WRITE_POLL_S", 600.0)
    monkeypatch.setattr(sqlite_log, "FALLBACK_READ_S", 600.0)


@pytest.mark.usefixtures("only_asked_looks")
async def test_another_process_s_commit_is_read_once_for_all_the_consumers_of_a_process(
    db_path: pathlib.Path, file_reads: FileReads
) -> None:
    async with (
        SqliteEventLog(db_path) as log,
        SqliteEventLog(db_path) as other,
        contextlib.AsyncExitStack() as stack,
    ):
        consumers = [await stack.enter_async_context(log.consumer([TOPIC])) for _ in range(5)]
        for consumer in consumers:
            assert await consumer.poll(timeout=0) == []
        file_reads.count = 0
        await other.append([Message(TOPIC, None, b"%d" % n) for n in range(3)])

        log.look_again()
        received = await asyncio.gather(*(drain(c, 3, within_s=5) for c in consumers))

    assert file_reads.count == 1
    for records in received:
        assert [(r.offset, r.value) for r in records] == [(0, b"0"), (1, b"1"), (2, b"2")]


WRITTEN = [
    (Topic.PRODUCT_UPDATES.value, b"wished-for product launched"),
    (Topic.EVENTS.value, b"wish"),
    (Topic.PRODUCT_UPDATES.value, b"price drop"),
]
"""Three appends to two topics, in this order."""


async def append_one_by_one(log: SqliteEventLog) -> None:
    for topic, value in WRITTEN:
        await log.append([Message(topic, None, value)])


@pytest.mark.usefixtures("only_asked_looks")
async def test_a_consumer_of_two_topics_gets_another_process_s_records_in_append_order(
    db_path: pathlib.Path,
) -> None:
    async with (
        SqliteEventLog(db_path) as log,
        SqliteEventLog(db_path) as other,
        log.consumer([Topic.EVENTS.value, Topic.PRODUCT_UPDATES.value]) as consumer,
    ):
        assert await consumer.poll(timeout=0) == []
        await append_one_by_one(other)

        log.look_again()
        received = await drain(consumer, 3, within_s=5)

    assert [(r.topic, r.value) for r in received] == WRITTEN


@pytest.mark.parametrize("batch", [1, 2, 500])
async def test_a_consumer_of_two_topics_reading_the_file_gets_them_in_append_order(
    db_path: pathlib.Path, batch: int
) -> None:
    """Also while it catches up on more than one poll's worth, a batch at a time."""
    async with SqliteEventLog(db_path) as log:
        await append_one_by_one(log)
        async with log.consumer([Topic.EVENTS.value, Topic.PRODUCT_UPDATES.value]) as consumer:
            received: list[Record] = []
            while records := await consumer.poll(max_records=batch, timeout=0):
                received += records

    assert [(r.topic, r.value) for r in received] == WRITTEN


async def test_a_consumer_that_refused_a_shared_read_s_records_reads_the_file_itself(
    db_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_log, "HANDED_LIMIT", 2)
    async with (
        SqliteEventLog(db_path) as log,
        SqliteEventLog(db_path) as other,
        log.consumer([TOPIC]) as reading,
        log.consumer([TOPIC]) as idle,
    ):
        assert await reading.poll(timeout=0) == []
        assert await idle.poll(timeout=0) == []
        await other.append([Message(TOPIC, None, b"0"), Message(TOPIC, None, b"1")])
        log.look_again()
        assert [r.offset for r in await drain(reading, 2, within_s=5)] == [0, 1]
        # the idle one holds two handed records: the third is past its limit, it refuses it
        await other.append([Message(TOPIC, None, b"2")])
        log.look_again()
        assert [r.offset for r in await drain(reading, 1, within_s=5)] == [2]

        assert [r.value for r in await drain(idle, 3, within_s=5)] == [b"0", b"1", b"2"]


async def test_records_another_process_removed_before_the_shared_read_are_passed_over(
    db_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no fallback read to make up for a shared read that found a gap and handed nothing
    monkeypatch.setattr(sqlite_log, "FALLBACK_READ_S", 600.0)
    async with (
        SqliteEventLog(db_path) as log,
        SqliteEventLog(db_path) as other,
        log.consumer([TOPIC]) as consumer,
    ):
        assert await consumer.poll(timeout=0) == []
        await other.append([Message(TOPIC, None, b"%d" % n) for n in range(5)])
        # retention moved the log start before this process looked
        await other.delete_before(TOPIC, {0: 3})
        log.look_again()

        records = await asyncio.wait_for(drain(consumer, 2, within_s=5), timeout=10)
        assert [r.offset for r in records] == [3, 4]

        await other.append([Message(TOPIC, None, b"5")])
        log.look_again()
        assert [r.offset for r in await drain(consumer, 1, within_s=5)] == [5]
