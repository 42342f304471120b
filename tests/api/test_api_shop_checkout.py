"""A checkout like a real shop over real HTTP: the quote, address, delivery, tax and coupons;
card payment with the documented test cards; the price charged is the price shown; guest orders
follow the shopper into the account; the shopper cancels; coupon limits under concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from kartshoppe.domain.checkout import ORDER_HOLD_MS
from tests.api.api_support import Shopper, assert_error, fresh, launch
from tests.support.server import ServerProcess

GOOD_CARD = {"number": "4242 4242 4242 4242", "expiry": "12/39", "cvc": "123"}
DECLINED_CARD = {"number": "4000000000000002", "expiry": "12/39", "cvc": "123"}
FLAKY_CARD = {"number": "4000000000000119", "expiry": "12/39", "cvc": "123"}
LONDON = {
    "name": "Ada Lovelace",
    "line1": "10 Downing Street",
    "city": "London",
    "postalCode": "SW1A 2AA",
    "country": "GB",
}


def cart_with(api: httpx.Client, product: dict[str, Any], quantity: int) -> str:
    session = fresh("s")
    body = {"productId": product["id"], "quantity": quantity}
    assert api.post(f"/cart/{session}/add", json=body).status_code == 200
    return session


def details(session: str, **extra: Any) -> dict[str, Any]:
    return {
        "sessionId": session,
        "email": "ada@example.com",
        "address": LONDON,
        "delivery": "standard",
        **extra,
    }


def quote(api: httpx.Client, session: str, **extra: Any) -> dict[str, Any]:
    response = api.post("/checkout/quote", json=details(session, **extra))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def place(api: httpx.Client, session: str, **extra: Any) -> httpx.Response:
    total = quote(api, session, **{k: v for k, v in extra.items() if k == "couponCode"})["total"]
    body = details(session, idempotencyKey=fresh("k"), expectedTotal=total, **extra)
    return api.post("/checkout", json=body)


def coupon(admin: httpx.Client, **fields: Any) -> str:
    code = fresh("C").upper().replace("-", "")
    body = {"code": code, "kind": "PERCENT", "value": 10, **fields}
    response = admin.post("/admin/coupons", json=body)
    assert response.status_code == 201, response.text
    return code


def test_the_quote_itemises_subtotal_shipping_and_tax_of_the_destination(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, price=24.99)
    session = cart_with(api, product, 2)
    bill = quote(api, session)
    # 49.98 is below the 50.00 free-shipping threshold; GB tax 20% of 54.97 = 10.994
    assert (bill["subtotal"], bill["shipping"], bill["tax"], bill["total"]) == (
        49.98,
        4.99,
        10.99,
        65.96,
    )
    options = {o["option"]: o for o in bill["deliveryOptions"]}
    assert (options["standard"]["cost"], options["express"]["cost"]) == (4.99, 14.99)
    assert options["express"]["estimatedDate"] < options["standard"]["estimatedDate"]
    free = quote(api, cart_with(api, product, 3))
    assert free["shipping"] == 0.0


def test_checkout_places_the_order_at_the_quoted_total_and_refuses_a_tampered_one(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, price=0.10, stock=50)
    session = cart_with(api, product, 3)
    tampered = api.post(
        "/checkout", json=details(session, idempotencyKey=fresh("k"), expectedTotal=0.01)
    )
    body = assert_error(tampered, 409, "total_mismatch")
    assert body["details"][0]["field"] == "expectedTotal"
    assert len(api.get(f"/cart/{session}").json()["lines"]) == 1
    assert api.get(f"/product/{product['id']}").json()["available"] == 50
    placed = place(api, session)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["shipTo"] == [
        "Ada Lovelace",
        "10 Downing Street",
        "London",
        "SW1A 2AA",
        "United Kingdom",
    ], "as the Royal Mail writes it"
    # 0.30 + 4.99 shipping, 20% tax of 5.29 = 1.058
    assert (order["subtotal"], order["shipping"], order["tax"], order["total"]) == (
        0.3,
        4.99,
        1.06,
        6.35,
    )
    assert (order["email"], order["address"]["postalCode"]) == ("ada@example.com", "SW1A 2AA")
    assert order["delivery"]["option"] == "standard"


def test_bad_checkout_input_names_the_field_and_changes_nothing(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, price=30.0, stock=5)
    session = cart_with(api, product, 1)
    bad_postcode = {**LONDON, "postalCode": "12345"}
    cases: list[tuple[dict[str, object], int, str, str]] = [
        ({"address": bad_postcode}, 422, "invalid_address", "address.postalCode"),
        ({"address": {**LONDON, "country": "ZZ"}}, 422, "invalid_address", "address.country"),
        ({"couponCode": "NOSUCHCODE"}, 422, "unknown_coupon", "couponCode"),
        (
            {"couponCode": coupon(admin, endsAt=1_000, startsAt=0)},
            422,
            "coupon_expired",
            "couponCode",
        ),
        (
            {"couponCode": coupon(admin, minSubtotal=100)},
            422,
            "coupon_below_minimum",
            "couponCode",
        ),
        ({"delivery": "drone"}, 422, "invalid_delivery", "delivery"),
    ]
    for extra, status, code, field in cases:
        response = api.post(
            "/checkout", json={**details(session, idempotencyKey=fresh("k")), **extra}
        )
        body = assert_error(response, status, code)
        assert body["details"][0]["field"] == field, body
    assert len(api.get(f"/cart/{session}").json()["lines"]) == 1
    assert api.get(f"/product/{product['id']}").json()["available"] == 5


def test_a_declined_card_leaves_the_order_payable_and_a_good_card_pays_it(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, price=12.50, stock=5)
    session = cart_with(api, product, 2)
    order = place(api, session).json()
    pay = f"/orders/{order['orderId']}/pay?sessionId={session}"
    luhn = api.post(pay, json={"card": {**GOOD_CARD, "number": "4242424242424241"}})
    assert assert_error(luhn, 422, "invalid_card")["details"][0]["field"] == "card.number"
    declined = api.post(pay, json={"card": DECLINED_CARD, "amount": order["total"]})
    assert assert_error(declined, 402, "card_declined")["details"][0]["field"] == "card.number"
    flaky = api.post(pay, json={"card": FLAKY_CARD})
    assert_error(flaky, 503, "payment_unavailable")
    tampered = api.post(pay, json={"card": GOOD_CARD, "amount": 1.0})
    assert_error(tampered, 409, "total_mismatch")
    still = api.get(f"/orders/{order['orderId']}", params={"sessionId": session}).json()
    assert still["status"] == "PLACED"
    assert still["payBy"] == still["createdAt"] + ORDER_HOLD_MS, "declined: still held as long"
    assert [p["kind"] for p in still["payments"]] == ["DECLINED"]
    paid = api.post(pay, json={"card": GOOD_CARD, "amount": order["total"]})
    assert paid.status_code == 200, paid.text
    captured = paid.json()["payments"][-1]
    assert (paid.json()["status"], captured["kind"], captured["amount"]) == (
        "PAID",
        "CAPTURED",
        order["total"],
    )
    assert captured["transactionId"].startswith("txn_") and captured["cardLast4"] == "4242"
    assert paid.json()["payBy"] is None


def test_a_flash_sale_started_with_the_cart_open_is_shown_and_charged(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, price=689.99, stock=5)
    session = cart_with(api, product, 2)
    assert api.get(f"/cart/{session}").json()["subtotal"] == 1379.98
    sale = {"discountPercent": 25, "durationSeconds": 600}
    assert admin.post(f"/admin/products/{product['id']}/flash-sale", json=sale).status_code == 200
    cart = api.get(f"/cart/{session}").json()
    assert (cart["lines"][0]["unitPrice"], cart["subtotal"]) == (517.49, 1034.98)
    shown = quote(api, session)
    order = place(api, session).json()
    assert (order["lines"][0]["unitPrice"], order["total"]) == (517.49, shown["total"])


def test_a_guests_orders_follow_into_the_account_on_sign_in(
    api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin, price=5.0)
    session = cart_with(api, product, 1)
    order = place(api, session).json()
    merged = api.post(
        f"/cart/{session}/merge", json={"userId": shopper.user_id}, headers=shopper.headers
    )
    assert merged.status_code == 200, merged.text
    mine = api.get("/orders", params={"userId": shopper.user_id}, headers=shopper.headers)
    assert [o["orderId"] for o in mine.json()] == [order["orderId"]]
    assert mine.json()[0]["userId"] == shopper.user_id


def test_the_shopper_cancels_an_own_paid_order_before_it_ships(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, price=20.0, stock=4)
    session = cart_with(api, product, 2)
    order = place(api, session).json()
    owner = {"sessionId": session}
    api.post(f"/orders/{order['orderId']}/pay", params=owner, json={"card": GOOD_CARD})
    cancelled = api.post(f"/orders/{order['orderId']}/cancel", params=owner)
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["status"], body["lapsed"]) == ("CANCELLED", False), "the shopper's doing"
    assert body["payments"][-1]["kind"] == "REFUNDED"
    assert body["payments"][-1]["amount"] == order["total"]
    level = api.get(f"/product/{product['id']}").json()
    assert (level["stock"], level["available"]) == (4, 4)
    again = api.post(f"/orders/{order['orderId']}/cancel", params=owner)
    assert_error(again, 409, "invalid_transition")


def test_the_operator_lists_orders_by_status(api: httpx.Client, admin: httpx.Client) -> None:
    product = launch(admin, price=3.0)
    order = place(api, cart_with(api, product, 1)).json()
    placed = admin.get("/admin/orders", params={"status": "PLACED"}).json()
    assert order["orderId"] in [o["orderId"] for o in placed]
    shipped = admin.post(f"/admin/orders/{order['orderId']}/status", json={"status": "CANCELLED"})
    assert shipped.status_code == 200
    assert order["orderId"] not in [
        o["orderId"] for o in admin.get("/admin/orders", params={"status": "PLACED"}).json()
    ]
    assert api.get("/admin/orders").status_code == 401


def test_the_operator_finds_an_order_by_the_reference_its_shopper_quotes(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, price=3.0)
    order = place(api, cart_with(api, product, 1)).json()
    for typed in (
        order["reference"],
        order["reference"].lower().replace("-", ""),
        order["orderId"],
    ):
        found = admin.get("/admin/orders", params={"named": typed, "limit": 1}).json()
        assert [o["orderId"] for o in found] == [order["orderId"]], typed
    assert admin.get("/admin/orders", params={"named": "no such order"}).json() == []
    refused = assert_error(
        admin.get("/admin/orders", params={"named": ""}), 422, "validation_error"
    )
    assert [d["field"] for d in refused["details"]] == ["named"]


def test_a_coupon_limited_to_three_is_redeemed_exactly_three_times_under_concurrency(
    server: ServerProcess, api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, price=10.0, stock=100)
    code = coupon(admin, maxRedemptions=3)
    sessions = [cart_with(api, product, 1) for _ in range(20)]

    async def attempt(client: httpx.AsyncClient, session: str) -> int:
        body = details(session, idempotencyKey=fresh("k"), couponCode=code)
        return (await client.post("/checkout", json=body)).status_code

    async def all_at_once() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url("/api/ecommerce"), timeout=30) as client:
            return await asyncio.gather(*(attempt(client, s) for s in sessions))

    statuses = asyncio.run(all_at_once())
    assert sorted(statuses) == [201] * 3 + [422] * 17
    redeemed = {c["code"]: c["redeemed"] for c in admin.get("/admin/coupons").json()}
    assert redeemed[code] == 3
