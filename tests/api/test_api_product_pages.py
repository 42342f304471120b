"""Product pages over real HTTP and WebSockets: readable reviews written once by buyers and
pushed live, wishlists with price-drop and back-in-stock alerts, related products."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.api.api_support import (
    Shopper,
    assert_error,
    fresh,
    launch,
    of_type,
    receive,
    receive_until,
)
from tests.support.processors import wait_caught_up
from tests.support.server import ServerProcess

TEST_PAYMENT = {"card": {"number": "4242424242424242", "expiry": "12/39", "cvc": "123"}}
"""The documented test card that is always approved (docs/API.md, Payment)."""
PUSH_WAIT = 15.0
"""Alerts come from the processors (an asynchronous hop through the log)."""


def buy(api: httpx.Client, shopper: Shopper, product_id: str, pay: bool = True) -> str:
    """The shopper orders one unit of the product (and pays for it); the order id."""
    session, owner = fresh("s"), {"userId": shopper.user_id}
    added = api.post(
        f"/cart/{session}/add",
        json={"productId": product_id, **owner},
        headers=shopper.headers,
    )
    assert added.status_code == 200, added.text
    body = {"sessionId": session, **owner, "idempotencyKey": fresh("k")}
    placed = api.post("/checkout", json=body, headers=shopper.headers)
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["orderId"]
    if pay:
        paid = api.post(f"/orders/{order_id}/pay", json=TEST_PAYMENT, headers=shopper.headers)
        assert paid.status_code == 200, paid.text
    return order_id


def post_review(
    api: httpx.Client, shopper: Shopper | None, product_id: str, **body: Any
) -> httpx.Response:
    headers = shopper.headers if shopper else {}
    review = {"rating": 4, "title": "Good", "body": "Does what it says.", **body}
    return api.post(f"/product/{product_id}/reviews", json=review, headers=headers)


def socket_of(server: ServerProcess, shopper: Shopper | None) -> str:
    session = fresh("s")
    if shopper is None:
        return server.ws_url(session)
    return f"{server.ws_url(session, shopper.user_id)}?token={shopper.token}"


def product_changed(product_id: str, change: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: (
        m.get("type") == "PRODUCT_UPDATED"
        and m["product"]["id"] == product_id
        and m["change"] == change
    )


# --- reviews ---------------------------------------------------------------------------------


def test_every_seeded_rating_is_backed_by_reviews_that_can_be_read(api: httpx.Client) -> None:
    product = api.get("/product/prod_001").json()
    first = api.get("/product/prod_001/reviews", params={"pageSize": 5}).json()
    assert product["reviewCount"] >= 2
    assert (first["total"], first["rating"]) == (product["reviewCount"], product["rating"])
    assert sum(first["stars"].values()) == first["total"]
    assert len(first["items"]) == 5
    for review in first["items"]:
        assert 1 <= review["rating"] <= 5 and review["author"] and review["body"]
    times = [r["createdAt"] for r in first["items"]]
    assert times == sorted(times, reverse=True), "newest first"
    pages = -(-first["total"] // 50)
    every = [
        r
        for page in range(1, pages + 1)
        for r in api.get("/product/prod_001/reviews", params={"page": page, "pageSize": 50}).json()[
            "items"
        ]
    ]
    assert len(every) == product["reviewCount"]
    mean = sum(r["rating"] for r in every) / len(every)
    assert abs(mean - product["rating"]) <= 0.05


def test_a_product_nobody_reviewed_has_no_rating_and_no_reviews(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin)
    assert (product["rating"], product["reviewCount"]) == (0.0, 0)
    page = api.get(f"/product/{product['id']}/reviews").json()
    assert (page["items"], page["total"], page["rating"]) == ([], 0, 0.0)
    unknown = api.get("/product/no-such-product/reviews")
    assert_error(unknown, 404, "unknown_product")


async def test_a_buyer_reviews_once_and_every_open_page_sees_the_new_count(
    server: ServerProcess, api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin)
    buy(api, shopper, product["id"])
    async with connect(socket_of(server, None)) as watcher:
        assert (await receive(watcher))["type"] == "CONNECTED"
        posted = post_review(api, shopper, product["id"], rating=5, title="Love it")
        assert posted.status_code == 201, posted.text
        review = posted.json()
        assert (review["rating"], review["title"], review["productId"]) == (
            5,
            "Love it",
            product["id"],
        )
        pushed = await receive_until(watcher, product_changed(product["id"], "REVIEW_POSTED"))
        assert (pushed["product"]["rating"], pushed["product"]["reviewCount"]) == (5.0, 1)
    again = post_review(api, shopper, product["id"], rating=1)
    body = assert_error(again, 409, "already_reviewed")
    assert "already reviewed" in body["message"]
    after = api.get(f"/product/{product['id']}").json()
    assert (after["rating"], after["reviewCount"]) == (5.0, 1)
    page = api.get(f"/product/{product['id']}/reviews").json()
    assert [r["reviewId"] for r in page["items"]] == [review["reviewId"]]


def test_only_a_shopper_who_paid_for_the_product_may_review_it(
    api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin)
    body = assert_error(post_review(api, shopper, product["id"]), 403, "not_a_buyer")
    assert "bought" in body["message"] and body["details"][0]["field"] == "productId"
    buy(api, shopper, product["id"], pay=False)
    assert_error(post_review(api, shopper, product["id"]), 403, "not_a_buyer")
    assert_error(post_review(api, None, product["id"]), 401, "unauthorized")
    assert api.get(f"/product/{product['id']}/reviews").json()["total"] == 0


@pytest.mark.parametrize(
    ("rating", "status", "code"),
    [(0, 400, "invalid_rating"), (6, 400, "invalid_rating"), (4.5, 422, "validation_error")],
)
def test_a_rating_outside_one_to_five_whole_stars_is_refused_naming_the_field(
    api: httpx.Client, admin: httpx.Client, shopper: Shopper, rating: Any, status: int, code: str
) -> None:
    product = launch(admin)
    buy(api, shopper, product["id"])
    refused = assert_error(post_review(api, shopper, product["id"], rating=rating), status, code)
    assert [d["field"] for d in refused["details"]] == ["rating"]
    assert api.get(f"/product/{product['id']}").json()["reviewCount"] == 0


# --- wishlist --------------------------------------------------------------------------------


def test_a_wishlist_is_the_shoppers_own_and_adding_twice_keeps_one(
    api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    first, second = launch(admin), launch(admin)
    auth = shopper.headers
    assert api.put(f"/wishlist/{first['id']}", headers=auth).status_code == 200
    assert api.put(f"/wishlist/{second['id']}", headers=auth).status_code == 200
    listed = api.put(f"/wishlist/{first['id']}", headers=auth).json()
    assert [p["id"] for p in listed["items"]] == [second["id"], first["id"]]
    removed = api.delete(f"/wishlist/{second['id']}", headers=auth).json()
    assert [p["id"] for p in removed["items"]] == [first["id"]]
    assert [p["id"] for p in api.get("/wishlist", headers=auth).json()["items"]] == [first["id"]]
    assert_error(api.get("/wishlist"), 401, "unauthorized")
    assert_error(api.put("/wishlist/no-such-product", headers=auth), 404, "unknown_product")


def test_a_retired_product_leaves_the_wishlist_and_cannot_be_wished_for_again(
    api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin)
    auth = shopper.headers
    assert api.put(f"/wishlist/{product['id']}", headers=auth).status_code == 200
    assert admin.delete(f"/admin/products/{product['id']}").status_code == 204
    assert api.get("/wishlist", headers=auth).json()["items"] == []
    again = api.put(f"/wishlist/{product['id']}", headers=auth)
    refused = assert_error(again, 410, "product_retired")
    assert [d["field"] for d in refused["details"]] == ["productId"]


async def wait_for_alert(ws: ClientConnection, product_id: str, reason: str) -> dict[str, Any]:
    def accept(m: dict[str, Any]) -> bool:
        return (
            of_type("WISHLIST_ALERT")(m)
            and m["alert"]["productId"] == product_id
            and m["alert"]["reason"] == reason
        )

    return await receive_until(ws, accept, PUSH_WAIT)


async def test_a_wisher_is_alerted_live_when_the_price_drops_or_stock_returns(
    server: ServerProcess, api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    wait_caught_up(server.base_url)
    product = launch(admin, stock=0, price=40.0)
    pid = product["id"]
    assert api.put(f"/wishlist/{pid}", headers=shopper.headers).status_code == 200
    async with connect(socket_of(server, shopper)) as ws:
        assert (await receive(ws))["type"] == "CONNECTED"
        assert admin.post(f"/admin/products/{pid}/price", json={"price": 30.0}).is_success
        drop = await wait_for_alert(ws, pid, "PRICE_DROP")
        assert (drop["alert"]["oldPrice"], drop["alert"]["newPrice"]) == (40.0, 30.0)
        # the alert carries the prices; its product is this instance's view, which on Kafka may
        # not have folded the price change yet (a PRODUCT_UPDATED push follows when it has)
        assert drop["product"]["id"] == pid
        restocked = admin.post(f"/admin/products/{pid}/restock", json={"quantity": 5})
        assert restocked.is_success, restocked.text
        back = await wait_for_alert(ws, pid, "BACK_IN_STOCK")
        assert back["alert"]["available"] == 5
        # the shopper hears of both by e-mail too (queued before the push is sent); a second
        # cut the same day adds no message
        assert admin.post(f"/admin/products/{pid}/price", json={"price": 25.0}).is_success
        await wait_for_alert(ws, pid, "PRICE_DROP")
    mails = [m for m in admin.get("/admin/outbox").json() if m["to"] == shopper.email]
    assert [m["subject"] for m in reversed(mails)] == [
        f"{product['name']} is now $30.00",
        f"{product['name']} is back in stock",
    ]
    assert f"/product/{pid}" in mails[0]["text"]


# --- related products ------------------------------------------------------------------------


def test_related_products_come_from_what_shoppers_bought_together(
    api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    first, second = launch(admin), launch(admin)
    assert api.get(f"/product/{first['id']}/related").json() == {
        "boughtTogether": [],
        "alsoViewed": [],
    }
    session = fresh("s")
    for product in (first, second):
        api.post(f"/cart/{session}/add", json={"productId": product["id"]})
    placed = api.post("/checkout", json={"sessionId": session, "idempotencyKey": fresh("k")})
    assert placed.status_code == 201, placed.text

    def related() -> dict[str, Any]:
        found: dict[str, Any] = api.get(f"/product/{first['id']}/related").json()
        return found

    start = time.monotonic()
    found = related()
    while not found["boughtTogether"] and time.monotonic() - start < PUSH_WAIT:
        time.sleep(0.2)
        found = related()
    assert [p["id"] for p in found["boughtTogether"]] == [second["id"]]
    assert second["id"] in [p["id"] for p in found["alsoViewed"]]
    # a retired product has left the catalog, so it is nobody's related product any more
    assert admin.delete(f"/admin/products/{second['id']}").status_code == 204
    after = related()
    assert after["boughtTogether"] == []
    assert second["id"] not in [p["id"] for p in after["alsoViewed"]]
