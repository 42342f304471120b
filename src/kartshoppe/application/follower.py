"""A follower of the log: tails some topics from the beginning and hands each decoded event to
its listeners, in log order.

When retention has moved a topic's log start past 0, the records below it come first from
`history` (the event store, `eventstore.history`), if the follower has one; without it the
follower reads on from the log start, as a Kafka consumer with `auto.offset.reset=earliest`.

It reports `ready` once it has reached the end offsets it saw at start (the rebuild), and
`wait_applied` returns once given records have been handed to every listener, so a caller that
waits on it reads its own writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import cast

from kartshoppe.eventlog.port import (
    COMPACTED_TOPICS,
    EventLog,
    Positions,
    Record,
    TopicPartition,
)
from kartshoppe.events import Event, EventValidationError, decode_event

logger = logging.getLogger(__name__)

Listener = Callable[[Record, Event], Awaitable[None] | None]
History = Callable[[Mapping[TopicPartition, int]], Awaitable[Sequence[Record]]]
"""Given the log start of each partition, the records below them, in log order."""
PrivateFold = Callable[[Record], None]
"""Folds a record of a topic outside the shop's event contract (accounts); no listener hears it."""

POLL_TIMEOUT_S = 0.2
"""How long an idle poll waits; also the longest `stop` waits for the poll in flight."""


class LogFollower:
    def __init__(
        self,
        event_log: EventLog,
        topics: Sequence[str],
        private: Mapping[str, PrivateFold] | None = None,
        history: History | None = None,
    ) -> None:
        self._log = event_log
        self._history = history
        self.history_applied = 0
        """Records folded from `history` on start (the part retention removed from the log)."""
        self._topics = tuple(topics)
        self._private = dict(private or {})
        self._applied: dict[tuple[str, int], int] = {}
        self._progress = asyncio.Condition()
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._start_ends: dict[tuple[str, int], int] = {}
        self.ready = asyncio.Event()
        self.records_applied = 0
        self._resumed: dict[tuple[str, int], int] = {}

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def resume(self, positions: Mapping[TopicPartition, int]) -> None:
        """Fold from `positions` on, the state below them being in place already (restored from
        a snapshot); call before `start`."""
        if self._task is not None:
            raise RuntimeError("resume before start")
        self._applied.update(positions)
        self._resumed = dict(positions)

    @property
    def applied(self) -> Mapping[TopicPartition, int]:
        """Next offset to fold per partition: everything below is in the listeners' state."""
        return self._applied

    async def start(self) -> None:
        for topic in self._topics:
            for partition, end in (await self._log.end_offsets(topic)).items():
                if end > 0:
                    self._start_ends[(topic, partition)] = end
        if self._history is not None:
            await self._replay_history(self._history)
        if self.caught_up_with_start():
            self.ready.set()
        self._task = asyncio.create_task(self._run(), name=f"follow {','.join(self._topics)}")

    async def _replay_history(self, history: History) -> None:
        starts = {
            (topic, partition): start
            for topic in self._topics
            for partition, start in (await self._log.start_offsets(topic)).items()
            if start > self._applied.get((topic, partition), 0)
        }
        if not starts:
            return
        # a compacted topic keeps its start but lost superseded records: its whole history
        # comes from the store too, in log order with the rest (the catalog as it was when a
        # cart line was added, the price history); the log then adds what the store lacks
        wanted = {
            position: end
            for position, end in self._start_ends.items()
            if position[0] in COMPACTED_TOPICS
        }
        for record in await history({**wanted, **starts}):
            await self._apply(record)
            self.history_applied += 1
        # the history is all there is below the starts, even where it has fewer records than
        # offsets (the store keeps one copy of a redelivered event)
        for position, start in starts.items():
            self._applied[position] = max(self._applied.get(position, 0), start)

    async def stop(self) -> None:
        """Stop once the poll in flight has returned. Cancelling it instead would leave the
        adapter's reader thread on a connection that closing the consumer then closes under it
        (a segfault with SQLite)."""
        self._stopping = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def position_total(self) -> int:
        """Sum of the positions reached (records and Kafka transaction markers alike)."""
        return sum(self._applied.values())

    def caught_up_with_start(self) -> bool:
        return all(self._applied.get(tp, 0) >= end for tp, end in self._start_ends.items())

    async def wait_applied(self, records: Sequence[Record]) -> None:
        """Return once every record in `records` has been applied to the state."""
        await self.wait_positions([(r.topic, r.partition, r.offset) for r in records])

    def has_applied(self, positions: Sequence[tuple[str, int, int]]) -> bool:
        return all(self._applied.get((t, p), 0) > offset for t, p, offset in positions)

    async def wait_positions(self, positions: Sequence[tuple[str, int, int]]) -> None:
        """Return once the records at `positions` (topic, partition, offset) are applied."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.has_applied(positions))

    async def catch_up(self) -> None:
        """Return once everything the log holds now is applied, whoever appended it."""
        ends = [
            (topic, partition, end - 1)
            for topic in self._topics
            for partition, end in (await self._log.end_offsets(topic)).items()
            if end > 0
        ]
        await self.wait_positions(ends)

    async def _run(self) -> None:
        async with self._log.consumer(self._topics) as consumer:
            if self._resumed:
                consumer.seek(dict(self._applied))
            while not (self._stopping or consumer.closed):
                records = await consumer.poll(max_records=2000, timeout=POLL_TIMEOUT_S)
                for record in records:
                    await self._apply(record)
                moved = self._passed(consumer.positions)
                if records or moved:
                    async with self._progress:
                        self._progress.notify_all()
                if not self.ready.is_set() and self.caught_up_with_start():
                    self.ready.set()

    def _passed(self, positions: Positions) -> bool:
        """Take the consumer's positions (past Kafka transaction markers, which take offsets
        but are never returned) as applied; True if any partition moved."""
        moved = False
        for key, offset in positions.items():
            if offset > self._applied.get(key, 0):
                self._applied[key] = offset
                moved = True
        return moved

    async def _apply(self, record: Record) -> None:
        position = (record.topic, record.partition)
        if record.offset < self._applied.get(position, 0):
            return  # already folded from the history
        self._applied[position] = record.offset + 1
        self.records_applied += 1
        private = self._private.get(record.topic)
        if private is not None:
            private(record)
            return
        try:
            # appended in this process: the event it was encoded from (the wire form decodes
            # to an equal one), not a second validation of the same bytes
            event = (
                cast(Event, record.event)
                if record.event is not None
                else decode_event(record.value)
            )
        except EventValidationError as exc:
            where = f"{record.topic}@{record.offset}"
            logger.warning("skipping undecodable record %s: %s", where, exc)
            return
        for listener in self._listeners:
            result = listener(record, event)
            if result is not None:
                await result
