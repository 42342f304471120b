"""The Kafka adapter through broker outages: a restart in the middle of traffic loses no
acknowledged record and consumers resume, even one that librdkafka stopped fetching for; a
broker that stays down fails appends loudly."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka import TopicPartition as KafkaTopicPartition

from kartshoppe.eventlog import kafka
from kartshoppe.eventlog.kafka import KafkaConsumer, KafkaEventLog, behind, still_behind
from kartshoppe.eventlog.port import Consumer, LogUnavailableError, Message
from kartshoppe.events import Topic
from kartshoppe.infra.kafka_broker import KafkaBroker
from tests.eventlog.kafka.tagged import read_tagged

EVENTS = Topic.EVENTS.value
BATCH = 20


async def collect(
    consumer: Consumer, tag: str, wanted: set[int], within_s: float, seen: set[int] | None = None
) -> set[int]:
    """Poll until every number in `wanted` carrying `tag` is in `seen`, or time runs out."""
    seen = set() if seen is None else seen
    deadline = time.monotonic() + within_s
    while not wanted <= seen and time.monotonic() < deadline:
        for record in await consumer.poll(max_records=1000, timeout=0.5):
            body = orjson.loads(record.value)
            if body.get("tag") == tag:
                seen.add(body["n"])
    return seen


async def traffic_goes_on(acknowledged: set[int], after: int, within_s: float) -> None:
    """Wait until more than `after` records are acknowledged: appends go on after the restart
    (however slowly a loaded machine lets them), so the test proves more than one batch."""
    deadline = time.monotonic() + within_s
    while len(acknowledged) <= after:
        assert time.monotonic() < deadline, (
            f"only {len(acknowledged)} acknowledged after the restart"
        )
        await asyncio.sleep(0.05)


async def test_a_broker_restart_mid_stream_loses_no_acknowledged_record(
    kafka_broker: KafkaBroker,
) -> None:
    tag = uuid.uuid4().hex
    acknowledged: set[int] = set()
    refused: set[int] = set()
    slowest = 0.0
    writing = True

    async def write(log: KafkaEventLog) -> None:
        nonlocal slowest
        n = 0
        while writing:
            batch = [
                Message(EVENTS, f"user-{i % 13}", orjson.dumps({"tag": tag, "n": i}))
                for i in range(n, n + BATCH)
            ]
            began = time.monotonic()
            try:
                records = await log.append(batch)
            except LogUnavailableError:
                refused.update(range(n, n + BATCH))
            else:
                acknowledged.update(orjson.loads(r.value)["n"] for r in records)
            slowest = max(slowest, time.monotonic() - began)
            n += BATCH
            await asyncio.sleep(0.02)

    async with KafkaEventLog(kafka_broker.bootstrap, delivery_timeout=60) as log:
        group = f"test-{uuid.uuid4().hex}"
        async with log.consumer([EVENTS], group) as live:
            writer = asyncio.create_task(write(log))
            live_seen = await collect(live, tag, set(range(BATCH)), within_s=20)
            await asyncio.to_thread(kafka_broker.restart)
            await traffic_goes_on(acknowledged, after=len(acknowledged) + 2 * BATCH, within_s=30)
            writing = False
            await writer
            await collect(live, tag, acknowledged, within_s=30, seen=live_seen)

        async with log.consumer([EVENTS]) as reader:
            read_back = await collect(reader, tag, acknowledged, within_s=30)

    assert slowest > 1.0, "no append was in flight while the broker was down"
    assert len(acknowledged) > 3 * BATCH
    assert acknowledged <= read_back, f"lost: {sorted(acknowledged - read_back)[:20]}"
    assert acknowledged <= live_seen, "the live consumer did not resume after the restart"
    attempted = set(range(max(acknowledged | refused) + 1))
    assert acknowledged | refused == attempted, "every append was acknowledged or refused"


async def test_appends_to_a_stopped_broker_raise_after_the_delivery_timeout(
    kafka_broker: KafkaBroker,
) -> None:
    async with KafkaEventLog(kafka_broker.bootstrap, delivery_timeout=3) as log:
        await log.append([Message(EVENTS, "k", b'{"warm":true}')])
        await asyncio.to_thread(kafka_broker.stop)
        try:
            began = time.monotonic()
            try:
                await log.append([Message(EVENTS, "k", b'{"during":"outage"}')])
            except LogUnavailableError as exc:
                assert "not acknowledged" in str(exc)
            else:
                raise AssertionError("an append to a stopped broker was acknowledged")
            assert time.monotonic() - began < 15
        finally:
            await asyncio.to_thread(kafka_broker.start)
        records = await log.append([Message(EVENTS, "k", b'{"after":"restart"}')])
        assert len(records) == 1


def test_a_partition_is_behind_when_the_log_holds_records_past_what_was_fetched() -> None:
    fetched = {("t", 0): 10, ("t", 1): 7, ("t", 2): 3}
    offsets = {("t", 0): range(0, 10), ("t", 1): range(0, 9), ("t", 2): range(5, 8)}
    # partition 0 is at the end; 1 is two behind; 2's records before 5 were deleted
    assert behind(fetched, offsets) == {("t", 1): 7, ("t", 2): 5}
    assert behind({}, offsets) == {}, "a partition with no known position is not judged"


def test_a_partition_is_stalled_only_when_two_looks_find_it_behind_at_the_same_offset() -> None:
    before = {("t", 0): 4, ("t", 1): 7}
    now = {("t", 0): 4, ("t", 1): 9, ("t", 2): 0}
    # 0 did not move; 1 fetched meanwhile; 2 is behind for the first time (a fetch under way)
    assert still_behind(before, now) == {("t", 0): 4}
    assert still_behind({}, now) == {}


@pytest.mark.parametrize("behind_by", [0, 3000], ids=["caught-up", "catching-up"])
async def test_a_consumer_that_librdkafka_stopped_fetching_for_fetches_again_by_itself(
    kafka_broker: KafkaBroker, monkeypatch: pytest.MonkeyPatch, behind_by: int
) -> None:
    """The stand-in for a partition librdkafka leaves waiting after a broker restart: the
    partitions paused behind the consumer's back, when it had read up to the log's end or
    while it was still catching up (`behind_by` records to go). Within about `STALL_S` it
    fetches again, every record once and in order."""
    monkeypatch.setattr(kafka, "STALL_S", 1.0)
    tag = uuid.uuid4().hex
    log = KafkaEventLog(kafka_broker.bootstrap)
    async with log:
        await log.append(numbered(tag, range(1)))
        filler = [Message(EVENTS, "k", b'{"tag":"filler"}')] * behind_by
        for start in range(0, behind_by, 1000):
            await log.append(filler[start : start + 1000])
        async with log.consumer([EVENTS], f"test-{uuid.uuid4().hex}") as live:
            assert isinstance(live, KafkaConsumer)
            assert await read_tagged(live, tag, 1) == [0]
            raw = live._raw
            await asyncio.to_thread(
                raw.pause, [KafkaTopicPartition(t.topic, t.partition) for t in raw.assignment()]
            )
            await log.append(numbered(tag, range(1, 6)))
            began = time.monotonic()
            numbers = await read_tagged(live, tag, 5, within_s=20)
            took = time.monotonic() - began
    assert numbers == [1, 2, 3, 4, 5], "the stalled consumer did not fetch again"
    assert took < 1.0 + 5, f"it fetched again only after {took:.1f} s"


async def test_records_librdkafka_resumes_past_after_a_broker_restart_are_fetched_again(
    kafka_broker: KafkaBroker,
) -> None:
    """What a CI run saw: across a broker restart the consumer's fetch position moved past
    records it never returned (here moved behind its back). It returns them anyway, once each
    and in order."""
    tag = uuid.uuid4().hex
    async with across_a_restart(kafka_broker, tag) as (log, live):
        written = await log.append(numbered(tag, range(1, 8)))
        skipped_to = written[3]
        await asyncio.to_thread(
            live._raw.seek,
            KafkaTopicPartition(skipped_to.topic, skipped_to.partition, skipped_to.offset),
        )
        numbers = await read_tagged(live, tag, 7)
    assert numbers == [1, 2, 3, 4, 5, 6, 7]


async def test_a_new_group_that_librdkafka_starts_past_its_first_records_gets_them_too(
    kafka_broker: KafkaBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new group's first assignment is checked too: its partitions' starting offsets are
    learned when they are assigned, before any record comes. Here librdkafka is made to start
    the partition past the test's first three records; they come anyway, in order."""
    tag = uuid.uuid4().hex
    log = KafkaEventLog(kafka_broker.bootstrap)
    async with log:
        written = await log.append(numbered(tag, range(7)))
        skipped_to = written[3]
        learned = kafka.KafkaConsumer._on_assign

        def assign_past(
            self: KafkaConsumer, raw: object, partitions: list[KafkaTopicPartition]
        ) -> None:
            learned(self, self._raw, partitions)
            self._raw.assign(
                [
                    KafkaTopicPartition(tp.topic, tp.partition, skipped_to.offset)
                    if (tp.topic, tp.partition) == (skipped_to.topic, skipped_to.partition)
                    else tp
                    for tp in partitions
                ]
            )

        monkeypatch.setattr(kafka.KafkaConsumer, "_on_assign", assign_past)
        async with log.consumer([EVENTS], f"test-{uuid.uuid4().hex}") as live:
            numbers = await read_tagged(live, tag, 7)
    assert numbers == [0, 1, 2, 3, 4, 5, 6]


