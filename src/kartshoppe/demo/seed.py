"""The demo catalog: a fixed, deterministic set of products the shop starts with.

Hand-written tables (`catalog.json`: per category its brands, product kinds with price bands
and variants, and closing pitches) are combined by a fixed-seed random generator, so every run
yields the same ids, names, prices and stock. The composition root launches these as
`PRODUCT_LAUNCHED` events on an empty log.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any, Final

from kartshoppe.domain.catalog import generated_image_url
from kartshoppe.events import Product

SPECS_FILE: Final = "catalog.json"
SEED: Final = 20251125
PRODUCTS_PER_CATEGORY: Final = 11
SOLD_OUT_COUNT: Final = 4
LOW_STOCK_COUNT: Final = 8
LOW_STOCK_MAX: Final = 9
"""Seeded low-stock products hold between 1 and this many units."""


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of product within a category: its noun, price band, variants, tags and blurb."""

    noun: str
    low: float
    high: float
    variants: tuple[str, ...]
    tags: tuple[str, ...]
    blurb: str


@dataclass(frozen=True, slots=True)
class CategorySpec:
    name: str
    brands: tuple[str, ...]
    kinds: tuple[Kind, ...]
    pitches: tuple[str, ...]
    """Closing sentences; `{brand}` is replaced by the product's brand."""


def _load_specs() -> tuple[CategorySpec, ...]:
    raw: list[dict[str, Any]] = json.loads(
        resources.files(__package__).joinpath(SPECS_FILE).read_text()
    )
    return tuple(
        CategorySpec(
            spec["name"],
            tuple(spec["brands"]),
            tuple(
                Kind(
                    k["noun"],
                    k["low"],
                    k["high"],
                    tuple(k["variants"]),
                    tuple(k["tags"]),
                    k["blurb"],
                )
                for k in spec["kinds"]
            ),
            tuple(spec["pitches"]),
        )
        for spec in raw
    )


_CATEGORY_SPECS: Final = _load_specs()

CATEGORIES: Final[tuple[str, ...]] = tuple(spec.name for spec in _CATEGORY_SPECS)


def _retail_price(value: float) -> Decimal:
    """Round to a shop-style price: x.99 under 100, then the next ...9.99."""
    if value < 100:
        return Decimal(int(value)) + Decimal("0.99")
    return Decimal(int(value) // 10 * 10) + Decimal("9.99")


def _name(brand: str, kind: Kind, variant: str) -> str:
    return f"{brand} {kind.noun} {variant}"


def _category_products(
    spec: CategorySpec, rng: random.Random
) -> list[tuple[str, str, Kind, str, Decimal]]:
    """Pick distinct (brand, kind, variant) combos: every kind at least once, then at random."""
    kinds = list(spec.kinds)
    picks: list[Kind] = kinds + [
        rng.choice(kinds) for _ in range(PRODUCTS_PER_CATEGORY - len(kinds))
    ]
    seen: set[str] = set()
    rows: list[tuple[str, str, Kind, str, Decimal]] = []
    for kind in picks:
        while True:
            brand = rng.choice(spec.brands)
            variant = rng.choice(kind.variants)
            name = _name(brand, kind, variant)
            if name not in seen:
                break
        seen.add(name)
        # variants are ordered roughly cheapest first, so later ones lean to the top of the band
        position = kind.variants.index(variant) / max(1, len(kind.variants) - 1)
        spread = kind.high - kind.low
        raw = kind.low + spread * (0.6 * position + 0.4 * rng.random())
        rows.append((spec.name, brand, kind, variant, _retail_price(raw)))
    return rows


def _description(brand: str, kind: Kind, spec: CategorySpec, rng: random.Random) -> str:
    sentences = [kind.blurb]
    for pitch in rng.sample(spec.pitches, rng.randint(1, 2)):
        sentences.append(pitch.format(brand=brand))
    return " ".join(sentences)


def _pick_indices(rng: random.Random, pool: list[int], count: int) -> set[int]:
    chosen = set(rng.sample(pool, count))
    pool[:] = [i for i in pool if i not in chosen]
    return chosen


def seed_products() -> list[Product]:
    """The demo catalog, identical on every call: `prod_001` ... in category order."""
    rng = random.Random(SEED)
    rows = [row for spec in _CATEGORY_SPECS for row in _category_products(spec, rng)]
    specs = {spec.name: spec for spec in _CATEGORY_SPECS}

    # one featured product per category, never sold out, so the home page always has stock
    featured = {
        index * PRODUCTS_PER_CATEGORY + rng.randrange(PRODUCTS_PER_CATEGORY)
        for index in range(len(_CATEGORY_SPECS))
    }
    pool = [i for i in range(len(rows)) if i not in featured]
    sold_out = _pick_indices(rng, pool, SOLD_OUT_COUNT)
    low_stock = _pick_indices(rng, pool, LOW_STOCK_COUNT)

    products: list[Product] = []
    for index, (category, brand, kind, variant, price) in enumerate(rows):
        product_id = f"prod_{index + 1:03d}"
        # these two draws once invented a "was" price (a launch has none: see reference_price);
        # they are still drawn so that every later seeded value stays as it was
        rng.random()
        rng.choice((0.1, 0.15, 0.2, 0.25, 0.3))
        if index in sold_out:
            stock = 0
        elif index in low_stock:
            stock = rng.randint(1, LOW_STOCK_MAX)
        else:
            stock = rng.randint(15, 500)
        rating = round(rng.triangular(3.0, 5.0, 4.5), 1)
        brand_tag = brand.lower().replace(" & ", "-").replace(" ", "-")
        products.append(
            Product(
                id=product_id,
                name=_name(brand, kind, variant),
                description=_description(brand, kind, specs[category], rng),
                brand=brand,
                category=category,
                price=price,
                original_price=price,
                stock=stock,
                rating=rating,
                review_count=min(20_000, int(rng.lognormvariate(4.5, 1.2))),
                tags=(*kind.tags, brand_tag),
                featured=index in featured,
                image_url=generated_image_url(product_id),
            )
        )
    return products
