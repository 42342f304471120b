"""The Kafka command bus's decider keeps deciding whatever happens to its own Kafka clients.

A recovery that finds no broker (a transaction that could not be aborted, a hung one) closes
the decider's consumer and opens new clients; until they are open the old, closed consumer is
all the decider has. A decider that then failed to rewind used to stop for good, and every
command after it waited for an outcome that never came (503 until the server restarted).
"""

from __future__ import annotations

from collections.abc import Callable

from kartshoppe.application.commands import Command
from kartshoppe.application.projection import Projection
from kartshoppe.application.shop import route
from kartshoppe.domain.reservations import ReservationBook
from kartshoppe.eventlog.kafka import KafkaEventLog
from kartshoppe.eventlog.kafka_commands import KafkaCommandBus
from kartshoppe.events import Product

RECOVERY_WAIT_S = 60.0


def launch(product_id: str) -> Command:
    product = Product(
        id=product_id, name=product_id, category="Test", price=10.0, original_price=10.0, stock=3
    )
    args = {"product": product.model_dump(by_alias=True, mode="json")}
    return Command("product.launch", f"product:{product_id}", args)


async def test_a_decider_left_with_a_closed_consumer_opens_anew_and_decides_again(
    fresh_kafka: Callable[[], str],
) -> None:
    bootstrap = fresh_kafka()
    async with KafkaEventLog(bootstrap, client_id="kartshoppe-test") as log:
        projection = Projection(log)
        await projection.start()
        bus = KafkaCommandBus(bootstrap, "decider-test", projection, ReservationBook(), route)
        await bus.start()
        try:
            assert (await bus.submit(launch("before"), RECOVERY_WAIT_S)).refusal is None
            # what a recovery that found no broker leaves behind
            await bus._in_kafka(bus._close_consumer)

            outcome = await bus.submit(launch("after"), RECOVERY_WAIT_S)

            assert outcome.refusal is None
            await projection.wait_positions(outcome.positions)
            assert "after" in projection.state.products
        finally:
            await bus.close()
            await projection.stop()
