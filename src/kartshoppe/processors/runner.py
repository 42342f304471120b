"""The embedded processor runner: processors in-process on asyncio, state in one SQLite file.

Each processor has its own consumer on the event log and works in batches: poll up to
`batch_size` records, run them through the processor (in a worker thread, so the event loop stays
responsive), append the outputs to the log, then commit in ONE SQLite transaction the changed
per-key states, timers, broadcast entries, the watermark and the input positions. A restart
resumes from those positions with exactly that state, so state is exactly-once: no input is
counted twice or missed. The processors that reach a checkpoint together share that transaction
(`CommitRounds`): each processor's checkpoint in it is whole, and it waits for it before going on.

Outputs are at-least-once. They are appended before the state commit; after a crash between the
two, the batch is processed again and its outputs are appended again. Output event ids are
deterministic (`model.output_event_id`), so the duplicate carries the same `eventId` and
consumers drop it.

The runner keeps its own positions; the consumer group (named `<processor>.<store id>`, the id
being random per state file) only saves re-reading: its committed position never passes the
state's, and records before the state's position are skipped. A fresh state file therefore gets
a fresh group and starts from the beginning of the log.

Watermark: per processor, the largest event time seen on its keyed input topics
(`model.event_time`) minus `allowed_lateness_ms`, advanced after every record, then due timers
fire in (timestamp, key) order (a timer a late record sets at or before the watermark fires
right after that record). A processor's merger follows its processor's watermark: after the
processor's due timers have fired, the partials and merger timers due fire in time order; the
stages of a longer chain follow in turn, each up to the same watermark, reading the tables of
the stages before it as of each call's event time (`model.Published`).
Broadcast topics do not move it: reference data is read in
blocks of its own, and a block of catalog or stock records far ahead in time would otherwise
make the events of that period late. While the input is idle for `idle_after_s` seconds, the
watermark also follows the wall clock (now minus the allowed lateness), so timers such as cart
abandonment fire in a quiet shop.
That makes timer firing depend on wall time when input stops; a recorded stream replayed with
`idle_after_s=None` gives the same outputs every run.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import orjson

from kartshoppe.eventlog.port import (
    Consumer,
    EventLog,
    Message,
    Positions,
    Record,
    TopicPartition,
    consumer_lags,
)
from kartshoppe.events import (
    Event,
    EventValidationError,
    decode_event,
)
from kartshoppe.processors.model import (
    Context,
    Merger,
    Output,
    OutputIds,
    Processor,
    Published,
    Stage,
    chain,
    event_time,
)

logger = logging.getLogger(__name__)

NO_WATERMARK: Final = -(2**62)
STOP_GRACE_S: Final = 30.0

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS store (id TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS state (
        processor TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, touched INTEGER,
        PRIMARY KEY (processor, key)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS timers (
        processor TEXT NOT NULL, key TEXT NOT NULL, ts INTEGER NOT NULL,
        PRIMARY KEY (processor, key, ts)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS broadcast (
        processor TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
        PRIMARY KEY (processor, key)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS positions (
        processor TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
        next_offset INTEGER NOT NULL,
        PRIMARY KEY (processor, topic, partition)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS watermarks (
        processor TEXT PRIMARY KEY, watermark INTEGER NOT NULL) WITHOUT ROWID""",
)

_TOUCHED_INDEX: Final = "CREATE INDEX IF NOT EXISTS state_touched ON state (processor, touched)"
"""What a state TTL's sweep finds the expired keys by (created after the column is there)."""

TTL_SWEEPS: Final = 16
"""A stage with a state TTL sweeps each time its watermark has moved a 16th of the TTL: a key
is kept at most 1/16 longer than its TTL, and a sweep runs rarely."""

Timer = tuple[int, str]
"""(timestamp, key)"""


@dataclass(slots=True)
class Checkpoint:
    """Everything one batch changed, written by `ProcessorStateDb.commit` in one transaction."""

    processor: str
    states: dict[str, bytes] = field(default_factory=dict)
    cleared: set[str] = field(default_factory=set)
    timers_added: set[Timer] = field(default_factory=set)
    timers_removed: set[Timer] = field(default_factory=set)
    broadcast: dict[str, bytes] = field(default_factory=dict)
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    watermark: int = NO_WATERMARK
    merges: list[Checkpoint] = field(default_factory=list)
    """The changes of the later stages of the processor's chain, committed in the same
    transaction."""
    touched: dict[str, int] = field(default_factory=dict)
    """Event time of each written state's last write (what a state TTL counts from)."""
    expire_before: int | None = None
    """Forget the keys whose state was last written before this event time (a TTL sweep)."""

    def changes_nothing_but_the_watermark(self, committed: dict[TopicPartition, int]) -> bool:
        return not (
            self.states
            or self.cleared
            or self.timers_added
            or self.timers_removed
            or self.broadcast
            or self.expire_before is not None
            or self.positions != committed
            or not all(m.changes_nothing_but_the_watermark({}) for m in self.merges)
        )


STATE_WAL_LIMIT: Final = 4 * 1024 * 1024
"""What the state file's WAL is cut back to when it starts over: about what SQLite's automatic
checkpoint (every 1,000 pages) lets it reach, so the largest transaction ever made does not set
its size for good."""


