"""The "was" price rule: the lowest price applied in the 30 days before a reduction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kartshoppe.domain.reference_price import (
    KEEP_MS,
    PricePoint,
    recorded,
    reduction_percent,
    was_price,
)
from kartshoppe.events import FlashSale, Product

DAY = 24 * 3600 * 1000


def at(day: float, price: str, sale: FlashSale | None = None) -> PricePoint:
    return PricePoint(int(day * DAY), Decimal(price), sale)


def sale(start_day: float, end_day: float, price: str) -> FlashSale:
    return FlashSale(
        discount_percent=20.0,
        starts_at=int(start_day * DAY),
        ends_at=int(end_day * DAY),
        sale_price=Decimal(price),
    )


def test_a_new_product_has_no_was_price() -> None:
    assert was_price((at(0, "100"),), 5 * DAY) is None


def test_a_reduction_shows_the_price_it_replaced_when_that_held_for_30_days() -> None:
    assert was_price((at(0, "100"), at(40, "80")), 41 * DAY) == Decimal("100")


def test_the_was_price_is_the_lowest_of_the_30_days_before_not_the_highest_ever() -> None:
    history = (at(0, "150"), at(20, "90"), at(35, "100"), at(45, "80"))
    # in the 30 days before day 45 the shop charged 150 (days 15-20), 90 and 100
    assert was_price(history, 46 * DAY) == Decimal("90")


def test_prices_older_than_30_days_before_the_reduction_do_not_count() -> None:
    history = (at(0, "60"), at(10, "100"), at(50, "80"))
    assert was_price(history, 51 * DAY) == Decimal("100")


def test_a_price_raised_is_not_a_reduction() -> None:
    assert was_price((at(0, "80"), at(40, "100")), 41 * DAY) is None


def test_a_short_lived_price_rise_before_a_cut_cannot_inflate_the_was_price() -> None:
    history = (at(0, "80"), at(40, "120"), at(41, "90"))
    assert was_price(history, 42 * DAY) is None


def test_undoing_a_price_change_removes_the_was_price() -> None:
    history = (at(0, "100"), at(40, "80"), at(40.5, "100"))
    assert was_price(history, 41 * DAY) is None


def test_a_reduction_keeps_its_was_price_for_as_long_as_it_runs() -> None:
    assert was_price((at(0, "100"), at(40, "80")), 200 * DAY) == Decimal("100")


def test_a_flash_sale_shows_the_list_price_while_it_runs_and_nothing_after() -> None:
    history = (at(0, "100"), at(40, "100", sale(40, 41, "75")))
    assert was_price(history, int(40.5 * DAY)) == Decimal("100")
    assert was_price(history, 42 * DAY) is None


def test_a_cut_right_after_a_flash_sale_is_measured_against_the_sale_price() -> None:
    history = (at(0, "100"), at(40, "100", sale(40, 41, "70")), at(42, "80"))
    assert was_price(history, 43 * DAY) is None


def test_a_price_not_yet_in_force_at_the_moment_asked_is_not_used() -> None:
    history = (at(0, "100"), at(40, "80"))
    assert was_price(history, 39 * DAY) is None


def product(price: str, flash_sale: FlashSale | None = None) -> Product:
    return Product(
        id="p1",
        name="Kettle",
        category="Home",
        price=Decimal(price),
        original_price=Decimal(price),
        flash_sale=flash_sale,
    )


def test_recording_the_same_price_again_adds_no_point() -> None:
    history = recorded((), product("10"), 0)
    assert recorded(history, product("10"), DAY) == history


def test_recording_forgets_points_no_window_can_reach_but_keeps_the_price_in_force() -> None:
    history: tuple[PricePoint, ...] = ()
    for day, price in enumerate(["10", "11", "12"]):
        history = recorded(history, product(price), day * DAY)
    later = KEEP_MS + 5 * DAY
    history = recorded(history, product("9"), later)
    assert [p.price for p in history] == [Decimal("12"), Decimal("9")]
    assert was_price(history, later) == Decimal("12")


@pytest.mark.parametrize(
    ("price", "was", "percent"),
    [("80", "100", 20), ("79.99", "99.99", 20), ("80.01", "100", 19), ("1", "3", 66)],
)
def test_the_badge_percent_is_the_whole_reduction_rounded_down(
    price: str, was: str, percent: int
) -> None:
    assert reduction_percent(Decimal(price), Decimal(was)) == percent