async def test_a_gap_an_aborted_transaction_leaves_is_taken_once_fetched_again(
    kafka_broker: KafkaBroker,
) -> None:
    """An aborted transaction's records are never returned, and its abort marker takes an
    offset too: a gap that fetching again finds again. Met first after a broker restart, it is
    fetched again once, and the records after it come once each."""
    tag = uuid.uuid4().hex
    async with across_a_restart(kafka_broker, tag) as (_, live):
        await transactions(kafka_broker.bootstrap, tag, ((1, False), (3, True), (5, True)))
        numbers = await read_tagged(live, tag, 4)
        numbers += await read_tagged(live, tag, 1, within_s=2)
    assert numbers == [3, 4, 5, 6]


async def test_a_consumer_at_the_end_of_what_it_may_read_is_not_taken_for_stalled(
    kafka_broker: KafkaBroker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Records no consumer may read still take offsets: an aborted transaction's (with its
    marker) and an open one's. A consumer that read everything before them has read all it
    can; it idles without being taken for stalled or fetching again."""
    monkeypatch.setattr(kafka, "STALL_S", 0.5)
    tag = uuid.uuid4().hex
    log = KafkaEventLog(kafka_broker.bootstrap)
    async with log, log.consumer([EVENTS], f"test-{uuid.uuid4().hex}") as live:
        while await live.poll(max_records=1000, timeout=0.5):
            pass  # what other tests left in the shared log, read to its end
        await transactions(kafka_broker.bootstrap, tag, ((1, False),))
        producer = Producer(
            {"bootstrap.servers": kafka_broker.bootstrap, "transactional.id": f"open-{tag}"}
        )
        await asyncio.to_thread(producer.init_transactions, 30)
        producer.begin_transaction()
        for message in numbered(tag, range(3, 5)):
            producer.produce(EVENTS, message.value, b"k")
        await asyncio.to_thread(producer.flush, 30)
        try:
            with caplog.at_level(logging.INFO, logger=kafka.__name__):
                idle_until = time.monotonic() + 3
                while time.monotonic() < idle_until:
                    assert await live.poll(timeout=0.5) == []
        finally:
            await asyncio.to_thread(producer.abort_transaction, 30)
            await asyncio.to_thread(producer.close)
    assert "stalled" not in caplog.text
    assert "fetched again" not in caplog.text


@asynccontextmanager
async def across_a_restart(
    broker: KafkaBroker, tag: str
) -> AsyncIterator[tuple[KafkaEventLog, KafkaConsumer]]:
    """A log and a group consumer of it that read and committed record 0 (key `k`) before the
    broker restarted, and have since taken the restart as a disruption."""
    log = KafkaEventLog(broker.bootstrap, delivery_timeout=60)
    async with log, log.consumer([EVENTS], f"test-{uuid.uuid4().hex}") as live:
        assert isinstance(live, KafkaConsumer)
        [first] = await log.append(numbered(tag, range(1)))
        assert await read_tagged(live, tag, 1) == [0]
        # committed: a restart slow enough to end the member's session makes it join again,
        # and a group fetches from what it committed (at-least-once), which is not what the
        # tests here are about (a CI run under load read record 0 twice)
        await live.commit(live.positions)
        await asyncio.to_thread(broker.restart)
        deadline = time.monotonic() + 30
        while (first.topic, first.partition) in live._settled:
            assert time.monotonic() < deadline, "the consumer heard nothing of the restart"
            await live.poll(timeout=0.2)
        yield log, live


async def transactions(bootstrap: str, tag: str, batches: tuple[tuple[int, bool], ...]) -> None:
    """Records `n` and `n + 1` with key `k` in a transaction per (n, committed) of `batches`."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": f"test-{tag}",
            "partitioner": "murmur2_random",  # the log's: the same partition as its key `k`
        }
    )
    await asyncio.to_thread(producer.init_transactions, 30)
    for n, commit in batches:
        producer.begin_transaction()
        for message in numbered(tag, range(n, n + 2)):
            producer.produce(EVENTS, message.value, b"k")
        await asyncio.to_thread(producer.flush, 30)  # written, even those then aborted
        end = producer.commit_transaction if commit else producer.abort_transaction
        await asyncio.to_thread(end, 30)
    await asyncio.to_thread(producer.close)


def numbered(tag: str, numbers: range) -> list[Message]:
    return [Message(EVENTS, "k", orjson.dumps({"tag": tag, "n": n})) for n in numbers]
