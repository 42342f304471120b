"""The event-log contract: what every adapter of `EventLog` must do, run against each of them.

The tests hold whatever the number of partitions a topic has and whatever the log already
holds: they take each partition's end offset before they append, judge offsets per
(topic, partition), send the records whose order matters under one key (one key, one partition),
and use fresh group names.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from collections.abc import Iterable, Sequence

import pytest

from kartshoppe.eventlog.port import EventLog, Message, Record, TopicPartition
from kartshoppe.events import Topic
from tests.eventlog.log_support import LogFactory, drain, skip_to_end

TOPIC = Topic.EVENTS.value
OTHER = Topic.DLQ.value

Ends = dict[TopicPartition, int]


def fresh_group() -> str:
    return f"test-{uuid.uuid4().hex}"


def messages(topic: str, count: int, key: str = "session-1") -> list[Message]:
    return [Message(topic, key, f'{{"n":{i}}}'.encode()) for i in range(count)]


async def ends(log: EventLog, topics: Iterable[str]) -> Ends:
    return {(t, p): end for t in topics for p, end in (await log.end_offsets(t)).items()}


def by_partition(records: Iterable[Record]) -> dict[TopicPartition, list[int]]:
    offsets: dict[TopicPartition, list[int]] = collections.defaultdict(list)
    for r in records:
        offsets[(r.topic, r.partition)].append(r.offset)
    return offsets


def assert_dense_from(records: Sequence[Record], start: Ends) -> None:
    """Each (topic, partition) got the offsets that follow its previous end, in order."""
    for tp, offsets in by_partition(records).items():
        assert offsets == list(range(start[tp], start[tp] + len(offsets))), tp


async def read_new(log: EventLog, topics: Sequence[str], since: Ends) -> list[Record]:
    """The records of `topics` written after `since`, read by a consumer from the beginning."""
    total = sum((await ends(log, topics)).values())
    async with log.consumer(topics) as consumer:
        records = await drain(consumer, total)
    return [r for r in records if r.offset >= since[(r.topic, r.partition)]]


async def test_appended_records_come_back_in_order_with_their_keys_and_values(
    event_log: EventLog,
) -> None:
    start = await ends(event_log, [TOPIC])
    sent = messages(TOPIC, 5)
    before_ms = int(time.time() * 1000)

    await event_log.append(sent)

    records = await read_new(event_log, [TOPIC], start)
    assert [(r.topic, r.key, r.value) for r in records] == [(m.topic, m.key, m.value) for m in sent]
    assert_dense_from(records, start)
    assert all(before_ms <= r.timestamp <= int(time.time() * 1000) for r in records)


async def test_a_record_without_a_key_comes_back_without_one(event_log: EventLog) -> None:
    start = await ends(event_log, [TOPIC])

    await event_log.append([Message(TOPIC, None, b'{"keyless":true}')])

    [record] = await read_new(event_log, [TOPIC], start)
    assert (record.key, record.value) == (None, b'{"keyless":true}')


async def test_append_returns_the_stored_records_in_input_order(event_log: EventLog) -> None:
    start = await ends(event_log, [TOPIC, OTHER])
    sent = [Message(TOPIC, "a", b"1"), Message(OTHER, "a", b"2"), Message(TOPIC, "a", b"3")]

    stored = await event_log.append(sent)

    assert [(r.topic, r.key, r.value) for r in stored] == [(m.topic, m.key, m.value) for m in sent]
    assert_dense_from(stored, start)


async def test_offsets_are_dense_per_partition_across_appends(event_log: EventLog) -> None:
    start = await ends(event_log, [TOPIC, OTHER])

    stored: list[Record] = []
    for batch in ([TOPIC, OTHER, TOPIC], [OTHER], [TOPIC, TOPIC, OTHER]):
        stored += await event_log.append([Message(t, "a", b"{}") for t in batch])

    assert_dense_from(stored, start)


async def test_end_offsets_give_the_next_offset_to_be_written(event_log: EventLog) -> None:
    start = await ends(event_log, [TOPIC])

    stored = await event_log.append(messages(TOPIC, 3))

    after = await ends(event_log, [TOPIC])
    written = collections.Counter((r.topic, r.partition) for r in stored)
    assert after == {tp: end + written[tp] for tp, end in start.items()}


async def test_consumer_without_group_reads_from_the_beginning(event_log: EventLog) -> None:
    await event_log.append(messages(TOPIC, 3))
    end = await ends(event_log, [TOPIC])

    async with event_log.consumer([TOPIC]) as consumer:
        records = await drain(consumer, sum(end.values()))

    assert_dense_from(records, dict.fromkeys(end, 0))
    assert {tp: len(offsets) for tp, offsets in by_partition(records).items()} == {
        tp: n for tp, n in end.items() if n
    }


async def test_consumer_of_several_topics_reads_each_partition_in_offset_order(
    event_log: EventLog,
) -> None:
    for _ in range(3):
        await event_log.append([*messages(TOPIC, 2), *messages(OTHER, 3)])
    end = await ends(event_log, [TOPIC, OTHER])

    async with event_log.consumer([TOPIC, OTHER]) as consumer:
        records = await drain(consumer, sum(end.values()))

    assert_dense_from(records, dict.fromkeys(end, 0))
    assert len(records) == sum(end.values())


async def test_consumer_without_group_cannot_commit(event_log: EventLog) -> None:
    [stored] = await event_log.append(messages(TOPIC, 1))

    async with event_log.consumer([TOPIC]) as consumer:
        with pytest.raises(ValueError, match="group"):
            await consumer.commit({(TOPIC, stored.partition): stored.offset + 1})


async def test_consumer_of_an_unknown_topic_is_refused(event_log: EventLog) -> None:
    with pytest.raises(ValueError, match="no_such_topic"):
        event_log.consumer([TOPIC, "no_such_topic"])


async def test_group_consumer_without_commits_starts_at_the_beginning(
    event_log: EventLog,
) -> None:
    await event_log.append(messages(TOPIC, 2))

    async with event_log.consumer([TOPIC], group=fresh_group()) as consumer:
        records = await drain(consumer, 1)

    assert records[0].offset == 0


async def test_group_consumer_resumes_after_its_committed_position_when_the_log_is_reopened(
    log_factory: LogFactory,
) -> None:
    group = fresh_group()
    async with log_factory() as log:
        stored = await log.append(messages(TOPIC, 6))
        end = await ends(log, [TOPIC])
        mine = (TOPIC, stored[0].partition)
        async with log.consumer([TOPIC], group=group) as consumer:
            await drain(consumer, sum(end.values()))
            # Everything read, but the group claims only our first four records.
            await consumer.commit({**end, mine: stored[3].offset + 1})

    async with log_factory() as reopened, reopened.consumer([TOPIC], group=group) as consumer:
        resumed = await drain(consumer, 2)

    assert [(r.partition, r.offset) for r in resumed] == [
        (r.partition, r.offset) for r in stored[4:]
    ]


async def test_poll_wakes_up_when_a_record_is_appended_while_it_waits(
    event_log: EventLog,
) -> None:
    async with event_log.consumer([TOPIC]) as consumer:
        await skip_to_end(consumer)
        waiting = asyncio.create_task(consumer.poll(timeout=60))
        await asyncio.sleep(0.2)
        assert not waiting.done()

        [stored] = await event_log.append([Message(TOPIC, "tail", b'{"tail":1}')])

        # Far below the poll's own timeout: the append woke the waiting poll.
        records = await asyncio.wait_for(waiting, timeout=5)
    assert [(r.partition, r.offset, r.value) for r in records] == [
        (stored.partition, stored.offset, b'{"tail":1}')
    ]


async def test_poll_returns_nothing_once_its_timeout_expires(event_log: EventLog) -> None:
    async with event_log.consumer([TOPIC]) as consumer:
        await skip_to_end(consumer)
        assert await consumer.poll(timeout=0.2) == []


async def test_concurrent_appends_all_get_distinct_offsets_and_are_all_read_back(
    event_log: EventLog,
) -> None:
    start = await ends(event_log, [TOPIC])
    sent = [Message(TOPIC, f"k{i}", f'{{"n":{i}}}'.encode()) for i in range(200)]

    results = await asyncio.gather(*(event_log.append([m]) for m in sent))

    stored = sorted((r for [r] in results), key=lambda r: (r.partition, r.offset))
    assert_dense_from(stored, start)
    records = await read_new(event_log, [TOPIC], start)
    assert sorted(r.value for r in records) == sorted(m.value for m in sent)
    assert {(r.partition, r.offset): r.value for r in records} == {
        (r.partition, r.offset): r.value for r in stored
    }


async def test_an_append_of_several_messages_is_all_or_nothing(event_log: EventLog) -> None:
    start = await ends(event_log, [TOPIC, OTHER])

    with pytest.raises(ValueError, match="not_a_topic"):
        await event_log.append([*messages(TOPIC, 2), Message("not_a_topic", None, b"{}")])
    assert await ends(event_log, [TOPIC, OTHER]) == start

    stored = await event_log.append([*messages(TOPIC, 2), *messages(OTHER, 2)])
    assert_dense_from(stored, start)
    assert len(await read_new(event_log, [TOPIC, OTHER], start)) == 4


async def test_a_fresh_log_starts_every_partition_at_offset_zero(event_log: EventLog) -> None:
    starts = await event_log.start_offsets(TOPIC)

    assert starts == dict.fromkeys(await event_log.end_offsets(TOPIC), 0)


async def test_deleting_records_moves_the_log_start_and_leaves_the_end_and_later_records(
    event_log: EventLog,
) -> None:
    stored = await event_log.append(messages(TOPIC, 6))
    partition = stored[0].partition
    end_before = await event_log.end_offsets(TOPIC)

    await event_log.delete_before(TOPIC, {partition: stored[3].offset})

    assert (await event_log.start_offsets(TOPIC))[partition] == stored[3].offset
    assert await event_log.end_offsets(TOPIC) == end_before
    async with event_log.consumer([TOPIC]) as consumer:
        records = await drain(consumer, sum(end_before.values()) - stored[3].offset)
    mine = [r.value for r in records if r.partition == partition]
    assert mine == [r.value for r in stored[3:]]


async def test_a_group_behind_the_log_start_reads_on_from_the_start(event_log: EventLog) -> None:
    group = fresh_group()
    stored = await event_log.append(messages(TOPIC, 6))
    partition = stored[0].partition
    async with event_log.consumer([TOPIC], group=group) as consumer:
        await consumer.commit({(TOPIC, partition): stored[1].offset})

    await event_log.delete_before(TOPIC, {partition: stored[4].offset})
    async with event_log.consumer([TOPIC], group=group) as consumer:
        records = await drain(consumer, 2)

    assert [r.offset for r in records if r.partition == partition] == [r.offset for r in stored[4:]]


async def test_the_log_start_never_moves_back_nor_past_the_end(event_log: EventLog) -> None:
    stored = await event_log.append(messages(TOPIC, 4))
    partition = stored[0].partition
    end = (await event_log.end_offsets(TOPIC))[partition]

    await event_log.delete_before(TOPIC, {partition: stored[2].offset})
    await event_log.delete_before(TOPIC, {partition: stored[1].offset})
    assert (await event_log.start_offsets(TOPIC))[partition] == stored[2].offset
    await event_log.delete_before(TOPIC, {partition: end + 10})
    assert (await event_log.start_offsets(TOPIC))[partition] == end


async def test_a_compacted_topic_refuses_to_delete_records_by_offset(event_log: EventLog) -> None:
    with pytest.raises(ValueError, match="compacted"):
        await event_log.delete_before(Topic.PRODUCT_UPDATES.value, {0: 1})


async def test_a_closed_consumer_says_so_and_its_poll_returns_nothing_at_once(
    event_log: EventLog,
) -> None:
    consumer = event_log.consumer([Topic.EVENTS.value], group=fresh_group())
    assert not consumer.closed
    await consumer.close()

    assert consumer.closed
    async with asyncio.timeout(0.5):  # not the poll's 5 s
        assert await consumer.poll(10, timeout=5.0) == []
