"""Cart rules: adding, removing, changing quantities, clearing and merging carts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kartshoppe.domain.cart import (
    MAX_LINES,
    Cart,
    cart_id_for,
    decide_add,
    decide_change_quantity,
    decide_clear,
    decide_merge,
    decide_remove,
    evolve_cart,
)
from kartshoppe.domain.catalog import decide_launch, decide_price_change
from kartshoppe.domain.errors import DomainError, NotFoundError
from kartshoppe.domain.inventory import StockLevel, inventory_event
from kartshoppe.events import (
    MAX_QUANTITY,
    AddToCart,
    CartCleared,
    CartMerged,
    CartQuantityChanged,
    RemoveFromCart,
)
from tests.domain.domain_support import T0, cart_of, fold, level, meta, on_sale, product

# --- add ------------------------------------------------------------------------------------


def test_adding_an_unknown_product_is_refused_as_not_found() -> None:
    with pytest.raises(NotFoundError) as info:
        decide_add(cart_of(), None, None, 1, meta())
    assert info.value.code == "unknown_product"
    assert info.value.field == "productId"


@pytest.mark.parametrize("quantity", [0, -1, -100, MAX_QUANTITY + 1, 10_000])
def test_adding_a_quantity_outside_one_to_the_line_limit_is_refused(quantity: int) -> None:
    with pytest.raises(DomainError) as info:
        decide_add(cart_of(), product(stock=100_000), level(stock=100_000), quantity, meta())
    assert info.value.code == "line_limit"
    assert info.value.field == "quantity"


def test_adding_records_the_product_quantity_shopper_and_time() -> None:
    events = decide_add(cart_of(), product(), level(), 2, meta(user_id="u1"))
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, AddToCart)
    assert (event.product_id, event.quantity, event.price) == ("p1", 2, Decimal("10.0"))
    assert (event.session_id, event.user_id, event.timestamp) == ("s1", "u1", T0)


def test_the_line_limit_counts_what_the_cart_already_holds() -> None:
    big = product(stock=1000)
    stock = level(stock=1000)
    cart = cart_of(lines=[("p1", 60, 10.0)])
    assert decide_add(cart, big, stock, MAX_QUANTITY - 60, meta())
    with pytest.raises(DomainError) as info:
        decide_add(cart, big, stock, MAX_QUANTITY - 60 + 1, meta())
    assert info.value.code == "line_limit"


def test_a_full_cart_refuses_a_new_product_but_takes_more_of_one_it_holds() -> None:
    cart = cart_of(lines=[(f"p{i}", 1, 1.0) for i in range(MAX_LINES)])
    with pytest.raises(DomainError) as info:
        decide_add(cart, product("new"), level("new"), 1, meta())
    assert info.value.code == "cart_full"
    assert decide_add(cart, product("p0"), level("p0"), 1, meta())


def test_adding_more_than_is_available_is_refused_counting_reserved_units() -> None:
    stock = level(stock=5, reserved=2)
    assert decide_add(cart_of(), product(), stock, 3, meta())
    with pytest.raises(DomainError) as info:
        decide_add(cart_of(), product(), stock, 4, meta())
    assert info.value.code == "insufficient_stock"


def test_a_refusal_for_stock_names_the_product_and_both_quantities_in_words() -> None:
    with pytest.raises(DomainError) as info:
        decide_add(cart_of(), product(name="Trailblazer Water Bottle"), level(stock=4), 50, meta())
    assert info.value.message == "Only 4 of Trailblazer Water Bottle are left; you asked for 50"
    with pytest.raises(DomainError) as info:
        decide_add(cart_of(), product(name="Cast Iron Skillet"), level(stock=1), 2, meta())
    assert info.value.message == "Only 1 of Cast Iron Skillet is left; you asked for 2"
    with pytest.raises(DomainError) as info:
        sold_out = level(stock=3, reserved=3)
        decide_add(cart_of(), product(name="Cast Iron Skillet"), sold_out, 1, meta())
    assert info.value.message == "Cast Iron Skillet is sold out"


def test_the_availability_check_counts_what_the_cart_already_holds() -> None:
    cart = cart_of(lines=[("p1", 2, 10.0)])
    with pytest.raises(DomainError) as info:
        decide_add(cart, product(), level(stock=3), 2, meta())
    assert info.value.code == "insufficient_stock"


def test_a_product_without_a_stock_level_is_not_available() -> None:
    with pytest.raises(DomainError) as info:
        decide_add(cart_of(), product(), None, 1, meta())
    assert info.value.code == "insufficient_stock"


def test_adding_snapshots_the_list_price() -> None:
    (event,) = decide_add(cart_of(), product(price=24.5), level(), 1, meta())
    assert isinstance(event, AddToCart)
    assert event.price == 24.5


def test_adding_during_a_flash_sale_snapshots_the_sale_price() -> None:
    sale = on_sale(product(price=20.0), 15.0, T0 - 1000, T0 + 1000)
    (event,) = decide_add(cart_of(), sale, level(), 1, meta())
    assert isinstance(event, AddToCart)
    assert event.price == 15.0


def test_adding_after_a_flash_sale_ended_snapshots_the_list_price() -> None:
    sale = on_sale(product(price=20.0), 15.0, T0 - 2000, T0)
    (event,) = decide_add(cart_of(), sale, level(), 1, meta())
    assert isinstance(event, AddToCart)
    assert event.price == 20.0


def test_a_later_price_change_leaves_the_snapshot_in_the_cart_alone() -> None:
    launched = product(price=10.0)
    events = [
        *decide_launch(None, launched, meta()),
        inventory_event(StockLevel("p1", 5), "INITIAL", meta()),
    ]
    state = fold(events)
    state = fold(decide_add(state.cart("s1"), launched, state.stock["p1"], 2, meta()), state)
    state = fold(decide_price_change(state.products["p1"], Decimal("30.0"), meta()), state)
    line = state.cart("s1").line("p1")
    assert line is not None
    assert (line.quantity, line.unit_price, line.name) == (2, Decimal("10.0"), "Product p1")
    assert state.products["p1"].price == 30.0


def test_adding_twice_sums_the_quantities_on_one_line() -> None:
    cart = cart_of(lines=[("p1", 2, 10.0), ("p1", 3, 10.0)])
    assert len(cart.lines) == 1
    assert cart.item_count == 5
    assert cart.lines[0].unit_price * cart.lines[0].quantity == Decimal("50.00")


# --- remove, change quantity, clear -----------------------------------------------------------


def test_removing_a_product_not_in_the_cart_is_refused_as_not_found() -> None:
    with pytest.raises(NotFoundError) as info:
        decide_remove(cart_of(lines=[("p1", 1, 1.0)]), "p2", meta())
    assert info.value.code == "not_in_cart"


def test_removing_a_product_drops_its_line_only() -> None:
    cart = cart_of(lines=[("p1", 1, 1.0), ("p2", 2, 2.0)])
    (event,) = decide_remove(cart, "p1", meta())
    assert isinstance(event, RemoveFromCart)
    after = evolve_cart(cart, event)
    assert [line.product_id for line in after.lines] == ["p2"]


def test_changing_the_quantity_of_a_product_not_in_the_cart_is_refused() -> None:
    with pytest.raises(NotFoundError) as info:
        decide_change_quantity(cart_of(), "p1", level(), 2, meta())
    assert info.value.code == "not_in_cart"


@pytest.mark.parametrize("quantity", [0, -3, MAX_QUANTITY + 1])
def test_changing_to_a_quantity_outside_the_line_limit_is_refused(quantity: int) -> None:
    cart = cart_of(lines=[("p1", 1, 1.0)])
    with pytest.raises(DomainError) as info:
        decide_change_quantity(cart, "p1", level(stock=1000), quantity, meta())
    assert info.value.code == "line_limit"


def test_changing_to_more_than_is_available_is_refused() -> None:
    cart = cart_of(lines=[("p1", 1, 1.0)])
    with pytest.raises(DomainError) as info:
        decide_change_quantity(cart, "p1", level(stock=4, reserved=1), 4, meta())
    assert info.value.code == "insufficient_stock"


def test_changing_to_the_same_quantity_changes_nothing() -> None:
    cart = cart_of(lines=[("p1", 3, 1.0)])
    assert decide_change_quantity(cart, "p1", level(), 3, meta()) == []


def test_changing_the_quantity_sets_the_line_to_it_keeping_the_price() -> None:
    cart = cart_of(lines=[("p1", 3, 7.0)])
    (event,) = decide_change_quantity(cart, "p1", level(stock=10), 1, meta())
    assert isinstance(event, CartQuantityChanged)
    line = evolve_cart(cart, event).line("p1")
    assert line is not None
    assert (line.quantity, line.unit_price) == (1, Decimal("7.0"))


def test_clearing_an_empty_cart_changes_nothing() -> None:
    assert decide_clear(cart_of(), meta()) == []


def test_clearing_empties_the_cart() -> None:
    cart = cart_of(lines=[("p1", 3, 7.0), ("p2", 1, 1.0)])
    (event,) = decide_clear(cart, meta())
    assert isinstance(event, CartCleared)
    after = evolve_cart(cart, event)
    assert after.lines == ()
    assert (after.item_count, after.lines) == (0, ())


# --- ownership and merge ------------------------------------------------------------------


def test_a_signed_in_shopper_uses_the_user_cart_and_an_anonymous_one_the_session_cart() -> None:
    assert cart_id_for("s1", "u1") == "u1"
    assert cart_id_for("s1", None) == "s1"
    with pytest.raises(DomainError) as info:
        cart_id_for(None, None)
    assert info.value.code == "validation_error"


def test_merging_an_empty_session_cart_changes_nothing() -> None:
    assert decide_merge(cart_of("s1"), cart_of("u1"), {}, meta(user_id="u1")) == []


def test_merging_a_cart_into_itself_changes_nothing() -> None:
    cart = cart_of("u1", [("p1", 1, 1.0)])
    assert decide_merge(cart, cart, {"p1": level()}, meta(user_id="u1")) == []


def test_merging_adds_the_session_lines_to_the_user_cart_keeping_their_prices() -> None:
    session = cart_of("s1", [("p1", 2, 9.0), ("p2", 1, 4.0)])
    user = cart_of("u1", [("p1", 1, 10.0)])
    levels = {"p1": level("p1", 50), "p2": level("p2", 50)}
    (event,) = decide_merge(session, user, levels, meta(user_id="u1"))
    assert isinstance(event, CartMerged)
    assert event.from_session_id == "s1"
    merged = evolve_cart(user, event)
    quantities = {line.product_id: line.quantity for line in merged.lines}
    assert quantities == {"p1": 3, "p2": 1}
    p2 = merged.line("p2")
    assert p2 is not None and p2.unit_price == 4.0


def test_merged_quantities_are_capped_by_the_line_limit_and_by_availability() -> None:
    session = cart_of("s1", [("p1", 60, 1.0), ("p2", 8, 1.0), ("p3", 5, 1.0)])
    user = cart_of("u1", [("p1", 60, 1.0), ("p3", 4, 1.0)])
    levels = {"p1": level("p1", 1000), "p2": level("p2", 5, reserved=2), "p3": level("p3", 4)}
    (event,) = decide_merge(session, user, levels, meta(user_id="u1"))
    assert isinstance(event, CartMerged)
    # p3: the user's cart already holds all 4 available units, so nothing of it moves
    assert {line.product_id: line.quantity for line in event.lines} == {"p1": 39, "p2": 3}
    merged = evolve_cart(user, event)
    assert {line.product_id: line.quantity for line in merged.lines} == {
        "p1": MAX_QUANTITY,
        "p2": 3,
        "p3": 4,
    }


def test_the_fold_empties_the_session_cart_once_it_is_merged() -> None:
    state = fold(
        [
            AddToCart(product_id="p1", quantity=2, price=5.0, session_id="s1", timestamp=T0),
            AddToCart(
                product_id="p2", quantity=1, price=3.0, session_id="s2", user_id="u1", timestamp=T0
            ),
        ]
    )
    state.stock = {"p1": level("p1", 10), "p2": level("p2", 10)}
    events = decide_merge(state.cart("s1"), state.cart("u1"), state.stock, meta(user_id="u1"))
    state = fold(events, state)
    assert state.cart("s1").lines == ()
    assert "s1" not in state.carts
    user_cart = state.cart("u1")
    assert {line.product_id: line.quantity for line in user_cart.lines} == {"p2": 1, "p1": 2}
    assert isinstance(user_cart, Cart)
