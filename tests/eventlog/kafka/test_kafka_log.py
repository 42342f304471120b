"""What the Kafka adapter promises on a real broker: topics as designed, records any Kafka client
can read, consumer groups that resume, and a clear error when no broker answers."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid

import orjson
from confluent_kafka import Consumer as RawConsumer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource

from kartshoppe.eventlog.kafka import PARTITIONS, KafkaConsumer, KafkaEventLog, take_ready
from kartshoppe.eventlog.port import ALL_TOPICS, LogUnavailableError, Message, Record
from kartshoppe.events import ProductView, Topic, encode_event
from kartshoppe.infra.kafka_broker import CONSOLE_CONSUMER, KafkaBroker, classpath
from kartshoppe.infra.ports import free_port
from tests.eventlog.kafka.tagged import read_tagged

EVENTS = Topic.EVENTS.value


def tagged(count: int, tag: str, topic: str = EVENTS) -> list[Message]:
    return [
        Message(topic, f"key-{i % 7}", orjson.dumps({"tag": tag, "n": i})) for i in range(count)
    ]


async def test_start_creates_every_topic_with_the_documented_partition_counts(
    kafka_log: KafkaEventLog, kafka_broker: KafkaBroker
) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap})
    topics = (await asyncio.to_thread(admin.list_topics, timeout=10)).topics
    assert {t: len(topics[t].partitions) for t in ALL_TOPICS} == dict(PARTITIONS)
    assert kafka_log.partitions == dict(PARTITIONS)


async def test_product_updates_is_a_compacted_topic(kafka_log: KafkaEventLog) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_log.bootstrap})
    resource = ConfigResource(ConfigResource.Type.TOPIC, Topic.PRODUCT_UPDATES.value)
    configs = await asyncio.wrap_future(admin.describe_configs([resource])[resource])
    assert configs["cleanup.policy"].value == "compact"
    other = ConfigResource(ConfigResource.Type.TOPIC, EVENTS)
    other_configs = await asyncio.wrap_future(admin.describe_configs([other])[other])
    assert other_configs["cleanup.policy"].value == "delete"


async def test_appended_records_are_acknowledged_with_positions_and_read_back_in_key_order(
    kafka_log: KafkaEventLog,
) -> None:
    tag = uuid.uuid4().hex
    before = await kafka_log.end_offsets(EVENTS)
    records = await kafka_log.append(tagged(50, tag))

    assert [orjson.loads(r.value)["n"] for r in records] == list(range(50))
    by_key: dict[str | None, set[int]] = {}
    for r in records:
        by_key.setdefault(r.key, set()).add(r.partition)
    assert all(len(partitions) == 1 for partitions in by_key.values()), "one partition per key"
    after = await kafka_log.end_offsets(EVENTS)
    assert sum(after.values()) - sum(before.values()) == 50
    for r in records:
        assert before[r.partition] <= r.offset < after[r.partition]

    async with kafka_log.consumer([EVENTS]) as reader:
        seen = await read_tagged(reader, tag, 50)
    assert sorted(seen) == list(range(50))
    for key in by_key:
        ns = [n for n in seen if f"key-{n % 7}" == key]
        assert ns == sorted(ns), "records of one key keep their order"


async def test_a_group_resumes_after_its_committed_position(kafka_log: KafkaEventLog) -> None:
    group = f"test-{uuid.uuid4().hex}"
    tag = uuid.uuid4().hex
    records = await kafka_log.append(tagged(20, tag, Topic.DLQ.value))
    # DLQ has one partition: the first 12 records are a prefix of the topic's order.
    first, rest = records[:12], records[12:]

    async with kafka_log.consumer([Topic.DLQ.value], group) as consumer:
        assert sorted(await read_tagged(consumer, tag, 20)) == list(range(20))
        await consumer.commit({(first[-1].topic, first[-1].partition): first[-1].offset + 1})

    async with kafka_log.consumer([Topic.DLQ.value], group) as consumer:
        resumed = await read_tagged(consumer, tag, len(rest))
    assert resumed == [orjson.loads(r.value)["n"] for r in rest]


async def test_a_consumer_without_a_group_cannot_commit(kafka_log: KafkaEventLog) -> None:
    async with kafka_log.consumer([EVENTS]) as reader:
        try:
            await reader.commit({(EVENTS, 0): 1})
        except ValueError as exc:
            assert "without a group" in str(exc)
        else:
            raise AssertionError("commit without a group was accepted")


async def test_kafkas_console_consumer_reads_the_seed_json_shape(
    kafka_log: KafkaEventLog, kafka_broker: KafkaBroker
) -> None:
    session = f"s-{uuid.uuid4().hex[:12]}"
    event = ProductView(session_id=session, product_id="prod_001")
    [record] = await kafka_log.append([Message(EVENTS, session, encode_event(event))])

    command = ["java", "-cp", classpath(kafka_broker.cache), CONSOLE_CONSUMER]
    command += ["--bootstrap-server", kafka_broker.bootstrap, "--topic", EVENTS]
    command += ["--partition", str(record.partition), "--offset", str(record.offset)]
    command += ["--max-messages", "1", "--timeout-ms", "30000"]
    command += ["--property", "print.key=true", "--property", "key.separator=|"]
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=90, check=False
    )

    assert done.returncode == 0, done.stderr
    key, value = done.stdout.strip().splitlines()[-1].split("|", 1)
    assert key == session
    body = orjson.loads(value)
    assert body["eventType"] == "PRODUCT_VIEW"
    assert body["sessionId"] == session
    assert body["productId"] == "prod_001"


async def test_an_unreachable_broker_fails_start_quickly_with_a_clear_error() -> None:
    log = KafkaEventLog(f"127.0.0.1:{free_port()}", start_timeout=1.5)
    began = time.monotonic()
    try:
        await log.start()
    except LogUnavailableError as exc:
        assert "did not answer within 1.5s" in str(exc)
    else:
        raise AssertionError("start succeeded without a broker")
    assert time.monotonic() - began < 6


async def test_appending_to_a_log_that_is_not_started_is_refused() -> None:
    log = KafkaEventLog("127.0.0.1:1")
    try:
        await log.append([Message(EVENTS, None, b"{}")])
    except LogUnavailableError as exc:
        assert "not started" in str(exc)
    else:
        raise AssertionError("append before start was accepted")


async def test_unknown_topics_and_non_bytes_values_are_refused(kafka_log: KafkaEventLog) -> None:
    for bad, error in [
        (Message("no_such_topic", None, b"{}"), ValueError),
        (Message(EVENTS, None, "text"), TypeError),  # type: ignore[arg-type]
    ]:
        try:
            await kafka_log.append([bad])
        except error:
            pass
        else:
            raise AssertionError(f"{bad} was accepted")


async def test_two_clients_see_each_others_records(kafka_broker: KafkaBroker) -> None:
    tag = uuid.uuid4().hex
    group = f"test-{uuid.uuid4().hex}"
    async with (
        KafkaEventLog(kafka_broker.bootstrap, client_id="a") as a,
        KafkaEventLog(kafka_broker.bootstrap, client_id="b") as b,
        b.consumer([Topic.FANOUT.value], group) as consumer,
    ):
        records: list[Record] = await a.append(tagged(10, tag, Topic.FANOUT.value))
        assert len(records) == 10
        assert sorted(await read_tagged(consumer, tag, 10)) == list(range(10))


async def test_a_cancelled_poll_frees_the_consumer_for_the_next_one(
    kafka_log: KafkaEventLog,
) -> None:
    async with kafka_log.consumer([Topic.RECOMMENDATIONS.value]) as consumer:
        while await consumer.poll(max_records=10_000, timeout=0):
            pass
        waiting = asyncio.create_task(consumer.poll(timeout=30))
        await asyncio.sleep(0.3)
        waiting.cancel()
        [stored] = await kafka_log.append(
            [Message(Topic.RECOMMENDATIONS.value, "user-1", b'{"after":"cancel"}')]
        )
        began = time.monotonic()
        records = await consumer.poll(timeout=10)
    assert time.monotonic() - began < 5, "the cancelled poll kept the consumer busy"
    assert [(r.partition, r.offset) for r in records] == [(stored.partition, stored.offset)]


async def test_a_batch_read_returns_the_records_that_are_ready_without_waiting_for_more(
    kafka_log: KafkaEventLog, kafka_broker: KafkaBroker
) -> None:
    tag = uuid.uuid4().hex
    await kafka_log.append(tagged(3, tag))
    config = {"bootstrap.servers": kafka_broker.bootstrap, "auto.offset.reset": "earliest"}
    reader = RawConsumer({**config, "group.id": f"ready-{tag}"})
    reader.subscribe([EVENTS])
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while len(seen) < 3:
            assert time.monotonic() < deadline, seen
            started = time.monotonic()
            # far fewer than 500 are ready: the read must not wait out its minute for them
            batch = await asyncio.to_thread(take_ready, reader, 500, 60.0)
            assert time.monotonic() - started < 30
            bodies = [orjson.loads(raw.value() or b"{}") for raw in batch]
            seen += [body["n"] for body in bodies if body.get("tag") == tag]
    finally:
        reader.close()
    assert sorted(seen) == [0, 1, 2]


async def test_a_partition_given_back_resumes_where_the_member_that_had_it_committed(
    kafka_log: KafkaEventLog,
) -> None:
    """While a second member of the group held some partitions, it read and committed records
    this consumer never saw. When they come back, this consumer goes on from that commit: it
    returns none of those records, and records it gets after a gap are checked against that
    commit, not against where it itself had stopped. Its positions name only the partitions it
    holds, so committing them never moves back what the other member committed. (Both members
    commit what they read, so that at-least-once redelivery of this consumer's own uncommitted
    records, which a CI run saw, is not mistaken for the fault.)"""
    tag, group = uuid.uuid4().hex, f"test-{uuid.uuid4().hex}"
    async with kafka_log.consumer([EVENTS], group) as first:
        assert isinstance(first, KafkaConsumer)
        await kafka_log.append(numbered(tag, range(0, 12)))
        assert sorted(await read_tagged(first, tag, 12)) == list(range(0, 12))
        await first.commit(first.positions)
        async with kafka_log.consumer([EVENTS], group) as second:
            assert isinstance(second, KafkaConsumer)
            await rebalanced({first: PARTITIONS[EVENTS] // 2, second: PARTITIONS[EVENTS] // 2})
            assert set(first.positions) <= holding(first), "positions of partitions given up"
            written = await kafka_log.append(numbered(tag, range(12, 24)))
            reads = await asyncio.gather(
                *(read_tagged(m, tag, len(held(m, written))) for m in (first, second))
            )
            assert sorted(reads[0] + reads[1]) == list(range(12, 24))
            # each commits what it read: only the other member's records could come again
            await asyncio.gather(*(m.commit(m.positions) for m in (first, second)))
        await rebalanced({first: PARTITIONS[EVENTS]})
        await kafka_log.append(numbered(tag, range(24, 36)))
        again = await read_tagged(first, tag, 12)
        again += await read_tagged(first, tag, 1, within_s=2)
    assert sorted(again) == list(range(24, 36)), "records the other member had read came again"


def numbered(tag: str, numbers: range) -> list[Message]:
    """Records spread over every partition: each with a key of its own."""
    return [Message(EVENTS, f"key-{n}", orjson.dumps({"tag": tag, "n": n})) for n in numbers]


def holding(member: KafkaConsumer) -> set[tuple[str, int]]:
    """The partitions the member holds."""
    return {(tp.topic, tp.partition) for tp in member._raw.assignment()}


def held(member: KafkaConsumer, records: list[Record]) -> list[Record]:
    """The records on partitions the member holds."""
    mine = holding(member)
    return [r for r in records if (r.topic, r.partition) in mine]


async def rebalanced(members: dict[KafkaConsumer, int], within_s: float = 30) -> None:
    """Poll every member until each holds its number of partitions (a group rebalances only
    while its members poll)."""
    deadline = time.monotonic() + within_s
    while any(len(m._raw.assignment()) != count for m, count in members.items()):
        assert time.monotonic() < deadline, "the group did not rebalance"
        await asyncio.gather(*(m.poll(timeout=0.2) for m in members))
