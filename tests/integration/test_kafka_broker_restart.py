"""A Kafka broker restart in the middle of API traffic loses no acknowledged order.

Buyers check out as fast as a Kafka-mode server answers; after some orders are acknowledged the
broker is stopped and started again (same data, same ports) while they keep going, and they go
on until more orders are acknowledged after it is back. Writes in flight during the outage wait
for the producer's retries or fail; only what the server acknowledged is counted. Every
acknowledged order must then be served by that server, and by a new instance that rebuilds its
views from the broker alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from kartshoppe.infra.kafka_broker import KafkaBroker
from tests.api.api_support import launch
from tests.support.accounts import OPERATOR
from tests.support.server import ServerProcess, running_server

BUYERS = 4
ORDERS_BEFORE = 12
ORDERS_AFTER = 12
REQUEST_TIMEOUT_S = 45.0
"""Above the producer's 30 s delivery timeout: a write held up by the outage gets its answer."""
TRAFFIC_TIMEOUT_S = 120.0
UNLIMITED = {f"KARTSHOPPE_RATE_{name}": "off" for name in ("CART", "CHECKOUT", "SIGNIN")}
SERVING_ONLY = {"KARTSHOPPE_PROCESSORS": "off", "KARTSHOPPE_SINK": "0"}
"""The second instance only serves: one instance runs the processors and the sink."""


class Orders:
    """The orders the server acknowledged, and the writes it did not."""

    def __init__(self) -> None:
        self.acknowledged: dict[str, dict[str, Any]] = {}
        self.failed = 0


async def buy(client: httpx.AsyncClient, buyer: str, product_id: str, orders: Orders) -> None:
    n = 0
    while True:
        n += 1
        session = f"{buyer}-{n}"
        try:
            added = await client.post(f"/cart/{session}/add", json={"productId": product_id})
            if added.status_code != 200:
                orders.failed += 1
                continue
            body = {"sessionId": session, "idempotencyKey": f"key-{session}"}
            placed = await client.post("/checkout", json=body)
        except httpx.TransportError:
            orders.failed += 1
            continue
        if placed.status_code == 201:
            orders.acknowledged[placed.json()["orderId"]] = placed.json()
        else:
            orders.failed += 1


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + TRAFFIC_TIMEOUT_S
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def assert_serves(server: ServerProcess, orders: dict[str, dict[str, Any]]) -> None:
    with httpx.Client(base_url=server.url("/api/ecommerce"), timeout=10.0) as api:
        for order_id, order in orders.items():
            response = api.get(f"/orders/{order_id}", params={"sessionId": order["sessionId"]})
            assert response.status_code == 200, (order_id, response.text)
            assert response.json() == order


async def test_every_order_acknowledged_around_a_broker_restart_is_kept(
    tmp_path: Path, fresh_kafka: Callable[[], str], kafka_broker: KafkaBroker
) -> None:
    kafka = ("--bus", "kafka", "--bootstrap", fresh_kafka())
    with running_server(tmp_path / "a", *kafka, env=UNLIMITED) as server:
        base = server.url("/api/ecommerce")
        with httpx.Client(base_url=base, timeout=10.0) as api:
            token = api.post("/auth/login", json=OPERATOR).json()["token"]
            api.headers["Authorization"] = f"Bearer {token}"
            product = launch(api, stock=100_000)

        orders = Orders()
        async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:
            buyers = [
                asyncio.create_task(buy(client, f"buyer-{i}", product["id"], orders))
                for i in range(BUYERS)
            ]
            try:
                await until(lambda: len(orders.acknowledged) >= ORDERS_BEFORE, "orders before")
                await asyncio.to_thread(kafka_broker.restart)
                after_restart = len(orders.acknowledged)
                await until(
                    lambda: len(orders.acknowledged) >= after_restart + ORDERS_AFTER,
                    "orders after the restart",
                )
            finally:
                for task in buyers:
                    task.cancel()
                await asyncio.gather(*buyers, return_exceptions=True)
        print(f"{len(orders.acknowledged)} orders acknowledged, {orders.failed} writes not")

        assert_serves(server, orders.acknowledged)
        with running_server(tmp_path / "rebuilt", *kafka, env=SERVING_ONLY) as fresh:
            assert_serves(fresh, orders.acknowledged)
