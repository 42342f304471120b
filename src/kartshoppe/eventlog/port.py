"""The event-log port: what the platform needs of a partitioned, durable, replayable log.

Two adapters implement it: `eventlog.sqlite` (embedded, one file, one partition a topic) and
`eventlog.kafka` (Apache Kafka through confluent-kafka); `eventlog.adapters.make_log` picks the
one the settings ask for, and nothing else knows which one runs. The shape follows Kafka's
model: topics split into partitions, records with keys and per-partition offsets, consumer
groups whose committed positions survive restarts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from kartshoppe.events import BaseEvent, Topic

ALL_TOPICS: tuple[str, ...] = tuple(t.value for t in Topic)

COMPACTED_TOPICS: frozenset[str] = frozenset({Topic.PRODUCT_UPDATES, Topic.ACCOUNTS})
"""Topics whose latest record per key is the state (each carries the whole product or account):
Kafka compacts them (`cleanup.policy=compact`), the embedded log's retention keeps that record
per key however old, and their log start never moves."""


@dataclass(frozen=True, slots=True)
class Message:
    """A record to append: `value` is the JSON wire form of an event."""

    topic: str
    key: str | None
    value: bytes
    event: BaseEvent | None = field(default=None, compare=False, repr=False)
    """The event `value` encodes, when the writer has it: handed on with the stored record to
    the readers in this process, which then need not decode (validate) `value` again."""


@dataclass(frozen=True, slots=True)
class Record:
    """A record as stored: its position is (`topic`, `partition`, `offset`)."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    timestamp: int
    """Append time in epoch milliseconds."""
    event: BaseEvent | None = field(default=None, compare=False, repr=False)
    """The event `value` encodes, on a record appended in this process and handed straight to
    its readers (`Message.event`); None on a record read back from storage."""


TopicPartition = tuple[str, int]
Positions = Mapping[TopicPartition, int]
"""Next offset to read for each (topic, partition)."""


def check_topic(topic: str) -> None:
    """Refuse a topic outside the contract, naming the known ones."""
    if topic not in ALL_TOPICS:
        raise ValueError(f"unknown topic {topic!r}; known topics: {', '.join(ALL_TOPICS)}")


def check_message(message: Message) -> None:
    """Refuse a message an adapter could not store as written (every adapter checks the same)."""
    check_topic(message.topic)
    if not isinstance(message.value, bytes):
        raise TypeError(f"message value must be bytes, not {type(message.value).__name__}")
    if message.key is not None and not isinstance(message.key, str):
        raise TypeError(f"message key must be str or None, not {type(message.key).__name__}")


class LogUnavailableError(RuntimeError):
    """The log cannot be reached or refused the write; nothing was acknowledged."""


class Consumer(ABC):
    """Reads records of some topics in order per partition, from a group's committed position."""

    @abstractmethod
    async def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """Records after the last ones returned; waits up to `timeout` seconds for the first."""

    @abstractmethod
    async def commit(self, positions: Positions) -> None:
        """Make `positions` (next offsets) the group's committed position; durable on return."""

    @abstractmethod
    async def close(self) -> None: ...

    @property
    @abstractmethod
    def closed(self) -> bool:
        """Whether the consumer was closed, by its owner or by its log's `close`: `poll` then
        returns nothing at once, so a loop of polls must end on it, or it never waits again."""

    @property
    def positions(self) -> Positions:
        """Next offset per partition after what `poll` returned (and after records never
        returned, such as Kafka's transaction markers)."""
        return {}

    def seek(self, positions: Positions) -> None:
        """Read on from `positions` (next offsets; the other partitions as before), set before
        the first poll: a view restored from a snapshot folds only what follows it."""
        raise NotImplementedError(f"{type(self).__name__} cannot start at given positions")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class EventLog(ABC):
    """A durable log of topics. `append` returns only once the records are on disk."""

    @abstractmethod
    async def start(self) -> None:
        """Open the log and create missing topics."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def append(self, messages: Sequence[Message]) -> list[Record]:
        """Append atomically and durably; the stored records are returned in input order."""

    @abstractmethod
    def consumer(self, topics: Sequence[str], group: str | None = None) -> Consumer:
        """A consumer of `topics`. With a `group` it starts at the group's committed positions
        (or the beginning) and may commit; without one it reads from the beginning and does not
        commit (used to rebuild views)."""

    @abstractmethod
    async def end_offsets(self, topic: str) -> dict[int, int]:
        """Next offset to be written, per partition of `topic`."""

    @abstractmethod
    async def start_offsets(self, topic: str) -> dict[int, int]:
        """First offset still held, per partition of `topic` (Kafka's log start offset).

        Retention removes what lies below it. A consumer whose position is below it reads on
        from it, as Kafka's `auto.offset.reset=earliest` does, so whoever needs the full history
        reads the part below it from the event store (`eventstore.history`)."""

    @abstractmethod
    async def delete_before(self, topic: str, offsets: Mapping[int, int]) -> None:
        """Remove the records below `offsets` (per partition) and move the log start there, as
        Kafka's DeleteRecords does. The start never moves back nor past the end; a compacted
        topic refuses (its records leave by compaction only)."""

    def look_again(self) -> None:
        """Another process says it has appended: waiting consumers read now rather than at the
        adapter's next look of its own (the embedded log's watcher looks every 50 ms). Nothing
        to do where every reader hears of every append anyway (Kafka)."""
        return None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def consumer_lags(
    log: EventLog, consumers: Mapping[str, tuple[Iterable[str], Positions]]
) -> dict[str, int]:
    """Per consumer (its topics and committed positions): the records of its topics it has not
    committed yet. A consumer that falls behind, or stopped, shows a growing number."""
    ends: dict[str, dict[int, int]] = {}
    lags: dict[str, int] = {}
    for name, (topics, positions) in consumers.items():
        behind = 0
        for topic in topics:
            if topic not in ends:
                ends[topic] = await log.end_offsets(topic)
            for partition, end in ends[topic].items():
                behind += max(0, end - positions.get((topic, partition), 0))
        lags[name] = behind
    return lags
