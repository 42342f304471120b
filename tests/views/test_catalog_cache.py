"""The catalog view keeps an answer's bytes until the answer can change: a catalog event, or
the clock passing a flash sale's start or end. No event and no sale boundary, the same bytes."""

from __future__ import annotations

from decimal import Decimal

import orjson

from kartshoppe.domain.state import ShopState
from kartshoppe.events import FlashSale, FlashSaleStarted, PriceChanged, Product, ProductLaunched
from kartshoppe.views.catalog import NEVER, CatalogView, ProductQuery, next_price_moment

HOUR = 3600 * 1000
T0 = 1_700_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def lamp(**changes: object) -> Product:
    product = Product(id="p1", name="Desk lamp", category="home", price=40, original_price=40)
    return product.model_copy(update=changes)


def shop_with_a_sale_ahead() -> tuple[ShopState, CatalogView, Clock]:
    """A lamp at 40 whose 25 % flash sale runs from T0 + 1 h to T0 + 2 h."""
    state, clock = ShopState(), Clock()
    catalog = CatalogView(state, clock)
    sale = FlashSale(
        discount_percent=25, starts_at=T0 + HOUR, ends_at=T0 + 2 * HOUR, sale_price=Decimal(30)
    )
    for event in (
        ProductLaunched(product_id="p1", product=lamp(), timestamp=T0 - HOUR),
        FlashSaleStarted(
            product_id="p1", flash_sale=sale, product=lamp(flash_sale=sale), timestamp=T0
        ),
    ):
        state.apply(event)
        catalog.on_event(event)
    return state, catalog, clock


def price_of(body: bytes | None) -> float:
    assert body is not None
    return float(orjson.loads(body)["price"])


def test_an_answer_is_kept_as_the_same_bytes_until_the_sale_starts() -> None:
    _, catalog, clock = shop_with_a_sale_ahead()
    first = catalog.product_bytes("p1")
    generation = catalog.current()
    clock.now += HOUR - 1

    assert catalog.product_bytes("p1") is first
    assert catalog.current() == generation
    assert price_of(first) == 40


def test_the_sale_price_is_answered_from_the_sales_start_to_its_end_without_an_event() -> None:
    _, catalog, clock = shop_with_a_sale_ahead()
    listed = catalog.search_bytes(ProductQuery())
    generation = catalog.current()

    clock.now = T0 + HOUR
    on_sale = catalog.product_bytes("p1")
    assert on_sale is not None
    assert price_of(on_sale) == 30
    assert orjson.loads(on_sale)["flashSale"] is not None
    assert catalog.search_bytes(ProductQuery()) != listed
    assert catalog.current() == generation + 1

    clock.now = T0 + 2 * HOUR
    assert price_of(catalog.product_bytes("p1")) == 40
    assert catalog.current() == generation + 2


def test_a_catalog_event_drops_the_answers_at_once() -> None:
    state, catalog, _ = shop_with_a_sale_ahead()
    first = catalog.product_bytes("p1")
    generation = catalog.current()
    change = PriceChanged(
        product_id="p1", old_price=Decimal(40), new_price=Decimal(35), product=lamp(price=35)
    )
    state.apply(change)
    catalog.on_event(change)

    assert catalog.current() == generation + 1
    assert price_of(catalog.product_bytes("p1")) == 35
    assert first is not None and price_of(first) == 40


def test_with_no_sale_ahead_an_answer_never_expires_by_itself() -> None:
    assert next_price_moment([lamp()], {}, T0) == NEVER
    state, _, _ = shop_with_a_sale_ahead()
    products, history = state.products.values(), state.price_history
    assert next_price_moment(products, history, T0) == T0 + HOUR
    assert next_price_moment(products, history, T0 + HOUR) == T0 + 2 * HOUR
    assert next_price_moment(products, history, T0 + 2 * HOUR) == NEVER
