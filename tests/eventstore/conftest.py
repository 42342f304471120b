"""Fixtures of the event-store tests: a real Paimon table on disk and a real SQLite event log."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator

import pytest

from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import BaseEvent
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.sink import PaimonSink, SinkConfig
from kartshoppe.eventstore.table import EventStore, StoreConfig
from tests.eventstore.store_support import append_all, shop_day


@pytest.fixture
def warehouse(tmp_path: pathlib.Path) -> str:
    return str(tmp_path / "warehouse")


@pytest.fixture
def store(warehouse: str) -> EventStore:
    return EventStore(StoreConfig(warehouse))


@pytest.fixture
def indexed(store: EventStore) -> IndexedStore:
    """The store with its secondary index, as the app and the sink use it."""
    return IndexedStore(store)


@pytest.fixture
async def event_log(tmp_path: pathlib.Path) -> AsyncIterator[SqliteEventLog]:
    async with SqliteEventLog(tmp_path / "log" / "events.db") as log:
        yield log


@pytest.fixture
def events() -> list[BaseEvent]:
    return shop_day()


@pytest.fixture
async def filled_store(
    store: EventStore, indexed: IndexedStore, event_log: SqliteEventLog, events: list[BaseEvent]
) -> EventStore:
    """The shop's day stored as it happens: ten events appended, then stored as one snapshot."""
    sink = PaimonSink(indexed, event_log, SinkConfig(max_events=10, max_delay_ms=50))
    for start in range(0, len(events), 10):
        await append_all(event_log, events[start : start + 10])
        await sink.drain()
    return store
