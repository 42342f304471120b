"""The embedded event-log adapter: one SQLite file in WAL mode, one partition a topic.

Durability comes from `synchronous=FULL`: every COMMIT fsyncs the WAL, so a record is on disk
when `append` returns. Throughput comes from group commit: one writer thread owns the only
write connection and folds every request waiting in its queue (up to `max_batch` messages) into
a single transaction, so an fsync is shared by many concurrent appends. Readers use their own
connections, which WAL lets run beside the writer.

The records a COMMIT of this process stored are handed, on the event loop, straight to this
process's consumers (`SqliteConsumer`), first created first, with the events they encode: a
consumer that had read everything before them gets them in memory, with no query, no thread
and no decoding, in the order the log stored them. A commit by another process is noticed by
one watcher per log that looks at the WAL file's size and time (a stat, no query, no thread), and
by the writer when the offsets it reads in its next transaction are not the ones it left;
either wakes the consumers. The log then reads the new records once, for all its consumers
(`SqliteEventLog._read_shared`), and hands them over the same way: seven consumers of one
process (the processors') make one query a topic, not one each. A consumer that still has a
gap (behind, or refused records while reading) reads the file itself, as it would without the
hand-off.

No writer checkpoints the WAL (`wal_autocheckpoint=0`): SQLite's automatic checkpoint runs in
the COMMIT that takes the WAL past 1,000 pages, copying them into the database file and
fsyncing it while that writer holds the writers' turn, 10 to 20 ms on that write and on every
write of another process waiting for the turn (about one add to cart in a hundred). Each log
runs its checkpoints in a thread of its own instead (`Checkpointer`), PASSIVE ones, which
neither block a writer nor wait for one; a commit stays durable as before (the WAL is fsynced
in it).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import functools
import heapq
import logging
import operator
import os
import pathlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from kartshoppe.eventlog.port import (
    ALL_TOPICS,
    COMPACTED_TOPICS,
    Consumer,
    EventLog,
    LogUnavailableError,
    Message,
    Positions,
    Record,
    TopicPartition,
    check_message,
    check_topic,
)

PARTITION: Final = 0
"""The only partition of every topic: one file gives one total order per topic anyway."""

FOREIGN_WRITE_POLL_S: Final = 0.05
"""How often the log's watcher looks at its files for a commit by another process."""

FALLBACK_READ_S: Final = 1.0
"""A waiting consumer reads at least this often anyway: a foreign commit the files' stat cannot
tell from the one before (same size, same coarse modification time) is found by then."""

BUSY_TIMEOUT_S: Final = 10.0

HANDED_LIMIT: Final = 10_000
"""Most records a consumer holds handed to it and not yet polled; past it, it reads the file."""

SHARED_READ_LIMIT: Final = 1_000
"""Records per topic and query of the log's shared read of other processes' commits."""

CHECKPOINT_POLL_S: Final = 0.1
"""How often a log's checkpointer looks whether the WAL changed."""

CHECKPOINT_EVERY_S: Final = 1.0
"""The least time between two checkpoints of one log's checkpointer while commits go on; the
last commits are copied this long after the one before."""

logger = logging.getLogger(__name__)


def _key_index(topic: str) -> str:
    """The index of a compacted topic's records by key, for compaction's "superseded" test."""
    return f"records_by_key_{topic}"


_SCHEMA: Final = (
    """
CREATE TABLE IF NOT EXISTS partitions (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
)""",
    """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    "offset" INTEGER NOT NULL,
    key TEXT,
    value BLOB NOT NULL,
    timestamp INTEGER NOT NULL,
    UNIQUE (topic, partition, "offset")
)""",
    """
CREATE TABLE IF NOT EXISTS log_starts (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    start_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
)""",
    *(
        f"CREATE INDEX IF NOT EXISTS {_key_index(topic)} "
        f"ON records (partition, key, \"offset\") WHERE topic = '{topic}'"
        for topic in sorted(COMPACTED_TOPICS)
    ),
    """
CREATE TABLE IF NOT EXISTS group_commits (
    group_id TEXT PRIMARY KEY,
    committed_at INTEGER NOT NULL
)""",
    """
CREATE TABLE IF NOT EXISTS group_offsets (
    group_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
)""",
)

_SELECT_RANGE: Final = (
    'SELECT "offset", key, value, timestamp, id FROM records WHERE topic = ?1 AND partition = ?2 '
    'AND "offset" >= MAX(?3, (SELECT start_offset FROM log_starts WHERE topic = ?1 AND '
    'partition = ?2)) ORDER BY "offset" LIMIT ?4'
)
"""Records from an offset on, never below the log start: a consumer behind it reads on from
there (Kafka's `auto.offset.reset=earliest`), also while retention is still deleting."""

JOURNAL_SIZE_LIMIT: Final = 4 * 1024 * 1024
"""What the WAL file is cut back to when a write starts it over, so it cannot stay at its peak
size."""

