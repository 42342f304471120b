"""Fixtures every suite may ask for: the session's one real Kafka broker and Flink cluster.

The broker (KRaft, single node, its jars fetched from Maven Central by the project's own
`kartshoppe.infra.kafka_broker` when missing) starts the first time a test asks for it, so a run
that needs no Kafka starts no JVM, and it serves every suite of the session.

Suites share that broker, and the platform's topic names are fixed (they are the public
contract), so a test that runs servers against it asks for `fresh_kafka`: it empties the broker
(deletes the platform's topics and idle consumer groups) and returns its bootstrap address, so
those servers start on an empty shop and are its only writers.

`make test` runs the suite as two pytest processes side by side: the tests that use the broker
or the Flink cluster (marked `kafka` here, at collection) in one, one after the other, so one
broker and one cluster serve the run and no test empties the broker under another's servers;
everything else in the other (`-m "not kafka"`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from kartshoppe.eventlog.kafka_commands import COMMANDS_TOPIC, OUTCOMES_TOPIC
from kartshoppe.eventlog.port import ALL_TOPICS
from kartshoppe.flink.cluster import FlinkCluster
from kartshoppe.infra.kafka_broker import KafkaBroker

ADMIN_TIMEOUT_S = 30.0
GROUPS_LEFT_ALONE = frozenset({KafkaError.NON_EMPTY_GROUP, KafkaError.GROUP_ID_NOT_FOUND})
"""A group with live members (a client still running) is not ours to remove; a group that went
away meanwhile needs no removing."""


SHARED_SERVICES = frozenset({"kafka_broker", "fresh_kafka", "flink_cluster"})
"""The session's shared services; a fixture that asks for one at run time
(`request.getfixturevalue`) is parametrised with "kafka", which `uses_shared_services` reads too."""


def uses_shared_services(item: pytest.Item) -> bool:
    """Whether the test needs the shared broker or cluster, directly or through its parameters."""
    fixtures = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    return bool(fixtures & SHARED_SERVICES) or any(
        isinstance(value, str) and value == "kafka" for value in params
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Before `-m` selects by the marks."""
    for item in items:
        if uses_shared_services(item):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A real single-node broker on 127.0.0.1 for the whole session, stopped at its end."""
    with KafkaBroker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker


@pytest.fixture(scope="session")
def flink_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlinkCluster]:
    """A real standalone Flink cluster (a JobManager and two TaskManagers, one slot each) for
    the whole session, started on first use and stopped at its end. A test cancels its jobs."""
    cluster = FlinkCluster(tmp_path_factory.mktemp("flink-cluster"), taskmanagers=2)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def empty_broker(bootstrap: str) -> None:
    """Delete the platform's topics and every idle consumer group, and wait until they are gone.

    Groups go too: a group's committed offsets must not outlive the topics they point into.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap})
    listing = admin.list_consumer_groups(request_timeout=ADMIN_TIMEOUT_S).result()
    groups = [group.group_id for group in listing.valid]
    if groups:
        for future in admin.delete_consumer_groups(
            groups, request_timeout=ADMIN_TIMEOUT_S
        ).values():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].code() not in GROUPS_LEFT_ALONE:
                    raise
    ours = (*ALL_TOPICS, COMMANDS_TOPIC, OUTCOMES_TOPIC)
    doomed = [t for t in ours if t in admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics]
    if doomed:
        for future in admin.delete_topics(doomed, operation_timeout=ADMIN_TIMEOUT_S).values():
            future.result()
    deadline = time.monotonic() + ADMIN_TIMEOUT_S
    while set(doomed) & set(admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics):
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics {doomed} still listed {ADMIN_TIMEOUT_S:g}s after deletion")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def fresh_kafka(kafka_broker: KafkaBroker) -> Callable[[], str]:
    """Call it right before starting servers: empties the session broker, returns its bootstrap."""

    def fresh() -> str:
        empty_broker(kafka_broker.bootstrap)
        return kafka_broker.bootstrap

    return fresh
