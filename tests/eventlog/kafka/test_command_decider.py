"""The Kafka command bus's decider keeps deciding whatever happens to its own Kafka clients.

A recovery that finds no broker (a transaction that could not be aborted, a hung one) closes
the decider's consumer and opens new clients; until they are open the old, closed consumer is
all the decider has. A decider that then failed to rewind used to stop for good, and every
command after it waited for an outcome that never came (503 until the server restarted). So
did one whose abort of a failed transaction never returned: librdkafka's transactional calls
can block past their timeouts after a broker restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from kartshoppe.application.commands import Command
from kartshoppe.application.projection import Projection
from kartshoppe.application.shop import route
from kartshoppe.domain.reservations import ReservationBook
from kartshoppe.eventlog import kafka_commands
from kartshoppe.eventlog.kafka import KafkaEventLog
from kartshoppe.eventlog.kafka_commands import COMMAND_PARTITIONS, COMMANDS_TOPIC, KafkaCommandBus
from kartshoppe.events import Product

RECOVERY_WAIT_S = 60.0


def launch(product_id: str) -> Command:
    product = Product(
        id=product_id, name=product_id, category="Test", price=10.0, original_price=10.0, stock=50
    )
    args = {"product": product.model_dump(by_alias=True, mode="json")}
    return Command("product.launch", f"product:{product_id}", args)


class Decided:
    def __init__(self, bus: KafkaCommandBus, projection: Projection) -> None:
        self.bus = bus
        self.projection = projection

    async def launched(self, product_id: str) -> bool:
        """Whether a launch submitted now is decided and folded."""
        outcome = await self.bus.submit(launch(product_id), RECOVERY_WAIT_S)
        await self.projection.wait_positions(outcome.positions)
        return outcome.refusal is None and product_id in self.projection.state.products


@pytest.fixture
async def decided(fresh_kafka: Callable[[], str]) -> AsyncIterator[Decided]:
    bootstrap = fresh_kafka()
    async with KafkaEventLog(bootstrap, client_id="kartshoppe-test") as log:
        projection = Projection(log)
        await projection.start()
        bus = KafkaCommandBus(bootstrap, "decider-test", projection, ReservationBook(), route)
        await bus.start()
        try:
            yield Decided(bus, projection)
        finally:
            await bus.close()
            await projection.stop()


def kafka_clients() -> int:
    """librdkafka clients alive in this process: each runs one thread named `rdk:main`. Those
    no longer referenced go first, so that what earlier tests dropped is not counted."""
    gc.collect()
    count = 0
    for task in Path("/proc/self/task").iterdir():
        # a thread may end between the listing and the read
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            count += (task / "comm").read_text().strip() == "rdk:main"
    return count


async def test_a_closed_bus_leaves_no_kafka_client_of_its_own_running(
    fresh_kafka: Callable[[], str],
) -> None:
    bootstrap = fresh_kafka()
    async with KafkaEventLog(bootstrap, client_id="kartshoppe-test") as log:
        projection = Projection(log)
        await projection.start()
        before = kafka_clients()
        bus = KafkaCommandBus(bootstrap, "closing-test", projection, ReservationBook(), route)
        await bus.start()
        try:
            outcome = await bus.submit(launch("closing"), RECOVERY_WAIT_S)
            assert outcome.refusal is None
            assert kafka_clients() > before
        finally:
            await bus.close()
            await projection.stop()
        deadline = time.monotonic() + 10
        while kafka_clients() > before and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert kafka_clients() == before, "the closed bus left Kafka clients connected"


async def test_a_decider_left_with_a_closed_consumer_opens_anew_and_decides_again(
    decided: Decided,
) -> None:
    assert await decided.launched("before")
    # what a recovery that found no broker used to leave behind
    consumer = decided.bus._consumer
    assert consumer is not None
    await decided.bus._in_kafka(consumer.close)

    assert await decided.launched("after")


class FailsThenNeverAborts:
    """A transactional producer whose transaction fails and whose abort then never returns,
    as librdkafka's can after a broker restart."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def begin_transaction(self) -> None:
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT))

    def abort_transaction(self, _timeout: float) -> None:
        self.release.wait()


async def test_a_decider_whose_abort_never_returns_replaces_its_clients_and_decides_again(
    decided: Decided, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await decided.launched("before")
    monkeypatch.setattr(kafka_commands, "TRANSACTION_WAIT_S", 5.0)
    stuck = FailsThenNeverAborts()
    decided.bus._txn = stuck  # type: ignore[assignment]
    try:
        assert await decided.launched("after")
        assert isinstance(decided.bus._txn, Producer)  # a new one, not the stuck one
    finally:
        stuck.release.set()


class FailsOnce:
    """The decider's producer, except that its first transaction fails at its offsets, as a
    member's does in a rebalance (ILLEGAL_GENERATION) or under load (timed out)."""

    def __init__(self, real: Producer) -> None:
        self.real = real
        self.failed = False

    def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], metadata: Any, timeout: float
    ) -> None:
        if not self.failed:
            self.failed = True
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT))
        self.real.send_offsets_to_transaction(offsets, metadata, timeout)

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def add(session: str, product_id: str) -> Command:
    args = {"sessionId": session, "productId": product_id, "quantity": 1}
    return Command("cart.add", f"cart:{session}", args)


async def commands_written(bootstrap: str) -> int:
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": "commands-written"})
    try:
        ends = [
            await asyncio.to_thread(
                reader.get_watermark_offsets, TopicPartition(COMMANDS_TOPIC, p), 10
            )
            for p in range(COMMAND_PARTITIONS)
        ]
    finally:
        reader.close()
    return sum(high for _, high in ends)


async def test_after_a_transaction_that_did_not_commit_the_rest_of_its_batch_is_decided_once(
    decided: Decided,
) -> None:
    assert await decided.launched("p")
    bus = decided.bus
    real = bus._txn
    assert real is not None
    failing = FailsOnce(real)
    bus._txn = failing  # type: ignore[assignment]
    # the decider's thread held while five adds to one cart pile up: one batch, five
    # transactions (one key), the first of which fails
    release = threading.Event()
    held = asyncio.ensure_future(bus._in_kafka(release.wait))
    before = await commands_written(bus.bootstrap)
    adds = [asyncio.ensure_future(bus.submit(add("s1", "p"), RECOVERY_WAIT_S)) for _ in range(5)]
    while await commands_written(bus.bootstrap) < before + 5:
        await asyncio.sleep(0.05)
    release.set()
    await held
    assert [o.refusal for o in await asyncio.gather(*adds)] == [None] * 5
    assert failing.failed

    # decided after every command of the batch, whatever was decided again
    last = await bus.submit(add("s1", "p"), RECOVERY_WAIT_S)
    await decided.projection.wait_positions(last.positions)
    lines = decided.projection.state.cart("s1").lines
    assert sum(line.quantity for line in lines) == 6
