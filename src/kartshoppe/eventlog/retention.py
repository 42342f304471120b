"""Retention of the embedded log: what everyone has passed and is old enough leaves the file.

A sweep, for each topic, finds the floor below which nobody needs the log any more: every
consumer group with a recent commit on the topic has passed it, and for a topic the event store
keeps, the store's sink has too (`required`: without that group's commit nothing is removed).
Of the records below the floor, those appended more than `retention_ms` ago go:
- on an ordinary topic, as a prefix: the log start moves up to the first record still young
  (or the floor) and the records below it are deleted, as Kafka's time retention does;
- on a compacted topic (`COMPACTED_TOPICS`), only the records a later record of the same key
  supersedes: the latest record per key stays however old, as with Kafka's log compaction.

Each DELETE removes at most `DELETE_BATCH` records in its own short transaction, taken in
turn with the appends' writers (`WritersTurns`), which wait for it at most that long; freed
pages then go back to the file system (`incremental_vacuum`) so the file stops growing and
settles at what the retention window holds.

A group that has not committed for `group_expiry_ms` (7 days, Kafka's default
`offsets.retention.minutes`) no longer holds the log back: a processor's group is named after
its state file, so a removed state file would otherwise pin the log forever. If it ever comes
back, its position is below the log start and it reads on from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from kartshoppe.eventlog.port import ALL_TOPICS, COMPACTED_TOPICS
from kartshoppe.eventlog.sqlite import (
    PARTITION,
    SqliteEventLog,
    WritersTurns,
    bound_wal,
    checkpoint,
    compact,
    delete_below_start,
    move_start,
    second_writer,
)

logger = logging.getLogger(__name__)

GROUP_EXPIRY_MS: Final = 7 * 24 * 3_600_000

RETENTION_SWEEP_S: Final = 60.0
"""How often a server sweeps its log."""

VACUUM_PAGES: Final = 1_000
"""Pages handed back per `incremental_vacuum` transaction (4 MB at the default page size)."""


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    retention_ms: int
    """How long a record stays after its append, at least; 0 or less keeps everything."""
    required: Mapping[str, str]
    """Topic -> the group that must have passed a record before it goes (the store's sink)."""
    group_expiry_ms: int = GROUP_EXPIRY_MS
    """A group silent for this long is forgotten by retention (not the required one)."""


@dataclass(slots=True)
class Sweep:
    """What one sweep did."""

    deleted: int = 0
    compacted: int = 0
    pages_freed: int = 0


class LogRetention:
    """Sweeps a `SqliteEventLog` by its policy, on demand (`sweep`) or every `every_s` (`run`)."""

    def __init__(
        self,
        log: SqliteEventLog,
        policy: RetentionPolicy,
        *,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.log = log
        self.policy = policy
        self.clock = clock or log.clock
        self.totals = Sweep()

    async def run(self, stop: asyncio.Event, every_s: float) -> None:
        """Sweep every `every_s` seconds until `stop` is set; a failed sweep is logged and the
        next one tries again (a sweep only ever removes what is safe to remove)."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.sweep)
            except sqlite3.Error:
                logger.exception("log retention sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    def sweep(self) -> Sweep:
        """One pass over every topic; blocking (run it in a thread)."""
        done = Sweep()
        if self.policy.retention_ms <= 0:
            return done
        now = self.clock()
        cutoff = now - self.policy.retention_ms
        with second_writer(self.log.path) as (conn, turns):
            for topic in ALL_TOPICS:
                floor = self._floor(conn, topic, now - self.policy.group_expiry_ms)
                if floor is None:
                    continue
                if topic in COMPACTED_TOPICS:
                    done.compacted += compact(conn, turns, topic, floor, cutoff)
                else:
                    young = _first_young(conn, topic, floor, cutoff)
                    move_start(conn, turns, topic, young)
                    done.deleted += delete_below_start(conn, turns, topic)
            done.pages_freed = _vacuum(conn, turns)
            # the freed pages leave the file when the WAL is copied into it; the log's own
            # checkpoints would do that within a second, this sweep's result shows at once
            checkpoint(conn, turns)
            bound_wal(conn, turns)
        self.totals.deleted += done.deleted
        self.totals.compacted += done.compacted
        self.totals.pages_freed += done.pages_freed
        return done

    def _floor(self, conn: sqlite3.Connection, topic: str, live_since: int) -> int | None:
        """The offset every live group (and the required one) has passed; None: nothing may go.

        A live group is one that committed since `live_since`; the required group counts however
        old its commit is, since what it has not passed exists nowhere else."""
        required = self.policy.required.get(topic)
        rows = conn.execute(
            "SELECT o.group_id, o.next_offset FROM group_offsets o "
            "JOIN group_commits c ON c.group_id = o.group_id "
            "WHERE o.topic = ? AND o.partition = ? AND (c.committed_at >= ? OR o.group_id = ?)",
            (topic, PARTITION, live_since, required),
        ).fetchall()
        positions = dict(rows)
        if required is not None and required not in positions:
            return None
        (end,) = conn.execute(
            "SELECT next_offset FROM partitions WHERE topic = ? AND partition = ?",
            (topic, PARTITION),
        ).fetchone()
        return int(min([end, *positions.values()]))


def _first_young(conn: sqlite3.Connection, topic: str, floor: int, cutoff: int) -> int:
    """The first offset below `floor` appended at or after `cutoff`, else `floor`: the log start
    may move there, keeping what follows whole even if the clock ever stepped back."""
    # in offset order from the start, so only the expired records are scanned
    young = conn.execute(
        'SELECT "offset" FROM records WHERE topic = ? AND partition = ? AND "offset" < ? '
        'AND timestamp >= ? ORDER BY "offset" LIMIT 1',
        (topic, PARTITION, floor, cutoff),
    ).fetchone()
    return floor if young is None else int(young[0])


def _vacuum(conn: sqlite3.Connection, turns: WritersTurns) -> int:
    """Hand free pages back to the file system, a chunk a transaction; how many."""
    (mode,) = conn.execute("PRAGMA auto_vacuum").fetchone()
    if mode != 2:  # 2: INCREMENTAL (a file made before it keeps reusing its free pages)
        return 0
    freed = 0
    (free,) = conn.execute("PRAGMA freelist_count").fetchone()
    while free > 0:
        with turns.turn():
            conn.execute(f"PRAGMA incremental_vacuum({VACUUM_PAGES})").fetchall()
        checkpoint(conn, turns)  # as after a batch of deletes (`compact`)
        (left,) = conn.execute("PRAGMA freelist_count").fetchone()
        if left >= free:  # nothing more could go now
            break
        freed += free - left
        free = left
    return freed
