"""Fixtures every suite may ask for: the session's one real Kafka broker.

The broker (KRaft, single node, its jars fetched from Maven Central by the project's own
`kartshoppe.infra.kafka_broker` when missing) starts the first time a test asks for it, so a run
that needs no Kafka starts no JVM, and it serves every suite of the session.

Suites share that broker, and the platform's topic names are fixed (they are the public
contract), so a test that runs servers against it asks for `fresh_kafka`: it empties the broker
(deletes the platform's topics and idle consumer groups) and returns its bootstrap address, so
those servers start on an empty shop and are its only writers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from kartshoppe.eventlog.port import ALL_TOPICS
from kartshoppe.infra.kafka_broker import KafkaBroker

ADMIN_TIMEOUT_S = 30.0
GROUPS_LEFT_ALONE = frozenset({KafkaError.NON_EMPTY_GROUP, KafkaError.GROUP_ID_NOT_FOUND})
"""A group with live members (a client still running) is not ours to remove; a group that went
away meanwhile needs no removing."""


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A real single-node broker on 127.0.0.1 for the whole session, stopped at its end."""
    with KafkaBroker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker


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
    doomed = [t for t in ALL_TOPICS if t in admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics]
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
