"""Which Kafka errors the adapter waits out: the ones a broker restart leaves behind for a
while pass on their own; any other error is raised at once."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from kartshoppe.eventlog.kafka import _retriable


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.FENCED_LEADER_EPOCH,
        KafkaError.UNKNOWN_LEADER_EPOCH,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
    ],
)
def test_leadership_moves_around_a_restart_are_waited_out(code: int) -> None:
    assert _retriable(KafkaException(KafkaError(code)))


def test_an_authorization_failure_is_not_waited_out() -> None:
    assert not _retriable(KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)))
