"""The Kafka adapter through broker outages: a restart in the middle of traffic loses no
acknowledged record and consumers resume; a broker that stays down fails appends loudly."""

from __future__ import annotations

import asyncio
import time
import uuid

import orjson

from kartshoppe.eventlog.kafka import KafkaEventLog
from kartshoppe.eventlog.port import Consumer, LogUnavailableError, Message
from kartshoppe.events import Topic
from kartshoppe.infra.kafka_broker import KafkaBroker

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
