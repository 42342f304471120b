"""`holds_seed`: a start seeds (and draws the seed) only when the shop lacks some of it."""

from __future__ import annotations

from kartshoppe.demo import holds_seed, seed_shop
from kartshoppe.domain.state import ShopState
from kartshoppe.events import Product, ReviewPosted


def shop_of(products: list[Product], reviews: list[ReviewPosted]) -> ShopState:
    state = ShopState()
    state.products.update((p.id, p) for p in products)
    for review in reviews:
        state.apply(review)
    return state


def test_a_shop_with_every_seeded_product_and_review_holds_the_seed() -> None:
    products, reviews = seed_shop(1_800_000_000_000)
    assert holds_seed(shop_of(products, reviews))


def test_an_empty_shop_does_not_hold_the_seed() -> None:
    assert not holds_seed(ShopState())


def test_a_shop_lacking_one_seeded_review_does_not_hold_the_seed() -> None:
    products, reviews = seed_shop(1_800_000_000_000)
    assert not holds_seed(shop_of(products, reviews[:-1]))


def test_a_shop_lacking_one_seeded_product_does_not_hold_the_seed() -> None:
    products, reviews = seed_shop(1_800_000_000_000)
    assert not holds_seed(shop_of(products[1:], reviews))
