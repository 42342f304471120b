"""Durability: every write acknowledged to a client survives a SIGKILL of the server.

Concurrent shoppers add to their carts and check out as fast as the server answers; once 100
writes are acknowledged, the server process is killed with SIGKILL while they are still writing,
then restarted on the same data directory. Every acknowledged cart line and every acknowledged
order must be there, with the stock it reserved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, running_server

CART_SHOPPERS = 12
BUYERS = 6
MIN_WRITES = 100
"""Acknowledged writes to wait for before the kill, however loaded the machine is."""
WRITE_TIMEOUT_S = 60.0


@dataclass
class Acknowledged:
    """What the server confirmed before it died."""

    carts: dict[str, dict[str, int]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: int = 0


UNLIMITED = {f"KARTSHOPPE_RATE_{name}": "off" for name in ("BROWSE", "CART", "CHECKOUT")}
"""The shoppers write from one address as fast as the server answers; that is no flood here."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with running_server(tmp_path, env=UNLIMITED) as running:
        yield running


def roomy_products(api: httpx.Client, count: int) -> list[str]:
    items = api.get("/products", params={"pageSize": 100, "sort": "name"}).json()["items"]
    ids = [item["id"] for item in items if item["available"] >= 200]
    assert len(ids) >= count
    return ids[:count]


async def fill_cart(
    client: httpx.AsyncClient, session: str, products: list[str], acked: Acknowledged
) -> None:
    """Adds one unit of product after product; records each cart the server acknowledged."""
    for n in range(10_000):
        product_id = products[n % len(products)]
        response = await client.post(f"/cart/{session}/add", json={"productId": product_id})
        assert response.status_code == 200, response.text
        cart = response.json()
        acked.carts[session] = {line["productId"]: line["quantity"] for line in cart["lines"]}
        acked.writes += 1


async def buy(client: httpx.AsyncClient, buyer: str, product_id: str, acked: Acknowledged) -> None:
    """Checks out one unit after another; records each order the server acknowledged."""
    for n in range(10_000):
        session = f"{buyer}-{n}"
        added = await client.post(f"/cart/{session}/add", json={"productId": product_id})
        assert added.status_code == 200, added.text
        body = {"sessionId": session, "idempotencyKey": f"key-{session}"}
        response = await client.post("/checkout", json=body)
        assert response.status_code == 201, response.text
        order = response.json()
        acked.orders[order["orderId"]] = order
        acked.writes += 1


async def write_until_killed(server: ServerProcess, products: list[str]) -> Acknowledged:
    acked = Acknowledged()
    limits = httpx.Limits(max_connections=CART_SHOPPERS + BUYERS)
    async with httpx.AsyncClient(
        base_url=server.url("/api/ecommerce"), timeout=10.0, limits=limits
    ) as client:
        tasks = [
            asyncio.create_task(fill_cart(client, f"cart-{i}", products, acked))
            for i in range(CART_SHOPPERS)
        ]
        tasks += [
            asyncio.create_task(buy(client, f"buyer-{i}", products[i % len(products)], acked))
            for i in range(BUYERS)
        ]
        deadline = asyncio.get_running_loop().time() + WRITE_TIMEOUT_S
        while acked.writes < MIN_WRITES or len(acked.orders) < BUYERS:
            assert asyncio.get_running_loop().time() < deadline, "the server took too few writes"
            await asyncio.sleep(0.01)
        for task in tasks:
            assert not task.done(), task.exception()
        server.kill()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    # every client was cut off mid-request by the kill, none failed for another reason
    assert all(isinstance(r, httpx.TransportError) for r in results), results
    return acked


async def test_every_acknowledged_cart_line_and_order_survives_a_sigkill(
    server: ServerProcess,
) -> None:
    with httpx.Client(base_url=server.url("/api/ecommerce"), timeout=10.0) as api:
        products = roomy_products(api, 4)
        stock_before = {p: api.get(f"/product/{p}").json()["stock"] for p in products}

    acked = await write_until_killed(server, products)
    assert server.returncode == -9
    print(f"acknowledged before the kill: {acked.writes} writes, {len(acked.orders)} orders")

    server.start().wait_ready()
    with httpx.Client(base_url=server.url("/api/ecommerce"), timeout=10.0) as api:
        for session, lines in acked.carts.items():
            cart = api.get(f"/cart/{session}").json()
            held = {line["productId"]: line["quantity"] for line in cart["lines"]}
            for product_id, quantity in lines.items():
                # a write in flight at the kill may also have landed: at least what was acked
                assert held.get(product_id, 0) >= quantity, (session, lines, held)
        for order_id, order in acked.orders.items():
            mine = {"sessionId": order["sessionId"]}
            response = api.get(f"/orders/{order_id}", params=mine)
            assert response.status_code == 200, response.text
            assert response.json() == order
        for product_id in products:
            level = api.get(f"/product/{product_id}").json()
            ordered = sum(
                line["quantity"]
                for order in acked.orders.values()
                for line in order["lines"]
                if line["productId"] == product_id
            )
            assert level["stock"] == stock_before[product_id]
            assert level["stock"] - level["available"] >= ordered
        # the restarted shop takes writes again
        session = next(iter(acked.carts))
        assert api.post(f"/cart/{session}/add", json={"productId": products[0]}).is_success