WAL_BOUND: Final = 4 * 1024 * 1024
"""The largest WAL file a checkpoint leaves: past it, `bound_wal` empties the WAL."""

EMPTY_WAL_WAIT_MS: Final = 200
"""How long `bound_wal` waits for the readers of the WAL before it leaves it for the next try."""

DELETE_BATCH: Final = 2_000
"""Records removed per retention transaction: the write lock is held for milliseconds only."""


@dataclass(slots=True)
class _Append:
    messages: Sequence[Message]
    future: asyncio.Future[list[Record]]
    loop: asyncio.AbstractEventLoop


@dataclass(slots=True)
class _Commit:
    group: str
    positions: dict[TopicPartition, int]
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


_Request = _Append | _Commit


class _Stop:
    """Queued by `close`: commit what came before, then end the writer thread."""


@dataclass(frozen=True, slots=True)
class _Committed:
    """What one transaction did: each request's outcome, the records it stored in log order,
    and whether another process had written since this writer's previous transaction."""

    outcomes: list[list[Record] | None]
    records: list[Record]
    foreign: bool


OnCommit = Callable[[list["_Request"], _Committed], None]


T = TypeVar("T")


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _size(request: _Request) -> int:
    return len(request.messages) if isinstance(request, _Append) else 1


def _connect(path: pathlib.Path, *, read_only: bool) -> sqlite3.Connection:
    # isolation_level=None: autocommit, so readers never pin an old snapshot and the writer
    # states its own BEGIN IMMEDIATE.
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    if read_only:
        conn.execute("PRAGMA query_only=1")
    else:
        # Only takes effect on a new file (before its first table): deleted pages then go back
        # to the file system by `incremental_vacuum`; an older file reuses them for new records.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the `Checkpointer`'s work, off the writes
    return conn


def checkpoint(conn: sqlite3.Connection, turns: WritersTurns) -> bool:
    """Copy the WAL's committed pages into the database file, as far as no reader still needs
    the older ones, and fsync it (PASSIVE: no writer waits for it, it waits for none); whether
    it copied them all. Once everything is copied, the next write starts the WAL over from its
    beginning (cut back to `JOURNAL_SIZE_LIMIT`), and pages an `incremental_vacuum` freed leave
    the file."""
    with turns.checkpoints():
        [(_, frames, copied)] = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return bool(frames == copied)


def bound_wal(conn: sqlite3.Connection, turns: WritersTurns) -> None:
    """Empty the WAL if it is larger than `WAL_BOUND`.

    After a checkpoint copied all of it, the next write starts the WAL over only if no reader
    still reads from it; with readers always at work (a busy server's consumers) it never does,
    and the file keeps its largest size. A TRUNCATE checkpoint waits for those readers (at most
    `EMPTY_WAL_WAIT_MS`) and cuts the file to nothing. It holds the writers' turn meanwhile, so
    the writers queue on the turn rather than in SQLite's sleeping busy handler."""
    if wal_stamp(turns.log_path)[0] <= WAL_BOUND:
        return
    with turns.checkpoints(), turns.turn():
        conn.execute(f"PRAGMA busy_timeout={EMPTY_WAL_WAIT_MS}")
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")


def data_version(conn: sqlite3.Connection) -> int:
    """A number that changes whenever another connection (of any process) commits. Not the
    WAL's size and modification time: a WAL started over from its beginning keeps its size,
    and a commit within the file system's timestamp tick (several ms) of the last look keeps
    its time too, so the checkpointer missed it, and a quiet log's last commit stayed in the
    WAL (a CI rehearsal: the background-checkpoint test waited 30 s for it)."""
    [(version,)] = conn.execute("PRAGMA data_version").fetchall()
    return int(version)


def wal_stamp(path: pathlib.Path) -> tuple[int, int]:
    """Size and modification time of the log's WAL, which every commit writes; (-1, -1) when
    there is none. Taken with `stat`, never by opening the WAL index (`-shm`): closing any
    descriptor of that file drops every POSIX lock this process holds on it, SQLite's
    included, and another process may then truncate the index under this one's mapping
    (SIGBUS)."""
    try:
        st = os.stat(path.with_name(path.name + "-wal"))
    except FileNotFoundError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


class Checkpointer:
    """A thread with a connection of its own that checkpoints the log (see the module) when
    the WAL has changed since its last checkpoint, at most once every `every_s`: while
    commits go on, about once a second; after the last, once more. Every process's log runs
    one: a checkpoint finds what another one copied already and copies only what is left."""

    def __init__(self, path: pathlib.Path, poll_s: float, every_s: float) -> None:
        self._path = path
        self._poll_s = poll_s
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="sqlite-log-checkpoints", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Blocking (call off the loop): a checkpoint under way finishes first."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = _connect(self._path, read_only=True)
        turns = WritersTurns(self._path)
        copied = data_version(conn)
        last = time.monotonic()
        try:
            while not self._stop.wait(self._poll_s):
                stamp = data_version(conn)
                if stamp == copied or time.monotonic() - last < self._every_s:
                    continue
                try:
                    complete = checkpoint(conn, turns)
                    bound_wal(conn, turns)
                except sqlite3.Error:  # the next round tries again; the WAL only grows meanwhile
                    logger.warning("checkpoint of %s failed", self._path, exc_info=True)
                    continue
                last = time.monotonic()
                if complete:  # else a reader held pages back: tried again with no new commit
                    copied = stamp
        finally:
            turns.close()
            conn.close()


