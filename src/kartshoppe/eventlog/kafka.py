"""The Apache Kafka adapter of the event-log port, over confluent-kafka (librdkafka).

Records are the event's JSON bytes exactly as given and UTF-8 keys, so any Kafka client reads
them. The producer is idempotent with `acks=all`: librdkafka retries through broker restarts
without duplicating or reordering, and `append` returns only once every record is acknowledged.
Keys are hashed with murmur2 like the Java client, so Java/Flink producers pick the same
partition for the same key.

confluent-kafka's calls block, so none of them runs on the event loop: a thread polls the
producer for delivery reports and resolves the appenders' futures; each consumer owns one
worker thread for its fetches and commits; admin calls run in threads or as wrapped futures.

Unlike the embedded log, an `append` of several records is not one transaction: if it raises
`LogUnavailableError`, some of its records may have been written. Kafka transactions would
close that gap at the cost of serialising appends; callers already tolerate at-least-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Final

from confluent_kafka import OFFSET_BEGINNING, IsolationLevel, KafkaError, KafkaException
from confluent_kafka import Consumer as RawConsumer
from confluent_kafka import Message as RawMessage
from confluent_kafka import Producer as RawProducer
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient

# The defining module: `confluent_kafka.admin` re-exports it without declaring it public.
from confluent_kafka.admin._listoffsets import OffsetSpec
from confluent_kafka.cimpl import NewTopic

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
from kartshoppe.events import Topic

PARTITIONS: Final[Mapping[str, int]] = {
    # Keyed by session/user: the unit of parallelism for the API, views and processors.
    Topic.EVENTS: 6,
    Topic.FANOUT: 6,
    # Keyed by product; compacted, read whole by every instance into its product cache.
    Topic.PRODUCT_UPDATES: 3,
    Topic.RECOMMENDATIONS: 3,
    Topic.INVENTORY_UPDATES: 3,
    # Rare and only inspected by people: one partition keeps it in arrival order.
    Topic.DLQ: 1,
    # Keyed by e-mail; compacted, read whole by every instance into its accounts.
    Topic.ACCOUNTS: 3,
}
"""Partition count of each topic when the adapter creates it (existing topics are kept)."""

TOPIC_CONFIGS: Final[Mapping[str, Mapping[str, str]]] = {
    # The latest state per product id is the catalog (a GlobalKTable-style topic); the latest
    # record per e-mail is the account (each carries the whole account).
    topic: {"cleanup.policy": "compact"}
    for topic in COMPACTED_TOPICS
}

DELIVERY_TIMEOUT_S: Final = 30.0
"""How long the producer retries a record (e.g. through a broker restart) before failing it."""

LINGER_MS: Final = 1.0
"""How long the producer waits to fill a batch. Under load batches fill while earlier ones are
in flight anyway; an interactive append (add to cart) pays this wait in full."""

PRODUCER_POLL_S: Final = 0.05
PURGE_REPORTS_S: Final = 1.0
FETCH_STEP_S: Final = 0.2
"""Longest a consumer's worker blocks in librdkafka before it looks at close/cancel again."""

CATCH_UP_TIMEOUT_S: Final = 15.0
"""Longest a new consumer's `poll` waits past its timeout to reach the log's end (group join,
first fetch) before it returns empty anyway."""
QUEUE_FULL_BACKOFF_S: Final = 0.005

STALL_S: Final = 5.0
"""A consumer that fetched nothing this long looks for partitions whose log holds records past
its position; one found so at two looks in a row, at the same position, is stalled, and its
fetch restarts at that position (one look alone would also find a fetch still under way: records
just appended, a transaction just aborted). After a broker restart librdkafka can leave
a partition waiting (an offset validation or lookup that is never retried) until its next
metadata refresh, minutes later; records appended meanwhile would reach no one."""
STALL_ASK_S: Final = 1.0
"""Longest the look for a stall waits for the log's offsets: it runs on the consumer's worker
thread, so while the broker is down it must not hold up `poll` and `close` for long."""

SESSION_TIMEOUT_MS: Final = 10_000
"""After a broker restart librdkafka sometimes never finds the group coordinator again until the
session times out and it rejoins; 10 s (Kafka's former default, not today's 45 s) bounds that
stall while still riding out ordinary pauses."""

