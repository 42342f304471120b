"""Bad input over real HTTP: every client mistake is a 4xx with a JSON body naming the problem,
and nothing is half-applied."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.api_support import Shopper, assert_error, fresh, launch

TEST_PAYMENT = {"card": {"number": "4242424242424242", "expiry": "12/39", "cvc": "123"}}
"""The documented test card that is always approved (docs/API.md, Payment)."""


@pytest.fixture(scope="module")
def product_id(admin: httpx.Client) -> str:
    return str(launch(admin, stock=1000)["id"])


def test_adding_an_unknown_product_is_a_404_naming_the_product(api: httpx.Client) -> None:
    response = api.post(f"/cart/{fresh('s')}/add", json={"productId": "no-such", "quantity": 1})
    body = assert_error(response, 404, "unknown_product")
    assert body["details"][0]["field"] == "productId"


@pytest.mark.parametrize(
    "quantity", [0, -1, -1000, 100, 10**9, 10**30, "two", 1.5, None, True, [1]]
)
def test_a_bad_add_quantity_is_a_422_naming_quantity_and_changes_nothing(
    api: httpx.Client, product_id: str, quantity: Any
) -> None:
    session = fresh("s")
    response = api.post(
        f"/cart/{session}/add", json={"productId": product_id, "quantity": quantity}
    )
    body = assert_error(response, 422, "validation_error")
    assert [d["field"] for d in body["details"]] == ["quantity"]
    assert api.get(f"/cart/{session}").json()["lines"] == []


@pytest.mark.parametrize("quantity", [0, -5, 100])
def test_a_bad_update_quantity_is_a_422(api: httpx.Client, product_id: str, quantity: int) -> None:
    session = fresh("s")
    api.post(f"/cart/{session}/add", json={"productId": product_id, "quantity": 1})
    response = api.post(
        f"/cart/{session}/update", json={"productId": product_id, "quantity": quantity}
    )
    assert_error(response, 422, "validation_error")
    assert api.get(f"/cart/{session}").json()["lines"][0]["quantity"] == 1


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"productId": "x", "quantity": 1', b"\xff\xfe"],
    ids=["garbage", "truncated", "not-utf8"],
)
def test_a_malformed_json_body_is_a_400(api: httpx.Client, raw: bytes) -> None:
    response = api.post(
        f"/cart/{fresh('s')}/add", content=raw, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "malformed_json")


def test_a_missing_body_is_a_422_naming_the_body(api: httpx.Client) -> None:
    response = api.post(f"/cart/{fresh('s')}/add", headers={"content-type": "application/json"})
    body = assert_error(response, 422, "validation_error")
    assert [d["field"] for d in body["details"]] == ["body"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity": 1}, "productId"),
        ({"productId": "bad id with spaces", "quantity": 1}, "productId"),
        ({"productId": "x" * 500, "quantity": 1}, "productId"),
        ({"productId": "p", "quantity": 1, "surprise": True}, "surprise"),
        ([1, 2], "body"),
    ],
    ids=["missing-product", "bad-product-id", "long-product-id", "unknown-field", "array"],
)
def test_a_body_of_the_wrong_shape_is_a_422_naming_the_field(
    api: httpx.Client, body: Any, field: str
) -> None:
    response = api.post(f"/cart/{fresh('s')}/add", json=body)
    details = assert_error(response, 422, "validation_error")["details"]
    assert field in {d["field"] for d in details}


def test_a_session_id_with_forbidden_characters_is_a_422(api: httpx.Client) -> None:
    response = api.get("/cart/bad%20session")
    assert_error(response, 422, "validation_error")


def test_checkout_of_an_empty_cart_is_refused(api: httpx.Client) -> None:
    body = {"sessionId": fresh("s"), "idempotencyKey": fresh("k")}
    assert_error(api.post("/checkout", json=body), 409, "empty_cart")


def test_checkout_without_an_idempotency_key_is_a_422(api: httpx.Client) -> None:
    response = api.post("/checkout", json={"sessionId": fresh("s")})
    body = assert_error(response, 422, "validation_error")
    assert "idempotencyKey" in {d["field"] for d in body["details"]}


def test_an_unknown_order_is_a_404(api: httpx.Client) -> None:
    assert_error(api.get(f"/orders/{fresh('order')}"), 404, "not_found")
    assert_error(api.post(f"/orders/{fresh('order')}/pay", json=TEST_PAYMENT), 404, "not_found")


def test_listing_orders_without_an_owner_is_a_422(api: httpx.Client) -> None:
    assert_error(api.get("/orders"), 422, "validation_error")


def test_an_unknown_api_route_is_a_json_404(api: httpx.Client) -> None:
    assert_error(api.get("/no/such/route"), 404, "not_found")


def test_a_wrong_method_is_a_json_405(api: httpx.Client) -> None:
    assert_error(api.delete("/products"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/admin/products/{id}/price", {"price": 0}, 422, "validation_error"),
        ("/admin/products/{id}/price", {"price": -3}, 422, "validation_error"),
        ("/admin/products/{id}/restock", {"quantity": 0}, 422, "validation_error"),
        (
            "/admin/products/{id}/flash-sale",
            {"discountPercent": 100, "durationSeconds": 60},
            422,
            "validation_error",
        ),
        (
            "/admin/products/{id}/flash-sale",
            {"discountPercent": 10, "durationSeconds": 0},
            422,
            "validation_error",
        ),
        ("/admin/products/no-such/price", {"price": 5}, 404, "unknown_product"),
        ("/admin/products/no-such/restock", {"quantity": 5}, 404, "unknown_product"),
        ("/admin/orders/no-such/status", {"status": "PAID"}, 404, "not_found"),
        ("/admin/orders/no-such/status", {"status": "LOST"}, 422, "validation_error"),
    ],
)
def test_bad_operator_commands_are_4xx_with_a_json_body(
    api: httpx.Client,
    admin: httpx.Client,
    product_id: str,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = api.get(f"/product/{product_id}").json()
    assert_error(admin.post(path.format(id=product_id), json=body), status, code)
    assert api.get(f"/product/{product_id}").json() == before


def test_launching_an_existing_product_id_is_a_409(admin: httpx.Client, product_id: str) -> None:
    body = {"id": product_id, "name": "Again", "category": "Test Lab", "price": 1.0}
    assert_error(admin.post("/admin/products", json=body), 409, "product_exists")


def test_operator_routes_refuse_anonymous_callers_and_shoppers(
    api: httpx.Client, shopper: Shopper, product_id: str
) -> None:
    path = f"/admin/products/{product_id}/price"
    assert_error(api.post(path, json={"price": 1.0}), 401, "unauthorized")
    refused = api.post(path, json={"price": 1.0}, headers=shopper.headers)
    assert_error(refused, 403, "forbidden")
    assert api.get(f"/product/{product_id}").json()["price"] == 10.0


def test_naming_a_user_without_its_token_is_refused(api: httpx.Client, product_id: str) -> None:
    body = {"productId": product_id, "userId": fresh("u")}
    assert_error(api.post(f"/cart/{fresh('s')}/add", json=body), 401, "unauthorized")
