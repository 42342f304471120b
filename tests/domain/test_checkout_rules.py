"""Checkout rules: what a checkout reserves, what it costs, and when it is refused."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from kartshoppe.domain.checkout import ORDER_HOLD_MS
from kartshoppe.domain.errors import DomainError
from kartshoppe.events import (
    AddToCart,
    CartCleared,
    CheckoutStarted,
    InventoryChanged,
    OrderPlaced,
    OrderStatus,
    StockReserved,
)
from tests.domain.domain_support import T0, cart_of, checkout, fold, level, meta, on_sale, product

PRODUCTS = {"p1": product("p1", 10.0, 5), "p2": product("p2", 4.0, 3)}
LEVELS = {"p1": level("p1", 5), "p2": level("p2", 3)}


def test_checkout_of_an_empty_cart_is_refused() -> None:
    with pytest.raises(DomainError) as info:
        checkout(cart_of(), PRODUCTS, LEVELS, "o1", "k1", meta())
    assert info.value.code == "empty_cart"


def test_checkout_with_one_line_short_of_stock_is_refused_as_a_whole() -> None:
    cart = cart_of(lines=[("p1", 2, 10.0), ("p2", 3, 4.0)])
    levels = {"p1": level("p1", 5), "p2": level("p2", 3, reserved=1)}
    with pytest.raises(DomainError) as info:
        checkout(cart, PRODUCTS, levels, "o1", "k1", meta())
    assert info.value.code == "insufficient_stock"
    assert "p2" in info.value.message


def test_checkout_of_a_product_no_longer_sold_is_refused() -> None:
    cart = cart_of(lines=[("gone", 1, 1.0)])
    with pytest.raises(DomainError) as info:
        checkout(cart, PRODUCTS, LEVELS, "o1", "k1", meta())
    assert info.value.code == "unknown_product"


def test_a_product_no_longer_sold_is_named_as_the_cart_showed_it() -> None:
    line = cart_of(lines=[("gone", 1, 1.0)]).lines[0].model_copy(update={"name": "Old Lamp"})
    cart = replace(cart_of(), lines=(line,))
    with pytest.raises(DomainError) as info:
        checkout(cart, PRODUCTS, LEVELS, "o1", "k1", meta())
    assert info.value.message == "Old Lamp is no longer sold"


def test_checkout_starts_reserves_each_line_places_the_order_and_clears_the_cart() -> None:
    cart = cart_of(lines=[("p1", 2, 10.0), ("p2", 1, 4.0)])
    events = checkout(cart, PRODUCTS, LEVELS, "o1", "k1", meta())
    kinds = [type(e) for e in events]
    assert kinds == [
        CheckoutStarted,
        StockReserved,
        InventoryChanged,
        StockReserved,
        InventoryChanged,
        OrderPlaced,
        CartCleared,
    ]
    reserved = {e.product_id: e.quantity for e in events if isinstance(e, StockReserved)}
    assert reserved == {"p1": 2, "p2": 1}
    levels = {
        e.product_id: (e.stock, e.reserved, e.available, e.reason)
        for e in events
        if isinstance(e, InventoryChanged)
    }
    assert levels == {"p1": (5, 2, 3, "RESERVED"), "p2": (3, 1, 2, "RESERVED")}
    placed = next(e for e in events if isinstance(e, OrderPlaced))
    assert (placed.order_id, placed.idempotency_key, placed.total) == ("o1", "k1", Decimal("24.0"))


def test_a_checkout_folded_into_the_shop_leaves_a_placed_order_reserved_stock_and_no_cart() -> None:
    state = fold([])
    state.products = dict(PRODUCTS)
    state.stock = dict(LEVELS)
    add = AddToCart(product_id="p1", quantity=2, price=10.0, session_id="s1", timestamp=T0)
    state = fold([add], state)
    events = checkout(state.cart("s1"), state.products, state.stock, "o1", "k1", meta())
    state = fold(events, state)
    order = state.orders["o1"]
    assert order.status == OrderStatus.PLACED
    assert order.history == ((OrderStatus.PLACED, T0),)
    assert order.pay_by == T0 + ORDER_HOLD_MS, "it holds its items unpaid for the shop's hold"
    assert state.order_by_key["k1"] == "o1"
    assert state.orders_by_owner["s1"] == ["o1"]
    assert state.stock["p1"].available == 3
    assert state.stock["p1"].reserved == 2
    assert state.cart("s1").lines == ()


def test_the_shopper_pays_the_lower_of_the_snapshot_and_the_current_price() -> None:
    cheaper_now = product("p1", 8.0)
    dearer_now = product("p2", 6.0)
    cart = cart_of(lines=[("p1", 1, 10.0), ("p2", 2, 4.0)])
    events = checkout(cart, {"p1": cheaper_now, "p2": dearer_now}, LEVELS, "o1", "k1", meta())
    placed = next(e for e in events if isinstance(e, OrderPlaced))
    prices = {line.product_id: line.unit_price for line in placed.lines}
    assert prices == {"p1": 8.0, "p2": 4.0}
    assert placed.total == 16.0


def test_a_flash_sale_running_at_checkout_lowers_the_price_paid() -> None:
    sale = on_sale(product("p1", 10.0), 7.5, T0 - 1000, T0 + 1000)
    cart = cart_of(lines=[("p1", 2, 10.0)])
    events = checkout(cart, {"p1": sale}, LEVELS, "o1", "k1", meta())
    placed = next(e for e in events if isinstance(e, OrderPlaced))
    assert placed.lines[0].unit_price == 7.5
    assert placed.total == 15.0


def test_order_lines_carry_the_product_name() -> None:
    cart = cart_of(lines=[("p1", 1, 10.0)])
    events = checkout(cart, PRODUCTS, LEVELS, "o1", "k1", meta())
    placed = next(e for e in events if isinstance(e, OrderPlaced))
    assert placed.lines[0].name == "Product p1"
