"""Kafka test fixtures; the broker itself is the session's one, from tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kartshoppe.eventlog.kafka import KafkaEventLog
from kartshoppe.infra.kafka_broker import KafkaBroker


@pytest.fixture
async def kafka_log(kafka_broker: KafkaBroker) -> AsyncIterator[KafkaEventLog]:
    async with KafkaEventLog(kafka_broker.bootstrap, client_id="kartshoppe-test") as log:
        yield log
