"""The processors at work behind the real API: what a shopper does over HTTP comes back over the
shopper's own WebSocket, produced by the embedded runner in the server's processors process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support.processors import wait_for_processors
from tests.support.server import ServerProcess, running_server

SERVER_ENV = {
    # a cart idle for a second is abandoned, a reservation unpaid for two seconds expires
    "KARTSHOPPE_ABANDON_AFTER_S": "1",
    "KARTSHOPPE_RESERVATION_TTL_S": "2",
    "KARTSHOPPE_RECOVERY_OFFER": "Come back: 10% off",
}
WAIT_S = 20.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("live"), env=SERVER_ENV) as process:
        wait_for_processors(process.base_url)
        yield process


def api(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url("/api/ecommerce"), timeout=10)


async def next_message(socket: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of type `kind`, skipping any others."""
    async with asyncio.timeout(WAIT_S):
        while True:
            message: dict[str, Any] = orjson.loads(await socket.recv())
            if message["type"] == kind:
                return message


def products_of(client: httpx.Client, category: str) -> list[dict[str, Any]]:
    page = client.get("/products", params={"category": category, "pageSize": 10}).json()
    return [p for p in page["items"] if not p["soldOut"]]


async def test_product_views_through_the_api_bring_a_recommendation_in_the_seed_shape(
    server: ServerProcess,
) -> None:
    session = "session-recos"
    with api(server) as client:
        viewed = products_of(client, "Audio")[0]
        async with connect(server.ws_url(session, "anonymous")) as socket:
            view = {"eventType": "PRODUCT_VIEW", "sessionId": session, "productId": viewed["id"]}
            assert client.post("/events", json=[view]).json()["accepted"] == 1
            message = await next_message(socket, "RECOMMENDATION")
    recommendation = message["recommendation"]
    assert recommendation["eventType"] == "RECOMMENDATION"
    assert recommendation["sessionId"] == session
    assert recommendation["productIds"]
    assert viewed["id"] not in recommendation["productIds"]
    assert 0 <= recommendation["confidence"] <= 1
    assert recommendation["reason"]


async def test_an_idle_cart_is_abandoned_and_its_shopper_reminded_on_return(
    server: ServerProcess,
) -> None:
    session = "session-abandon"
    with api(server) as client:
        product = products_of(client, "Books")[0]
        async with connect(server.ws_url(session, "anonymous")) as socket:
            added = client.post(f"/cart/{session}/add", json={"productId": product["id"]})
            assert added.status_code == 200
            await asyncio.sleep(3)
            back = [{"eventType": "PAGE_VIEW", "sessionId": session, "page": "/"}]
            assert client.post("/events", json=back).json()["accepted"] == 1
            reminder = await next_message(socket, "CART_REMINDER")
        code = reminder["couponCode"]
        assert reminder["offer"] == f"Come back: 10% off with code {code}"
        assert [line["productId"] for line in reminder["cart"]["lines"]] == [product["id"]]
        # the code is real: checkout applies it (it is issued as the reminder goes out)
        async with asyncio.timeout(WAIT_S):
            while (bill := quote(client, session, code)).status_code != 200:
                await asyncio.sleep(0.1)
    expected = (Decimal(repr(product["price"])) / 10).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert Decimal(repr(bill.json()["discount"])) == expected


def quote(client: httpx.Client, session: str, code: str) -> httpx.Response:
    return client.post("/checkout/quote", json={"sessionId": session, "couponCode": code})


async def test_an_unpaid_order_is_cancelled_when_its_reservation_expires(
    server: ServerProcess,
) -> None:
    session = "session-unpaid"
    with api(server) as client:
        product = products_of(client, "Garden")[0]
        before = client.get(f"/product/{product['id']}").json()["available"]
        client.post(f"/cart/{session}/add", json={"productId": product["id"], "quantity": 2})
        async with connect(server.ws_url(session, "anonymous")) as socket:
            order = client.post(
                "/checkout", json={"sessionId": session, "idempotencyKey": "unpaid-1"}
            ).json()
            assert client.get(f"/product/{product['id']}").json()["available"] == before - 2
            assert order["payBy"] == order["createdAt"] + 2000, "the shop's hold, told the shopper"
            async with asyncio.timeout(WAIT_S):
                while True:
                    update = await next_message(socket, "ORDER_UPDATED")
                    if update["order"]["status"] == "CANCELLED":
                        break
            assert time.time() * 1000 >= order["payBy"], "never cancelled before its pay-by"
        assert update["order"]["orderId"] == order["orderId"]
        assert update["order"]["payBy"] is None, "a cancelled order awaits no payment"
        assert update["order"]["lapsed"] is True, "cancelled for want of payment in time"
        assert client.get(f"/product/{product['id']}").json()["available"] == before


def test_live_analytics_count_what_shoppers_do(server: ServerProcess) -> None:
    session = "session-analytics"
    with api(server) as client:
        before = client.get("/analytics").json()["funnel"]
        product = products_of(client, "Toys & Games")[0]
        view = [{"eventType": "PRODUCT_VIEW", "sessionId": session, "productId": product["id"]}]
        client.post("/events", json=view)
        client.post(f"/cart/{session}/add", json={"productId": product["id"]})
        deadline = time.monotonic() + WAIT_S
        funnel = before
        while time.monotonic() < deadline:
            funnel = client.get("/analytics").json()["funnel"]
            if funnel["views"] > before["views"] and funnel["carts"] > before["carts"]:
                break
            time.sleep(0.2)
    assert funnel["views"] > before["views"]
    assert funnel["carts"] > before["carts"]
