"""The cart over real HTTP: add, update, remove, clear, user carts shared by devices, merge."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.api_support import Shopper, assert_error, fresh, launch


def post(
    api: httpx.Client, path: str, body: dict[str, Any], as_: Shopper | None = None
) -> dict[str, Any]:
    response = api.post(path, json=body, headers=as_.headers if as_ else None)
    assert response.status_code == 200, response.text
    cart: dict[str, Any] = response.json()
    return cart


def quantities(cart: dict[str, Any]) -> dict[str, int]:
    return {line["productId"]: line["quantity"] for line in cart["lines"]}


def test_an_unknown_session_has_an_empty_cart(api: httpx.Client) -> None:
    session = fresh("s")
    cart = api.get(f"/cart/{session}").json()
    assert (cart["cartId"], cart["lines"], cart["itemCount"], cart["subtotal"]) == (
        session,
        [],
        0,
        0,
    )


def test_adding_puts_a_priced_line_in_the_cart_and_the_cart_is_read_back(
    api: httpx.Client,
    admin: httpx.Client,
) -> None:
    product = launch(admin, price=12.25)
    session = fresh("s")
    cart = post(api, f"/cart/{session}/add", {"productId": product["id"], "quantity": 2})
    (line,) = cart["lines"]
    assert line == {
        "productId": product["id"],
        "name": product["name"],
        "quantity": 2,
        "unitPrice": 12.25,
        "lineTotal": 24.5,
    }
    assert (cart["itemCount"], cart["subtotal"], cart["sessionId"]) == (2, 24.5, session)
    assert api.get(f"/cart/{session}").json() == cart


def test_adding_the_same_product_again_adds_to_its_line(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin)
    session = fresh("s")
    post(api, f"/cart/{session}/add", {"productId": product["id"], "quantity": 2})
    cart = post(api, f"/cart/{session}/add", {"productId": product["id"], "quantity": 3})
    assert quantities(cart) == {product["id"]: 5}


def test_updating_sets_the_quantity_and_removing_drops_the_line(
    api: httpx.Client, admin: httpx.Client
) -> None:
    a, b = launch(admin), launch(admin)
    session = fresh("s")
    post(api, f"/cart/{session}/add", {"productId": a["id"], "quantity": 1})
    post(api, f"/cart/{session}/add", {"productId": b["id"], "quantity": 1})
    cart = post(api, f"/cart/{session}/update", {"productId": a["id"], "quantity": 7})
    assert quantities(cart) == {a["id"]: 7, b["id"]: 1}
    cart = post(api, f"/cart/{session}/remove", {"productId": b["id"]})
    assert quantities(cart) == {a["id"]: 7}


def test_clearing_empties_the_cart(api: httpx.Client, admin: httpx.Client) -> None:
    product = launch(admin)
    session = fresh("s")
    post(api, f"/cart/{session}/add", {"productId": product["id"], "quantity": 4})
    cart = post(api, f"/cart/{session}/clear", {})
    assert (cart["lines"], cart["itemCount"]) == ([], 0)


def test_a_signed_in_user_has_one_cart_on_every_device(
    api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin)
    user = shopper.user_id
    phone, laptop = fresh("s"), fresh("s")
    body = {"productId": product["id"], "quantity": 2, "userId": user}
    post(api, f"/cart/{phone}/add", body, shopper)
    body = {"productId": product["id"], "quantity": 1, "userId": user}
    cart = post(api, f"/cart/{laptop}/add", body, shopper)
    assert (cart["cartId"], quantities(cart)) == (user, {product["id"]: 3})
    from_phone = api.get(f"/cart/{phone}", params={"userId": user}, headers=shopper.headers)
    assert from_phone.json()["lines"] == cart["lines"]
    assert api.get(f"/cart/{phone}").json()["lines"] == []


def test_merging_moves_the_anonymous_cart_into_the_user_cart(
    api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    a, b = launch(admin), launch(admin)
    user, session = shopper.user_id, fresh("s")
    post(api, f"/cart/{session}/add", {"productId": a["id"], "quantity": 2})
    post(api, f"/cart/{session}/add", {"productId": b["id"], "quantity": 1})
    body = {"productId": a["id"], "quantity": 1, "userId": user}
    post(api, f"/cart/{fresh('s')}/add", body, shopper)
    cart = post(api, f"/cart/{session}/merge", {"userId": user}, shopper)
    assert quantities(cart) == {a["id"]: 3, b["id"]: 1}
    assert api.get(f"/cart/{session}").json()["lines"] == []


def test_adding_more_than_is_available_is_a_409_and_leaves_the_cart_unchanged(
    api: httpx.Client,
    admin: httpx.Client,
) -> None:
    product = launch(admin, stock=3)
    session = fresh("s")
    post(api, f"/cart/{session}/add", {"productId": product["id"], "quantity": 2})
    response = api.post(f"/cart/{session}/add", json={"productId": product["id"], "quantity": 2})
    assert_error(response, 409, "insufficient_stock")
    message = f"Only 3 of {product['name']} are left; you asked for 4"
    assert response.json()["message"] == message
    assert quantities(api.get(f"/cart/{session}").json()) == {product["id"]: 2}


def test_the_line_limit_counts_across_adds(api: httpx.Client, admin: httpx.Client) -> None:
    product = launch(admin, stock=1000)
    session = fresh("s")
    post(api, f"/cart/{session}/add", {"productId": product["id"], "quantity": 60})
    response = api.post(f"/cart/{session}/add", json={"productId": product["id"], "quantity": 40})
    assert_error(response, 422, "line_limit")
    assert quantities(api.get(f"/cart/{session}").json()) == {product["id"]: 60}


def test_removing_a_product_not_in_the_cart_is_a_404(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin)
    response = api.post(f"/cart/{fresh('s')}/remove", json={"productId": product["id"]})
    assert_error(response, 404, "not_in_cart")
