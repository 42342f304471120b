"""Coupon rules: what a code takes off, and every reason it is refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kartshoppe.domain.coupons import CouponState, decide_create, discount, evolve_coupon
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.pricing import price_lines
from kartshoppe.events import CartLine, Coupon, CouponKind, CouponRedeemed, CouponReleased
from tests.domain.domain_support import T0, meta, product

D = Decimal
PRODUCTS = {"p1": product("p1", 40.0), "p2": product("p2", 10.0, category="Books")}
LINES = price_lines(
    [
        CartLine(product_id="p1", quantity=1, unit_price=D("40")),
        CartLine(product_id="p2", quantity=2, unit_price=D("10")),
    ],
    PRODUCTS,
    T0,
)  # subtotal 60.00


def coupon(**fields: Any) -> CouponState:
    base: dict[str, Any] = {"code": "SAVE", "kind": CouponKind.PERCENT, "value": D("10")}
    return CouponState(Coupon(**{**base, **fields}))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "6.00"),
        ({"value": D("12.5")}, "7.50"),
        ({"kind": CouponKind.FIXED, "value": D("15")}, "15.00"),
        ({"kind": CouponKind.FIXED, "value": D("100")}, "60.00"),  # never more than the cart
        ({"categories": ("Books",)}, "2.00"),  # 10% of the books only
        ({"product_ids": ("p1",), "kind": CouponKind.FIXED, "value": D("50")}, "40.00"),
        ({"value": D("33.33")}, "20.00"),  # 19.998 rounded once
    ],
)
def test_what_a_coupon_takes_off(fields: dict[str, Any], expected: str) -> None:
    assert discount(coupon(**fields), "SAVE", LINES, "a@b.c", T0) == D(expected)


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (None, "unknown_coupon"),
        (coupon(starts_at=T0 + 1), "coupon_not_started"),
        (coupon(ends_at=T0), "coupon_expired"),
        (coupon(min_subtotal=D("60.01")), "coupon_below_minimum"),
        (CouponState(coupon(max_redemptions=1).coupon, {"o1": "x"}), "coupon_exhausted"),
        (
            CouponState(coupon(per_customer_limit=1).coupon, {"o1": "a@b.c"}),
            "coupon_customer_limit",
        ),
        (coupon(categories=("Garden",)), "coupon_not_applicable"),
    ],
)
def test_a_refused_coupon_says_why_on_the_coupon_field(
    state: CouponState | None, code: str
) -> None:
    with pytest.raises(DomainError) as info:
        discount(state, "SAVE", LINES, "a@b.c", T0)
    assert (info.value.code, info.value.field) == (code, "couponCode")


def test_a_cancelled_orders_redemption_is_given_back() -> None:
    state = coupon(max_redemptions=1)
    used = evolve_coupon(
        state, CouponRedeemed(code="SAVE", order_id="o1", customer="a", amount=D(1))
    )
    assert used is not None and len(used.redemptions) == 1
    back = evolve_coupon(used, CouponReleased(code="SAVE", order_id="o1", customer="a"))
    assert back is not None and back.redemptions == {}


def test_a_code_is_created_once_and_a_percentage_is_at_most_100() -> None:
    with pytest.raises(DomainError) as exists:
        decide_create(coupon(), coupon().coupon, meta())
    assert exists.value.code == "coupon_exists"
    with pytest.raises(DomainError) as too_much:
        decide_create(None, coupon(value=D("150")).coupon, meta())
    assert too_much.value.field == "value"
