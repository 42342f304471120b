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
    "brand",
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


def every_item(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """All pages of a listing, in name order (stable while tests launch products)."""
    items: list[dict[str, Any]] = []
    number = 1
    while True:
        body = page(api, sort="name", page=number, pageSize=100, **params)
        items += body["items"]
        if len(items) >= body["total"] or not body["items"]:
            return items
        number += 1


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


def test_a_text_search_finds_products_by_name_brand_or_tag(api: httpx.Client) -> None:
    some = page(api, pageSize=1)["items"][0]
    word = some["name"].split()[-1].lower()
    body = page(api, q=word, pageSize=100)
    assert some["id"] in {item["id"] for item in body["items"]}
    first = body["items"][0]
    assert word in " ".join([first["name"], first["brand"], *first["tags"]]).lower()


def test_a_misspelt_search_still_finds_the_product_first(api: httpx.Client) -> None:
    items = page(api, q="hedphones")["items"]
    assert items and "Headphones" in items[0]["name"]
    laptops = page(api, search="laptop", limit=3)["items"]
    assert laptops and all("Laptop" in item["name"] for item in laptops)


def test_every_product_names_its_brand_and_the_brand_filter_keeps_only_it(
    api: httpx.Client,
) -> None:
    items = page(api, pageSize=100)["items"]
    assert all(item["brand"] for item in items if item["id"].startswith("prod_"))
    brand = items[0]["brand"]
    body = page(api, brand=brand, pageSize=100)
    assert body["total"] >= 1
    assert {item["brand"] for item in body["items"]} == {brand}


def test_facets_count_each_value_under_the_other_filters(api: httpx.Client) -> None:
    everything = page(api, pageSize=100)
    facets = everything["facets"]
    assert sum(c["count"] for c in facets["category"]) == everything["total"]
    assert sum(b["count"] for b in facets["brand"]) <= everything["total"]
    assert sum(b["count"] for b in facets["price"]) == everything["total"]
    # a category with branded products (other tests launch unbranded ones into their own)
    branded = next(i["category"] for i in everything["items"] if i["brand"])
    category = next(c for c in facets["category"] if c["value"] == branded)
    narrowed = page(api, category=category["value"], pageSize=100)
    assert narrowed["total"] == category["count"]
    # the category facet still shows every category while one is chosen
    assert narrowed["facets"]["category"] == facets["category"]
    brand = narrowed["facets"]["brand"][0]
    both = page(api, category=category["value"], brand=brand["value"], pageSize=100)
    assert both["total"] == brand["count"]


def test_a_product_without_a_brand_adds_no_empty_brand_to_choose(
    api: httpx.Client, admin: httpx.Client
) -> None:
    category = fresh("Unbranded")
    launch(admin, category=category)
    narrowed = page(api, category=category, pageSize=100)
    assert narrowed["total"] == 1
    assert narrowed["facets"]["brand"] == []
    assert all(b["value"] for b in page(api, pageSize=100)["facets"]["brand"])


@pytest.mark.parametrize(
    ("params", "holds"),
    [
        ({"minPrice": "25", "maxPrice": "50"}, lambda i: 25 <= i["price"] < 50),
        ({"minRating": "4.5"}, lambda i: i["rating"] >= 4.5),
        ({"inStock": "true"}, lambda i: not i["soldOut"]),
        ({"inStock": "false"}, lambda i: i["soldOut"]),
    ],
    ids=["price-range", "rating", "in-stock", "sold-out"],
)
def test_a_filter_keeps_exactly_the_products_it_names_and_its_facet_counts_them(
    api: httpx.Client, params: dict[str, str], holds: Any
) -> None:
    everything = every_item(api)
    found = every_item(api, **params)
    assert found
    assert found == [item for item in everything if holds(item)]


def test_suggestions_answer_what_is_being_typed(api: httpx.Client) -> None:
    response = api.get("/products/suggest", params={"q": "espres", "limit": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == "espres"
    assert len(body["suggestions"]) == 2
    assert all("Espresso" in s["name"] for s in body["suggestions"])
    assert set(body["suggestions"][0]) == {"id", "name", "brand", "category", "price"}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/products/suggest", {}, "q"),
        ("/products/suggest", {"q": "a", "limit": 0}, "limit"),
        ("/products", {"minPrice": "-1"}, "minPrice"),
        ("/products", {"minRating": "6"}, "minRating"),
        ("/products", {"onSale": "perhaps"}, "onSale"),
    ],
)
def test_bad_search_parameters_are_a_422_naming_the_parameter(
    api: httpx.Client, path: str, params: dict[str, Any], field: str
) -> None:
    body = assert_error(api.get(path, params=params), 422, "validation_error")
    assert field in {d["field"] for d in body["details"]}


def test_an_unknown_parameter_on_suggest_is_a_400_naming_it(api: httpx.Client) -> None:
    response = api.get("/products/suggest", params={"q": "tent", "query": "tent"})
    body = assert_error(response, 400, "unknown_parameter")
    assert "query" in body["message"]


def test_the_was_price_follows_the_30_day_rule_and_an_undo_removes_it(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin, price=100.0)
    assert (product["originalPrice"], product["reductionPercent"]) == (100.0, None)
    pid = product["id"]

    def price(value: float) -> dict[str, Any]:
        response = admin.post(f"/admin/products/{pid}/price", json={"price": value})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert api.get(f"/product/{pid}").json() == body
        return body

    cut = price(80.0)
    assert (cut["price"], cut["originalPrice"], cut["reductionPercent"]) == (80.0, 100.0, 20)
    undone = price(100.0)
    assert (undone["originalPrice"], undone["reductionPercent"]) == (100.0, None)
    # 80 was charged within the last 30 days, so a cut to 90 is no reduction to announce
    again = price(90.0)
    assert (again["originalPrice"], again["reductionPercent"]) == (90.0, None)
    on_sale = page(api, category=product["category"], onSale="true", pageSize=100)["items"]
    assert pid not in {item["id"] for item in on_sale}
    price(70.0)
    on_sale = page(api, category=product["category"], onSale="true", pageSize=100)["items"]
    assert [(i["id"], i["originalPrice"]) for i in on_sale if i["id"] == pid] == [(pid, 80.0)]


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
