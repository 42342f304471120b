"""Exact money: sums, percentages, tax and the price charged, on amounts float arithmetic gets
wrong (table-driven)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kartshoppe.domain.checkout import ShopRules, make_quote
from kartshoppe.domain.money import amount, apply_rate, line_total, total
from kartshoppe.domain.pricing import charged_unit_price, price_lines
from kartshoppe.events import Address, CartLine, OrderPlaced, encode_event, parse_event
from tests.domain.domain_support import T0, on_sale, product

D = Decimal


@pytest.mark.parametrize(
    ("amounts", "expected", "float_gets"),
    [
        (["0.10", "0.20"], "0.30", 0.30000000000000004),
        (["0.10"] * 10, "1.00", 0.9999999999999999),
        (["689.99", "689.99"], "1379.98", 1379.98),
        (["1.10", "2.20"], "3.30", 3.3000000000000003),
    ],
)
def test_sums_of_amounts_are_exact(amounts: list[str], expected: str, float_gets: float) -> None:
    assert total(amount(a) for a in amounts) == D(expected)
    assert sum(float(a) for a in amounts) == float_gets


@pytest.mark.parametrize(
    ("unit", "quantity", "expected"),
    [("19.99", 3, "59.97"), ("0.07", 100, "7.00"), ("4.35", 100, "435.00"), ("1.15", 3, "3.45")],
)
def test_a_line_total_is_the_exact_product(unit: str, quantity: int, expected: str) -> None:
    assert line_total(amount(unit), quantity) == D(expected)


@pytest.mark.parametrize(
    ("base", "rate", "expected", "float_round_gives"),
    [
        # 4.175 is 4.17499999... as a float, so round() goes down; the exact half goes up
        ("8.35", "50", "4.18", round(8.35 * 50 / 100, 2)),
        ("0.15", "50", "0.08", round(0.15 * 50 / 100, 2)),
        ("1.45", "50", "0.73", round(1.45 * 50 / 100, 2)),
        ("10.00", "7.25", "0.73", round(10.00 * 7.25 / 100, 2)),
    ],
)
def test_a_rate_is_rounded_once_half_away_from_zero(
    base: str, rate: str, expected: str, float_round_gives: float
) -> None:
    assert apply_rate(D(base), D(rate)) == D(expected)
    assert D(repr(float_round_gives)) != D(expected), "float arithmetic gets this one wrong"


def test_tax_is_rounded_once_per_order_not_per_line() -> None:
    # three lines of 0.05 at 10%: per line 0.01 x 3 = 0.03, per order 0.015 -> 0.02
    lines = [CartLine(product_id=f"p{i}", quantity=1, unit_price=D("0.05")) for i in range(3)]
    products = {f"p{i}": product(f"p{i}", 0.05) for i in range(3)}
    priced = price_lines(lines, products, T0)
    address = Address(name="A", line1="1 St", city="London", postal_code="SW1A 1AA", country="GB")
    rules = ShopRules(tax_rates={"GB": D("10")}, free_shipping_over=D("0"))
    quote = make_quote(priced, D(0), None, address, "standard", rules, T0)
    assert (quote.subtotal, quote.shipping, quote.tax, quote.total) == (
        D("0.15"),
        D("0.00"),
        D("0.02"),
        D("0.17"),
    )


@pytest.mark.parametrize(
    ("snapshot", "now", "sale", "charged"),
    [
        ("689.99", "689.99", "517.49", "517.49"),  # a sale started while the cart was open
        ("10.00", "8.00", None, "8.00"),  # the price dropped
        ("4.00", "6.00", None, "4.00"),  # the price rose: the snapshot holds
        ("4.00", "6.00", "5.00", "4.00"),  # a sale still above the snapshot
    ],
)
def test_the_price_charged_is_the_lowest_of_snapshot_and_current(
    snapshot: str, now: str, sale: str | None, charged: str
) -> None:
    current = product("p1", float(now))
    if sale is not None:
        current = on_sale(current, sale, T0 - 1, T0 + 60_000)
    assert charged_unit_price(D(snapshot), current, T0) == D(charged)


def test_money_keeps_the_seeds_json_number_shape_and_comes_back_exact() -> None:
    placed = OrderPlaced(order_id="o1", idempotency_key="k1", lines=(), total=D("1379.98"))
    wire = encode_event(placed)
    assert b'"total":1379.98' in wire
    assert parse_event(wire).total == D("1379.98")  # type: ignore[union-attr]
