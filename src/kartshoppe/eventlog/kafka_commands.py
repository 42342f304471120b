"""The Kafka transport of the command bus: any instance takes any write, the owner decides.

A command is appended to `ecommerce_commands`, keyed by the aggregate that decides it, so all
commands of one cart, product or order land on one partition. Every instance is a member of
the `kartshoppe-deciders` consumer group; the member that owns a partition decides its
commands in order against its fold (`application.commands.step`) and writes the resulting
events, the saga's next commands, the outcome for the waiting caller and the consumed command
offsets in ONE Kafka transaction (`send_offsets_to_transaction` with the group's metadata, so
a member that lost the partition in a rebalance is fenced: KIP-447). Everything reads
`read_committed`, so an aborted attempt is never seen and its commands are decided again by
whoever owns them next. The transactional id is stable per instance (`<data>/instance.id`):
an instance restarted after a crash fences its own unfinished transaction at once; one that
never returns has it aborted by the broker after `TRANSACTION_TIMEOUT_MS`.

The instance that took the HTTP request waits for the outcome on `ecommerce_command_outcomes`
(read by every instance from its end) by command id, bounded by the caller's timeout.

A member deciding a command must see the events of every command decided before it on the
same key: after a rebalance it first folds the state topics up to their committed end, and a
key changed by a transaction of its own waits until the fold has applied that transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Final

import orjson
from confluent_kafka import OFFSET_BEGINNING, IsolationLevel, KafkaError, KafkaException
from confluent_kafka import Consumer as RawConsumer
from confluent_kafka import Message as RawMessage
from confluent_kafka import Producer as RawProducer
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._listoffsets import OffsetSpec
from confluent_kafka.cimpl import NewTopic

from kartshoppe.application.commands import (
    COMMAND_WAIT_S,
    Command,
    CommandBus,
    Decider,
    Effects,
    MalformedCommandError,
    Outcome,
    Position,
    Refusal,
    bounded,
    step,
)
from kartshoppe.application.projection import FOLDED_TOPICS, Projection
from kartshoppe.domain.checkout import ShopRules
from kartshoppe.domain.reservations import ReservationBook
from kartshoppe.eventlog.kafka import take_ready
from kartshoppe.eventlog.port import LogUnavailableError, Message
from kartshoppe.events import BaseEvent, Topic, new_id, now_ms

COMMANDS_TOPIC: Final = "ecommerce_commands"
OUTCOMES_TOPIC: Final = "ecommerce_command_outcomes"
COMMAND_PARTITIONS: Final = 6
"""The unit of write parallelism: at most this many instances decide at once."""
OUTCOME_PARTITIONS: Final = 3
DECIDER_GROUP: Final = "kartshoppe-deciders"
TRANSACTION_TIMEOUT_MS: Final = 10_000
"""How long a crashed instance's open transaction can hold back read_committed readers."""
SESSION_TIMEOUT_MS: Final = 10_000
"""How long a killed member keeps its partitions before the group gives them to others."""
BATCH: Final = 200
OUTCOMES_BATCH: Final = 500
POLL_S: Final = 0.1
APPLY_WAIT_S: Final = 30.0
TXN_CALL_S: Final = 10.0
TRANSACTION_WAIT_S: Final = 4 * TXN_CALL_S
"""Past this a transaction counts as hung, whatever librdkafka's own timeouts say."""
REOPEN_RETRY_S: Final = 1.0

_log = logging.getLogger(__name__)
_LATEST_COMMITTED: Final = OffsetSpec.latest()  # type: ignore[no-untyped-call]


def instance_id(data_dir: Path) -> str:
    """This instance's stable id: the same after a restart on the same data directory."""
    path = data_dir / "instance.id"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(new_id("instance"))
    return path.read_text().strip()


@dataclass
class _Batch:
    """One transaction's worth of decisions."""

    effects: list[Effects] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    first: dict[tuple[str, int], int] = field(default_factory=dict)
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    dead: list[Message] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def consumed(self, raw: RawMessage) -> None:
        topic, partition, offset = raw.topic(), raw.partition(), raw.offset()
        assert topic is not None and partition is not None and offset is not None
        self.first.setdefault((topic, partition), offset)
        self.next_offsets[(topic, partition)] = offset + 1


