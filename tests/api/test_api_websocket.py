"""The WebSocket over real connections: cross-device cart sync, product, order and error pushes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.api.api_support import (
    Shopper,
    fresh,
    launch,
    no_message,
    of_type,
    receive,
    receive_until,
    register,
)
from tests.support.accounts import OPERATOR
from tests.support.server import ServerProcess

TEST_PAYMENT = {"card": {"number": "4242424242424242", "expiry": "12/39", "cvc": "123"}}
"""The documented test card that is always approved (docs/API.md, Payment)."""

Open = Callable[[str, Shopper | None], AbstractAsyncContextManager[ClientConnection]]


def socket_url(server: ServerProcess, session_id: str, shopper: Shopper | None) -> str:
    """A shopper's socket carries its token as `?token=` (browsers cannot set headers)."""
    if shopper is None:
        return server.ws_url(session_id)
    return f"{server.ws_url(session_id, shopper.user_id)}?token={shopper.token}"


@pytest.fixture
def open_socket(server: ServerProcess) -> Open:
    """Opens `/ecommerce/{sessionId}/{userId}` and consumes the greeting (CONNECTED, cart)."""

    @asynccontextmanager
    async def opened(session_id: str, shopper: Shopper | None) -> AsyncIterator[ClientConnection]:
        async with connect(socket_url(server, session_id, shopper)) as ws:
            hello = await receive(ws)
            assert hello["type"] == "CONNECTED"
            await receive_until(ws, of_type("CART_UPDATED"))
            yield ws

    return opened


def cart_has(product_id: str, quantity: int) -> Callable[[dict[str, Any]], bool]:
    def accept(message: dict[str, Any]) -> bool:
        if message.get("type") != "CART_UPDATED":
            return False
        lines = {line["productId"]: line["quantity"] for line in message["cart"]["lines"]}
        return lines.get(product_id) == quantity

    return accept


