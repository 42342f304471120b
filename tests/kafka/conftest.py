"""Kafka test fixtures: one real broker (KRaft, fetched from Maven Central) for the session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from kartshoppe.infra.kafka_broker import KafkaBroker
from kartshoppe.log.kafka import KafkaEventLog


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    with KafkaBroker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker


@pytest.fixture
async def kafka_log(kafka_broker: KafkaBroker) -> AsyncIterator[KafkaEventLog]:
    async with KafkaEventLog(kafka_broker.bootstrap, client_id="kartshoppe-test") as log:
        yield log