def writers_lock_path(path: pathlib.Path) -> pathlib.Path:
    return path.with_name(path.name + "-writers.lock")


def checkpoints_lock_path(path: pathlib.Path) -> pathlib.Path:
    return path.with_name(path.name + "-checkpoints.lock")


class WritersTurns:
    """The lock file the log's writers of every process take turns on, each woken by the
    kernel the moment the one before it is done. Without it, a writer that finds another
    process's transaction open waits in SQLite's busy handler, which sleeps 1, 2, 5, 10,
    15 ... ms between tries: with the processors appending from their own process, that put
    tens of milliseconds on the server's writes."""

    def __init__(self, path: pathlib.Path) -> None:
        self.log_path = path
        self._file = writers_lock_path(path).open("ab")

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        fcntl.flock(self._file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._file, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def checkpoints(self) -> Iterator[None]:
        """The turn of the log's checkpoints, in every process. SQLite runs one checkpoint at
        a time and answers another with SQLITE_BUSY at once, without waiting: `bound_wal`'s
        would then not empty the WAL. Each waits here instead, woken by the kernel."""
        with checkpoints_lock_path(self.log_path).open("ab") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            yield  # closing the file gives the turn back

    def close(self) -> None:
        self._file.close()


@contextlib.contextmanager
def second_writer(path: pathlib.Path) -> Iterator[tuple[sqlite3.Connection, WritersTurns]]:
    """A second write connection (retention's, `delete_before`'s) and the turns each of its
    transactions takes beside the writer's."""
    conn = _connect(path, read_only=False)
    turns = WritersTurns(path)
    try:
        yield conn, turns
    finally:
        turns.close()
        conn.close()


Numbered = tuple[int, Record]
"""A record with its row id: the order of all appends, across topics."""


def _query_numbered(
    conn: sqlite3.Connection, topic: str, from_offset: int, limit: int
) -> list[Numbered]:
    rows = conn.execute(_SELECT_RANGE, (topic, PARTITION, from_offset, limit)).fetchall()
    return [
        (row_id, Record(topic, PARTITION, off, key, value, ts))
        for off, key, value, ts, row_id in rows
    ]


def _query_range(
    conn: sqlite3.Connection, topic: str, from_offset: int, limit: int
) -> list[Record]:
    return [record for _, record in _query_numbered(conn, topic, from_offset, limit)]


def in_append_order(reads: Sequence[list[Numbered]], limit: int) -> list[Record]:
    """The records of several topics' reads (each of at most `limit` from its start on) in the
    order they were appended, as the records of this process's commits are handed over: a
    consumer of several topics (the wishlist alerts read a wish and a price change from two)
    sees them in the order they were written, also while it catches up. A read that came back
    full may have more behind it, so what was appended after its last record is left for the
    next read: the order has no hole."""
    cut = min((read[-1][0] for read in reads if len(read) >= limit), default=None)
    merged = heapq.merge(*reads, key=operator.itemgetter(0))
    return [record for row_id, record in merged if cut is None or row_id <= cut]


def _query_new(conn: sqlite3.Connection, starts: Mapping[str, int]) -> list[Record]:
    """Up to `SHARED_READ_LIMIT` records of each topic from its start on, in append order."""
    reads = [_query_numbered(conn, t, o, SHARED_READ_LIMIT) for t, o in starts.items()]
    return in_append_order(reads, SHARED_READ_LIMIT)


def _starts(conn: sqlite3.Connection, topic: str) -> dict[int, int]:
    rows = conn.execute(
        "SELECT partition, start_offset FROM log_starts WHERE topic = ?", (topic,)
    ).fetchall()
    return dict(rows)


def move_start(conn: sqlite3.Connection, turns: WritersTurns, topic: str, offset: int) -> int:
    """Move `topic`'s log start up to `offset` (never back, never past the end); the new start.
    Consumers skip to it at once; the records below it are deleted afterwards in batches."""
    with turns.turn():
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "UPDATE log_starts SET start_offset = MAX(start_offset, MIN(?3, "
                "(SELECT next_offset FROM partitions WHERE topic = ?1 AND partition = ?2))) "
                "WHERE topic = ?1 AND partition = ?2",
                (topic, PARTITION, offset),
            )
            start: int = _starts(conn, topic)[PARTITION]
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise
    return start


