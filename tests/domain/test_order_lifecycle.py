"""The order life cycle: which status changes are allowed, and what each does to inventory."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal

import pytest

from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.orders import (
    TRANSITIONS,
    Order,
    decide_status,
    evolve_order,
    lapsed,
    names_order,
    order_reference,
)
from kartshoppe.events import (
    Event,
    InventoryChanged,
    OrderLine,
    OrderPlaced,
    OrderStatus,
    OrderStatusChanged,
    StockReleased,
)
from tests.domain.domain_support import T0, level, meta

S = OrderStatus
ALLOWED = [
    (S.PLACED, S.PAID),
    (S.PLACED, S.CANCELLED),
    (S.PAID, S.SHIPPED),
    (S.PAID, S.CANCELLED),
    (S.SHIPPED, S.DELIVERED),
]
REFUSED = [(a, b) for a, b in itertools.permutations(S, 2) if (a, b) not in ALLOWED]


def order(status: OrderStatus = S.PLACED, quantity: int = 2) -> Order:
    line = OrderLine(product_id="p1", quantity=quantity, unit_price=10.0, name="P1")
    return Order(
        order_id="o1",
        idempotency_key="k1",
        lines=(line,),
        total=Decimal(10) * quantity,
        status=status,
        created_at=T0,
        updated_at=T0,
        session_id="s1",
        user_id="u1",
        history=((S.PLACED, T0),),
    )


def levels_after(events: list[Event]) -> list[tuple[int, int, str]]:
    return [(e.stock, e.reserved, e.reason) for e in events if isinstance(e, InventoryChanged)]


def test_the_transition_table_is_exactly_the_documented_life_cycle() -> None:
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == set(ALLOWED)


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=lambda s: str(s))
def test_an_allowed_transition_records_the_change_with_the_previous_status(
    current: OrderStatus, target: OrderStatus
) -> None:
    events = decide_status(order(current), target, {"p1": level(stock=10, reserved=2)}, meta())
    change = events[-1]
    assert isinstance(change, OrderStatusChanged)
    assert (change.order_id, change.status, change.previous_status) == ("o1", target, current)
    assert (change.session_id, change.user_id) == ("s1", "u1")


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=lambda s: str(s))
def test_a_transition_outside_the_life_cycle_is_refused(
    current: OrderStatus, target: OrderStatus
) -> None:
    with pytest.raises(DomainError) as info:
        decide_status(order(current), target, {"p1": level()}, meta())
    assert info.value.code == "invalid_transition"


def test_shipping_records_the_parcels_tracking_number_and_no_other_move_takes_one() -> None:
    levels = {"p1": level(stock=10, reserved=2)}
    paid = order(OrderStatus.PAID)
    (change,) = decide_status(paid, OrderStatus.SHIPPED, levels, meta(), "1Z9ABC")
    shipped = evolve_order(paid, change)
    assert shipped is not None and shipped.tracking_number == "1Z9ABC"
    with pytest.raises(DomainError) as refused:
        decide_status(order(OrderStatus.SHIPPED), OrderStatus.DELIVERED, levels, meta(), "1Z9ABC")
    assert refused.value.field == "trackingNumber"


def test_an_order_lapsed_only_when_cancelled_unpaid_at_or_after_its_pay_by() -> None:
    held = replace(order(OrderStatus.PLACED), pay_by=T0 + 1_000)

    def cancelled_at(at: int) -> Order:
        history = (*held.history, (S.CANCELLED, at))
        return replace(held, status=S.CANCELLED, history=history)

    assert lapsed(cancelled_at(T0 + 1_000))
    assert not lapsed(cancelled_at(T0 + 999)), "cancelled before its time: by someone"
    assert not lapsed(held), "still waiting"
    assert not lapsed(replace(cancelled_at(T0 + 1_000), pay_by=None)), "no time was told"


def test_moving_to_the_current_status_changes_nothing() -> None:
    assert decide_status(order(S.PAID), S.PAID, {"p1": level()}, meta()) == []


def test_paying_turns_the_reservation_into_a_sale() -> None:
    events = decide_status(order(S.PLACED, 2), S.PAID, {"p1": level(stock=10, reserved=3)}, meta())
    assert levels_after(events) == [(8, 1, "SOLD")]


def test_cancelling_an_unpaid_order_releases_its_reservation() -> None:
    events = decide_status(
        order(S.PLACED, 2), S.CANCELLED, {"p1": level(stock=10, reserved=3)}, meta()
    )
    released = [e for e in events if isinstance(e, StockReleased)]
    assert [(e.product_id, e.order_id, e.quantity) for e in released] == [("p1", "o1", 2)]
    assert levels_after(events) == [(10, 1, "RELEASED")]


def test_cancelling_a_paid_order_puts_its_units_back_on_the_shelf() -> None:
    events = decide_status(
        order(S.PAID, 2), S.CANCELLED, {"p1": level(stock=8, reserved=1)}, meta()
    )
    assert not any(isinstance(e, StockReleased) for e in events)
    assert levels_after(events) == [(10, 1, "ADJUSTMENT")]


@pytest.mark.parametrize(("current", "target"), [(S.PAID, S.SHIPPED), (S.SHIPPED, S.DELIVERED)])
def test_shipping_and_delivering_leave_inventory_alone(
    current: OrderStatus, target: OrderStatus
) -> None:
    events = decide_status(order(current), target, {"p1": level(stock=8, reserved=1)}, meta())
    assert [type(e) for e in events] == [OrderStatusChanged]


def test_the_order_fold_keeps_the_history_of_every_status() -> None:
    line = OrderLine(product_id="p1", quantity=1, unit_price=3.0)
    placed = OrderPlaced(
        order_id="o1", idempotency_key="k1", lines=(line,), total=3.0, session_id="s1", timestamp=T0
    )
    state = evolve_order(None, placed)
    for status, previous, at in [(S.PAID, S.PLACED, T0 + 1), (S.SHIPPED, S.PAID, T0 + 2)]:
        change = OrderStatusChanged(
            order_id="o1", status=status, previous_status=previous, timestamp=at
        )
        state = evolve_order(state, change)
    assert state is not None
    assert state.status == S.SHIPPED
    assert state.history == ((S.PLACED, T0), (S.PAID, T0 + 1), (S.SHIPPED, T0 + 2))
    assert (state.created_at, state.updated_at) == (T0, T0 + 2)


def test_a_status_change_of_an_unknown_order_is_ignored_by_the_fold() -> None:
    change = OrderStatusChanged(order_id="o9", status=S.PAID, previous_status=S.PLACED)
    assert evolve_order(None, change) is None


@pytest.mark.parametrize(
    ("order_id", "reference"),
    [
        ("order_dd400c090f50635d12781b3b32d35920", "DD40-0C09"),
        ("order_0123456789abcdef0123456789abcdef", "0123-4567"),
        ("o1", "O1"),  # an id of another form is shown as it is, upper case
    ],
)
def test_an_order_is_named_by_a_short_reference_of_its_id(order_id: str, reference: str) -> None:
    assert order_reference(order_id) == reference
    assert replace(order(), order_id=order_id).reference == reference


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ("order_dd400c090f50635d12781b3b32d35920", True),
        (" order_dd400c090f50635d12781b3b32d35920 ", True),
        ("DD40-0C09", True),
        ("dd400c09", True),
        (" dd40-0c09\t", True),
        ("DD40-0C0", False),
        ("DD40-0C091", False),
        ("DD40-0C08", False),
        ("order_dd400c09", False),
        ("", False),
    ],
)
def test_an_operator_names_an_order_by_its_id_or_the_reference_a_shopper_quotes(
    typed: str, named: bool
) -> None:
    assert names_order(typed, "order_dd400c090f50635d12781b3b32d35920") is named
