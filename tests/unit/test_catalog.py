"""The demo catalog is deterministic, plausible and complete, and its images are valid SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from decimal import Decimal

import pytest

from kartshoppe.demo import CATEGORIES, placeholder_svg, product_svg, seed_products
from kartshoppe.events import Product

SVG = "{http://www.w3.org/2000/svg}"

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


def test_original_price_is_never_below_price_and_some_products_are_discounted(
    products: list[Product],
) -> None:
    assert all(p.original_price >= p.price for p in products)
    discounted = [p for p in products if p.original_price > p.price]
    assert 10 <= len(discounted) <= len(products) // 2
    assert all(p.price >= p.original_price * Decimal("0.6") for p in discounted)


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


def test_every_product_image_is_well_formed_svg_with_the_product_name(
    products: list[Product],
) -> None:
    for product in products:
        svg = product_svg(product)
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg"
        assert root.get("viewBox") == "0 0 400 400"
        assert root.findtext(f"{SVG}title") == product.name
        assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_product_names_are_escaped_in_the_image(products: list[Product]) -> None:
    product = products[0].model_copy(update={"name": 'Tom & Jerry\'s <Best> "Mug"'})
    svg = product_svg(product)
    root = ET.fromstring(svg)
    assert "Tom &amp; Jerry's &lt;Best&gt;" in svg
    assert root.findtext(f"{SVG}title") == product.name
    assert root.get("aria-label") == product.name


def test_characters_xml_cannot_hold_are_dropped_from_the_image(products: list[Product]) -> None:
    product = products[0].model_copy(update={"name": "Bell\x07 Clock\x00"})
    root = ET.fromstring(product_svg(product))
    assert root.findtext(f"{SVG}title") == "Bell Clock"


def test_long_names_wrap_to_at_most_three_lines(products: list[Product]) -> None:
    product = products[0].model_copy(update={"name": "Extraordinarily " * 12})
    root = ET.fromstring(product_svg(product))
    lines = [t.text or "" for t in root.iter(f"{SVG}tspan")]
    assert 1 < len(lines) <= 3
    assert lines[-1].endswith("\u2026")


def test_images_are_deterministic_and_coloured_by_id(products: list[Product]) -> None:
    first, second = products[0], products[1]
    assert product_svg(first) == product_svg(first)
    recoloured = second.model_copy(update={"category": first.category, "name": first.name})
    assert product_svg(recoloured) != product_svg(first)


def test_each_category_has_its_own_pictogram(products: list[Product]) -> None:
    by_category = {p.category: p for p in products}
    pictograms = set()
    for product in by_category.values():
        root = ET.fromstring(product_svg(product))
        group = root.find(f"{SVG}g")
        assert group is not None
        # colours come from the id, so only the shapes are compared
        pictograms.add(re.sub(r"#[0-9a-f]{6}", "", ET.tostring(group, encoding="unicode")))
    assert len(pictograms) == len(by_category)


def test_the_placeholder_image_is_well_formed_and_shows_the_text() -> None:
    root = ET.fromstring(placeholder_svg("prod_999 <missing>"))
    assert root.findtext(f"{SVG}title") == "prod_999 <missing>"