STATE_BUSY_TIMEOUT_S: Final = 30.0
WAL_RETRY_S: Final = 0.01


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """WAL mode. Switching a new file takes it whole and fails at once, without the busy
    timeout, while another process does the same (the processors' processes starting on a new
    data directory): tried again until the timeout."""
    deadline = time.monotonic() + STATE_BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(WAL_RETRY_S)
        else:
            return


class ProcessorStateDb:
    """The runner's SQLite file. One connection per processor; WAL lets them commit in turn,
    also from several processes (`processors_process`), whose processors' rows are disjoint."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            path, timeout=STATE_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        _switch_to_wal(self._conn)
        # FULL: a state commit must be durable before the consumer group may move past it
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(f"PRAGMA journal_size_limit={STATE_WAL_LIMIT}")
        # in one transaction: the processors' processes may open a file from before TTLs at
        # once, and only the first may add the column
        self._conn.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            self._conn.execute(statement)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(state)")}
        if "touched" not in columns:  # a file from before state TTLs: its rows count from now
            self._conn.execute("ALTER TABLE state ADD COLUMN touched INTEGER")
        self._conn.execute(_TOUCHED_INDEX)
        self._conn.execute("COMMIT")

    def store_id(self) -> str:
        self._conn.execute("BEGIN IMMEDIATE")
        row = self._conn.execute("SELECT id FROM store").fetchone()
        if row is None:
            row = (uuid.uuid4().hex[:12],)
            self._conn.execute("INSERT INTO store (id) VALUES (?)", row)
        self._conn.execute("COMMIT")
        return str(row[0])

    def state(self, processor: str, key: str) -> bytes | None:
        row = self._conn.execute(
            "SELECT value FROM state WHERE processor = ? AND key = ?", (processor, key)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def state_row(self, processor: str, key: str) -> tuple[bytes, int | None] | None:
        """The key's state and the event time it was last written (None before state TTLs)."""
        row = self._conn.execute(
            "SELECT value, touched FROM state WHERE processor = ? AND key = ?", (processor, key)
        ).fetchone()
        return None if row is None else (bytes(row[0]), None if row[1] is None else int(row[1]))

    def keys(self, processor: str) -> set[str]:
        """The keys that have a state row."""
        rows = self._conn.execute("SELECT key FROM state WHERE processor = ?", (processor,))
        return {str(key) for (key,) in rows}

    def timers(self, processor: str) -> list[Timer]:
        rows = self._conn.execute("SELECT ts, key FROM timers WHERE processor = ?", (processor,))
        return [(int(ts), str(key)) for ts, key in rows]

    def broadcast(self, processor: str) -> dict[str, Any]:
        rows = self._conn.execute(
            "SELECT key, value FROM broadcast WHERE processor = ?", (processor,)
        )
        return {str(key): orjson.loads(value) for key, value in rows}

    def positions(self, processor: str) -> dict[TopicPartition, int]:
        rows = self._conn.execute(
            "SELECT topic, partition, next_offset FROM positions WHERE processor = ?",
            (processor,),
        )
        return {(str(topic), int(part)): int(offset) for topic, part, offset in rows}

    def watermark(self, processor: str) -> int:
        row = self._conn.execute(
            "SELECT watermark FROM watermarks WHERE processor = ?", (processor,)
        ).fetchone()
        return NO_WATERMARK if row is None else int(row[0])

    def commit(self, cp: Checkpoint) -> dict[str, list[str]]:
        """Write `cp` and its merges in one transaction; the keys each stage's TTL expired."""
        return self.commit_all([cp])

    def commit_all(self, cps: Sequence[Checkpoint]) -> dict[str, list[str]]:
        """Write several processors' checkpoints (and their merges) in one transaction, one
        fsync (`CommitRounds`); the keys each stage's TTL expired."""
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        expired: dict[str, list[str]] = {}
        try:
            for cp in cps:
                expired[cp.processor] = self._write(cp)
                for merge in cp.merges:
                    expired[merge.processor] = self._write(merge)
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")
        return expired

    def _write(self, cp: Checkpoint) -> list[str]:
        p = cp.processor
        c = self._conn
        c.executemany(
            "INSERT OR REPLACE INTO state (processor, key, value, touched) VALUES (?, ?, ?, ?)",
            [(p, k, v, cp.touched.get(k)) for k, v in cp.states.items()],
        )
        c.executemany(
            "DELETE FROM state WHERE processor = ? AND key = ?", [(p, k) for k in cp.cleared]
        )
        c.executemany(
            "DELETE FROM timers WHERE processor = ? AND key = ? AND ts = ?",
            [(p, k, ts) for ts, k in cp.timers_removed],
        )
        c.executemany(
            "INSERT OR IGNORE INTO timers (processor, key, ts) VALUES (?, ?, ?)",
            [(p, k, ts) for ts, k in cp.timers_added],
        )
        c.executemany(
            "INSERT OR REPLACE INTO broadcast (processor, key, value) VALUES (?, ?, ?)",
            [(p, k, v) for k, v in cp.broadcast.items()],
        )
        c.executemany(
            "INSERT OR REPLACE INTO positions (processor, topic, partition, next_offset)"
            " VALUES (?, ?, ?, ?)",
            [(p, t, part, off) for (t, part), off in cp.positions.items()],
        )
        c.execute(
            "INSERT OR REPLACE INTO watermarks (processor, watermark) VALUES (?, ?)",
            (p, cp.watermark),
        )
        if cp.expire_before is None:
            return []
        # rows written before TTLs existed count from this sweep on
        c.execute(
            "UPDATE state SET touched = ? WHERE processor = ? AND touched IS NULL",
            (cp.watermark, p),
        )
        rows = c.execute(
            "DELETE FROM state WHERE processor = ? AND touched < ? AND key != ? RETURNING key",
            (p, cp.expire_before, INBOX_KEY),
        )
        return [str(key) for (key,) in rows]

    def close(self) -> None:
        self._conn.close()


