"""Search quality on the demo catalog: queries, typos included, and the products they must find.

Each row names a query and a part of product names. The products whose names hold that part
must be exactly the first results, in any order: found, and ranked above everything else.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from kartshoppe.demo.seed import seed_products
from kartshoppe.domain.catalog import decide_launch
from kartshoppe.domain.meta import Meta
from kartshoppe.domain.state import ShopState
from kartshoppe.views.catalog import CatalogView, ProductQuery
from kartshoppe.views.search import edit_distance, match_quality, query_words

QUALITY_TABLE = [
    ("headphones", "Headphones"),
    ("hedphones", "Headphones"),
    ("haedphones", "Headphones"),
    ("headphone", "Headphones"),
    ("hedph", "Headphones"),
    ("laptop", "Laptop"),
    ("laptops", "Laptop"),
    ("lpatop", "Laptop"),
    ("earbuds", "Earbuds"),
    ("earbds", "Earbuds"),
    ("espreso machine", "Espresso Machine"),
    ("skilet", "Skillet"),
    ("robot vacum", "Robot Vacuum"),
    ("sneekers", "Sneakers"),
    ("pacefoot", "Pacefoot"),
    ("oakmere air fryer", "Oakmere Air Fryer"),
    ("blutooth speaker", "Bluetooth Speaker"),
    ("tent", "Tent"),
    ("jigsaw puzzle", "Jigsaw Puzzle"),
    ("olive oil", "Olive Oil"),
    ("parfum", "Parfum"),
    ("plush bear", "Plush Bear"),
    ("dumbells", "Dumbbells"),
    ("mechanical keybaord", "Mechanical Keyboard"),
    ("chelsea boots", "Chelsea Boots"),
    ("hair dryer", "Hair Dryer"),
    ("garden bed", "Raised Garden Bed"),
]


@pytest.fixture(scope="module")
def catalog() -> CatalogView:
    state = ShopState()
    for product in seed_products():
        for event in decide_launch(None, product, Meta(timestamp=0)):
            state.apply(event)
    return CatalogView(state)


def names_found(catalog: CatalogView, q: str) -> list[str]:
    body = catalog.search(ProductQuery(q=q, page_size=100))
    return [item["name"] for item in body["items"]]


@pytest.mark.parametrize(("query", "name_part"), QUALITY_TABLE)
def test_a_query_finds_the_products_it_means_first(
    catalog: CatalogView, query: str, name_part: str
) -> None:
    meant = {v["name"] for v in catalog.all_views() if name_part in v["name"]}
    assert meant, f"the table names no product for {name_part!r}"
    found = names_found(catalog, query)
    assert set(found[: len(meant)]) == meant, found


def test_laptop_does_not_return_earbuds_or_turntables(catalog: CatalogView) -> None:
    found = names_found(catalog, "laptop")
    assert not [n for n in found if "Earbuds" in n or "Turntable" in n], found


def test_a_word_that_is_nowhere_finds_nothing(catalog: CatalogView) -> None:
    assert names_found(catalog, "zzzqqq") == []


def test_every_query_word_must_be_found(catalog: CatalogView) -> None:
    assert all("Tent" in name for name in names_found(catalog, "tent tidewater"))
    assert names_found(catalog, "tent pacefoot") == []


def test_suggestions_complete_a_word_being_typed(catalog: CatalogView) -> None:
    body = catalog.suggest("espr", 3)
    assert body["query"] == "espr"
    assert {s["name"] for s in body["suggestions"][:2]} == {
        "Hearthline Espresso Machine Compact",
        "Copperleaf Espresso Machine Barista",
    }
    assert all(isinstance(s["price"], float) for s in body["suggestions"])


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("hedphones", "headphones", 1), ("haedphones", "headphones", 1), ("kitten", "sitting", 3)],
)
def test_edit_distance_counts_a_swap_of_neighbours_as_one_typo(
    a: str, b: str, distance: int
) -> None:
    assert edit_distance(a, b, 5) == distance


def test_a_long_query_is_read_up_to_its_eighth_word(catalog: CatalogView) -> None:
    assert query_words("tent " * 7 + "tent zzzqqq") == ["tent"] * 8
    assert names_found(catalog, "tent " * 8 + "zzzqqq") == names_found(catalog, "tent")


def test_short_words_must_be_spelled_right() -> None:
    assert match_quality("tv", "tv") == 1.0
    assert match_quality("tc", "tv") == 0.0
    assert match_quality("bear", "ear") == 0.0


def test_an_empty_category_or_brand_filters_nothing(catalog: CatalogView) -> None:
    everything = catalog.search(ProductQuery())["total"]
    assert catalog.search(ProductQuery(category="", brand=""))["total"] == everything


def test_prices_in_facets_are_exact_bucket_edges(catalog: CatalogView) -> None:
    body = catalog.search(ProductQuery(min_price=Decimal("25"), max_price=Decimal("50")))
    assert body["total"] > 0
    assert all(25 <= item["price"] < 50 for item in body["items"])
