"""Fixtures of the API suite: one real server process per bus mode, shared by the whole session.

Every test runs once per entry of `MODES`. A mode turns the pytest request into the extra
`kartshoppe serve` arguments and a way to open the server's event log from the test (to read
its topics through the log port, whichever adapter it is): "embedded" is the SQLite log in the
server's data directory, "kafka" the session's real broker, emptied before the server starts so
the server is its only writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from kartshoppe.eventlog.kafka import KafkaEventLog
from kartshoppe.eventlog.port import EventLog
from kartshoppe.eventlog.sqlite import SqliteEventLog
from tests.api.api_support import Shopper, TopicReader, port_topic_reader, register
from tests.support.accounts import OPERATOR
from tests.support.server import ServerProcess, running_server

LogOpener = Callable[[], EventLog]
"""A new, not yet started, handle on the running server's event log."""


def _embedded_args(_: pytest.FixtureRequest) -> tuple[str, ...]:
    return ("--bus", "embedded")


def _embedded_log(_: pytest.FixtureRequest, server: ServerProcess) -> LogOpener:
    return lambda: SqliteEventLog(server.data_dir / "log.sqlite")


def _kafka_args(request: pytest.FixtureRequest) -> tuple[str, ...]:
    fresh_kafka: Callable[[], str] = request.getfixturevalue("fresh_kafka")
    return ("--bus", "kafka", "--bootstrap", fresh_kafka())


def _kafka_log(_: pytest.FixtureRequest, server: ServerProcess) -> LogOpener:
    bootstrap = server.args[server.args.index("--bootstrap") + 1]
    return lambda: KafkaEventLog(bootstrap, client_id="kartshoppe-api-test")


SERVER_ENV = {"KARTSHOPPE_RATE_SIGNIN": "off"}
"""The suite registers a shopper per test from one address, far above a person's sign-in pace."""

MODES: dict[
    str,
    tuple[
        Callable[[pytest.FixtureRequest], tuple[str, ...]],
        Callable[[pytest.FixtureRequest, ServerProcess], LogOpener],
    ],
] = {"embedded": (_embedded_args, _embedded_log), "kafka": (_kafka_args, _kafka_log)}


@pytest.fixture(scope="session", params=list(MODES))
def server_mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


@pytest.fixture(scope="session")
def server_args(server_mode: str, request: pytest.FixtureRequest) -> tuple[str, ...]:
    """Extra `kartshoppe serve` arguments of the mode under test."""
    return MODES[server_mode][0](request)


_running: list[ServerProcess] = []


@pytest.fixture(scope="session")
def server(
    server_args: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("api-server")
    with running_server(tmp, *server_args, env=SERVER_ENV) as running:
        _running.append(running)
        yield running
        _running.remove(running)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the suite's server after its last test rather than at the end of the session: on
    the shared broker, a Kafka-mode server left running would go on consuming (and running its
    processors over) whatever later suites write."""
    here = Path(__file__).parent
    if nextitem is None or here not in nextitem.path.parents:
        for running in _running:
            running.stop()


@pytest.fixture(scope="session")
def read_topic(
    server_mode: str, server: ServerProcess, request: pytest.FixtureRequest
) -> TopicReader:
    """Reads every record of a topic of the running server's bus, as decoded JSON."""
    return port_topic_reader(MODES[server_mode][1](request, server))


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url("/api/ecommerce"), timeout=10.0) as client:
        yield client


@pytest.fixture(scope="session")
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    """A client signed in as the operator, for the admin routes."""
    base = server.url("/api/ecommerce")
    token = httpx.post(f"{base}/auth/login", json=OPERATOR).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10.0) as client:
        yield client


@pytest.fixture
def shopper(api: httpx.Client) -> Shopper:
    """A freshly registered, signed-in shopper."""
    return register(api)