def product_update(product_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m.get("type") == "PRODUCT_UPDATED" and m["product"]["id"] == product_id


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(orjson.dumps(message).decode())


async def test_a_new_socket_is_greeted_with_its_ids_and_its_cart(
    server: ServerProcess, api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin)
    user, session = shopper.user_id, fresh("s")
    body = {"productId": product["id"], "userId": user}
    assert api.post(f"/cart/{session}/add", json=body, headers=shopper.headers).is_success
    async with connect(socket_url(server, session, shopper)) as ws:
        hello = await receive(ws)
        assert hello == {"type": "CONNECTED", "sessionId": session, "userId": user}
        cart = await receive_until(ws, of_type("CART_UPDATED"))
        assert cart["cart"]["cartId"] == user
        assert cart["cart"]["lines"][0]["productId"] == product["id"]


@pytest.mark.parametrize("token", [None, "not-a-token", "someone-else"])
async def test_a_user_socket_without_that_users_token_is_refused(
    server: ServerProcess, api: httpx.Client, shopper: Shopper, token: str | None
) -> None:
    url = server.ws_url(fresh("s"), shopper.user_id)
    if token == "someone-else":
        url += f"?token={register(api).token}"
    elif token is not None:
        url += f"?token={token}"
    with pytest.raises(ConnectionClosed):
        async with connect(url) as ws:
            await receive(ws)


async def test_a_cart_change_over_rest_reaches_the_users_other_device(
    open_socket: Open, api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin)
    phone, laptop = fresh("s"), fresh("s")
    async with open_socket(laptop, shopper) as laptop_ws:
        body = {"productId": product["id"], "quantity": 2, "userId": shopper.user_id}
        response = api.post(f"/cart/{phone}/add", json=body, headers=shopper.headers)
        assert response.status_code == 200
        pushed = await receive_until(laptop_ws, cart_has(product["id"], 2))
        assert pushed["cart"]["cartId"] == shopper.user_id
        assert pushed["cart"] == response.json()


async def test_a_cart_change_over_one_socket_reaches_the_other_socket_of_the_user(
    open_socket: Open, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin)
    async with (
        open_socket(fresh("s"), shopper) as phone,
        open_socket(fresh("s"), shopper) as laptop,
    ):
        await send(phone, {"type": "ADD_TO_CART", "productId": product["id"], "quantity": 3})
        await receive_until(laptop, cart_has(product["id"], 3))
        await receive_until(phone, cart_has(product["id"], 3))
        await send(laptop, {"type": "UPDATE_QUANTITY", "productId": product["id"], "quantity": 1})
        await receive_until(phone, cart_has(product["id"], 1))
        await send(laptop, {"type": "REMOVE_FROM_CART", "productId": product["id"]})
        emptied = await receive_until(phone, of_type("CART_UPDATED"))
        assert emptied["cart"]["lines"] == []


async def test_another_shoppers_cart_changes_are_not_pushed(
    open_socket: Open, api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin)
    async with open_socket(fresh("s"), shopper) as bystander:
        api.post(f"/cart/{fresh('s')}/add", json={"productId": product["id"]})
        assert await no_message(bystander, of_type("CART_UPDATED"))


async def test_a_price_change_by_the_operator_reaches_open_sockets(
    open_socket: Open, admin: httpx.Client
) -> None:
    product = launch(admin, price=20.0)
    async with open_socket(fresh("s"), None) as ws:
        response = admin.post(f"/admin/products/{product['id']}/price", json={"price": 17.5})
        assert response.status_code == 200
        assert response.json()["price"] == 17.5
        pushed = await receive_until(ws, product_update(product["id"]))
        assert pushed["change"] == "PRICE_CHANGED"
        assert pushed["product"]["price"] == 17.5


async def test_a_socket_that_stops_reading_holds_up_no_one_and_later_gets_the_latest_price(
    open_socket: Open, admin: httpx.Client
) -> None:
    product = launch(admin, price=20.0)
    prices = [19.0 - step * 0.25 for step in range(24)]
    async with (
        open_socket(fresh("stalled"), None) as stalled,
        open_socket(fresh("s"), None) as ws,
    ):
        for price in prices:
            admin.post(f"/admin/products/{product['id']}/price", json={"price": price})
            pushed = await receive_until(ws, product_update(product["id"]))
            assert pushed["product"]["price"] == price
        last = prices[-1]
        latest = await receive_until(
            stalled, lambda m: product_update(product["id"])(m) and m["product"]["price"] == last
        )
        assert latest["change"] == "PRICE_CHANGED"


async def test_a_flash_sale_reaches_open_sockets_with_the_sale_price(
    open_socket: Open, admin: httpx.Client
) -> None:
    product = launch(admin, price=40.0)
    async with open_socket(fresh("s"), None) as ws:
        body = {"discountPercent": 25, "durationSeconds": 60}
        response = admin.post(f"/admin/products/{product['id']}/flash-sale", json=body)
        assert response.status_code == 200
        pushed = await receive_until(ws, product_update(product["id"]))
        assert pushed["change"] == "FLASH_SALE_STARTED"
        assert pushed["product"]["price"] == 30.0
        assert pushed["product"]["flashSale"]["salePrice"] == 30.0


async def test_a_restock_reaches_open_sockets_as_an_inventory_update(
    open_socket: Open, admin: httpx.Client
) -> None:
    product = launch(admin, stock=5)
    async with open_socket(fresh("s"), None) as ws:
        admin.post(f"/admin/products/{product['id']}/restock", json={"quantity": 7})
        pushed = await receive_until(ws, of_type("INVENTORY_UPDATED", productId=product["id"]))
        assert (pushed["stock"], pushed["available"], pushed["soldOut"]) == (12, 12, False)


async def test_paying_an_order_pushes_its_new_status_to_the_shopper(
    open_socket: Open, api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin)
    user, session, auth = shopper.user_id, fresh("s"), shopper.headers
    async with open_socket(session, shopper) as ws:
        body = {"productId": product["id"], "userId": user}
        api.post(f"/cart/{session}/add", json=body, headers=auth)
        checkout = {"sessionId": session, "userId": user, "idempotencyKey": fresh("k")}
        order = api.post("/checkout", json=checkout, headers=auth).json()
        placed = await receive_until(ws, of_type("ORDER_UPDATED"))
        assert placed["order"]["orderId"] == order["orderId"]
        assert placed["order"]["status"] == "PLACED"
        paid = api.post(f"/orders/{order['orderId']}/pay", json=TEST_PAYMENT, headers=auth)
        assert paid.status_code == 200, paid.text
        pushed = await receive_until(
            ws, lambda m: m.get("type") == "ORDER_UPDATED" and m["order"]["status"] == "PAID"
        )
        assert pushed["order"]["orderId"] == order["orderId"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("this is not json", "malformed_json"),
        ("[1, 2, 3]", "validation_error"),
        ('{"type": "DANCE"}', "unknown_message"),
        ('{"type": "ADD_TO_CART", "productId": "no-such"}', "unknown_product"),
        ('{"type": "ADD_TO_CART", "productId": "p", "quantity": -2}', "line_limit"),
        ('{"type": "ADD_TO_CART", "productId": "p", "quantity": "many"}', "validation_error"),
        ('{"type": "ADD_TO_CART"}', "validation_error"),
        ('{"type": "SUBSCRIBE", "channel": "gossip"}', "validation_error"),
        ('{"type": "TRACK", "event": {"eventType": "NOPE"}}', "invalid_event"),
    ],
)
async def test_a_bad_message_gets_an_error_and_the_socket_stays_open(
    open_socket: Open, raw: str, code: str
) -> None:
    async with open_socket(fresh("s"), None) as ws:
        await ws.send(raw)
        error = await receive_until(ws, of_type("ERROR"))
        assert error["error"] == code
        await send(ws, {"type": "PING"})
        await receive_until(ws, of_type("PONG"))


