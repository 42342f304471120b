"""A command decider decides only the commands of partitions it still owns: a `consume` that
served a rebalance can return records of a partition just given to another member."""

from __future__ import annotations

from confluent_kafka import Message, TopicPartition

from kartshoppe.eventlog.kafka_commands import COMMANDS_TOPIC, _still_owned


def consumed(partition: int) -> Message:
    """A record as a consume returns it from the commands topic's `partition`."""
    return Message(topic=COMMANDS_TOPIC, partition=partition)


def test_records_of_a_partition_revoked_in_the_same_consume_are_left_to_its_new_owner() -> None:
    kept, revoked = consumed(0), consumed(3)
    owned = [TopicPartition(COMMANDS_TOPIC, 0), TopicPartition(COMMANDS_TOPIC, 1)]
    assert _still_owned([kept, revoked, kept], owned) == [kept, kept]


def test_nothing_is_decided_after_every_partition_was_revoked() -> None:
    assert _still_owned([consumed(2)], []) == []