_LATEST: Final = OffsetSpec.latest()  # type: ignore[no-untyped-call]
_EARLIEST: Final = OffsetSpec.earliest()  # type: ignore[no-untyped-call]

_librdkafka_log = logging.getLogger("kartshoppe.eventlog.kafka.librdkafka")
logger = logging.getLogger(__name__)


_TRANSIENT_CODES: Final = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._TIMED_OUT,
        KafkaError.FENCED_LEADER_EPOCH,
        KafkaError.UNKNOWN_LEADER_EPOCH,
    }
)
STALE_METADATA: Final = frozenset({KafkaError.FENCED_LEADER_EPOCH, KafkaError.UNKNOWN_LEADER_EPOCH})
"""Errors an admin client keeps answering from leader epochs cached across a broker restart:
older than the broker's (FENCED) or, while the restarted broker is still loading its
partitions, newer (UNKNOWN)."""


def _retriable(exc: KafkaException) -> bool:
    """Admin results do not always flag these as retriable, though they pass on their own."""
    error: KafkaError = exc.args[0]
    return error.retriable() or error.code() in _TRANSIENT_CODES


def take_ready(consumer: RawConsumer, most: int, timeout: float) -> list[RawMessage]:
    """Up to `most` records: waits at most `timeout` for the first, then takes only what is
    already fetched. librdkafka's `consume(most, timeout)` waits until it has `most` records
    or the whole timeout has passed, which put its full timeout on every quiet batch."""
    first = consumer.poll(timeout)
    if first is None:
        return []
    return [first, *consumer.consume(most - 1, 0)] if most > 1 else [first]


def behind(
    fetched: Mapping[TopicPartition, int], offsets: Mapping[TopicPartition, range]
) -> dict[TopicPartition, int]:
    """The partitions whose log holds records past the next offset fetched from them, each with
    where fetching must go on (never before the log's start)."""
    return {
        key: max(fetched[key], span.start)
        for key, span in offsets.items()
        if key in fetched and span.stop > fetched[key]
    }


