"""The shop fold: the same events always rebuild the same state, also through the wire form."""

from __future__ import annotations

from decimal import Decimal

from kartshoppe.domain import cart, catalog, inventory, orders
from kartshoppe.domain.inventory import StockLevel, inventory_event
from kartshoppe.domain.state import ShopState
from kartshoppe.events import (
    Event,
    OrderStatus,
    PageView,
    Recommendation,
    decode_event,
    encode_event,
)
from tests.domain.domain_support import T0, checkout, fold, meta, product


def a_day_of_shopping() -> list[Event]:
    """A launch, carts of two shoppers, a merge, a checkout, a payment and a price change."""
    state = ShopState()
    log: list[Event] = []

    def record(events: list[Event]) -> None:
        for event in events:
            state.apply(event)
        log.extend(events)

    for p in (product("p1", 10.0, 5), product("p2", 3.5, 20)):
        record(catalog.decide_launch(None, p, meta()))
        record([inventory_event(StockLevel(p.id, p.stock), "INITIAL", meta())])
    anon = meta(T0 + 1, "s1")
    record(cart.decide_add(state.cart("s1"), state.products["p1"], state.stock["p1"], 2, anon))
    signed_in = meta(T0 + 2, "s2", "u1")
    record(cart.decide_add(state.cart("u1"), state.products["p2"], state.stock["p2"], 3, signed_in))
    record(
        cart.decide_merge(state.cart("s1"), state.cart("u1"), state.stock, meta(T0 + 3, "s1", "u1"))
    )
    record(
        checkout(
            state.cart("u1"), state.products, state.stock, "o1", "k1", meta(T0 + 4, "s2", "u1")
        )
    )
    record(orders.decide_status(state.orders["o1"], OrderStatus.PAID, state.stock, meta(T0 + 5)))
    record(catalog.decide_price_change(state.products["p2"], Decimal("2.5"), meta(T0 + 6)))
    record(inventory.decide_restock(state.stock["p1"], 4, meta(T0 + 7)))
    return log


def test_folding_the_same_events_twice_gives_the_same_state() -> None:
    events = a_day_of_shopping()
    assert fold(events) == fold(events)


def test_folding_the_decoded_wire_form_gives_the_same_state() -> None:
    events = a_day_of_shopping()
    decoded = [decode_event(encode_event(e)) for e in events]
    assert fold(decoded) == fold(events)


def test_the_folded_shop_reflects_every_decision() -> None:
    state = fold(a_day_of_shopping())
    order = state.orders["o1"]
    assert order.status == OrderStatus.PAID
    assert {line.product_id: line.quantity for line in order.lines} == {"p1": 2, "p2": 3}
    assert state.order_by_key == {"k1": "o1"}
    assert state.orders_by_owner == {"u1": ["o1"], "s2": ["o1"]}
    assert state.stock["p1"] == StockLevel("p1", 7, 0)
    assert state.stock["p2"] == StockLevel("p2", 17, 0)
    assert state.products["p2"].price == 2.5
    assert state.cart("u1").lines == ()
    assert "s1" not in state.carts


def test_events_outside_the_shop_state_leave_it_unchanged() -> None:
    state = fold(a_day_of_shopping())
    before = fold(a_day_of_shopping())
    state.apply(PageView(page="/", session_id="s1"))
    state.apply(Recommendation(product_ids=("p1",), confidence=0.5, reason="because"))
    assert state == before
