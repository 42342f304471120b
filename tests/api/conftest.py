"""Fixtures of the API suite: one real server process per bus mode, shared by the whole session.

Every test runs once per entry of `MODES`. A mode turns the pytest request into the extra
`kartshoppe serve` arguments and a reader of topics for that bus. To run the suite over Kafka,
add a `"kafka"` mode whose functions ask for the broker fixture (`request.getfixturevalue`) and
return `("--bus", "kafka", "--bootstrap", ...)` and a reader built on a Kafka consumer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from api_support import Shopper, TopicReader, register, sqlite_topic_reader

from tests.support.server import ServerProcess, running_server


def _embedded_args(_: pytest.FixtureRequest) -> tuple[str, ...]:
    return ("--bus", "embedded")


def _embedded_reader(_: pytest.FixtureRequest, server: ServerProcess) -> TopicReader:
    return sqlite_topic_reader(server.data_dir / "log.sqlite")


OPERATOR = {"email": "operator@kartshoppe.dev", "password": "operator-demo-pass"}
"""The demo operator account every server seeds (kartshoppe.security.users.DEMO_USERS)."""

SERVER_ENV = {"KARTSHOPPE_RATE_SIGNIN": "off"}
"""The suite registers a shopper per test from one address, far above a person's sign-in pace."""

MODES: dict[
    str,
    tuple[
        Callable[[pytest.FixtureRequest], tuple[str, ...]],
        Callable[[pytest.FixtureRequest, ServerProcess], TopicReader],
    ],
] = {"embedded": (_embedded_args, _embedded_reader)}


@pytest.fixture(scope="session", params=list(MODES))
def server_mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


@pytest.fixture(scope="session")
def server_args(server_mode: str, request: pytest.FixtureRequest) -> tuple[str, ...]:
    """Extra `kartshoppe serve` arguments of the mode under test."""
    return MODES[server_mode][0](request)


@pytest.fixture(scope="session")
def server(
    server_args: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("api-server")
    with running_server(tmp, *server_args, env=SERVER_ENV) as running:
        yield running


@pytest.fixture(scope="session")
def read_topic(
    server_mode: str, server: ServerProcess, request: pytest.FixtureRequest
) -> TopicReader:
    """Reads every record of a topic of the running server's bus, as decoded JSON."""
    return MODES[server_mode][1](request, server)


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