def delete_below_start(conn: sqlite3.Connection, turns: WritersTurns, topic: str) -> int:
    """Delete the records below `topic`'s log start, `DELETE_BATCH` a transaction; how many."""
    deleted = 0
    while True:
        with turns.turn():
            cursor = conn.execute(
                "DELETE FROM records WHERE id IN (SELECT id FROM records WHERE topic = ?1 AND "
                'partition = ?2 AND "offset" < (SELECT start_offset FROM log_starts WHERE '
                'topic = ?1 AND partition = ?2) ORDER BY "offset" LIMIT ?3)',
                (topic, PARTITION, DELETE_BATCH),
            )
        deleted += cursor.rowcount
        checkpoint(conn, turns)  # outside the writers' turn: see `compact`
        if cursor.rowcount < DELETE_BATCH:
            return deleted


def compact(
    conn: sqlite3.Connection, turns: WritersTurns, topic: str, below: int, older_than_ms: int
) -> int:
    """Delete `topic`'s records below offset `below`, appended before `older_than_ms`, that a
    later record of the same key supersedes (Kafka's log compaction); how many."""
    if topic not in COMPACTED_TOPICS:  # also makes the literal below safe
        raise ValueError(f"{topic} is not a compacted topic")
    deleted = 0
    while True:
        # the topic as a literal: a partial index needs one to be usable
        with turns.turn():
            cursor = conn.execute(
                "DELETE FROM records WHERE id IN (SELECT r.id FROM records r "
                f"WHERE r.topic = '{topic}' AND r.partition = ?1 "
                'AND r."offset" < ?2 AND r.timestamp < ?3 AND r.key IS NOT NULL '
                f"AND EXISTS (SELECT 1 FROM records n INDEXED BY {_key_index(topic)} "
                f"WHERE n.topic = '{topic}' AND n.partition = ?1 "
                'AND n.key = r.key AND n."offset" > r."offset") LIMIT ?4)',
                (PARTITION, below, older_than_ms, DELETE_BATCH),
            )
        deleted += cursor.rowcount
        # a batch's pages copied into the file at once, outside the writers' turn: left to the
        # log's checkpointer, a sweep's thousands of pages would keep the WAL from starting
        # over while the appends go on, and it would stay at that size
        checkpoint(conn, turns)
        if cursor.rowcount < DELETE_BATCH:
            return deleted


class _Writer:
    """The thread that owns the write connection and commits requests in groups."""

    def __init__(
        self,
        path: pathlib.Path,
        max_batch: int,
        on_commit: OnCommit,
        clock: Callable[[], int],
    ) -> None:
        self._path = path
        self._clock = clock
        self._max_batch = max_batch
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Request | _Stop] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sqlite-log-writer", daemon=True)
        self.transactions = 0
        self._turns: WritersTurns | None = None
        self._left: dict[str, int] = {}
        """Next offset per topic as this writer's last transaction left them."""

    def start(self) -> None:
        """Open the database and create the schema; blocks until done (call off the loop)."""
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise LogUnavailableError(f"cannot open {self._path}") from self._startup_error

    def submit(self, request: _Request) -> None:
        self._queue.put(request)

    def stop(self) -> None:
        """Commit what is queued, then close; blocks until done (call off the loop)."""
        self._queue.put(_Stop())
        self._thread.join()

    def _run(self) -> None:
        try:
            conn = self._open()
        except BaseException as exc:  # reported to start(), which raises it on the loop
            if self._turns is not None:
                self._turns.close()
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._serve(conn)
        finally:
            conn.close()
            if self._turns is not None:
                self._turns.close()

    def _open(self) -> sqlite3.Connection:
        self._turns = WritersTurns(self._path)
        conn = _connect(self._path, read_only=False)
        conn.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            conn.execute(statement)
        for table, column in (("partitions", "next_offset"), ("log_starts", "start_offset")):
            conn.executemany(
                f"INSERT OR IGNORE INTO {table} (topic, partition, {column}) VALUES (?, ?, 0)",
                [(topic, PARTITION) for topic in ALL_TOPICS],
            )
        self._left = self._next_offsets(conn)
        conn.execute("COMMIT")
        return conn

    @staticmethod
    def _next_offsets(conn: sqlite3.Connection) -> dict[str, int]:
        return dict(
            conn.execute(
                "SELECT topic, next_offset FROM partitions WHERE partition = ?", (PARTITION,)
            )
        )

    def _serve(self, conn: sqlite3.Connection) -> None:
        carried: _Request | _Stop | None = None
        while True:
            first = carried if carried is not None else self._queue.get()
            carried = None
            if isinstance(first, _Stop):
                return
            batch: list[_Request] = [first]
            size = _size(first)
            while size < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                # A request that would overflow the batch (or the stop marker) opens the next
                # round, so every append stays whole inside one transaction.
                if isinstance(item, _Stop) or size + _size(item) > self._max_batch:
                    carried = item
                    break
                batch.append(item)
                size += _size(item)
            self._commit_batch(conn, batch)

    def _commit_batch(self, conn: sqlite3.Connection, batch: list[_Request]) -> None:
        try:
            assert self._turns is not None
            with self._turns.turn():
                committed = self._write_or_roll_back(conn, batch)
        except Exception as exc:  # any failure must reach the waiting callers, not kill the thread
            error = LogUnavailableError(f"write to {self._path} failed: {exc}")
            _settle(batch, [error] * len(batch))
            return
        self.transactions += 1
        self._on_commit(batch, committed)

    def _write_or_roll_back(self, conn: sqlite3.Connection, batch: list[_Request]) -> _Committed:
        try:
            return self._write(conn, batch)
        except Exception:
            if conn.in_transaction:
                conn.rollback()
            raise

    def _write(self, conn: sqlite3.Connection, batch: list[_Request]) -> _Committed:
        conn.execute("BEGIN IMMEDIATE")
        # Read next offsets inside the write lock so writers in other processes stay dense too.
        next_offsets = self._next_offsets(conn)
        foreign = next_offsets != self._left
        now = self._clock()
        rows: list[tuple[str, int, int, str | None, bytes, int]] = []
        commits: list[tuple[str, str, int, int]] = []
        results: list[list[Record] | None] = []
        for request in batch:
            if isinstance(request, _Commit):
                commits.extend((request.group, t, p, o) for (t, p), o in request.positions.items())
                results.append(None)
                continue
            records = []
            for m in request.messages:
                offset = next_offsets[m.topic]
                next_offsets[m.topic] = offset + 1
                records.append(Record(m.topic, PARTITION, offset, m.key, m.value, now, m.event))
                rows.append((m.topic, PARTITION, offset, m.key, m.value, now))
            results.append(records)
        conn.executemany(
            'INSERT INTO records (topic, partition, "offset", key, value, timestamp) '
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "UPDATE partitions SET next_offset = ? WHERE topic = ? AND partition = ?",
            [(next_offsets[t], t, PARTITION) for t in {row[0] for row in rows}],
        )
        conn.executemany(
            "INSERT INTO group_offsets (group_id, topic, partition, next_offset) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (group_id, topic, partition) "
            "DO UPDATE SET next_offset = excluded.next_offset",
            commits,
        )
        conn.executemany(
            "INSERT INTO group_commits (group_id, committed_at) VALUES (?, ?) "
            "ON CONFLICT (group_id) DO UPDATE SET committed_at = excluded.committed_at",
            [(group, now) for group in {c[0] for c in commits}],
        )
        conn.execute("COMMIT")
        self._left = next_offsets
        stored = [record for records in results if records is not None for record in records]
        return _Committed(results, stored, foreign)


