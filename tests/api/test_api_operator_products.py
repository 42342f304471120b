"""The operator's product table over real HTTP: edit details, price and stock as one change,
retire a product (it leaves the catalog and can no longer be bought), and every refusal a 4xx
naming its field. Runs on both buses: on Kafka the edits are commands decided by the owner of the
product's partition like every other write."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kartshoppe.events import Topic
from tests.api.api_support import Shopper, TopicReader, assert_error, fresh, launch


def add(api: httpx.Client, session: str, product_id: str, quantity: int = 1) -> httpx.Response:
    return api.post(f"/cart/{session}/add", json={"productId": product_id, "quantity": quantity})


def fields_named(body: dict[str, Any]) -> set[str]:
    return {d["field"] for d in body["details"]}


async def test_one_edit_changes_name_description_brand_price_and_stock_for_every_reader(
    api: httpx.Client, admin: httpx.Client, read_topic: TopicReader
) -> None:
    product = launch(admin, stock=40, price=20.0)
    pid = product["id"]
    edit = {
        "name": "Trail runner 2",
        "description": "Light, grippy, waterproof.",
        "brand": "Northpeak",
        "price": 17.5,
        "stock": 12,
    }
    response = admin.patch(f"/admin/products/{pid}", json=edit)
    assert response.status_code == 200, response.text
    shown = api.get(f"/product/{pid}").json()
    for body in (response.json(), shown):
        assert (body["name"], body["description"], body["brand"]) == (
            "Trail runner 2",
            "Light, grippy, waterproof.",
            "Northpeak",
        )
        assert (body["price"], body["stock"], body["available"]) == (17.5, 12, 12)
    catalog = [e for e in await read_topic(Topic.PRODUCT_UPDATES) if e.get("productId") == pid]
    assert [e["eventType"] for e in catalog] == [
        "PRODUCT_LAUNCHED",
        "PRODUCT_EDITED",
        "PRICE_CHANGED",
    ]
    assert catalog[1]["fields"] == ["name", "description", "brand"]
    levels = [
        e
        for e in await read_topic(Topic.INVENTORY_UPDATES)
        if e.get("productId") == pid and e["eventType"] == "INVENTORY_CHANGED"
    ]
    assert (levels[-1]["reason"], levels[-1]["stock"]) == ("ADJUSTMENT", 12)


@pytest.mark.parametrize(
    ("edit", "fields"),
    [
        ({"name": "   "}, {"name"}),
        ({"price": 0}, {"price"}),
        ({"price": 1.234}, {"price"}),
        ({"stock": -1, "brand": "x" * 81}, {"stock", "brand"}),
        ({"colour": "red"}, {"colour"}),
        ({}, {"body"}),
    ],
)
def test_a_bad_edit_is_refused_naming_its_fields_and_changes_nothing(
    api: httpx.Client, admin: httpx.Client, edit: dict[str, Any], fields: set[str]
) -> None:
    product = launch(admin)
    response = admin.patch(f"/admin/products/{product['id']}", json=edit)
    assert fields_named(assert_error(response, 422, "validation_error")) == fields
    assert api.get(f"/product/{product['id']}").json() == product


def test_stock_below_what_open_orders_hold_refuses_the_whole_edit(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, stock=10)
    session = fresh("s")
    assert add(api, session, product["id"], 4).status_code == 200
    placed = api.post("/checkout", json={"sessionId": session, "idempotencyKey": fresh("k")})
    assert placed.status_code == 201, placed.text
    response = admin.patch(f"/admin/products/{product['id']}", json={"name": "New", "stock": 3})
    body = assert_error(response, 409, "stock_below_reserved")
    assert fields_named(body) == {"stock"}
    shown = api.get(f"/product/{product['id']}").json()
    assert (shown["name"], shown["stock"], shown["available"]) == (product["name"], 10, 6)


def test_editing_an_unknown_product_is_404_and_shoppers_may_not_edit(
    admin: httpx.Client, api: httpx.Client, shopper: Shopper
) -> None:
    assert_error(
        admin.patch("/admin/products/prod-none", json={"name": "x"}), 404, "unknown_product"
    )
    product = launch(admin)
    path = f"/admin/products/{product['id']}"
    assert_error(api.patch(path, json={"name": "x"}, headers=shopper.headers), 403, "forbidden")
    assert_error(api.delete(path, headers=shopper.headers), 403, "forbidden")
    assert_error(api.patch(path, json={"name": "x"}), 401, "unauthorized")


async def test_a_retired_product_leaves_the_catalog_and_cannot_be_bought(
    api: httpx.Client, admin: httpx.Client, read_topic: TopicReader
) -> None:
    category = fresh("Retiring")
    product = launch(admin, category=category)
    pid = product["id"]
    holding = fresh("s")
    assert add(api, holding, pid).status_code == 200
    assert admin.delete(f"/admin/products/{pid}").status_code == 204

    assert_error(api.get(f"/product/{pid}"), 404, "unknown_product")
    assert api.get("/products", params={"category": category}).json()["total"] == 0
    assert pid not in {p["id"] for p in admin.get("/admin/products").json()}
    assert category not in {c["name"] for c in api.get("/categories").json()}
    refused = assert_error(add(api, fresh("s"), pid), 410, "product_retired")
    assert fields_named(refused) == {"productId"}
    assert product["name"] in refused["message"]
    checkout = api.post("/checkout", json={"sessionId": holding, "idempotencyKey": fresh("k")})
    assert_error(checkout, 410, "product_retired")
    assert_error(admin.patch(f"/admin/products/{pid}", json={"price": 5}), 410, "product_retired")
    sale = {"discountPercent": 10, "durationSeconds": 60}
    for changed in (
        admin.post(f"/admin/products/{pid}/price", json={"price": 5}),
        admin.post(f"/admin/products/{pid}/restock", json={"quantity": 5}),
        admin.post(f"/admin/products/{pid}/flash-sale", json=sale),
        admin.delete(f"/admin/products/{pid}/flash-sale"),
        admin.delete(f"/admin/products/{pid}/image"),
    ):
        assert_error(changed, 410, "product_retired")
    # retiring again changes nothing
    assert admin.delete(f"/admin/products/{pid}").status_code == 204
    retired = [
        e
        for e in await read_topic(Topic.PRODUCT_UPDATES)
        if e.get("productId") == pid and e["eventType"] == "PRODUCT_RETIRED"
    ]
    assert len(retired) == 1 and retired[0]["product"]["retiredAt"] > 0