def still_behind(
    before: Mapping[TopicPartition, int], now: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """The partitions `behind` found at the last look and again now at the same offset: they
    fetched nothing in between."""
    return {key: at for key, at in now.items() if before.get(key) == at}


def _to_record(raw: RawMessage, key: str | None, value: bytes) -> Record:
    topic, partition, offset = raw.topic(), raw.partition(), raw.offset()
    assert topic is not None and partition is not None and offset is not None
    return Record(topic, partition, offset, key, value, raw.timestamp()[1])


def _consumed(raw: RawMessage) -> Record:
    key = raw.key()
    value = raw.value()
    return _to_record(
        raw,
        key.decode() if isinstance(key, bytes) else key,
        value if isinstance(value, bytes) else b"",
    )


class _Pending:
    """The delivery reports of one append. They arrive on the producer's poll thread (or the
    thread flushing it at close); the appender's loop is woken once, after the last one."""

    def __init__(self, loop: asyncio.AbstractEventLoop, messages: Sequence[Message]) -> None:
        self.future: asyncio.Future[list[Record]] = loop.create_future()
        self._loop = loop
        self._messages = messages
        self._records: list[Record | None] = [None] * len(messages)
        self._failures: list[str] = []
        self._remaining = len(messages)
        self._lock = threading.Lock()

    def report(self, index: int, error: KafkaError | None, raw: RawMessage) -> None:
        message = self._messages[index]
        with self._lock:
            if error is None:
                self._records[index] = _to_record(raw, message.key, message.value)
            else:
                self._failures.append(f"record to {message.topic} not acknowledged: {error}")
            self._remaining -= 1
            done = self._remaining == 0
        if done:
            self._wake()

    def abandon(self, count: int, reason: str) -> None:
        """`count` records were never handed to librdkafka: no report will come for them."""
        with self._lock:
            self._failures.extend([reason] * count)
            self._remaining -= count
            done = self._remaining == 0
        if done:
            self._wake()

    def _wake(self) -> None:
        try:
            self._loop.call_soon_threadsafe(self._settle)
        except RuntimeError:
            logger.warning("delivery reports after the appender's event loop closed")

    def _settle(self) -> None:
        if self.future.done():
            return
        if self._failures:
            self.future.set_exception(
                LogUnavailableError(
                    f"{len(self._failures)} of {len(self._records)} records not acknowledged "
                    f"({self._failures[0]})"
                )
            )
        else:
            self.future.set_result([r for r in self._records if r is not None])


class _Producer:
    """A librdkafka producer and the thread that serves its delivery reports."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.fatal: KafkaError | None = None
        self._raw = RawProducer({**config, "error_cb": self._on_error})
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kafka-producer", daemon=True)
        self._thread.start()

    def produce(self, message: Message, on_delivery: Callable[[Any, Any], None]) -> None:
        self._raw.produce(
            message.topic,
            value=message.value,
            key=message.key.encode() if message.key is not None else None,
            on_delivery=on_delivery,
        )

    def close(self, timeout: float) -> int:
        """Wait up to `timeout` for records in flight; returns how many were left undelivered.

        Those are purged, so their appenders get `LogUnavailableError` instead of waiting forever.
        """
        left = self._raw.flush(timeout)
        if left:
            self._raw.purge()
            self._raw.flush(PURGE_REPORTS_S)
        self._stopping.set()
        self._thread.join()
        # closed now: left to the garbage collector it would stay connected until a cycle
        # collection (its error callback refers back to this object)
        self._raw.close()
        return left

    def _serve(self) -> None:
        while not self._stopping.is_set():
            self._raw.poll(PRODUCER_POLL_S)

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self.fatal = error
            _librdkafka_log.error("producer: %s", error)
        else:
            # Connection errors while a broker restarts: librdkafka retries them itself.
            _librdkafka_log.info("producer: %s", error)


class KafkaEventLog(EventLog):
    """An `EventLog` on a Kafka cluster reached through `bootstrap` (host:port[,host:port])."""

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str = "kartshoppe",
        partitions: dict[str, int] | None = None,
        start_timeout: float = 10.0,
        replication_factor: int = 1,
        delivery_timeout: float = DELIVERY_TIMEOUT_S,
        linger_ms: float = LINGER_MS,
    ) -> None:
        for topic in partitions or {}:
            check_topic(topic)
        self.bootstrap = bootstrap
        self._client_id = client_id
        self._wanted = {**PARTITIONS, **(partitions or {})}
        self._start_timeout = start_timeout
        self._replication_factor = replication_factor
        self._delivery_timeout = delivery_timeout
        self._linger_ms = linger_ms
        self._admin: AdminClient | None = None
        self._producer: _Producer | None = None
        self._partitions: dict[str, int] = {}
        self._consumers: set[KafkaConsumer] = set()

    @property
    def partitions(self) -> dict[str, int]:
        """Partition count of each topic, as found or created by `start`."""
        return dict(self._partitions)

    def _common_config(self) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.bootstrap,
            "client.id": self._client_id,
            "logger": _librdkafka_log,
        }

    def _producer_config(self) -> dict[str, Any]:
        return {
            **self._common_config(),
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": self._linger_ms,
            "delivery.timeout.ms": int(self._delivery_timeout * 1000),
            "partitioner": "murmur2_random",
        }

    async def start(self) -> None:
        if self._producer is not None:
            raise LogUnavailableError("log is already started")
        admin = AdminClient(self._common_config())
        try:
            metadata = await asyncio.to_thread(admin.list_topics, timeout=self._start_timeout)
        except KafkaException as exc:
            raise LogUnavailableError(
                f"Kafka at {self.bootstrap} did not answer within {self._start_timeout:g}s "
                f"({exc.args[0]}); is the broker running? "
                "(`python -m kartshoppe.infra.kafka_broker start` runs a local one)"
            ) from exc
        existing = {name: len(t.partitions) for name, t in metadata.topics.items()}
        missing = [t for t in ALL_TOPICS if t not in existing]
        await self._create_missing(admin, missing)
        if missing:
            await asyncio.to_thread(self._await_leaders, admin, missing)
        self._partitions = {t: existing.get(t, self._wanted[t]) for t in ALL_TOPICS}
        self._admin = admin
        self._producer = _Producer(self._producer_config())

    async def _create_missing(self, admin: AdminClient, topics: list[str]) -> None:
        if not topics:
            return
        new = [
            NewTopic(
                t,
                num_partitions=self._wanted[t],
                replication_factor=self._replication_factor,
                config=dict(TOPIC_CONFIGS.get(t, {})),
            )
            for t in topics
        ]
        futures = admin.create_topics(new, request_timeout=self._start_timeout)
        for topic, future in futures.items():
            try:
                await asyncio.wrap_future(future)
            except KafkaException as exc:
                # Another instance starting at the same moment may have created it first.
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise LogUnavailableError(f"cannot create topic {topic}: {exc}") from exc

    def _await_leaders(self, admin: AdminClient, topics: list[str]) -> None:
        """New topics take a moment to get partition leaders; until then reads of them fail."""
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            metadata = admin.list_topics(timeout=self._start_timeout)
            found = [metadata.topics.get(t) for t in topics]
            if all(
                t is not None
                and t.error is None
                and t.partitions
                and all(p.leader >= 0 and p.error is None for p in t.partitions.values())
                for t in found
            ):
                return
            time.sleep(FETCH_STEP_S / 4)
        raise LogUnavailableError(f"topics {topics} got no leader within {self._start_timeout:g}s")

    async def close(self) -> None:
        for consumer in list(self._consumers):
            await consumer.close()
        producer, self._producer = self._producer, None
        self._admin = None
        if producer is not None:
            left = await asyncio.to_thread(producer.close, self._delivery_timeout)
            if left:
                logger.warning("closed with %d records not acknowledged by Kafka", left)

    async def append(self, messages: Sequence[Message]) -> list[Record]:
        for message in messages:
            check_message(message)
        producer = self._running_producer()
        if not messages:
            return []
        pending = _Pending(asyncio.get_running_loop(), messages)
        for index, message in enumerate(messages):
            try:
                await self._produce(producer, message, partial(pending.report, index))
            except KafkaException as exc:
                # Nothing after this one was handed over; those before it may still land.
                pending.abandon(len(messages) - index, f"Kafka refused the record: {exc}")
                break
        try:
            return await pending.future
        except LogUnavailableError as exc:
            raise LogUnavailableError(f"Kafka at {self.bootstrap}: {exc}") from None

    async def _produce(
        self, producer: _Producer, message: Message, on_delivery: Callable[[Any, Any], None]
    ) -> None:
        while True:
            try:
                producer.produce(message, on_delivery)
                return
            except BufferError:
                # librdkafka's local queue is full: let the poll thread drain reports.
                await asyncio.sleep(QUEUE_FULL_BACKOFF_S)

    def _running_producer(self) -> _Producer:
        producer = self._producer
        if producer is None:
            raise LogUnavailableError("log is not started (or already closed)")
        if producer.fatal is not None:
            # A fenced or otherwise broken idempotent producer never recovers: replace it.
            logger.warning("replacing Kafka producer after fatal error %s", producer.fatal)
            threading.Thread(target=producer.close, args=(0,), daemon=True).start()
            producer = self._producer = _Producer(self._producer_config())
        return producer

    def consumer(self, topics: Sequence[str], group: str | None = None) -> KafkaConsumer:
        if not topics:
            raise ValueError("a consumer needs at least one topic")
        for topic in topics:
            check_topic(topic)
        if self._producer is None:
            raise LogUnavailableError("log is not started (or already closed)")
        config = {
            **self._common_config(),
            # A reader without a group still needs an id; it never joins or commits.
            "group.id": group or f"{self._client_id}-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_TIMEOUT_MS,
        }
        assignment = None if group else [(t, self._partitions[t]) for t in topics]
        consumer = KafkaConsumer(
            config, list(topics), group, assignment, self._consumers, self._offset_range
        )
        self._consumers.add(consumer)
        return consumer

    def _fresh_admin(self, stale: AdminClient, exc: KafkaException) -> AdminClient:
        """The admin client to ask again after `exc`: a new one when `stale` holds leader epochs
        from before a broker restart (it keeps answering FENCED_LEADER_EPOCH, never refreshing
        them itself), else the same."""
        if exc.args[0].code() not in STALE_METADATA or self._admin is not stale:
            return self._admin or stale
        self._admin = AdminClient(self._common_config())
        return self._admin

    def _offset_range(
        self, partitions: list[TopicPartition], timeout: float | None = None
    ) -> dict[TopicPartition, range]:
        """First and next offset of each partition, each ask bounded by `timeout` (the start
        timeout by default); blocking, for consumers' worker threads."""
        admin = self._admin
        if admin is None:
            raise LogUnavailableError("log is closed")
        timeout = self._start_timeout if timeout is None else timeout
        try:
            return self._ask_offset_range(admin, partitions, timeout)
        except KafkaException as exc:
            return self._ask_offset_range(self._fresh_admin(admin, exc), partitions, timeout)

    def _ask_offset_range(
        self, admin: AdminClient, partitions: list[TopicPartition], timeout: float
    ) -> dict[TopicPartition, range]:
        specs = (_EARLIEST, _LATEST)
        lookups = [
            admin.list_offsets(
                {KafkaTopicPartition(t, p): spec for t, p in partitions},
                # what a consumer (read_committed) can reach: not an open transaction's records
                isolation_level=IsolationLevel.READ_COMMITTED,
                request_timeout=timeout,
            )
            for spec in specs
        ]
        firsts, ends = (
            {(tp.topic, tp.partition): future.result().offset for tp, future in lookup.items()}
            for lookup in lookups
        )
        return {key: range(firsts[key], ends[key]) for key in partitions}

    async def end_offsets(self, topic: str) -> dict[int, int]:
        return await self._list_offsets(topic, _LATEST)

    async def start_offsets(self, topic: str) -> dict[int, int]:
        return await self._list_offsets(topic, _EARLIEST)

    async def delete_before(self, topic: str, offsets: Mapping[int, int]) -> None:
        check_topic(topic)
        if topic in COMPACTED_TOPICS:
            raise ValueError(f"{topic} is compacted: its records leave by compaction only")
        admin = self._admin
        if admin is None:
            raise LogUnavailableError("log is not started (or already closed)")
        ends = await self.end_offsets(topic)
        # Kafka refuses an offset past the end; the port clamps instead
        request = [
            KafkaTopicPartition(topic, p, min(offset, ends[p])) for p, offset in offsets.items()
        ]
        futures = admin.delete_records(request, request_timeout=self._start_timeout)
        try:
            for future in futures.values():
                await asyncio.wrap_future(future)
        except KafkaException as exc:
            raise LogUnavailableError(f"cannot delete records of {topic}: {exc}") from exc

    async def _list_offsets(self, topic: str, spec: OffsetSpec) -> dict[int, int]:
        check_topic(topic)
        admin = self._admin
        if admin is None:
            raise LogUnavailableError("log is not started (or already closed)")
        request = {KafkaTopicPartition(topic, p): spec for p in range(self._partitions[topic])}
        deadline = time.monotonic() + self._start_timeout
        while True:
            futures = admin.list_offsets(request, request_timeout=self._start_timeout)
            try:
                return {
                    tp.partition: (await asyncio.wrap_future(future)).offset
                    for tp, future in futures.items()
                }
            except KafkaException as exc:
                # Leadership moves (a broker restarting) are retriable; wait them out a while.
                if not _retriable(exc) or time.monotonic() >= deadline:
                    raise LogUnavailableError(f"cannot read offsets of {topic}: {exc}") from exc
                admin = self._fresh_admin(admin, exc)
                await asyncio.sleep(FETCH_STEP_S)


class KafkaConsumer(Consumer):
    """A librdkafka consumer driven from its own worker thread.

    Fetched records land in a buffer before `poll` returns them, so a `poll` cancelled while
    its fetch is running loses nothing: the next `poll` returns those records.

    A new consumer first catches up: until it has fetched up to the end offsets its partitions
    had when it got them, an empty `poll` keeps waiting (at most `CATCH_UP_TIMEOUT_S`) instead
    of returning early. So, as with the embedded log, `poll(timeout=0)` returning nothing means
    "nothing more in the log", and rebuilding a view by polling until empty reads it all.
    """

    def __init__(
        self,
        config: dict[str, Any],
        topics: list[str],
        group: str | None,
        assignment: list[tuple[str, int]] | None,
        registry: set[KafkaConsumer],
        offset_range: Callable[[list[TopicPartition], float | None], dict[TopicPartition, range]],
    ) -> None:
        self._offset_range = offset_range
        self._group = group
        self._registry = registry
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-consumer")
        self._fatal: KafkaError | None = None
        self._raw = RawConsumer({**config, "error_cb": self._on_error})
        self._buffer: deque[Record] = deque()
        self._positions: dict[TopicPartition, int] = {}
        self._fetched: dict[TopicPartition, int] = {}
        self._targets: dict[TopicPartition, int] = {}
        self._unassigned = [(t, p) for t, count in assignment or [] for p in range(count)]
        self._assigned = False
        self._caught_up = False
        self._interrupted = threading.Event()
        self._closed = False
        self._progressed = time.monotonic()
        # partitions that took a record since the last disruption (an error librdkafka
        # reported, such as a lost broker connection, or a new assignment)
        self._settled: set[TopicPartition] = set()
        self._gaps: dict[TopicPartition, int] = {}
        self._lagging: dict[TopicPartition, int] = {}
        """What the last look for a stall found behind the log (`behind`)."""
        if assignment is None:
            self._raw.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke)

    @property
    def positions(self) -> dict[TopicPartition, int]:
        """Next offset after the records `poll` has returned, per (topic, partition)."""
        return dict(self._positions)

    @property
    def closed(self) -> bool:
        return self._closed

    async def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, got {max_records}")
        if self._closed:
            return []
        if not self._buffer:
            try:
                await self._in_worker(self._fetch, max_records, timeout)
            except asyncio.CancelledError:
                self._interrupted.set()
                raise
        taken = [self._buffer.popleft() for _ in range(min(max_records, len(self._buffer)))]
        for record in taken:
            self._positions[(record.topic, record.partition)] = record.offset + 1
        if not self._buffer:
            # past transaction markers too, which take offsets but are never returned (a copy:
            # a fetch that a cancelled poll left running may be in a rebalance callback)
            for key, offset in list(self._fetched.items()):
                self._positions[key] = max(offset, self._positions.get(key, 0))
        return taken

    async def commit(self, positions: Positions) -> None:
        if self._group is None:
            raise ValueError("a consumer without a group cannot commit positions")
        offsets = []
        for (topic, partition), offset in positions.items():
            check_topic(topic)
            if partition < 0 or offset < 0:
                raise ValueError(f"invalid position {offset} for {topic}[{partition}]")
            offsets.append(KafkaTopicPartition(topic, partition, offset))
        if self._closed:
            raise LogUnavailableError("consumer is closed")
        if not offsets:
            return
        try:
            await self._in_worker(self._commit, offsets)
        except KafkaException as exc:
            raise LogUnavailableError(f"commit of group {self._group} failed: {exc}") from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._interrupted.set()
        self._registry.discard(self)
        await self._in_worker(self._raw.close)
        self._worker.shutdown(wait=False)

    async def _in_worker(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._worker, call, *args)

    def _on_assign(self, _consumer: RawConsumer, partitions: list[KafkaTopicPartition]) -> None:
        """Runs inside `poll` on the worker thread. Assigned partitions are caught up again,
        from the group's committed offsets: another member may have read on from where this
        one stopped, so what this one fetched before says nothing of where fetching resumes.
        Known before the first record comes, they also let that record be checked for a gap."""
        self._assigned = True
        self._caught_up = False
        self._settled.clear()
        keys = [(tp.topic, tp.partition) for tp in partitions]
        self._forget(keys)
        try:
            self._learn_targets(keys)
        except (KafkaException, LogUnavailableError) as exc:
            _librdkafka_log.info("consumer: committed offsets not known yet: %s", exc)

    def _on_revoke(self, _consumer: RawConsumer, partitions: list[KafkaTopicPartition]) -> None:
        """Runs inside `poll` on the worker thread. A partition given up is no longer this
        consumer's to report or commit: its positions are dropped, so a caller committing
        `positions` after a rebalance cannot move back what its new owner commits."""
        keys = [(tp.topic, tp.partition) for tp in partitions]
        self._forget(keys)
        for key in keys:
            self._positions.pop(key, None)

    def _forget(self, keys: list[TopicPartition]) -> None:
        """Drop what this consumer knew of where these partitions' fetching stood."""
        for key in keys:
            self._fetched.pop(key, None)
            self._targets.pop(key, None)
            self._gaps.pop(key, None)
            self._lagging.pop(key, None)

    def _fetch(self, max_records: int, timeout: float) -> None:
        """Wait for the first record (in short steps, so close and cancel are prompt), then take
        whatever else is ready, up to `max_records`."""
        self._interrupted.clear()
        if self._unassigned:
            self._assign_from_start()
        self._is_caught_up()
        now = time.monotonic()
        deadline, catch_up_deadline = now + timeout, now + CATCH_UP_TIMEOUT_S
        # A fetch whose poll was cancelled may have filled the buffer meanwhile.
        while not self._interrupted.is_set() and not self._buffer:
            now = time.monotonic()
            remaining = deadline - now
            behind = remaining <= 0 and now < catch_up_deadline and not self._is_caught_up()
            step = FETCH_STEP_S if behind else min(max(remaining, 0), FETCH_STEP_S)
            ready = take_ready(self._raw, max_records, step)
            refetching: set[TopicPartition] = set()
            for raw in ready:
                self._accept(raw, refetching)
            if ready:
                self._progressed = time.monotonic()
            if self._fatal is not None:
                raise LogUnavailableError(f"Kafka consumer failed: {self._fatal}")
            if not ready:
                # also while catching up: a stalled partition would keep it from ever ending
                self._unstall()
                if remaining <= 0 and not behind:
                    self._note_positions()
                    return
        self._note_positions()

    def _note_positions(self) -> None:
        """Control records (transaction markers) take offsets but never reach `poll`; the
        consumer's position moves past them and so must ours, or a partition written with
        transactions would never look caught up."""
        if not self._assigned:
            return
        with contextlib.suppress(KafkaException):
            for tp in self._raw.position(self._raw.assignment()):
                key = (tp.topic, tp.partition)
                # a partition fetched again from before a gap: its position is being reset
                if tp.offset >= 0 and key in self._fetched and key not in self._gaps:
                    self._fetched[key] = max(self._fetched[key], tp.offset)

    def _unstall(self) -> None:
        """Restart the fetch of partitions that hold records this consumer has not fetched
        though it fetched nothing for `STALL_S`, found so at two looks `STALL_S` apart (looked
        at once per `STALL_S` while nothing comes): resumed and
        sought to where fetching stopped, without a leader epoch, so librdkafka skips the
        validation it was stuck in. Records librdkafka had fetched but not handed over are
        fetched again from there, so none is lost or returned twice."""
        now = time.monotonic()
        if not self._assigned or now - self._progressed < STALL_S:
            return
        self._progressed = now
        assignment = [(tp.topic, tp.partition) for tp in self._raw.assignment()]
        try:
            offsets = self._offset_range(assignment, STALL_ASK_S) if assignment else {}
        except (KafkaException, LogUnavailableError) as exc:
            _librdkafka_log.info("consumer: cannot look for a stall yet: %s", exc)
            return
        # What librdkafka moved past without a record to return (an aborted transaction, its
        # marker) was fetched too: a partition holding only such offsets is not behind. Read
        # after the ends, so offsets fetched meanwhile count.
        self._note_positions()
        lagging = behind(self._fetched, offsets)
        stalled = still_behind(self._lagging, lagging)
        self._lagging = {key: at for key, at in lagging.items() if key not in stalled}
        if not stalled:
            return
        logger.warning("consumer stalled behind the log; fetching again at %s", stalled)
        for key, offset in stalled.items():
            self._fetch_again(key, offset)

    def _fetch_again(self, key: TopicPartition, offset: int) -> bool:
        """Resume the partition and seek it to `offset`; whether librdkafka accepted that. The
        seek carries no leader epoch, so it also ends an offset validation left hanging."""
        at = KafkaTopicPartition(key[0], key[1], offset)
        try:
            self._raw.resume([at])
            self._raw.seek(at)
        except KafkaException as exc:
            _librdkafka_log.info("consumer: cannot fetch %s[%d] again: %s", key[0], key[1], exc)
            return False
        return True

    def _assign_from_start(self) -> None:
        """Assign a reader's partitions at their first offsets, looked up first: assigning at
        OFFSET_BEGINNING would make librdkafka query them itself, after a fixed delay."""
        partitions, self._unassigned = self._unassigned, []
        try:
            self._learn_targets(partitions)
        except KafkaException as exc:
            _librdkafka_log.info("consumer: first offsets not known yet: %s", exc)
        self._raw.assign(
            [
                KafkaTopicPartition(t, p, self._fetched.get((t, p), OFFSET_BEGINNING))
                for t, p in partitions
            ]
        )
        self._assigned = True

    def _accept(self, raw: RawMessage, refetching: set[TopicPartition]) -> None:
        """Buffer a fetched record, unless its partition is being fetched again from before a
        gap (`refetching`: the partitions of this batch whose later records come again)."""
        error = raw.error()
        if error is None:
            record = _consumed(raw)
            key = (record.topic, record.partition)
            if key not in self._settled:
                if key in refetching or self._refetch_gap(key, record.offset):
                    refetching.add(key)
                    return
                self._gaps.pop(key, None)
                self._settled.add(key)
            self._buffer.append(record)
            self._fetched[key] = record.offset + 1
        else:
            self._on_error(error)

    def _on_error(self, error: KafkaError) -> None:
        """An error librdkafka reports, inside `poll` on the worker thread. A transient one (a
        broker restarting, a leader moving) librdkafka retries by itself; it is a disruption
        after which each partition's next record is checked for a gap (`_refetch_gap`)."""
        if error.fatal():
            self._fatal = error
            return
        _librdkafka_log.info("consumer: %s", error)
        self._settled.clear()

    def _refetch_gap(self, key: TopicPartition, offset: int) -> bool:
        """Whether the partition is sought back to fetch the records before `offset` again: when
        its first record since a disruption comes after a gap, the gap is fetched once more.
        Across a broker restart a CI run's group consumer resumed 80 records past where it had
        stopped, records every other reader got. A gap found again at the same offset is the
        log's own (transaction markers, aborted or compacted records) and taken; records found
        in it had been skipped and are returned as if never missed."""
        expected = self._fetched.get(key)
        if expected is None or offset <= expected:
            return False
        if self._gaps.get(key) == offset or not self._fetch_again(key, expected):
            return False
        self._gaps[key] = offset
        _librdkafka_log.info("consumer: %s[%d] fetched again at %d", key[0], key[1], expected)
        return True

    def _is_caught_up(self) -> bool:
        if self._caught_up:
            return True
        if not self._assigned:
            return False
        assignment = [(tp.topic, tp.partition) for tp in self._raw.assignment()]
        try:
            self._learn_targets([key for key in assignment if key not in self._targets])
        except KafkaException as exc:
            _librdkafka_log.info("consumer: end offsets not known yet: %s", exc)
            return False
        self._caught_up = all(self._fetched[key] >= self._targets[key] for key in assignment)
        return self._caught_up

    def _learn_targets(self, partitions: list[TopicPartition]) -> None:
        """Where catching up ends (the end offset) and where it starts (the committed offset, or
        the log's start) for newly assigned partitions; `_fetched` starts at the latter."""
        if not partitions:
            return
        ranges = self._offset_range(partitions, None)
        committed: dict[TopicPartition, int] = {}
        if self._group is not None:
            asked = [KafkaTopicPartition(t, p) for t, p in partitions]
            for tp in self._raw.committed(asked, timeout=CATCH_UP_TIMEOUT_S):
                committed[(tp.topic, tp.partition)] = tp.offset
        for key, offsets in ranges.items():
            start = max(committed.get(key, -1), offsets.start)
            self._fetched[key] = max(self._fetched.get(key, 0), start)
            self._targets[key] = offsets.stop

    def _commit(self, offsets: list[KafkaTopicPartition]) -> None:
        committed = self._raw.commit(offsets=offsets, asynchronous=False)
        for tp in committed or []:
            if tp.error is not None:
                raise LogUnavailableError(
                    f"commit of {tp.topic}[{tp.partition}] for group {self._group} failed: "
                    f"{tp.error}"
                )
