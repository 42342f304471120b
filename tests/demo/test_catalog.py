"""The demo catalog is deterministic, plausible and complete."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from kartshoppe.demo import CATEGORIES, seed_products
from kartshoppe.events import Product

# realistic price bands by category (inclusive), in dollars
PRICE_BANDS = {
    "Electronics": (15, 1500),
    "Computers": (15, 3000),
    "Audio": (20, 1000),
    "Home & Kitchen": (15, 1000),
    "Fashion": (10, 400),
    "Shoes": (15, 300),
    "Sports & Outdoors": (10, 500),
    "Books": (5, 80),
    "Toys & Games": (5, 250),
    "Beauty": (5, 450),
    "Garden": (5, 300),
    "Grocery": (1, 40),
}


@pytest.fixture(scope="module")
def products() -> list[Product]:
    return seed_products()


def test_the_catalog_holds_at_least_120_products(products: list[Product]) -> None:
    assert len(products) >= 120


def test_ids_are_unique_sequential_and_stable_across_calls(products: list[Product]) -> None:
    ids = [p.id for p in products]
    assert len(set(ids)) == len(ids)
    assert ids == [f"prod_{n:03d}" for n in range(1, len(ids) + 1)]
    assert seed_products() == products


def test_names_are_unique(products: list[Product]) -> None:
    names = [p.name for p in products]
    assert len(set(names)) == len(names)


def test_there_are_at_least_ten_categories_with_at_least_six_products_each(
    products: list[Product],
) -> None:
    counts = Counter(p.category for p in products)
    assert len(counts) >= 10
    assert min(counts.values()) >= 6
    assert set(counts) == set(CATEGORIES)


def test_every_product_survives_a_round_trip_through_the_wire_form(
    products: list[Product],
) -> None:
    for product in products:
        wire = product.model_dump(mode="json", by_alias=True)
        assert Product.model_validate(wire) == product


@pytest.mark.parametrize("category", sorted(PRICE_BANDS))
def test_prices_are_plausible_for_the_category(products: list[Product], category: str) -> None:
    low, high = PRICE_BANDS[category]
    for product in (p for p in products if p.category == category):
        assert low <= product.price <= high, product
        assert round(product.price, 2) == product.price
        assert round(product.original_price, 2) == product.original_price


def test_no_seeded_product_claims_a_was_price_it_never_had(products: list[Product]) -> None:
    assert all(p.original_price == p.price for p in products)


def test_every_seeded_product_has_its_brand_which_starts_its_name(
    products: list[Product],
) -> None:
    assert all(p.brand and p.name.startswith(p.brand + " ") for p in products)
    assert len({p.brand for p in products}) >= 20


def test_a_few_products_are_sold_out_and_a_few_are_low_on_stock(
    products: list[Product],
) -> None:
    assert all(0 <= p.stock <= 500 for p in products)
    sold_out = [p for p in products if p.stock == 0]
    low = [p for p in products if 0 < p.stock < 10]
    assert 2 <= len(sold_out) <= 8
    assert 4 <= len(low) <= 15


def test_about_twelve_products_are_featured_and_all_are_in_stock(
    products: list[Product],
) -> None:
    featured = [p for p in products if p.featured]
    assert 10 <= len(featured) <= 14
    assert all(p.stock > 0 for p in featured)
    assert len({p.category for p in featured}) >= 8


def test_ratings_reviews_tags_and_image_urls_are_well_formed(products: list[Product]) -> None:
    for p in products:
        assert 3.0 <= p.rating <= 5.0
        assert round(p.rating, 1) == p.rating
        assert p.review_count >= 0
        assert 2 <= len(p.tags) <= 5
        assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", tag) for tag in p.tags), p.tags
        assert len(set(p.tags)) == len(p.tags)
        assert p.image_url == f"/images/products/{p.id}.svg"


def test_descriptions_are_a_pitch_of_one_to_three_sentences_and_a_paragraph_of_details(
    products: list[Product],
) -> None:
    for p in products:
        pitch, details = p.description.split("\n\n")
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", pitch) if s]
        assert 1 <= len(sentences) <= 3, p.description
        assert details.endswith("."), p.description
