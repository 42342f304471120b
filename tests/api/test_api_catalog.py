"""Browsing the catalog over real HTTP: filters, search, sort, paging, featured, trending."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.api_support import assert_error, fresh, launch

PRODUCT_FIELDS = {
    "id",
    "name",
    "description",
    "category",
    "price",
    "originalPrice",
    "stock",
    "available",
    "rating",
    "reviewCount",
    "tags",
    "featured",
    "imageUrl",
}


def page(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get("/products", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_catalog_lists_at_least_100_products_in_at_least_8_categories(
    api: httpx.Client,
) -> None:
    body = page(api, pageSize=100)
    assert body["total"] >= 100
    assert (body["page"], body["pageSize"], len(body["items"])) == (1, 100, 100)
    assert set(body["items"][0]) >= PRODUCT_FIELDS
    categories = api.get("/categories").json()
    assert len([c for c in categories if c["count"] > 0]) >= 8


def test_filtering_by_category_returns_only_and_all_of_that_category(api: httpx.Client) -> None:
    categories = {c["name"]: c["count"] for c in api.get("/categories").json()}
    name = "Electronics" if "Electronics" in categories else next(iter(categories))
    body = page(api, category=name, pageSize=100)
    assert body["total"] == categories[name]
    assert {item["category"] for item in body["items"]} == {name}


def test_a_text_search_finds_products_by_name_description_or_tag(api: httpx.Client) -> None:
    some = page(api, pageSize=1)["items"][0]
    word = some["name"].split()[-1].lower()
    body = page(api, q=word, pageSize=100)
    assert some["id"] in {item["id"] for item in body["items"]}
    for item in body["items"]:
        text = " ".join([item["name"], item["description"], item["category"], *item["tags"]])
        assert word in text.lower()


def test_a_search_matching_nothing_returns_an_empty_page(api: httpx.Client) -> None:
    body = page(api, q="zzzqqq-no-such-thing")
    assert (body["items"], body["total"]) == ([], 0)


@pytest.mark.parametrize(
    ("sort", "key", "descending"),
    [
        ("price_asc", "price", False),
        ("price_desc", "price", True),
        ("rating", "rating", True),
    ],
)
def test_sorting_orders_the_whole_result(
    api: httpx.Client, sort: str, key: str, descending: bool
) -> None:
    values = [item[key] for item in page(api, sort=sort, pageSize=100)["items"]]
    assert values == sorted(values, reverse=descending)


def test_sorting_by_name_is_alphabetical(api: httpx.Client) -> None:
    names = [item["name"].lower() for item in page(api, sort="name", pageSize=100)["items"]]
    assert names == sorted(names)


def test_pages_split_the_result_without_overlap(api: httpx.Client) -> None:
    first = page(api, sort="name", page=1, pageSize=5)
    second = page(api, sort="name", page=2, pageSize=5)
    both = page(api, sort="name", page=1, pageSize=10)
    assert [i["id"] for i in first["items"] + second["items"]] == [i["id"] for i in both["items"]]
    beyond = page(api, page=10_000, pageSize=100)
    assert beyond["items"] == []
    assert beyond["total"] == first["total"]


def test_featured_products_come_first_and_respect_the_limit(api: httpx.Client) -> None:
    items = api.get("/products/featured", params={"limit": 3}).json()
    assert len(items) == 3
    assert all(item["featured"] for item in items)


def test_trending_products_carry_a_score_most_popular_first(api: httpx.Client) -> None:
    items = api.get("/products/trending", params={"limit": 5}).json()
    assert len(items) == 5
    scores = [item["trendingScore"] for item in items]
    assert scores == sorted(scores, reverse=True)


def test_a_product_detail_matches_the_product_in_the_listing(api: httpx.Client) -> None:
    listed = page(api, sort="price_asc", pageSize=1)["items"][0]
    response = api.get(f"/product/{listed['id']}")
    assert response.status_code == 200
    assert response.json() == listed


def test_an_unknown_product_is_a_404_with_a_json_body(api: httpx.Client) -> None:
    body = assert_error(api.get(f"/product/{fresh('nope')}"), 404, "unknown_product")
    assert body["details"][0]["field"] == "productId"


def test_a_launched_product_is_listed_and_found_at_once(
    api: httpx.Client, admin: httpx.Client
) -> None:
    category = fresh("Lab")
    product = launch(admin, stock=3, price=12.5, category=category)
    assert (product["price"], product["stock"], product["available"]) == (12.5, 3, 3)
    body = page(api, category=category)
    assert [item["id"] for item in body["items"]] == [product["id"]]
    assert api.get(f"/product/{product['id']}").json()["name"] == product["name"]


@pytest.mark.parametrize(
    "params",
    [{"sort": "cheapest"}, {"page": 0}, {"pageSize": 1000}, {"page": "first"}],
    ids=["unknown-sort", "page-zero", "page-too-big", "page-not-a-number"],
)
def test_bad_listing_parameters_are_a_422_naming_the_parameter(
    api: httpx.Client, params: dict[str, Any]
) -> None:
    body = assert_error(api.get("/products", params=params), 422, "validation_error")
    assert {d["field"] for d in body["details"]} == set(params)
