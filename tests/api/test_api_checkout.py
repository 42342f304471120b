"""Checkout and orders over real HTTP: idempotent checkout, payment, status, order lists, and the
last units under many concurrent shoppers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.api.api_support import Shopper, assert_error, fresh, launch
from tests.support.server import ServerProcess

TEST_PAYMENT = {"card": {"number": "4242424242424242", "expiry": "12/39", "cvc": "123"}}
"""The documented test card that is always approved (docs/API.md, Payment)."""

CONCURRENT_SHOPPERS = 30


def fill_cart(api: httpx.Client, session: str, product_id: str, quantity: int = 1) -> None:
    response = api.post(
        f"/cart/{session}/add", json={"productId": product_id, "quantity": quantity}
    )
    assert response.status_code == 200, response.text


def checkout(api: httpx.Client, session: str, key: str) -> httpx.Response:
    return api.post("/checkout", json={"sessionId": session, "idempotencyKey": key})


def test_checkout_places_an_order_reserves_its_units_and_empties_the_cart(
    api: httpx.Client,
    admin: httpx.Client,
) -> None:
    product = launch(admin, stock=10, price=8.0)
    session = fresh("s")
    fill_cart(api, session, product["id"], 3)
    response = checkout(api, session, fresh("k"))
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    assert order["status"] == "PLACED"
    assert order["lines"] == [
        {
            "productId": product["id"],
            "name": product["name"],
            "quantity": 3,
            "unitPrice": 8.0,
            "lineTotal": 24.0,
        }
    ]
    assert (order["total"], order["sessionId"]) == (24.0, session)
    assert [h["status"] for h in order["history"]] == ["PLACED"]
    assert api.get(f"/cart/{session}").json()["lines"] == []
    level = api.get(f"/product/{product['id']}").json()
    assert (level["stock"], level["available"]) == (10, 7)


def test_a_retried_checkout_answers_the_same_order_with_200(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, stock=10)
    session, key = fresh("s"), fresh("k")
    fill_cart(api, session, product["id"], 2)
    first = checkout(api, session, key)
    again = checkout(api, session, key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert api.get(f"/product/{product['id']}").json()["available"] == 8
    orders = api.get("/orders", params={"sessionId": session}).json()
    assert [o["orderId"] for o in orders] == [first.json()["orderId"]]


def test_an_order_is_read_back_paid_and_moved_along_its_life_cycle(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, stock=10)
    session = fresh("s")
    fill_cart(api, session, product["id"], 2)
    order = checkout(api, session, fresh("k")).json()
    order_id = order["orderId"]
    mine = {"sessionId": session}
    assert api.get(f"/orders/{order_id}", params=mine).json() == order
    assert_error(api.get(f"/orders/{order_id}"), 404, "not_found")

    paid = api.post(f"/orders/{order_id}/pay", json=TEST_PAYMENT, params=mine)
    assert paid.status_code == 200
    assert paid.json()["status"] == "PAID"
    assert [h["status"] for h in paid.json()["history"]] == ["PLACED", "PAID"]
    assert api.get(f"/orders/{order_id}", params=mine).json()["status"] == "PAID"
    level = api.get(f"/product/{product['id']}").json()
    assert (level["stock"], level["available"]) == (8, 8)

    again = api.post(f"/orders/{order_id}/pay", json=TEST_PAYMENT, params=mine)
    assert_error(again, 409, "invalid_transition")
    for status in ("SHIPPED", "DELIVERED"):
        moved = admin.post(f"/admin/orders/{order_id}/status", json={"status": status})
        assert moved.json()["status"] == status
    refused = admin.post(f"/admin/orders/{order_id}/status", json={"status": "CANCELLED"})
    assert_error(refused, 409, "invalid_transition")
    level = api.get(f"/product/{product['id']}").json()
    assert (level["stock"], level["available"]) == (8, 8)


def test_cancelling_an_unpaid_order_gives_its_units_back(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, stock=4)
    session = fresh("s")
    fill_cart(api, session, product["id"], 4)
    order = checkout(api, session, fresh("k")).json()
    assert api.get(f"/product/{product['id']}").json()["soldOut"] is True
    response = admin.post(f"/admin/orders/{order['orderId']}/status", json={"status": "CANCELLED"})
    assert response.json()["status"] == "CANCELLED"
    assert api.get(f"/product/{product['id']}").json()["available"] == 4


def test_a_users_orders_are_listed_newest_first(
    api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin, stock=10)
    user, auth = shopper.user_id, shopper.headers
    placed = []
    for _ in range(3):
        session = fresh("s")
        body = {"productId": product["id"], "userId": user}
        api.post(f"/cart/{session}/add", json=body, headers=auth)
        body = {"sessionId": session, "userId": user, "idempotencyKey": fresh("k")}
        placed.append(api.post("/checkout", json=body, headers=auth).json()["orderId"])
    listed = api.get("/orders", params={"userId": user}, headers=auth).json()
    assert_error(api.get("/orders", params={"userId": user}), 401, "unauthorized")
    assert [o["orderId"] for o in listed] == placed[::-1]


async def test_concurrent_checkouts_over_http_never_sell_more_than_the_last_units(
    server: ServerProcess, api: httpx.Client, admin: httpx.Client
) -> None:
    units = 5
    product = launch(admin, stock=units)
    sessions = [fresh("s") for _ in range(CONCURRENT_SHOPPERS)]
    limits = httpx.Limits(max_connections=CONCURRENT_SHOPPERS)
    async with httpx.AsyncClient(
        base_url=server.url("/api/ecommerce"), timeout=30.0, limits=limits
    ) as client:
        adds = await asyncio.gather(
            *(client.post(f"/cart/{s}/add", json={"productId": product["id"]}) for s in sessions)
        )
        assert {r.status_code for r in adds} == {200}
        answers = await asyncio.gather(
            *(
                client.post("/checkout", json={"sessionId": s, "idempotencyKey": f"k-{s}"})
                for s in sessions
            )
        )
    placed = [r for r in answers if r.status_code == 201]
    refused = [r for r in answers if r.status_code != 201]
    assert len(placed) == units
    for response in refused:
        assert_error(response, 409, "insufficient_stock")
    level = api.get(f"/product/{product['id']}").json()
    assert (level["stock"], level["available"], level["soldOut"]) == (units, 0, True)
    for response in placed:
        order_id, session = response.json()["orderId"], response.json()["sessionId"]
        paid = api.post(f"/orders/{order_id}/pay", json=TEST_PAYMENT, params={"sessionId": session})
        assert paid.status_code == 200, paid.text
    level = api.get(f"/product/{product['id']}").json()
    assert (level["stock"], level["available"]) == (0, 0)