async def test_a_refused_socket_command_leaves_the_cart_unchanged(
    open_socket: Open, api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, stock=2)
    session = fresh("s")
    async with open_socket(session, None) as ws:
        await send(ws, {"type": "ADD_TO_CART", "productId": product["id"], "quantity": 3})
        error = await receive_until(ws, of_type("ERROR"))
        assert error["error"] == "insufficient_stock"
    assert api.get(f"/cart/{session}").json()["lines"] == []


async def test_a_binary_frame_gets_an_error_and_the_socket_stays_open(open_socket: Open) -> None:
    async with open_socket(fresh("s"), None) as ws:
        await ws.send(b"\x00\x01 not text")
        error = await receive_until(ws, of_type("ERROR"))
        assert error["error"] == "malformed_json"
        await send(ws, {"type": "PING"})
        await receive_until(ws, of_type("PONG"))


@pytest.mark.parametrize("session_id", ["bad session", "x" * 200, "semi;colon"])
async def test_a_socket_with_an_invalid_session_id_is_refused(
    server: ServerProcess, session_id: str
) -> None:
    with pytest.raises(ConnectionClosed):
        async with connect(server.ws_url(session_id)) as ws:
            await receive(ws)


@pytest.mark.parametrize("channel", ["events", "inventory"])
async def test_only_an_operators_socket_may_follow_every_shoppers_events_and_the_stock_alerts(
    open_socket: Open, api: httpx.Client, shopper: Shopper, channel: str
) -> None:
    login = api.post("/auth/login", json=OPERATOR).json()
    operator = Shopper(login["userId"], login["token"], OPERATOR["email"])
    async with open_socket(fresh("s"), shopper) as ws:
        await send(ws, {"type": "SUBSCRIBE", "channel": channel})
        refused = await receive_until(ws, of_type("ERROR"))
    async with open_socket(fresh("s"), operator) as ws:
        await send(ws, {"type": "SUBSCRIBE", "channel": channel})
        await send(ws, {"type": "PING"})
        answers = [await receive(ws)]
        while answers[-1]["type"] != "PONG":
            answers.append(await receive(ws))

    assert refused["error"] == "forbidden" and refused["field"] == "channel"
    assert refused["message"] == f"the {channel} channel is for operators: sign in as one"
    assert "ERROR" not in [a["type"] for a in answers]


async def test_an_operators_socket_sees_every_shoppers_events_on_the_events_channel(
    open_socket: Open, api: httpx.Client, admin: httpx.Client
) -> None:
    login = api.post("/auth/login", json=OPERATOR).json()
    product = launch(admin)
    session = fresh("s")
    async with open_socket(
        fresh("s"), Shopper(login["userId"], login["token"], OPERATOR["email"])
    ) as ws:
        await send(ws, {"type": "SUBSCRIBE", "channel": "events"})
        await send(ws, {"type": "PING"})
        await receive_until(ws, of_type("PONG"))
        api.post(f"/cart/{session}/add", json={"productId": product["id"]})
        seen = await receive_until(
            ws, lambda m: m.get("type") == "EVENT" and m["event"].get("sessionId") == session
        )
    assert seen["event"]["eventType"] == "ADD_TO_CART"