Resolutions = list[tuple[asyncio.Future[object], object]]


def _by_loop(
    batch: list[_Request], outcomes: Sequence[object]
) -> dict[asyncio.AbstractEventLoop, Resolutions]:
    by_loop: dict[asyncio.AbstractEventLoop, Resolutions] = {}
    for request, outcome in zip(batch, outcomes, strict=True):
        fut: asyncio.Future[object] = request.future  # type: ignore[assignment]
        by_loop.setdefault(request.loop, []).append((fut, outcome))
    return by_loop


def _settle(batch: list[_Request], outcomes: Sequence[object]) -> None:
    """Resolve every caller's future on its own loop, with one wake-up per loop."""
    for loop, pairs in _by_loop(batch, outcomes).items():
        _call_soon(loop, _resolve_all, pairs)


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # the loop has closed; nobody is waiting any more
        return


def _resolve_all(pairs: list[tuple[asyncio.Future[object], object]]) -> None:
    for fut, outcome in pairs:
        if fut.done():  # the caller was cancelled; the write stands regardless
            continue
        if isinstance(outcome, BaseException):
            fut.set_exception(outcome)
        else:
            fut.set_result(outcome)


class SqliteEventLog(EventLog):
    """The event log in one SQLite file.

    `transaction_count` is the number of write transactions this instance has committed;
    comparing it with the number of `append` calls shows how well group commit batches.
    """

    def __init__(
        self,
        path: pathlib.Path,
        *,
        max_batch: int = 1000,
        clock: Callable[[], int] = wall_ms,
        checkpoint_poll_s: float = CHECKPOINT_POLL_S,
        checkpoint_every_s: float = CHECKPOINT_EVERY_S,
    ) -> None:
        """`clock` stamps the records' append time (epoch ms); a test compresses time with it.
        The checkpointer looks every `checkpoint_poll_s` and copies at most every
        `checkpoint_every_s`."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.path = path
        self.clock = clock
        self.max_batch = max_batch
        self._checkpoints = (checkpoint_poll_s, checkpoint_every_s)
        self._writer: _Writer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        self._consumers: dict[SqliteConsumer, None] = {}
        """In creation order, the order they are handed each commit's records: the fold that
        commands wait on is created first."""
        self._watcher: asyncio.Task[None] | None = None
        self._handed_up_to: dict[str, int] = {}
        """Per topic, the offset up to which records were handed to the consumers, without a
        gap: where the shared read of other processes' commits goes on from."""
        self._signals = 0
        """How often another process's commit was noticed (or a look asked for)."""
        self._read_since = 0
        """`_signals` when the last finished shared read began: it saw every commit before."""
        self._shared: asyncio.Future[None] | None = None
        """The shared read under way."""
        self._checkpointer: Checkpointer | None = None

    @property
    def transaction_count(self) -> int:
        return self._writer.transactions if self._writer is not None else 0

    async def start(self) -> None:
        if self._writer is not None:
            raise LogUnavailableError("log is already started")
        self._loop = asyncio.get_running_loop()
        writer = _Writer(self.path, self.max_batch, self._on_commit, self.clock)
        await asyncio.to_thread(self._open, writer)
        self._writer = writer
        self._watcher = asyncio.create_task(self._watch_foreign_commits(writer))

    def _open(self, writer: _Writer) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer.start()
        self._reader = _connect(self.path, read_only=True)
        ends = self._reader.execute(
            "SELECT topic, next_offset FROM partitions WHERE partition = ?", (PARTITION,)
        )
        self._handed_up_to = dict(ends.fetchall())
        self._checkpointer = Checkpointer(self.path, *self._checkpoints)
        self._checkpointer.start()

    async def close(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        if self._shared is not None:
            await asyncio.gather(self._shared, return_exceptions=True)
        for consumer in list(self._consumers):
            await consumer.close()
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            await asyncio.to_thread(checkpointer.stop)
        writer, self._writer = self._writer, None
        if writer is not None:
            await asyncio.to_thread(writer.stop)
        reader, self._reader = self._reader, None
        if reader is not None:
            with self._reader_lock:
                reader.close()

    async def append(self, messages: Sequence[Message]) -> list[Record]:
        for message in messages:
            check_message(message)
        if not messages:
            return []
        writer = self._running_writer()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Record]] = loop.create_future()
        writer.submit(_Append(list(messages), future, loop))
        return await future

    def consumer(self, topics: Sequence[str], group: str | None = None) -> SqliteConsumer:
        for topic in topics:
            check_topic(topic)
        if not topics:
            raise ValueError("a consumer needs at least one topic")
        self._running_writer()
        consumer = SqliteConsumer(self, list(dict.fromkeys(topics)), group)
        self._consumers[consumer] = None
        return consumer

    async def end_offsets(self, topic: str) -> dict[int, int]:
        check_topic(topic)
        rows = await asyncio.to_thread(
            self._read_locked,
            lambda c: c.execute(
                "SELECT partition, next_offset FROM partitions WHERE topic = ?", (topic,)
            ).fetchall(),
        )
        return dict(rows)

    async def start_offsets(self, topic: str) -> dict[int, int]:
        check_topic(topic)
        return await asyncio.to_thread(self._read_locked, lambda c: _starts(c, topic))

    async def delete_before(self, topic: str, offsets: Mapping[int, int]) -> None:
        check_topic(topic)
        if topic in COMPACTED_TOPICS:
            raise ValueError(f"{topic} is compacted: its records leave by compaction only")
        if set(offsets) - {PARTITION}:
            raise ValueError(f"{topic} has only partition {PARTITION}")
        if PARTITION in offsets:
            self._running_writer()
            await asyncio.to_thread(self._delete_before, topic, offsets[PARTITION])

    def _delete_before(self, topic: str, offset: int) -> None:
        with second_writer(self.path) as (conn, turns):
            move_start(conn, turns, topic, offset)
            delete_below_start(conn, turns, topic)

    async def read(self, topic: str, from_offset: int, limit: int) -> list[Record]:
        """Up to `limit` records of `topic` from `from_offset` on, in offset order."""
        check_topic(topic)
        return await asyncio.to_thread(
            self._read_locked, lambda c: _query_range(c, topic, from_offset, limit)
        )

    def record_at(self, topic: str, offset: int) -> Record | None:
        """The record at `offset` of `topic`, if the log still holds it; blocking."""
        check_topic(topic)
        found = self._read_locked(lambda c: _query_range(c, topic, offset, 1))
        return found[0] if found and found[0].offset == offset else None

    def _read_locked(self, query: Callable[[sqlite3.Connection], T]) -> T:
        with self._reader_lock:
            if self._reader is None:
                raise LogUnavailableError("log is closed")
            return query(self._reader)

    def _running_writer(self) -> _Writer:
        if self._writer is None:
            raise LogUnavailableError("log is not started (or already closed)")
        return self._writer

    def _files_stamp(self) -> tuple[int, ...]:
        """A commit writes the WAL (a checkpoint, which writes the database file, changes no
        record)."""
        return wal_stamp(self.path)

    async def _watch_foreign_commits(self, writer: _Writer) -> None:
        """Wake the waiting consumers when the files changed with no commit of this instance
        in between: instead of every consumer querying the file 20 times a second."""
        seen, own = self._files_stamp(), writer.transactions
        while True:
            await asyncio.sleep(FOREIGN_WRITE_POLL_S)
            if not self._consumers:
                continue
            stamp, transactions = self._files_stamp(), writer.transactions
            if stamp != seen and transactions == own:
                self._foreign_commit()
            seen, own = stamp, transactions

    def look_again(self) -> None:
        self._foreign_commit()

    def _on_commit(self, batch: list[_Request], committed: _Committed) -> None:
        """In the writer thread, after a COMMIT: one call into this log's loop hands the records
        to the consumers and resolves the appends made on it (a caller on another loop is
        resolved on its own)."""
        by_loop = _by_loop(batch, committed.outcomes)
        own = by_loop.pop(self._loop, []) if self._loop is not None else []
        for loop, pairs in by_loop.items():
            _call_soon(loop, _resolve_all, pairs)
        if self._loop is not None:
            _call_soon(self._loop, self._after_commit, own, committed)

    def _after_commit(self, resolutions: Resolutions, committed: _Committed) -> None:
        if committed.foreign:
            self._foreign_commit()
        if committed.records:
            self._hand_over(committed.records)
        _resolve_all(resolutions)

    def _foreign_commit(self) -> None:
        """The file may hold records no consumer was handed: each reads before it waits on."""
        self._signals += 1
        for consumer in self._consumers:
            consumer._take([], foreign=True)

    def _hand_over(self, records: list[Record], *, read: bool = False) -> None:
        """Hand the consumers the records that follow on from those handed before, per topic
        (one a shared read handed already is passed over). After a gap, a committed record is
        left to the next shared read; a record that read found (`read`) is the next there is:
        the offsets between are gone (below the log start, compacted), and a consumer that
        still stands before them reads the file itself."""
        following: list[Record] = []
        gap = False
        for record in records:
            end = self._handed_up_to[record.topic]
            if record.offset < end or (record.offset > end and not read):
                gap = gap or record.offset > end
                continue
            following.append(record)
            self._handed_up_to[record.topic] = record.offset + 1
        if gap:
            self._foreign_commit()
        if following:
            for consumer in self._consumers:
                consumer._take(following, foreign=False)

    async def _read_shared(self) -> None:
        """Return once a read of the file begun after the last commit noticed of another
        process has handed its records over: one read for all waiting consumers."""
        wanted = self._signals
        while self._read_since < wanted:
            if self._shared is None:
                self._shared = asyncio.ensure_future(self._read_new())
            await asyncio.shield(self._shared)

    async def _read_new(self) -> None:
        began = self._signals
        try:
            while True:
                topics = {t for consumer in self._consumers for t in consumer._topics}
                starts = {t: self._handed_up_to[t] for t in topics}
                query = functools.partial(_query_new, starts=starts)
                read = await asyncio.to_thread(self._read_locked, query)
                self._hand_over(read, read=True)
                per_topic = collections.Counter(r.topic for r in read)
                if max(per_topic.values(), default=0) < SHARED_READ_LIMIT:
                    break
            self._read_since = max(self._read_since, began)
        finally:
            self._shared = None

    def _handed_all(self, positions: Mapping[str, int]) -> bool:
        """Whether `positions` are past every record handed over, per topic."""
        return all(positions[t] >= self._handed_up_to.get(t, 0) for t in positions)

    def _submit_commit(
        self, group: str, positions: dict[TopicPartition, int]
    ) -> asyncio.Future[None]:
        writer = self._running_writer()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        writer.submit(_Commit(group, positions, future, loop))
        return future

    def _forget(self, consumer: SqliteConsumer) -> None:
        self._consumers.pop(consumer, None)


