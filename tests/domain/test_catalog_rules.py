"""Catalog and inventory rules: launches, prices, flash sales, restocks and stock signals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kartshoppe.domain.catalog import (
    MAX_FLASH_SALE_MS,
    decide_end_flash_sale,
    decide_flash_sale,
    decide_launch,
    decide_price_change,
    effective_price,
    evolve_product,
)
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.inventory import (
    LOW_STOCK_THRESHOLD,
    MAX_RESTOCK,
    StockLevel,
    decide_restock,
    evolve_stock,
    inventory_event,
)
from kartshoppe.domain.meta import Meta
from kartshoppe.domain.reference_price import PricePoint
from kartshoppe.events import (
    FlashSaleEnded,
    FlashSaleStarted,
    InventoryChanged,
    PriceChanged,
    ProductLaunched,
)
from tests.domain.domain_support import T0, level, meta, on_sale, product

DAY = 24 * 3600 * 1000

# --- launch and prices ----------------------------------------------------------------------


def test_launching_a_new_product_publishes_it_whole() -> None:
    (event,) = decide_launch(None, product(), meta())
    assert isinstance(event, ProductLaunched)
    assert event.product == product()
    assert evolve_product(None, event) == product()


def test_launching_a_product_id_twice_is_refused() -> None:
    with pytest.raises(DomainError) as info:
        decide_launch(product(), product(), meta())
    assert info.value.code == "product_exists"


@pytest.mark.parametrize("original", [15.0, 30.0])
def test_a_launch_has_no_was_price_whatever_original_price_it_is_given(original: float) -> None:
    (event,) = decide_launch(None, product(price=20.0, original_price=original), meta())
    assert isinstance(event, ProductLaunched)
    assert event.product.original_price == 20.0


def test_a_price_change_records_old_and_new_price_and_the_updated_product() -> None:
    (event,) = decide_price_change(product(price=10.0), Decimal("12.499"), meta())
    assert isinstance(event, PriceChanged)
    assert (event.old_price, event.new_price) == (Decimal("10.0"), Decimal("12.5"))
    assert event.product.price == 12.5
    assert event.product.original_price == 12.5


def test_a_price_cut_carries_the_lowest_price_of_the_30_days_before_it_as_was_price() -> None:
    history = (PricePoint(0, Decimal("14.00")), PricePoint(DAY, Decimal("10.00")))
    (event,) = decide_price_change(
        product(price=10.0), Decimal("8.0"), Meta(timestamp=40 * DAY), history
    )
    assert isinstance(event, PriceChanged)
    assert (event.product.price, event.product.original_price) == (Decimal("8.0"), Decimal("10.0"))


def test_a_price_cut_without_history_announces_no_reduction() -> None:
    (event,) = decide_price_change(product(price=10.0, original_price=14.0), Decimal("8.0"), meta())
    assert isinstance(event, PriceChanged)
    assert event.product.original_price == 8.0


def test_setting_the_same_price_changes_nothing() -> None:
    assert decide_price_change(product(price=10.0), Decimal("10.0"), meta()) == []


@pytest.mark.parametrize("price", [Decimal("0"), Decimal("-1")])
def test_a_price_of_zero_or_less_is_refused(price: Decimal) -> None:
    with pytest.raises(DomainError) as info:
        decide_price_change(product(), price, meta())
    assert info.value.code == "invalid_price"


def test_a_price_change_during_a_flash_sale_reprices_the_sale() -> None:
    sale = on_sale(product(price=20.0), 15.0, T0, T0 + 1000)
    (event,) = decide_price_change(sale, Decimal("40.0"), meta())
    assert isinstance(event, PriceChanged)
    assert event.product.flash_sale is not None
    assert event.product.flash_sale.sale_price == 30.0


# --- flash sales ----------------------------------------------------------------------------


def test_a_flash_sale_runs_from_now_for_its_duration_at_the_discounted_price() -> None:
    (event,) = decide_flash_sale(product(price=19.99), 25, 60_000, meta())
    assert isinstance(event, FlashSaleStarted)
    sale = event.flash_sale
    assert (sale.starts_at, sale.ends_at, sale.sale_price) == (T0, T0 + 60_000, Decimal("14.99"))
    assert event.product.flash_sale == sale


@pytest.mark.parametrize("discount", [0, 100, -5, 150])
def test_a_flash_sale_discount_must_be_strictly_between_0_and_100_percent(discount: float) -> None:
    with pytest.raises(DomainError) as info:
        decide_flash_sale(product(), discount, 60_000, meta())
    assert info.value.code == "invalid_discount"


@pytest.mark.parametrize("duration_ms", [0, -1000, MAX_FLASH_SALE_MS + 1])
def test_a_flash_sale_lasts_more_than_nothing_and_at_most_a_week(duration_ms: int) -> None:
    with pytest.raises(DomainError) as info:
        decide_flash_sale(product(), 10, duration_ms, meta())
    assert info.value.code == "invalid_duration"


def test_the_effective_price_is_the_sale_price_only_while_the_sale_runs() -> None:
    sale = on_sale(product(price=20.0), 15.0, T0, T0 + 1000)
    assert effective_price(sale, T0 - 1) == 20.0
    assert effective_price(sale, T0) == 15.0
    assert effective_price(sale, T0 + 999) == 15.0
    assert effective_price(sale, T0 + 1000) == 20.0
    assert effective_price(product(price=20.0), T0) == 20.0


def test_ending_a_flash_sale_removes_it_from_the_product() -> None:
    sale = on_sale(product(), 5.0, T0, T0 + 1000)
    (event,) = decide_end_flash_sale(sale, meta())
    assert isinstance(event, FlashSaleEnded)
    assert event.product.flash_sale is None


def test_ending_a_flash_sale_of_a_product_without_one_changes_nothing() -> None:
    assert decide_end_flash_sale(product(), meta()) == []


# --- inventory --------------------------------------------------------------------------------


def test_available_is_stock_minus_reserved() -> None:
    assert StockLevel("p1", 10, 3).available == 7


def test_a_restock_adds_to_stock_and_keeps_reservations() -> None:
    (event,) = decide_restock(level(stock=4, reserved=2), 6, meta())
    assert isinstance(event, InventoryChanged)
    assert (event.stock, event.reserved, event.available, event.reason) == (10, 2, 8, "RESTOCK")


@pytest.mark.parametrize("quantity", [0, -1, MAX_RESTOCK + 1])
def test_a_restock_quantity_outside_its_bounds_is_refused(quantity: int) -> None:
    with pytest.raises(DomainError) as info:
        decide_restock(level(), quantity, meta())
    assert info.value.code == "invalid_quantity"


@pytest.mark.parametrize(
    ("stock", "reserved", "low", "sold_out"),
    [
        (100, 0, False, False),
        (LOW_STOCK_THRESHOLD, 0, True, False),
        (LOW_STOCK_THRESHOLD + 1, 0, False, False),
        (5, 4, True, False),
        (5, 5, False, True),
        (0, 0, False, True),
    ],
)
def test_an_inventory_level_signals_low_stock_and_sold_out(
    stock: int, reserved: int, low: bool, sold_out: bool
) -> None:
    event = inventory_event(StockLevel("p1", stock, reserved), "ADJUSTMENT", meta())
    assert (event.low_stock, event.sold_out) == (low, sold_out)


def test_the_stock_fold_takes_the_launch_stock_and_then_every_published_level() -> None:
    (launch,) = decide_launch(None, product(stock=7), meta())
    first = evolve_stock(None, launch)
    assert first == StockLevel("p1", 7)
    (restock,) = decide_restock(StockLevel("p1", 7, 2), 3, meta())
    assert evolve_stock(first, restock) == StockLevel("p1", 10, 2)
    # a later launch event (replayed) never overrides a level already known
    assert evolve_stock(StockLevel("p1", 1, 1), launch) == StockLevel("p1", 1, 1)
