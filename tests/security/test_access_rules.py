"""Who may read and change what: anonymous carts, own carts and orders, operator routes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from kartshoppe.events import Role
from tests.security.security_support import (
    API,
    OPERATOR,
    SHOPPER,
    a_product,
    assert_error,
    bearer,
    fresh,
    sign_in,
    token_for,
)
from tests.support.server import ServerProcess

TEST_PAYMENT = {"card": {"number": "4242424242424242", "expiry": "12/39", "cvc": "123"}}
"""The documented test card that is always approved (docs/API.md, Payment)."""


def add(api: httpx.Client, session: str, body: dict[str, Any], token: str | None = None) -> Any:
    return api.post(f"{API}/cart/{session}/add", json=body, headers=bearer(token) if token else {})


def test_an_anonymous_shopper_fills_a_session_cart_without_a_token(api: httpx.Client) -> None:
    session, product = fresh("s"), a_product(api)
    response = add(api, session, {"productId": product["id"], "quantity": 2})
    assert response.status_code == 200, response.text
    assert api.get(f"{API}/cart/{session}").json()["itemCount"] == 2


def test_a_signed_in_shopper_reads_and_changes_its_own_cart(api: httpx.Client) -> None:
    me = sign_in(api, SHOPPER)
    assert me["userId"] == "user_demo_shopper" and me["role"] == "shopper"
    session, product = fresh("s"), a_product(api)
    response = add(api, session, {"productId": product["id"], "userId": me["userId"]}, me["token"])
    assert response.status_code == 200, response.text
    cart = api.get(
        f"{API}/cart/{session}", params={"userId": me["userId"]}, headers=bearer(me["token"])
    )
    assert cart.status_code == 200
    assert product["id"] in [line["productId"] for line in cart.json()["lines"]]


def test_naming_a_user_without_a_token_is_401(api: httpx.Client) -> None:
    product = a_product(api)
    response = add(api, fresh("s"), {"productId": product["id"], "userId": "user_demo_shopper"})
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    listed = api.get(f"{API}/orders", params={"userId": "user_demo_shopper"})
    assert_error(listed, 401, "unauthorized")


def test_another_users_cart_is_403(api: httpx.Client) -> None:
    mallory = token_for(fresh("mallory"))
    product = a_product(api)
    body = {"productId": product["id"], "userId": "user_demo_shopper"}
    assert_error(add(api, fresh("s"), body, mallory), 403, "forbidden")
    read = api.get(
        f"{API}/cart/{fresh('s')}", params={"userId": "user_demo_shopper"}, headers=bearer(mallory)
    )
    assert_error(read, 403, "forbidden")
    merge = api.post(
        f"{API}/cart/{fresh('s')}/merge",
        json={"userId": "user_demo_shopper"},
        headers=bearer(mallory),
    )
    assert_error(merge, 403, "forbidden")
    checkout = api.post(
        f"{API}/checkout",
        json={"sessionId": fresh("s"), "userId": "user_demo_shopper", "idempotencyKey": fresh("k")},
        headers=bearer(mallory),
    )
    assert_error(checkout, 403, "forbidden")


def place_order(api: httpx.Client, session: str, user_id: str | None, token: str | None) -> Any:
    owner = {"userId": user_id} if user_id else {}
    headers = bearer(token) if token else {}
    product = a_product(api)
    added = api.post(
        f"{API}/cart/{session}/add", json={"productId": product["id"], **owner}, headers=headers
    )
    assert added.status_code == 200, added.text
    placed = api.post(
        f"{API}/checkout",
        json={"sessionId": session, **owner, "idempotencyKey": fresh("k")},
        headers=headers,
    )
    assert placed.status_code == 201, placed.text
    return placed.json()


def test_a_users_order_is_visible_to_that_user_only(api: httpx.Client) -> None:
    alice = fresh("alice")
    order = place_order(api, fresh("s"), alice, token_for(alice))
    path = f"{API}/orders/{order['orderId']}"
    assert api.get(path, headers=bearer(token_for(alice))).json()["orderId"] == order["orderId"]
    assert_error(api.get(path, headers=bearer(token_for(fresh("bob")))), 404, "not_found")
    assert_error(api.get(path), 404, "not_found")
    pay = api.post(f"{path}/pay", json=TEST_PAYMENT, headers=bearer(token_for(fresh("bob"))))
    assert_error(pay, 404, "not_found")
    mine = api.get(f"{API}/orders", params={"userId": alice}, headers=bearer(token_for(alice)))
    assert [o["orderId"] for o in mine.json()] == [order["orderId"]]
    theirs = api.get(
        f"{API}/orders", params={"userId": alice}, headers=bearer(token_for(fresh("bob")))
    )
    assert_error(theirs, 403, "forbidden")


def test_an_anonymous_order_is_visible_with_the_session_it_was_placed_from(
    api: httpx.Client,
) -> None:
    session = fresh("s")
    order = place_order(api, session, None, None)
    path = f"{API}/orders/{order['orderId']}"
    assert api.get(path, params={"sessionId": session}).status_code == 200
    assert_error(api.get(path), 404, "not_found")
    assert_error(api.get(path, params={"sessionId": fresh("s")}), 404, "not_found")
    paid = api.post(f"{path}/pay", params={"sessionId": session}, json=TEST_PAYMENT)
    assert paid.status_code == 200 and paid.json()["status"] == "PAID"


def test_operator_routes_need_the_operator_role(api: httpx.Client) -> None:
    product = a_product(api)
    path = f"{API}/admin/products/{product['id']}/restock"
    assert_error(api.post(path, json={"quantity": 1}), 401, "unauthorized")
    shopper = sign_in(api, SHOPPER)["token"]
    assert_error(api.post(path, json={"quantity": 1}, headers=bearer(shopper)), 403, "forbidden")
    operator = sign_in(api, OPERATOR)
    assert operator["role"] == "operator"
    restocked = api.post(path, json={"quantity": 1}, headers=bearer(operator["token"]))
    assert restocked.status_code == 200, restocked.text
    assert restocked.json()["stock"] == product["stock"] + 1


def test_an_operator_sees_any_order(api: httpx.Client) -> None:
    session = fresh("s")
    order = place_order(api, session, None, None)
    operator = token_for("user_demo_operator", Role.OPERATOR)
    found = api.get(f"{API}/orders/{order['orderId']}", headers=bearer(operator))
    assert found.status_code == 200


def test_an_expired_token_is_401(api: httpx.Client) -> None:
    expired = token_for("user_demo_shopper", ttl=-60)
    response = api.get(f"{API}/auth/me", headers=bearer(expired))
    assert_error(response, 401, "token_expired")
    cart = api.get(
        f"{API}/cart/{fresh('s')}", params={"userId": "user_demo_shopper"}, headers=bearer(expired)
    )
    assert_error(cart, 401, "token_expired")


def test_a_token_signed_with_another_secret_is_401(api: httpx.Client) -> None:
    from kartshoppe.security.tokens import TokenService

    forged = TokenService(b"x" * 40).issue("user_demo_operator", Role.OPERATOR).token
    response = api.post(
        f"{API}/admin/products/x/restock", json={"quantity": 1}, headers=bearer(forged)
    )
    assert_error(response, 401, "invalid_token")
    not_bearer = api.get(f"{API}/auth/me", headers={"Authorization": "Basic abc"})
    assert_error(not_bearer, 401, "invalid_token")


def test_a_wrong_password_is_401_and_names_no_account(api: httpx.Client) -> None:
    wrong = api.post(
        f"{API}/auth/login", json={"email": SHOPPER[0], "password": "not-the-password"}
    )
    unknown = api.post(f"{API}/auth/login", json={"email": "nobody@x.dev", "password": "x"})
    assert assert_error(wrong, 401, "invalid_credentials") == assert_error(
        unknown, 401, "invalid_credentials"
    )


def test_me_says_who_the_token_belongs_to(api: httpx.Client) -> None:
    me = sign_in(api, OPERATOR)
    who = api.get(f"{API}/auth/me", headers=bearer(me["token"])).json()
    assert who["userId"] == "user_demo_operator"
    assert who["email"] == OPERATOR[0] and who["role"] == "operator"
    assert_error(api.get(f"{API}/auth/me"), 401, "unauthorized")


def test_a_registered_shopper_signs_in_and_owns_its_cart(api: httpx.Client) -> None:
    email = f"{fresh('new')}@example.com"
    registered = api.post(f"{API}/auth/register", json={"email": email, "password": "long-enough"})
    assert registered.status_code == 201, registered.text
    again = api.post(f"{API}/auth/register", json={"email": email, "password": "long-enough"})
    assert_error(again, 409, "account_exists")
    me = sign_in(api, (email, "long-enough"))
    assert me["userId"] == registered.json()["userId"]
    product = a_product(api)
    response = add(
        api, fresh("s"), {"productId": product["id"], "userId": me["userId"]}, me["token"]
    )
    assert response.status_code == 200


async def refusal(url: str) -> websockets.frames.Close:
    """How the server closes a socket it refuses: after the handshake, so browsers see why."""
    async with connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd


async def test_a_websocket_for_a_user_needs_that_users_token(server: ServerProcess) -> None:
    user = fresh("u")
    no_token = await refusal(server.ws_url(fresh("s"), user))
    assert (no_token.code, no_token.reason) == (1008, "sign in: pass the user's token as ?token=")
    other = token_for(fresh("other"))
    wrong_user = await refusal(server.ws_url(fresh("s"), user) + f"?token={other}")
    assert (wrong_user.code, wrong_user.reason) == (1008, "the token is another user's")
    async with connect(server.ws_url(fresh("s"), user) + f"?token={token_for(user)}") as ws:
        hello = await ws.recv()
        assert '"CONNECTED"' in str(hello) and user in str(hello)


async def test_an_anonymous_websocket_needs_no_token(server: ServerProcess) -> None:
    async with connect(server.ws_url(fresh("s"))) as ws:
        assert '"CONNECTED"' in str(await ws.recv())
