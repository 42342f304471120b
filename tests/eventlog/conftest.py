"""Event-log fixtures: the contract suite runs once per adapter named in `ADAPTERS`.

To add an adapter, write a function that turns the pytest request into a `LogFactory` (it may
ask for other fixtures, such as a running broker, with `request.getfixturevalue`) and add it to
`ADAPTERS` under the name tests should show.
"""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator, Callable

import pytest

from kartshoppe.eventlog.kafka import KafkaEventLog
from kartshoppe.eventlog.port import EventLog
from kartshoppe.eventlog.sqlite import SqliteEventLog
from tests.eventlog.log_support import LogFactory


def _sqlite(request: pytest.FixtureRequest) -> LogFactory:
    tmp_path: pathlib.Path = request.getfixturevalue("tmp_path")
    path = tmp_path / "log" / "events.db"
    return lambda: SqliteEventLog(path)


def _kafka(request: pytest.FixtureRequest) -> LogFactory:
    # The session's broker, from tests/conftest.py, emptied: earlier suites' servers decide
    # commands in Kafka transactions, whose markers take offsets in the topics they leave behind
    fresh_kafka: Callable[[], str] = request.getfixturevalue("fresh_kafka")
    bootstrap = fresh_kafka()
    return lambda: KafkaEventLog(bootstrap)


ADAPTERS: dict[str, Callable[[pytest.FixtureRequest], LogFactory]] = {
    "sqlite": _sqlite,
    "kafka": _kafka,
}


@pytest.fixture(params=list(ADAPTERS))
def log_factory(request: pytest.FixtureRequest) -> LogFactory:
    return ADAPTERS[request.param](request)


@pytest.fixture
async def event_log(log_factory: LogFactory) -> AsyncIterator[EventLog]:
    async with log_factory() as log:
        yield log
