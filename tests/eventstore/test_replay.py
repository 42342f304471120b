"""Replay rebuilds a fresh event log from the store that folds to the same shop as the original."""

from __future__ import annotations

import pathlib

import pytest

from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import Topic
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.replay import replay
from kartshoppe.eventstore.sink import PaimonSink, SinkConfig
from kartshoppe.eventstore.table import EventStore
from tests.eventstore.store_support import append_all, fold_log, shop_day, state_summary


async def test_replaying_the_store_into_a_fresh_log_gives_the_same_shop(
    tmp_path: pathlib.Path, store: EventStore, event_log: SqliteEventLog
) -> None:
    events = shop_day(shoppers=12)
    await append_all(event_log, events)
    await PaimonSink(
        IndexedStore(store), event_log, SinkConfig(max_events=25, max_delay_ms=50)
    ).drain()
    seen: list[tuple[int, int]] = []

    async with SqliteEventLog(tmp_path / "fresh" / "events.db") as fresh:
        result = await replay(
            store, fresh, progress=lambda done, total: seen.append((done, total)), batch_size=20
        )
        rebuilt = await fold_log(fresh)
        fresh_ends = {t.value: await fresh.end_offsets(t.value) for t in Topic}
    original = await fold_log(event_log)

    assert state_summary(rebuilt) == state_summary(original)
    assert state_summary(original)["orders"]
    assert result.events == len(events)
    assert seen[0] == (0, len(events))
    assert seen[-1] == (len(events), len(events))
    for topic in (Topic.EVENTS, Topic.PRODUCT_UPDATES, Topic.INVENTORY_UPDATES):
        assert fresh_ends[topic.value] == await event_log.end_offsets(topic.value)


async def test_each_topic_keeps_its_offset_order_and_keys(
    tmp_path: pathlib.Path, store: EventStore, event_log: SqliteEventLog
) -> None:
    await append_all(event_log, shop_day())
    await PaimonSink(
        IndexedStore(store), event_log, SinkConfig(max_events=7, max_delay_ms=50)
    ).drain()

    async with SqliteEventLog(tmp_path / "fresh" / "events.db") as fresh:
        await replay(store, fresh)
        for topic in (
            Topic.EVENTS.value,
            Topic.PRODUCT_UPDATES.value,
            Topic.INVENTORY_UPDATES.value,
        ):
            original = await event_log.read(topic, 0, 1000)
            copied = await fresh.read(topic, 0, 1000)
            assert [(r.key, r.value) for r in copied] == [(r.key, r.value) for r in original]


async def test_replaying_an_empty_store_appends_nothing(
    tmp_path: pathlib.Path, store: EventStore
) -> None:
    async with SqliteEventLog(tmp_path / "fresh" / "events.db") as fresh:
        result = await replay(store, fresh)
        assert result.events == 0
        assert await fresh.end_offsets(Topic.EVENTS.value) in ({}, {0: 0})


async def test_replay_refuses_a_log_that_already_has_events(
    store: EventStore, event_log: SqliteEventLog
) -> None:
    await append_all(event_log, shop_day())
    await PaimonSink(IndexedStore(store), event_log).drain()

    with pytest.raises(ValueError, match="not empty"):
        await replay(store, event_log)