async def _to_thread_to_the_end(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn` in a thread; if the caller is cancelled, still wait for the thread to finish.

    A cancelled `to_thread` returns at once while the thread keeps using its connection, so a
    `close()` that follows would close the connection under a running query (a crash in the
    sqlite3 module). Holding the consumer's lock until the thread is done prevents that.
    """
    task = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


class SqliteConsumer(Consumer):
    """A consumer of a `SqliteEventLog`: the records this process appends are handed to it
    (`_take`) while it is caught up; anything else it reads with its own read connection."""

    def __init__(self, log: SqliteEventLog, topics: list[str], group: str | None) -> None:
        self._log = log
        self._topics = topics
        self._topic_set = frozenset(topics)
        self._group = group
        self._positions: dict[str, int] | None = None
        """Next offset to return per topic, once loaded (the group's committed position)."""
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._read_at = 0.0
        self._start_at: dict[str, int] = {}
        """Positions given by `seek`, over the group's or the beginning."""
        self._handed: list[Record] = []
        """Records handed over and not yet returned, in log order."""
        self._ends: dict[str, int] = {}
        """Next offset per topic after the handed records: where the next handed one must be
        (empty until a read of the file has told where the consumer stands)."""
        self._stale = True
        """Records may be in the file that were not handed over: the next poll reads it."""
        self._reading = False
        self._woken = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self._closed

    async def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, got {max_records}")
        deadline = time.monotonic() + timeout
        while True:
            # Cleared before looking, so a hand-over or wake-up from here on ends the wait.
            self._woken.clear()
            records = await self._next(max_records)
            remaining = deadline - time.monotonic()
            if records or remaining <= 0 or self._closed:
                return records
            next_read = self._read_at + FALLBACK_READ_S - time.monotonic()
            try:
                async with asyncio.timeout(max(0.0, min(remaining, next_read))):
                    await self._woken.wait()
            except TimeoutError:
                pass

    async def _next(self, max_records: int) -> list[Record]:
        """The handed records; else a read of the file if it may hold more, or the fallback
        read is due (an idle consumer's polls cost no query until then)."""
        if self._handed:
            return self._take_handed(max_records)
        fallback = time.monotonic() - self._read_at >= FALLBACK_READ_S
        if not (self._stale or fallback):
            return []
        if self._ends and not fallback:
            # the log's one read for all its consumers; this one's own only if that left a gap
            self._stale = False
            with contextlib.suppress(LogUnavailableError, sqlite3.Error):
                await self._log._read_shared()
                if self._log._handed_all(self._ends):
                    return self._take_handed(max_records)
            self._stale = True
        self._read_at = time.monotonic()
        # what is handed over while the read is in flight may be in it or not: it is refused,
        # and the next poll reads again
        self._stale, self._reading = False, True
        try:
            records = await self._fetch(max_records)
        except BaseException:
            self._stale = True
            raise
        finally:
            self._reading = False
        # a full batch may have left records behind it
        self._stale = self._stale or len(records) >= max_records
        return records

    def _take_handed(self, max_records: int) -> list[Record]:
        taken, self._handed = self._handed[:max_records], self._handed[max_records:]
        assert self._positions is not None
        for r in taken:
            self._positions[r.topic] = r.offset + 1
        return taken

    def seek(self, positions: Positions) -> None:
        if self._positions is not None:
            raise RuntimeError("seek before the first poll")
        self._start_at = {t: o for (t, p), o in positions.items() if p == PARTITION}

    def _take(self, records: list[Record], foreign: bool) -> None:
        """On the loop, after a COMMIT of this process: keep the records of this consumer's
        topics that follow on from what it has, in order; if any does not (a gap: it is
        behind, another process wrote, or a read is in flight), read the file instead."""
        if self._closed:
            return
        mine = [r for r in records if r.topic in self._topic_set]
        if not mine and not foreign:
            return
        if (
            foreign
            or self._reading
            or not self._ends
            or len(self._handed) + len(mine) > HANDED_LIMIT
        ):
            self._stale = True
        else:
            for r in mine:
                end = self._ends[r.topic]
                if r.offset == end:
                    self._handed.append(r)
                    self._ends[r.topic] = end + 1
                elif r.offset > end:
                    self._stale = True
        self._woken.set()

    async def commit(self, positions: Positions) -> None:
        if self._group is None:
            raise ValueError("a consumer without a group cannot commit positions")
        checked: dict[TopicPartition, int] = {}
        for (topic, partition), offset in positions.items():
            check_topic(topic)
            if partition != PARTITION or offset < 0:
                raise ValueError(f"invalid position {offset} for {topic}[{partition}]")
            checked[(topic, partition)] = offset
        if self._closed:
            raise LogUnavailableError("consumer is closed")
        await self._log._submit_commit(self._group, checked)

    async def close(self) -> None:
        self._closed = True
        self._log._forget(self)
        # a poll waiting for a commit ends now, not at its next fallback read
        self._woken.set()
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                await asyncio.to_thread(conn.close)

    async def _fetch(self, max_records: int) -> list[Record]:
        async with self._lock:
            if self._closed:
                return []
            if self._conn is None:
                self._conn = await _to_thread_to_the_end(_connect, self._log.path, read_only=True)
            if self._positions is None:
                self._positions = await _to_thread_to_the_end(self._load_positions, self._conn)
            records = await _to_thread_to_the_end(self._read, self._conn, max_records)
            for r in records:
                self._positions[r.topic] = r.offset + 1
            self._ends = dict(self._positions)
            return records

    def _load_positions(self, conn: sqlite3.Connection) -> dict[str, int]:
        positions = dict.fromkeys(self._topics, 0)
        if self._group is not None:
            rows = conn.execute(
                "SELECT topic, next_offset FROM group_offsets WHERE group_id = ? AND partition = ?",
                (self._group, PARTITION),
            )
            positions.update((t, o) for t, o in rows if t in positions)
        positions.update((t, o) for t, o in self._start_at.items() if t in positions)
        return positions

    def _read(self, conn: sqlite3.Connection, max_records: int) -> list[Record]:
        """The next records of the consumer's topics in append order (a busy topic's records
        come as they were written, before those of the others written later)."""
        assert self._positions is not None
        reads = [_query_numbered(conn, t, self._positions[t], max_records) for t in self._topics]
        return in_append_order(reads, max_records)[:max_records]
