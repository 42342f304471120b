"""Card payment (Luhn, expiry, CVC, test cards), the shipping address per country, and what a
cancellation gives back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kartshoppe.domain.checkout import address_lines, validate_address
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.orders import decide_payment, decide_status
from kartshoppe.domain.payment import Card, Outcome, luhn_valid, validate_card
from kartshoppe.domain.state import ShopState
from kartshoppe.events import (
    Address,
    InventoryChanged,
    OrderStatus,
    PaymentCaptured,
    PaymentDeclined,
    RefundRecorded,
)
from tests.domain.domain_support import T0, cart_of, checkout, fold, level, meta, product

D = Decimal


@pytest.mark.parametrize(
    ("number", "valid"),
    [("4242424242424242", True), ("4242424242424241", False), ("79927398713", True)],
)
def test_card_numbers_are_checked_by_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("card", "field"),
    [
        (Card("4242 4242 4242 4241", "12/30", "123"), "card.number"),
        (Card("4242424242424242", "13/30", "123"), "card.expiry"),
        (Card("4242424242424242", "01/20", "123"), "card.expiry"),
        (Card("4242424242424242", "12/30", "12"), "card.cvc"),
    ],
)
def test_a_bad_card_is_refused_naming_the_field(card: Card, field: str) -> None:
    with pytest.raises(DomainError) as info:
        validate_card(card, T0)
    assert (info.value.code, info.value.field) == ("invalid_card", field)


def _placed() -> ShopState:
    """A shop with order o1: two units of 19.99, placed and not paid."""
    products = {"p1": product("p1", 19.99, 5)}
    state = ShopState(products=products, stock={"p1": level("p1", 5)})
    cart = cart_of(lines=[("p1", 2, 19.99)])
    return fold(checkout(cart, products, state.stock, "o1", "k1", meta()), state)


def test_a_declined_card_is_recorded_and_leaves_the_order_payable() -> None:
    state = _placed()
    order = state.orders["o1"]
    outcome, _, events = decide_payment(
        order, Card("4000000000000002", "12/30", "123"), None, "t1", state.stock, meta()
    )
    assert outcome == Outcome.DECLINED
    assert [type(e) for e in events] == [PaymentDeclined]
    fold(events, state)
    assert state.orders["o1"].status == OrderStatus.PLACED


def test_the_amount_charged_is_the_orders_total_and_a_tampered_amount_is_refused() -> None:
    state = _placed()
    order = state.orders["o1"]
    card = Card("4242424242424242", "12/30", "123")
    with pytest.raises(DomainError) as info:
        decide_payment(order, card, D("1.00"), "t1", state.stock, meta())
    assert (info.value.code, info.value.field) == ("total_mismatch", "amount")
    outcome, _, events = decide_payment(order, card, D("39.98"), "t1", state.stock, meta())
    captured = next(e for e in events if isinstance(e, PaymentCaptured))
    assert (outcome, captured.amount, captured.card_last4) == (Outcome.APPROVED, D("39.98"), "4242")


def test_cancelling_a_paid_order_refunds_it_and_puts_the_units_back() -> None:
    state = _placed()
    card = Card("4242424242424242", "12/30", "123")
    _, _, paid = decide_payment(state.orders["o1"], card, None, "t1", state.stock, meta())
    fold(paid, state)
    events = decide_status(state.orders["o1"], OrderStatus.CANCELLED, state.stock, meta())
    refund = next(e for e in events if isinstance(e, RefundRecorded))
    assert (refund.amount, refund.transaction_id) == (D("39.98"), "t1")
    restock = next(e for e in events if isinstance(e, InventoryChanged))
    assert (restock.stock, restock.available) == (5, 5)


@pytest.mark.parametrize(
    ("country", "postal", "region", "field"),
    [
        ("XX", "1", "", "address.country"),
        ("US", "9410", "CA", "address.postalCode"),
        ("US", "94105", "", "address.region"),
        ("GB", "12345", "", "address.postalCode"),
        ("DE", "1011", "", "address.postalCode"),
    ],
)
def test_an_address_is_validated_per_country(
    country: str, postal: str, region: str, field: str
) -> None:
    address = Address(
        name="A", line1="1 Main St", city="C", region=region, postal_code=postal, country=country
    )
    with pytest.raises(DomainError) as info:
        validate_address(address)
    assert (info.value.code, info.value.field) == ("invalid_address", field)


@pytest.mark.parametrize(
    ("country", "region", "postal", "place"),
    [
        ("US", "CA", "94105", ["San Francisco, CA 94105", "United States"]),
        ("CA", "ON", "K1A 0B1", ["San Francisco, ON K1A 0B1", "Canada"]),
        ("GB", "", "SW1A 2AA", ["San Francisco", "SW1A 2AA", "United Kingdom"]),
        ("DE", "", "10115", ["10115 San Francisco", "Germany"]),
    ],
)
def test_an_address_is_written_as_the_destinations_post_writes_it(
    country: str, region: str, postal: str, place: list[str]
) -> None:
    address = Address(
        name="Ada",
        line1="1 Market Street",
        line2="Floor 2",
        city="San Francisco",
        region=region,
        postal_code=postal,
        country=country,
    )
    assert address_lines(address) == ["Ada", "1 Market Street", "Floor 2", *place]
    assert address_lines(address.model_copy(update={"line2": ""}))[2] == place[0]


def test_a_valid_address_is_normalised() -> None:
    address = Address(name="A", line1="1", city="C", postal_code="sw1a 1aa", country="gb")
    assert (validate_address(address).postal_code, validate_address(address).country) == (
        "SW1A 1AA",
        "GB",
    )