class _BroadcastState(MutableMapping[str, Any]):
    """The broadcast state; remembers which entries changed since the last checkpoint."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        """The entries (read through `MappingProxyType` by the processor's calls)."""
        self.changed: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.changed.add(key)

    def __delitem__(self, key: str) -> None:
        raise TypeError("broadcast entries are replaced, never deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


class DecodedEvents:
    """Events decoded from records, shared by the processors reading the same log.

    Every processor has its own consumer, but they read the same records at about the same
    time; decoding (validating) each record once instead of once per processor is most of
    what the log side costs. First in, first out, up to `capacity` records; thread-safe.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._events: dict[tuple[str, int, int], Event] = {}
        self._lock = threading.Lock()

    def decode(self, record: Record) -> Event:
        position = (record.topic, record.partition, record.offset)
        event = self._events.get(position)
        if event is None:
            event = decode_event(record.value)
            with self._lock:
                if len(self._events) >= self._capacity:
                    # dicts keep insertion order: the first key is the oldest
                    del self._events[next(iter(self._events))]
                self._events[position] = event
        return event


_CLEARED: Final = object()
"""Cache marker of a key whose state was cleared in this batch (reads give `initial_state`)."""

INBOX_KEY: Final = "\x1finbox"
"""State key, in a merger's namespace, of the partials sent but not yet due."""

_NO_BROADCAST: Final[Mapping[str, Any]] = {}


class StageInstance(Context):
    """One keyed stage at work: its cached per-key state, its timers, the pending checkpoint
    and outputs, and the `Context` its calls get."""

    def __init__(self, stage: Stage[Any], store: ProcessorStateDb, lateness_ms: int) -> None:
        self.stage = stage
        self.name = stage.name
        self.store = store
        self.lateness_ms = lateness_ms
        self.current_watermark = store.watermark(self.name)
        self._floor = self.current_watermark
        """The watermark before the advance under way (the watermark itself between advances):
        no call judges a state's TTL by an earlier time, so a sweep up to the watermark never
        removes what a later call would still read."""
        self.timer_heap = store.timers(self.name)
        heapq.heapify(self.timer_heap)
        self.active_timers = set(self.timer_heap)
        self.cache: dict[str, Any] = {}
        self.stored = store.keys(self.name)
        """The keys with a state row: any other key starts from `initial_state` without a
        query (most keys a stream touches are new ones)."""
        self.dirty: set[str] = set()
        self.written: dict[str, int] = {}
        """Event time of the last write of each cached key, for the state TTL: a key whose state
        expired reads as new whether or not a sweep has removed it yet, so what a stage sees does
        not depend on when the sweeps ran (a resumed run sweeps at other moments)."""
        self.ttl_ms = stage.state_ttl_ms
        """The stage's state TTL (a property some stages compute: read once)."""
        self.swept_at = NO_WATERMARK
        """The watermark of the last state TTL sweep."""
        self.checkpoint = Checkpoint(self.name)
        self.outputs: list[Message] = []
        self._key = ""
        self._timestamp = 0
        self._ids = OutputIds(self.name)
        self.chain: _Chain | None = None
        """The chain this stage is part of (set by the processor's instance)."""

    # --- Context ---------------------------------------------------------------------------

    @property
    def key(self) -> str:
        return self._key

    @property
    def timestamp(self) -> int:
        return self._timestamp

    @property
    def watermark(self) -> int:
        return self.current_watermark

    @property
    def broadcast(self) -> Mapping[str, Any]:
        reads = isinstance(self.stage, Merger) and self.stage.reads_catalog
        return self.chain.catalog if self.chain is not None and reads else _NO_BROADCAST

    def emit(self, topic: str, key: str | None, event: Output) -> None:
        self.outputs.append(Message(topic, key, self._ids.encode(event)))

    def send(self, key: str, partial: dict[str, Any], stage: str | None = None) -> None:
        if self.chain is None:
            raise TypeError(f"stage {self.name} has no later stage")
        self.chain.after(self.name, stage).receive(key, self._timestamp, partial)

    def publish(self, key: str, value: Any) -> None:
        if self.chain is None:
            raise TypeError(f"stage {self.name} is in no chain")
        self.chain.tables[self.name].put(self._timestamp, key, value)

    def table(self, stage: str) -> Mapping[str, Any]:
        if self.chain is None or stage not in self.chain.tables:
            raise KeyError(f"no stage {stage!r} before {self.name}")
        if not isinstance(self.stage, Merger) or stage not in self.stage.reads:
            raise KeyError(f"stage {self.name} does not declare that it reads {stage!r}")
        return self.chain.tables[stage].view(self._timestamp)

    def set_timer(self, timestamp: int) -> None:
        timer = (timestamp, self._key)
        if timer in self.active_timers:
            return
        self.active_timers.add(timer)
        heapq.heappush(self.timer_heap, timer)
        removed = self.checkpoint.timers_removed
        if timer in removed:
            removed.discard(timer)  # its row is still in the store
        else:
            self.checkpoint.timers_added.add(timer)

    def delete_timer(self, timestamp: int) -> None:
        timer = (timestamp, self._key)
        if timer not in self.active_timers:
            return
        # left in the heap; popping skips timers no longer active
        self.active_timers.discard(timer)
        self._unstore(timer)

    def _unstore(self, timer: Timer) -> None:
        """A timer no longer active: a row to delete, unless it was set since the last
        checkpoint and never stored (most timers fire within a second of being set)."""
        added = self.checkpoint.timers_added
        if timer in added:
            added.discard(timer)
        else:
            self.checkpoint.timers_removed.add(timer)

    # --- state -----------------------------------------------------------------------------

    def state_of(self, key: str) -> Any:
        cached = self.cache.get(key)
        if cached is _CLEARED:
            return self.stage.initial_state()
        if cached is not None and self.ttl_ms is None:
            return cached  # the usual call: cached, and no TTL to check
        if cached is None:
            row = self.store.state_row(self.name, key) if key in self.stored else None
            if row is None:
                cached = self.stage.initial_state()
            else:
                cached = self.stage.decode_state(row[0])
                if row[1] is not None:
                    self.written[key] = row[1]
            self.cache[key] = cached
        if self._expired(key):
            return self.stage.initial_state()
        return cached

    def _expired(self, key: str) -> bool:
        """Whether the key's state outlived the stage's TTL: written before the watermark less
        the TTL, the rule a sweep deletes by. The watermark is the one of the call's own time
        t, as on Flink (`flink.keyed.KeyedCore._expire`): for a record, t - L (the watermark
        once the record is counted, not the one before it); for a timer or partial, t, not a
        watermark that jumped far past it (a backlog, a quiet night), so it finds the state its
        key wrote just before it. Never by a time before the watermark the advance under way
        started from (`_floor`): what a sweep at that watermark removed stays expired."""
        ttl = self.ttl_ms
        written = self.written.get(key)
        if ttl is None or written is None:
            return False
        t = self._timestamp
        at = min(max(self.current_watermark, t - self.lateness_ms), t)
        # a late record, or a timer it set, is judged by the watermark (the sweeps' rule)
        return written < max(self._floor, at) - ttl

    def _put(self, key: str, state: Any) -> None:
        if state is None:
            self.cache[key] = _CLEARED
            self.dirty.discard(key)
            self.checkpoint.cleared.add(key)
        else:
            self.cache[key] = state
            self.dirty.add(key)
            self.written[key] = self._timestamp
            self.checkpoint.cleared.discard(key)

    def _begin(self, key: str, timestamp: int, cause: str) -> None:
        self._key = key
        self._timestamp = timestamp
        self._ids.begin(key, cause)

    def _next_timer(self, upto: int) -> Timer | None:
        """The earliest active timer at or before `upto`, if any (not removed)."""
        heap = self.timer_heap
        while heap and heap[0] not in self.active_timers:
            heapq.heappop(heap)
        return heap[0] if heap and heap[0][0] <= upto else None

    def _fire(self, timer: Timer) -> None:
        heapq.heappop(self.timer_heap)
        self.active_timers.discard(timer)
        self._unstore(timer)
        ts, key = timer
        self._begin(key, ts, f"timer:{ts}")
        mark = len(self.outputs)
        try:
            self._put(key, self.stage.on_timer(self.state_of(key), ts, self))
        except Exception:
            logger.exception("%s: on_timer failed for key %s at %d", self.name, key, ts)
            del self.outputs[mark:]

    def take_outputs(self) -> list[Message]:
        """The outputs produced since the last call; the state changes stay pending."""
        outputs, self.outputs = self.outputs, []
        return outputs

    def _take_states(self, cp: Checkpoint) -> None:
        encode = self.stage.encode_state
        cp.states = {key: encode(self.cache[key]) for key in self.dirty}
        cp.touched = {key: self.written[key] for key in self.dirty}
        self.stored |= self.dirty
        self.stored -= cp.cleared
        cp.watermark = self.current_watermark
        ttl = self.ttl_ms
        if ttl is not None and cp.watermark - self.swept_at >= ttl // TTL_SWEEPS:
            cp.expire_before = cp.watermark - ttl
            self.swept_at = cp.watermark
        for key in cp.cleared:
            self.cache.pop(key, None)
            self.written.pop(key, None)
        self.dirty.clear()
        self.checkpoint = Checkpoint(self.name)

    def forget(self, keys: Sequence[str]) -> None:
        """Drop the cached state of keys a TTL sweep removed from the store."""
        for key in keys:
            self.cache.pop(key, None)
            self.stored.discard(key)
            self.written.pop(key, None)


class MergeInstance(StageInstance):
    """A processor's `Merger` at work, driven by its processor's instance: partials wait in an
    inbox until the watermark reaches their time, then are applied in time order, each before
    the merger's timers at the same time or later."""

    def __init__(self, merger: Merger[Any], store: ProcessorStateDb, lateness_ms: int) -> None:
        super().__init__(merger, store, lateness_ms)
        self.merger = merger
        raw = store.state(self.name, INBOX_KEY)
        waiting = [] if raw is None else orjson.loads(raw)
        self.inbox: list[tuple[int, int, str, dict[str, Any]]] = [
            (int(r), seq, str(k), dict(p)) for seq, (r, k, p) in enumerate(waiting)
        ]
        heapq.heapify(self.inbox)
        self.sequence = len(self.inbox)
        """Number given to the next partial received (arrival order breaks ties in time)."""
        self._inbox_changed = False

    def receive(self, key: str, timestamp: int, partial: dict[str, Any]) -> None:
        heapq.heappush(self.inbox, (timestamp, self.sequence, key, partial))
        self.sequence += 1
        self._inbox_changed = True

    def drop_since(self, sequence: int) -> None:
        """Forget the partials received from `sequence` on (sent by a call that failed)."""
        if self.sequence > sequence:
            self.inbox = [p for p in self.inbox if p[1] < sequence]
            heapq.heapify(self.inbox)
            self._inbox_changed = True

    def advance(self, watermark: int) -> None:
        inbox, heap = self.inbox, self.timer_heap
        if (not inbox or inbox[0][0] > watermark) and (not heap or heap[0][0] > watermark):
            # nothing due (most advances, one per input record): only the watermark moves
            self.current_watermark = self._floor = max(self.current_watermark, watermark)
            return
        self._floor = self.current_watermark
        self.current_watermark = max(self.current_watermark, watermark)
        while True:
            timer = self._next_timer(watermark)
            if inbox and inbox[0][0] <= watermark and (timer is None or inbox[0][0] <= timer[0]):
                ts, _, key, partial = heapq.heappop(inbox)
                self._inbox_changed = True
                self._apply(key, ts, partial)
            elif timer is not None:
                self._fire(timer)
            else:
                self._floor = self.current_watermark
                return

    def _apply(self, key: str, ts: int, partial: dict[str, Any]) -> None:
        self._begin(key, ts, f"partial:{ts}")
        mark = len(self.outputs)
        try:
            self._put(key, self.merger.on_partial(self.state_of(key), partial, self))
        except Exception:
            logger.exception("%s: on_partial failed for key %s at %d", self.name, key, ts)
            del self.outputs[mark:]

    def take_checkpoint(self) -> Checkpoint:
        cp = self.checkpoint
        self._take_states(cp)
        assert self.chain is not None
        # a stage publishes only from partials and timers, at or before the watermark: all of
        # it may go to `base` (what a restart reads back)
        published = self.chain.tables[self.name].fold(2**62)
        cp.broadcast = {k: orjson.dumps(v) for k, v in published.items()}
        if self._inbox_changed:
            if self.inbox:
                waiting = [[ts, key, partial] for ts, _, key, partial in sorted(self.inbox)]
                cp.states[INBOX_KEY] = orjson.dumps(waiting)
            else:
                cp.cleared.add(INBOX_KEY)
            self._inbox_changed = False
        return cp


class _Chain:
    """The instances of one processor's chain of stages and the tables they publish."""

    def __init__(
        self, first: ProcessorInstance, later: Sequence[MergeInstance], store: ProcessorStateDb
    ) -> None:
        self.stages: list[StageInstance] = [first, *later]
        self.catalog = first.broadcast_view
        self.tables = {s.name: Published(store.broadcast(s.name)) for s in later}
        for stage in later:
            stage.chain = self
        self._after: dict[tuple[str, str | None], MergeInstance] = {}

    def after(self, name: str, target: str | None) -> MergeInstance:
        """The stage `target` (default: the next one) after stage `name`."""
        found = self._after.get((name, target))
        if found is None:
            found = self._after[(name, target)] = self._find_after(name, target)
        return found

    def _find_after(self, name: str, target: str | None) -> MergeInstance:
        names = [s.name for s in self.stages]
        position = names.index(name)
        index = position + 1 if target is None else names.index(target)
        stage = self.stages[index] if position < index < len(names) else None
        if not isinstance(stage, MergeInstance):
            raise KeyError(f"no stage {target!r} after {name}")
        return stage


class ProcessorInstance(StageInstance):
    """One processor at work: its cached state, timers, watermark, and the `Context` it hands to
    its calls, plus its merger's instance if it has one. The runner drives one per processor;
    tests drive one directly by event time (`process` records, `advance_watermark`, then
    `take_checkpoint` and `commit`)."""

    def __init__(
        self,
        processor: Processor[Any],
        store: ProcessorStateDb,
        lateness_ms: int,
        decoded: DecodedEvents | None = None,
    ) -> None:
        super().__init__(processor, store, lateness_ms)
        self.processor = processor
        self.decoded = decoded or DecodedEvents()
        self.input_topics = frozenset(processor.input_topics)
        self.broadcast_topics = frozenset(processor.broadcast_topics)
        self.positions = store.positions(self.name)
        self.committed_positions = dict(self.positions)
        self.read_past: Positions = {}
        """Where its consumer stood when its input last ran dry with everything committed: on
        Kafka past the transaction markers, which take offsets and are never records, so a
        processor at rest counts no lag for them."""
        self.broadcast_state = _BroadcastState(store.broadcast(self.name))
        # a read-only view in C of the state's own dict (kept for its life): the list stage
        # reads the catalog per candidate, a Python `get` per read cost 1 % of the CPU
        self.broadcast_view: Mapping[str, Any] = MappingProxyType(self.broadcast_state.data)
        self.merges = [
            MergeInstance(stage, store, lateness_ms)
            for stage in chain(processor)[1:]
            if isinstance(stage, Merger)
        ]
        self.merge = self.merges[0] if self.merges else None
        """The processor's merger's instance (the first of `merges`)."""
        if self.merges:
            self.chain = _Chain(self, self.merges, store)
        self.events_processed = 0
        self.events_failed = 0

    @property
    def broadcast(self) -> Mapping[str, Any]:
        return self.broadcast_view

    # --- processing ------------------------------------------------------------------------

    def process(self, records: Sequence[Record]) -> None:
        for record in records:
            tp = (record.topic, record.partition)
            if record.offset < self.positions.get(tp, 0):
                continue  # already in the state: the group position lagged the state commit
            self.positions[tp] = record.offset + 1
            self._process_record(record)

    def _process_record(self, record: Record) -> None:
        try:
            event = self.decoded.decode(record)
        except EventValidationError as exc:
            # the log only takes validated events; a bad record is a writer bug, not input
            logger.error(
                "%s: undecodable record %s@%d: %s", self.name, record.topic, record.offset, exc
            )
            self.events_failed += 1
            return
        ts = event_time(event, record.timestamp)
        if record.topic in self.broadcast_topics:
            try:
                self.processor.on_broadcast(event, self.broadcast_state)
            except Exception:
                logger.exception("%s: on_broadcast failed, event skipped", self.name)
                self.events_failed += 1
        self.events_processed += 1
        if record.topic in self.input_topics:
            self._deliver(event, ts)
            self.advance_watermark(ts - self.lateness_ms)

    def _deliver(self, event: Event, ts: int) -> None:
        mark = len(self.outputs)
        sent = [m.sequence for m in self.merges]
        key = ""
        try:
            for key in self.processor.keys(event):
                self._begin(key, ts, event.event_id)
                self._put(key, self.processor.on_event(self.state_of(key), event, self))
        except Exception:
            # a processor bug must not stop the shop; the event is logged and skipped
            logger.exception("%s: on_event failed for key %r, event skipped", self.name, key)
            del self.outputs[mark:]
            for merge, sequence in zip(self.merges, sent, strict=True):
                merge.drop_since(sequence)
            self.events_failed += 1

    def advance_watermark(self, watermark: int) -> None:
        """Move the watermark to `watermark` if that is later, and fire what is due: also a
        timer a late record set at or before the watermark, right away."""
        watermark = max(watermark, self.current_watermark)
        self._floor = self.current_watermark
        self.current_watermark = watermark
        heap = self.timer_heap
        if heap and heap[0][0] <= watermark:  # else nothing is due (the usual record)
            while (timer := self._next_timer(watermark)) is not None:
                self._fire(timer)
        self._floor = watermark
        for merge in self.merges:
            merge.advance(watermark)

    def has_due(self, watermark: int) -> bool:
        """Whether moving the watermark to `watermark` fires a timer or applies a partial."""
        stages: list[StageInstance] = [self, *self.merges]
        return any(s._next_timer(watermark) is not None for s in stages) or any(
            m.inbox and m.inbox[0][0] <= watermark for m in self.merges
        )

    def take_outputs(self) -> list[Message]:
        outputs = super().take_outputs()
        for merge in self.merges:
            outputs += merge.take_outputs()
        return outputs

    def take_checkpoint(self) -> tuple[Checkpoint, list[Message]]:
        """The batch's changes and outputs; the next batch starts a fresh checkpoint."""
        cp = self.checkpoint
        outputs = self.take_outputs()
        self._take_states(cp)
        cp.broadcast = {
            k: orjson.dumps(self.broadcast_state[k]) for k in self.broadcast_state.changed
        }
        cp.positions = dict(self.positions)
        self.broadcast_state.changed.clear()
        cp.merges = [merge.take_checkpoint() for merge in self.merges]
        return cp, outputs

    def commit(self, cp: Checkpoint) -> None:
        self.committed(cp, self.store.commit(cp))

    def committed(self, cp: Checkpoint, expired: Mapping[str, Sequence[str]]) -> None:
        """`cp` is in the state file: forget the keys the TTL sweeps `expired` (per stage)."""
        for stage in (self, *self.merges):
            stage.forget(expired.get(stage.name, ()))
        self.committed_positions = cp.positions


@dataclass(frozen=True, slots=True)
class _Due:
    instance: ProcessorInstance
    consumer: Consumer
    checkpoint: Checkpoint


class CommitRounds:
    """Commits the checkpoints of the runner's processors in rounds: one transaction of the
    state file for every processor in the round, then their consumer groups' positions, handed
    to the log together (the embedded log's writer commits them in one transaction). Each
    processor committing on its own made seven state-file fsyncs and seven log transactions
    where one of each does; every log transaction of the processors' process takes the log's
    writers' turn, which the server's appends then wait for (`bench/results/write.md`).

    A round opens with the first checkpoint handed in and closes once every processor is in it
    or `linger_s` after it opened, whichever comes first; the processors that reach a checkpoint
    at about the same time (they wake on the same records) share it. Each waits for its round,
    so a processor's commits stay in order and its next batch starts from committed state, as
    when it committed alone. One round commits at a time (one connection to the state file)."""

    def __init__(self, store: ProcessorStateDb, processors: int, linger_s: float) -> None:
        self.store = store
        """Its own connection to the state file, closed by the runner after `drain`."""
        self._processors = processors
        self._linger_s = linger_s
        self._round: list[_Due] = []
        self._outcome: asyncio.Future[None] | None = None
        self._closing: asyncio.TimerHandle | None = None
        self._turn = asyncio.Lock()
        self._flushes: set[asyncio.Task[None]] = set()
        self.committed_at = 0.0
        """`time.monotonic()` when the last round began to commit: the interval counts from it."""

    async def commit(self, instance: ProcessorInstance, consumer: Consumer, cp: Checkpoint) -> None:
        """Commit `cp` with the round it joins; returns once its state and group are committed."""
        if self._outcome is None:
            loop = asyncio.get_running_loop()
            self._outcome = loop.create_future()
            self._closing = loop.call_later(self._linger_s, self._close)
        outcome = self._outcome
        self._round.append(_Due(instance, consumer, cp))
        if len(self._round) >= self._processors:
            self._close()
        await asyncio.shield(outcome)

    def _close(self) -> None:
        due, outcome, closing = self._round, self._outcome, self._closing
        self._round, self._outcome, self._closing = [], None, None
        if closing is not None:
            closing.cancel()
        if outcome is None:
            return
        flush = asyncio.ensure_future(self._flush(due, outcome))
        self._flushes.add(flush)
        flush.add_done_callback(self._flushes.discard)

    async def _flush(self, due: list[_Due], outcome: asyncio.Future[None]) -> None:
        try:
            async with self._turn:
                self.committed_at = time.monotonic()
                cps = [d.checkpoint for d in due]
                expired = await asyncio.to_thread(self.store.commit_all, cps)
                for d in due:
                    d.instance.committed(d.checkpoint, expired)
                # each group's position only once its state is committed: never past it
                await asyncio.gather(*(d.consumer.commit(d.checkpoint.positions) for d in due))
        except BaseException as exc:
            outcome.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            outcome.set_result(None)

    async def drain(self) -> None:
        """Wait for the rounds under way (and close an open one) before the store closes."""
        self._close()
        while self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)


def _past(instance: ProcessorInstance) -> Positions:
    """What the processor has committed, or read past with nothing left to commit."""
    passed = dict(instance.committed_positions)
    for partition, offset in instance.read_past.items():
        passed[partition] = max(offset, passed.get(partition, 0))
    return passed


class EmbeddedRunner:
    """Runs processors in this process against an `EventLog`, with state at `state_path`."""

    def __init__(
        self,
        log: EventLog,
        state_path: Path,
        processors: Sequence[Processor[Any]],
        *,
        allowed_lateness_ms: int = 1000,
        idle_after_s: float | None = 1.0,
        batch_size: int = 500,
        poll_timeout_s: float = 0.2,
        commit_interval_s: float = 1.0,
        commit_linger_s: float = 0.05,
        on_processed: Callable[[str, float], None] | None = None,
        on_appended: Callable[[], None] | None = None,
    ) -> None:
        names = [p.name for p in processors]
        if len(set(names)) != len(names):
            raise ValueError(f"processor names must be unique, got {names}")
        self._log = log
        self._state_path = state_path
        self._processors = list(processors)
        self._lateness_ms = allowed_lateness_ms
        self._idle_after_s = idle_after_s
        self._batch_size = batch_size
        self._poll_timeout_s = poll_timeout_s
        # outputs leave after every batch (a recommendation is pushed at once); state and
        # positions are committed at most this often, since encoding a large state (the
        # recommender's model) for every small batch would cost more than processing it
        self._commit_interval_s = commit_interval_s
        self._commit_linger_s = commit_linger_s
        """How long a round of commits waits for the processors still busy (`CommitRounds`)."""
        self._rounds: CommitRounds | None = None
        self._on_processed = on_processed
        """Told (processor name, seconds from the batch's last append to its processing)."""
        self._on_appended = on_appended
        """Told when a batch's outputs are in the log (the processors' process tells its
        server, whose readers then look at once)."""
        self._instances: dict[str, ProcessorInstance] = {}
        self._decoded = DecodedEvents()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self.errors: dict[str, BaseException] = {}
        """Processors that stopped on an error (their state is as of their last commit)."""

    async def start(self) -> None:
        if self._tasks:
            raise RuntimeError("runner already started")
        self._stopping = asyncio.Event()
        self.errors = {}
        store_id = await asyncio.to_thread(self._store_id)
        store = await asyncio.to_thread(self._open_store)
        self._rounds = CommitRounds(store, len(self._processors), self._commit_linger_s)
        for processor in self._processors:
            instance = await asyncio.to_thread(self._open_instance, processor)
            self._instances[processor.name] = instance
            # broadcast topics first: the first poll then brings reference data before events
            topics = list(dict.fromkeys((*processor.broadcast_topics, *processor.input_topics)))
            consumer = self._log.consumer(topics, group=f"{processor.name}.{store_id}")
            self._tasks[processor.name] = asyncio.create_task(
                self._run(instance, consumer), name=f"processor:{processor.name}"
            )

    def _open_store(self) -> ProcessorStateDb:
        return ProcessorStateDb(self._state_path)

    def _store_id(self) -> str:
        store = self._open_store()
        try:
            return store.store_id()
        finally:
            store.close()

    def _open_instance(self, processor: Processor[Any]) -> ProcessorInstance:
        return ProcessorInstance(processor, self._open_store(), self._lateness_ms, self._decoded)

    async def stop(self) -> None:
        """Finish the batch in hand, commit it, and close; safe to call after a failure."""
        self._stopping.set()
        tasks = list(self._tasks.values())
        if tasks:
            # each loop ends after its current poll and batch; cancel only one that hangs
            _, hanging = await asyncio.wait(tasks, timeout=self._poll_timeout_s + STOP_GRACE_S)
            for task in hanging:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        rounds, self._rounds = self._rounds, None
        if rounds is not None:
            await rounds.drain()
            await asyncio.to_thread(rounds.store.close)
        for instance in self._instances.values():
            await asyncio.to_thread(instance.store.close)
        self._tasks.clear()
        self._instances.clear()

    async def _run(self, instance: ProcessorInstance, consumer: Consumer) -> None:
        last_input = time.monotonic()
        try:
            while not (self._stopping.is_set() or consumer.closed):
                records = await consumer.poll(self._batch_size, self._poll_timeout_s)
                if records:
                    last_input = time.monotonic()
                    await asyncio.to_thread(instance.process, records)
                    if self._on_processed is not None:
                        lag_ms = time.time() * 1000 - records[-1].timestamp
                        self._on_processed(instance.name, max(0.0, lag_ms / 1000))
                    await self._checkpoint(instance, consumer)
                    continue
                idle = self._idle_after_s is not None and (
                    time.monotonic() - last_input >= self._idle_after_s
                )
                if idle:
                    watermark = int(time.time() * 1000) - self._lateness_ms
                    if instance.has_due(watermark):
                        await asyncio.to_thread(instance.advance_watermark, watermark)
                    else:
                        # nothing fires: a few comparisons, not worth a thread's round trip
                        instance.advance_watermark(watermark)
                # the input is drained: what is pending is committed now, whatever the interval
                await self._checkpoint(instance, consumer, final=True)
                instance.read_past = consumer.positions
            await self._checkpoint(instance, consumer, final=True)
        except Exception as exc:
            logger.exception("processor %s stopped", instance.name)
            self.errors[instance.name] = exc
        finally:
            await consumer.close()

    async def _checkpoint(
        self, instance: ProcessorInstance, consumer: Consumer, final: bool = False
    ) -> None:
        """Append the outputs; commit state and positions if `final` or the interval passed."""
        outputs = instance.take_outputs()
        if outputs:
            await self._log.append(outputs)
            if self._on_appended is not None:
                self._on_appended()
        rounds = self._rounds
        assert rounds is not None
        # the interval counts from the last round of any processor, so the processors come
        # due together and share the next one
        if not final and time.monotonic() - rounds.committed_at < self._commit_interval_s:
            return
        cp, _ = instance.take_checkpoint()
        if cp.changes_nothing_but_the_watermark(instance.committed_positions):
            return  # an idle tick that fired nothing: not worth a transaction
        await rounds.commit(instance, consumer, cp)

    def query(self, stage_name: str, key: str) -> Any:
        """The current state of `key` in a stage of a processor's chain (the processor, its
        merger `<processor>.merge`, ...), running or not, or None if it has none."""
        stages = {s.name: s for p in self._processors for s in chain(p)}
        stage = stages.get(stage_name)
        if stage is None:
            raise KeyError(f"no processor or merger named {stage_name!r}")
        for instance in self._instances.values():
            live = next((m for m in [instance, *instance.merges] if m.name == stage_name), None)
            if live is None:
                continue
            cached = live.cache.get(key)
            if cached is _CLEARED:
                return None
            if cached is not None:
                return cached
        store = self._open_store()
        try:
            raw = store.state(stage_name, key)
        finally:
            store.close()
        return None if raw is None else stage.decode_state(raw)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per processor: events processed and failed since start, and the current watermark."""
        return {
            name: {
                "processed": i.events_processed,
                "failed": i.events_failed,
                "watermark": i.current_watermark,
            }
            for name, i in self._instances.items()
        }

    async def wait_caught_up(self, timeout: float = 10.0) -> None:
        """Wait until every processor has committed everything now in its input topics."""
        async with asyncio.timeout(timeout):
            while not await self._caught_up():
                if self.errors:
                    raise RuntimeError(f"processors failed: {self.errors}")
                await asyncio.sleep(0.01)

    async def _caught_up(self) -> bool:
        return not any((await self.lag()).values())

    async def lag(self) -> dict[str, int]:
        """Per processor: records in its input topics it has not committed yet (its consumer
        lag; a processor that falls behind shows a growing number)."""
        return await consumer_lags(self._log, self.committed())

    def committed(self) -> dict[str, tuple[list[str], Positions]]:
        """Per processor: the topics it reads and where it stands in them (`_past`): what lag
        counts from."""
        return {
            name: (sorted(i.input_topics | i.broadcast_topics), _past(i))
            for name, i in self._instances.items()
        }
