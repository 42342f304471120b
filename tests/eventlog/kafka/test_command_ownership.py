"""A command decider decides only the commands of partitions it still owns: a `consume` that
served a rebalance can return records of a partition just given to another member."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import TopicPartition

from kartshoppe.eventlog.kafka_commands import COMMANDS_TOPIC, _still_owned


@dataclass
class Consumed:
    """The two accessors of a consumed record the ownership check reads."""

    at: tuple[str, int]

    def topic(self) -> str:
        return self.at[0]

    def partition(self) -> int:
        return self.at[1]


def test_records_of_a_partition_revoked_in_the_same_consume_are_left_to_its_new_owner() -> None:
    kept, revoked = Consumed((COMMANDS_TOPIC, 0)), Consumed((COMMANDS_TOPIC, 3))
    owned = [TopicPartition(COMMANDS_TOPIC, 0), TopicPartition(COMMANDS_TOPIC, 1)]
    assert _still_owned([kept, revoked, kept], owned) == [kept, kept]  # type: ignore[list-item]


def test_nothing_is_decided_after_every_partition_was_revoked() -> None:
    assert _still_owned([Consumed((COMMANDS_TOPIC, 2))], []) == []  # type: ignore[list-item]