class KafkaCommandBus(CommandBus):
    def __init__(
        self,
        bootstrap: str,
        instance: str,
        projection: Projection,
        book: ReservationBook,
        route: Callable[[BaseEvent], Message],
        rules: ShopRules | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.instance = instance
        self._projection = projection
        self._decider = Decider(projection.state, book, rules, projection.accounts)
        self._route = route
        self._waiting: dict[str, asyncio.Future[Outcome]] = {}
        self._unapplied: dict[str, tuple[Position, ...]] = {}
        self._kafka = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decider")
        self._stopping = threading.Event()
        self._rebalanced = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._submitter: RawProducer | None = None
        self._txn: RawProducer | None = None
        self._consumer: RawConsumer | None = None
        self._admin: AdminClient | None = None
        self._threads: list[threading.Thread] = []
        self._task: asyncio.Task[None] | None = None
        self._lag: dict[int, int] = {}

    def _common(self) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap, "client.id": f"kartshoppe-{self.instance}"}

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._admin = AdminClient(self._common())
        await asyncio.to_thread(self._create_topics, self._admin)
        self._submitter = RawProducer(
            {**self._common(), "enable.idempotence": True, "acks": "all", "linger.ms": 1}
        )
        outcomes = await asyncio.to_thread(self._outcomes_consumer)
        self._start_thread(self._serve_submitter, "command-submitter")
        self._start_thread(lambda: self._read_outcomes(outcomes), "command-outcomes")
        self._task = asyncio.create_task(self._decide_forever(), name="command-decider")

    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _create_topics(self, admin: AdminClient) -> None:
        wanted = {COMMANDS_TOPIC: COMMAND_PARTITIONS, OUTCOMES_TOPIC: OUTCOME_PARTITIONS}
        existing = admin.list_topics(timeout=10).topics
        new = [NewTopic(t, num_partitions=n) for t, n in wanted.items() if t not in existing]
        for topic, future in (admin.create_topics(new) if new else {}).items():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise LogUnavailableError(f"cannot create topic {topic}: {exc}") from exc
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            topics = admin.list_topics(timeout=10).topics
            if all(
                t in topics and all(p.leader >= 0 for p in topics[t].partitions.values())
                for t in wanted
            ):
                return
            time.sleep(0.05)
        raise LogUnavailableError("command topics got no leader in time")

    async def close(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await asyncio.get_running_loop().run_in_executor(self._kafka, self._close_decider)
        self._kafka.shutdown(wait=False)
        for thread in self._threads:
            thread.join(timeout=2)
        if self._submitter is not None:
            self._submitter.flush(2)
            # closed, not left to the garbage collector: until then it keeps its connections
            await asyncio.to_thread(_close_within, self._submitter, TXN_CALL_S)
        # an admin client has no close: dropping the one reference destroys it
        self._admin = None

    def _close_decider(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
        if self._txn is not None:
            with contextlib.suppress(KafkaException):
                self._txn.abort_transaction(1)
            _close_within(self._txn, TXN_CALL_S)

    # --- the caller's side ------------------------------------------------------------------

    async def submit(self, command: Command, timeout: float = COMMAND_WAIT_S) -> Outcome:
        loop = asyncio.get_running_loop()
        command = replace(command, reply_to=command.command_id, origin=self.instance)
        outcome: asyncio.Future[Outcome] = loop.create_future()
        delivered: asyncio.Future[None] = loop.create_future()
        self._waiting[command.command_id] = outcome

        def on_delivery(error: KafkaError | None, _: RawMessage) -> None:
            loop.call_soon_threadsafe(_settle, delivered, error)

        assert self._submitter is not None
        try:
            self._submitter.produce(
                COMMANDS_TOPIC, command.encode(), command.key.encode(), on_delivery=on_delivery
            )
            started = time.monotonic()
            await bounded_delivery(delivered, timeout)
            return await bounded(outcome, timeout - (time.monotonic() - started), command.kind)
        finally:
            self._waiting.pop(command.command_id, None)

    def _serve_submitter(self) -> None:
        while not self._stopping.is_set():
            assert self._submitter is not None
            self._submitter.poll(0.05)

    def _outcomes_consumer(self) -> RawConsumer:
        """A reader of the outcomes from their current end, fixed before the first submit (an
        assignment at OFFSET_END would be resolved later and could miss early outcomes)."""
        consumer = RawConsumer(
            {
                **self._common(),
                "group.id": f"kartshoppe-outcomes-{self.instance}-{new_id('r')}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        assignment = []
        for partition in range(OUTCOME_PARTITIONS):
            tp = KafkaTopicPartition(OUTCOMES_TOPIC, partition)
            _, high = _retrying(partial(consumer.get_watermark_offsets, tp, timeout=10))
            assignment.append(KafkaTopicPartition(OUTCOMES_TOPIC, partition, high))
        consumer.assign(assignment)
        return consumer

    def _read_outcomes(self, consumer: RawConsumer) -> None:
        try:
            while not self._stopping.is_set():
                for raw in take_ready(consumer, OUTCOMES_BATCH, POLL_S):
                    value = raw.value()
                    if raw.error() is None and isinstance(value, bytes):
                        self._deliver(value)
        finally:
            consumer.close()

    def _deliver(self, value: bytes) -> None:
        try:
            outcome = Outcome.decode(value)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            _log.warning("undecodable command outcome: %s", exc)
            return
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._resolve, outcome)

    def _resolve(self, outcome: Outcome) -> None:
        waiting = self._waiting.get(outcome.command_id)
        if waiting is not None and not waiting.done():
            waiting.set_result(outcome)

    # --- the owner's side -------------------------------------------------------------------

    async def _replace_clients(self) -> None:
        """A new producer under the same transactional id (fencing and aborting whatever
        transaction the old one left open) and a new consumer that resumes from the offsets
        committed with the last transaction that did commit, on a new Kafka thread: the old
        one may be stuck for good, since librdkafka's transactional calls can block past their
        timeouts once the group coordinator went away (a broker restart;
        confluentinc/librdkafka#5456, #5511). That thread is left behind."""
        old = self._consumer
        self._kafka.shutdown(wait=False)
        self._kafka = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decider")
        if old is not None:
            # its background thread would keep heart-beating and so keep the partitions from
            # the new consumer until max.poll.interval.ms; closing it leaves the group now
            await asyncio.to_thread(_close_within, old, TXN_CALL_S)
        await self._in_kafka(self._open_when_up)

    async def _in_kafka(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._kafka, call, *args)

    def _open_when_up(self) -> None:
        """`_open`, tried again until the broker answers (it may be starting or coming back) or
        the bus stops: a decider that gave up would leave every command unanswered for good."""
        while True:
            try:
                self._open()
                return
            except KafkaException as exc:
                if self._stopping.is_set():
                    raise
                _log.warning("command decider cannot open yet (%s); retrying", exc)
                time.sleep(REOPEN_RETRY_S)

    def _open(self) -> None:
        self._txn = RawProducer(
            {
                **self._common(),
                "transactional.id": f"kartshoppe-decider-{self.instance}",
                "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 1,
                "partitioner": "murmur2_random",
            }
        )
        self._txn.init_transactions(30)
        self._consumer = RawConsumer(
            {
                **self._common(),
                "group.id": DECIDER_GROUP,
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": SESSION_TIMEOUT_MS,
                "heartbeat.interval.ms": 1000,
                "partition.assignment.strategy": "cooperative-sticky",
            }
        )
        self._consumer.subscribe(
            [COMMANDS_TOPIC],
            on_assign=lambda *_: self._rebalanced.set(),
            on_revoke=lambda *_: self._rebalanced.set(),
        )

    async def _decide_forever(self) -> None:
        await self._in_kafka(self._open_when_up)
        while not self._stopping.is_set():
            try:
                records = await self._in_kafka(self._consume)
                if self._rebalanced.is_set():
                    self._rebalanced.clear()
                    await self._catch_up()
                if records:
                    await self._decide(records)
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("command decider: batch failed; it is decided again")
                await self._start_over()

    async def _start_over(self) -> None:
        """Back to the last committed offsets, with a new consumer and producer when the old
        ones cannot get there (closed by a recovery that found no broker, say)."""
        try:
            await self._in_kafka(self._rewind)
        except Exception as exc:
            _log.warning("command decider: cannot rewind (%s); opening anew", exc)
            await self._replace_clients()
        await asyncio.sleep(0.5)

    def _consume(self) -> list[RawMessage]:
        assert self._consumer is not None
        records = take_ready(self._consumer, BATCH, POLL_S)
        self._note_lag()
        if records and self._rebalanced.is_set():
            records = _still_owned(records, self._consumer.assignment())
        return records

    def _note_lag(self) -> None:
        assert self._consumer is not None
        lag: dict[int, int] = {}
        for tp in self._consumer.assignment():
            with contextlib.suppress(KafkaException):
                _, high = self._consumer.get_watermark_offsets(tp, cached=True)
                position = self._consumer.position([tp])[0].offset
                if high >= 0 and position >= 0:
                    lag[tp.partition] = max(0, high - position)
        self._lag = lag

    @property
    def lag(self) -> Mapping[int, int]:
        return dict(self._lag)

    async def _catch_up(self) -> None:
        """Fold every committed event before deciding on newly owned keys: the previous owner's
        last transactions are committed (or fenced and aborted) by now."""
        assert self._admin is not None
        wanted = {
            KafkaTopicPartition(topic, p): _LATEST_COMMITTED
            for topic in FOLDED_TOPICS
            for p in range(self._projection_partitions(topic))
        }
        futures = self._admin.list_offsets(
            wanted, isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=10
        )
        try:
            ends = [
                (tp.topic, tp.partition, (await asyncio.wrap_future(f)).offset - 1)
                for tp, f in futures.items()
            ]
        except KafkaException:
            # after a broker restart the admin client may hold stale leader epochs
            # (FENCED_LEADER_EPOCH) that it never refreshes: the next try asks a new one
            self._admin = AdminClient(self._common())
            self._rebalanced.set()
            raise
        await asyncio.wait_for(self._projection.wait_positions(ends), APPLY_WAIT_S)
        self._unapplied.clear()

    def _projection_partitions(self, topic: str) -> int:
        assert self._admin is not None
        return len(self._admin.list_topics(topic, timeout=10).topics[topic].partitions)

    async def _decide(self, records: Sequence[RawMessage]) -> None:
        """Decide `records` in transactions, a new one whenever a key comes again (its next
        command must see the events of the one before). After a transaction that did not
        commit, the rest is left undecided: it is read again, from where the recovery rewound
        or, if the partition moved, by its new owner; deciding it here too would decide it
        twice once the owner (or this member, from its rewound position) reads it again."""
        batch = _Batch()
        for index, raw in enumerate(records):
            if raw.error() is not None:
                continue
            try:
                command = Command.decode(raw.value() or b"")
            except MalformedCommandError as exc:
                batch.consumed(raw)
                batch.dead.append(_dead_letter(raw, str(exc)))
                continue
            if command.key in batch.changed:
                if not await self._commit(batch, records[index:]):
                    return
                batch = _Batch()
            batch.consumed(raw)
            await self._applied(command.key)
            try:
                effects = step(self._decider, command)
            except MalformedCommandError as exc:
                batch.dead.append(_dead_letter(raw, str(exc)))
                if command.reply_to is not None:
                    refusal = Refusal("malformed_command", str(exc), "command")
                    batch.outcomes.append(Outcome(command.reply_to, {}, refusal))
                continue
            if effects.events:
                batch.changed.add(command.key)
            batch.effects.append(effects)
        await self._commit(batch, ())

    async def _applied(self, key: str) -> None:
        positions = self._unapplied.get(key)
        if positions is None:
            return
        if not self._projection.has_applied(positions):
            await asyncio.wait_for(self._projection.wait_positions(positions), APPLY_WAIT_S)
        self._unapplied.pop(key, None)

    async def _commit(self, batch: _Batch, rest: Sequence[RawMessage]) -> bool:
        """Commit `batch`; whether it was committed. If not, the consumer is back at the
        batch's first commands and `rest`'s (or new clients resume from the committed
        offsets)."""
        if not batch.next_offsets:
            return True
        try:
            delivered = await asyncio.wait_for(
                self._in_kafka(self._transact, batch), TRANSACTION_WAIT_S
            )
        except KafkaException as exc:
            _log.warning("command transaction failed, its commands are decided again: %s", exc)
            await self._recover(_firsts(batch, rest), exc.args[0])
            return False
        except TimeoutError:
            _log.warning(
                "command transaction hung; a new producer fences it, its commands are decided again"
            )
            await self._replace_clients()
            return False
        for index, effects in enumerate(batch.effects):
            if delivered.get(index):
                self._unapplied[effects.command.key] = tuple(delivered[index])
        return True

    def _transact(self, batch: _Batch) -> dict[int, list[Position]]:
        """Runs on the Kafka thread: events first (their offsets go into the outcomes), then the
        saga's next commands, the outcomes and the consumed offsets, committed together."""
        producer, consumer = self._txn, self._consumer
        assert producer is not None and consumer is not None
        producer.begin_transaction()
        delivered: dict[int, list[Position]] = defaultdict(list)
        for index, effects in enumerate(batch.effects):
            for event in effects.events:
                self._produce(producer, self._route(event), index, delivered)
        for message in batch.dead:
            self._produce(producer, message)
        producer.flush(TXN_CALL_S)
        placed = [e.placed(delivered.get(i, [])) for i, e in enumerate(batch.effects)]
        for effects in placed:
            for follow_up in effects.follow_ups:
                producer.produce(COMMANDS_TOPIC, follow_up.encode(), follow_up.key.encode())
            if effects.outcome is not None:
                self._answer(producer, effects.outcome, effects.command.origin)
        for outcome in batch.outcomes:
            self._answer(producer, outcome, None)
        offsets = [KafkaTopicPartition(t, p, o) for (t, p), o in batch.next_offsets.items()]
        producer.send_offsets_to_transaction(
            offsets, consumer.consumer_group_metadata(), TXN_CALL_S
        )
        producer.commit_transaction(TXN_CALL_S)
        return delivered

    @staticmethod
    def _answer(producer: RawProducer, outcome: Outcome, origin: str | None) -> None:
        key = origin.encode() if origin else None
        producer.produce(OUTCOMES_TOPIC, outcome.encode(), key)

    @staticmethod
    def _produce(
        producer: RawProducer,
        message: Message,
        index: int | None = None,
        delivered: dict[int, list[Position]] | None = None,
    ) -> None:
        def on_delivery(error: KafkaError | None, raw: RawMessage) -> None:
            if error is None and delivered is not None and index is not None:
                topic, partition, offset = raw.topic(), raw.partition(), raw.offset()
                assert topic is not None and partition is not None and offset is not None
                delivered[index].append((topic, partition, offset))

        key = message.key.encode() if message.key is not None else None
        producer.produce(message.topic, message.value, key, on_delivery=on_delivery)

    def _rewind(self) -> None:
        """Back to the committed offsets: what was consumed but not committed is read again."""
        consumer = self._consumer
        assert consumer is not None
        with contextlib.suppress(KafkaException):
            for tp in consumer.committed(consumer.assignment(), timeout=TXN_CALL_S):
                consumer.seek(
                    tp
                    if tp.offset >= 0
                    else KafkaTopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING)
                )

    async def _recover(self, firsts: Mapping[tuple[str, int], int], error: KafkaError) -> None:
        """Abort the failed transaction and rewind to the first undecided command of each
        partition, `firsts` (after a rebalance the partitions may now be another member's,
        which then decides them). A producer that failed fatally (fenced), or whose abort
        fails or hangs (the broker is away), leaves its transaction open, holding every
        read_committed reader at its start: its clients are replaced instead
        (`_replace_clients`)."""
        aborted = False
        if not error.fatal():
            try:
                aborted = await asyncio.wait_for(self._in_kafka(self._abort), TRANSACTION_WAIT_S)
            except TimeoutError:
                _log.warning("the abort of a failed command transaction hung")
        if aborted:
            await self._in_kafka(self._seek_back, firsts)
        else:
            await self._replace_clients()

    def _abort(self) -> bool:
        producer = self._txn
        assert producer is not None
        try:
            producer.abort_transaction(TXN_CALL_S)
        except KafkaException:
            return False
        return True

    def _seek_back(self, firsts: Mapping[tuple[str, int], int]) -> None:
        consumer = self._consumer
        assert consumer is not None
        owned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        for (topic, partition), offset in firsts.items():
            if (topic, partition) in owned:
                with contextlib.suppress(KafkaException):
                    consumer.seek(KafkaTopicPartition(topic, partition, offset))


def _firsts(batch: _Batch, rest: Sequence[RawMessage]) -> dict[tuple[str, int], int]:
    """The offset of each partition's first command in `batch` or, past it, in `rest`."""
    firsts = dict(batch.first)
    for raw in rest:
        if raw.error() is not None:
            continue
        topic, partition, offset = raw.topic(), raw.partition(), raw.offset()
        assert topic is not None and partition is not None and offset is not None
        firsts[(topic, partition)] = min(firsts.get((topic, partition), offset), offset)
    return firsts


def _still_owned(
    records: list[RawMessage], assignment: list[KafkaTopicPartition]
) -> list[RawMessage]:
    """The records of partitions this member still owns. A `consume` can return records
    fetched before a rebalance it served revoked their partition; their new owner decides
    them from the committed offsets, and the group coordinator would accept this member's
    transactional offsets too (it checks the generation, not the assignment): deciding them
    here as well would decide a command twice."""
    owned = {(tp.topic, tp.partition) for tp in assignment}
    return [r for r in records if (r.topic(), r.partition()) in owned]


def _close_within(client: RawConsumer | RawProducer, timeout: float) -> None:
    """Close `client`, waiting at most `timeout`: a close needs the broker (a consumer's, the
    group coordinator), and one that never answers must not keep the decider from opening new
    clients or the bus from closing."""

    def close() -> None:
        with contextlib.suppress(Exception):
            client.close()

    closing = threading.Thread(target=close, name="decider-close", daemon=True)
    closing.start()
    closing.join(timeout)
    if closing.is_alive():
        _log.warning("a Kafka client of the bus did not close within %gs; going on", timeout)


def _retrying(call: Callable[[], Any], within: float = 15.0) -> Any:
    """A metadata call retried while a new topic's leadership settles."""
    deadline = time.monotonic() + within
    while True:
        try:
            return call()
        except KafkaException as exc:
            if not exc.args[0].retriable() and exc.args[0].code() not in _SETTLING:
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


_SETTLING: Final = frozenset(
    {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError._TIMED_OUT}
)


def _settle(future: asyncio.Future[None], error: KafkaError | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(LogUnavailableError(f"command not accepted by Kafka: {error}"))


async def bounded_delivery(future: asyncio.Future[None], timeout: float) -> None:
    try:
        await asyncio.wait_for(future, timeout)
    except TimeoutError:
        raise LogUnavailableError(f"Kafka did not accept the command within {timeout:g}s") from None


def _dead_letter(raw: RawMessage, reason: str) -> Message:
    value = raw.value() or b""
    body = {
        "reason": "malformed_command",
        "details": [{"field": "command", "message": reason}],
        "rejectedAt": now_ms(),
        "topic": raw.topic(),
        "partition": raw.partition(),
        "offset": raw.offset(),
        "command": value.decode(errors="replace"),
    }
    return Message(Topic.DLQ, None, orjson.dumps(body))
