"""The checkout saga, step by step, as the owners of each key decide it (any transport).

Each step is decided against a fold that has applied the steps before it, as both command
buses guarantee; the tests drive `step` directly so that they can interleave two attempts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import pytest

from kartshoppe.application.commands import (
    Command,
    Decider,
    Effects,
    MalformedCommandError,
    Outcome,
    step,
)
from kartshoppe.domain.reservations import ReservationBook
from kartshoppe.domain.state import ShopState
from kartshoppe.events import (
    Coupon,
    CouponKind,
    OrderStatus,
    Product,
    decode_event,
    encode_event,
)


class Shop:
    def __init__(self) -> None:
        self.state = ShopState()
        self.book = ReservationBook()
        self.decider = Decider(self.state, self.book)

    def decide(self, command: Command) -> Effects:
        effects = step(self.decider, command)
        # each event folded as the log hands it to the projection: decoded, one of `Event`
        for event in (decode_event(encode_event(e)) for e in effects.events):
            self.state.apply(event)
            self.book.apply(event)
        return effects

    def run(self, command: Command) -> Outcome:
        """Decide a command and every step it leads to, one after the other."""
        queue = deque([command])
        outcome = None
        while queue:
            effects = self.decide(queue.popleft())
            queue.extend(effects.follow_ups)
            outcome = effects.outcome or outcome
        assert outcome is not None
        return outcome

    def launch(self, product_id: str, stock: int) -> None:
        product = Product(
            id=product_id,
            name=product_id,
            category="Test",
            price=10.0,
            original_price=10.0,
            stock=stock,
        )
        args = {"product": product.model_dump(by_alias=True, mode="json")}
        self.run(Command("product.launch", f"product:{product_id}", args, reply_to="launch"))

    def fill(self, session: str, products: Iterable[str]) -> None:
        for product_id in products:
            args = {"sessionId": session, "productId": product_id, "quantity": 1}
            self.run(Command("cart.add", f"cart:{session}", args, reply_to="add"))

    def available(self, product_id: str) -> int:
        return self.state.stock[product_id].available


def checkout(session: str, key: str, reply_to: str, coupon: str | None = None) -> Command:
    args = {"sessionId": session, "idempotencyKey": key, "couponCode": coupon}
    return Command("checkout", f"cart:{session}", args, reply_to=reply_to)


def create_coupon(shop: Shop, code: str, max_redemptions: int) -> None:
    coupon = Coupon(code=code, kind=CouponKind.PERCENT, value=10, max_redemptions=max_redemptions)
    args = {"coupon": coupon.model_dump(by_alias=True, mode="json")}
    assert shop.run(Command("coupon.create", f"coupon:{code}", args, reply_to="c")).refusal is None


def pay(order_id: str, number: str) -> Command:
    card = {"number": number, "expiry": "12/99", "cvc": "123"}
    args = {"orderId": order_id, "card": card, "amount": None}
    return Command("order.pay", f"order:{order_id}", args, reply_to=f"pay-{number}")


def test_a_checkout_reserves_each_line_with_its_product_then_places_the_order() -> None:
    shop = Shop()
    for product_id in ("p1", "p2"):
        shop.launch(product_id, stock=3)
    shop.fill("s1", ["p2", "p1"])
    outcome = shop.run(checkout("s1", "k1", "c1"))
    assert outcome.refusal is None and outcome.value["created"] is True
    order = shop.state.orders[outcome.value["orderId"]]
    assert [line.product_id for line in order.lines] == ["p2", "p1"]
    assert (shop.available("p1"), shop.available("p2")) == (2, 2)
    assert shop.state.cart("s1").lines == ()


def test_a_refused_line_releases_the_lines_reserved_before_it_and_places_nothing() -> None:
    shop = Shop()
    shop.launch("p1", stock=3)
    shop.launch("p2", stock=1)
    shop.fill("first", ["p2"])
    shop.fill("second", ["p1", "p2"])
    assert shop.run(checkout("first", "k1", "c1")).refusal is None

    refused = shop.run(checkout("second", "k2", "c2"))
    assert refused.refusal is not None and refused.refusal.code == "insufficient_stock"
    assert (shop.available("p1"), shop.available("p2")) == (3, 0)
    assert len(shop.state.orders) == 1
    assert [line.product_id for line in shop.state.cart("second").lines] == ["p1", "p2"]


def test_two_attempts_with_one_key_racing_each_other_place_and_reserve_once() -> None:
    shop = Shop()
    for product_id in ("p1", "p2"):
        shop.launch(product_id, stock=5)
    shop.fill("s1", ["p1", "p2"])
    first = deque(shop.decide(checkout("s1", "k1", "attempt-1")).follow_ups)
    retry = deque(shop.decide(checkout("s1", "k1", "attempt-2")).follow_ups)
    outcomes: dict[str, Outcome] = {}
    while first or retry:
        for attempt in (first, retry):
            if attempt:
                effects = shop.decide(attempt.popleft())
                attempt.extend(effects.follow_ups)
                if effects.outcome is not None:
                    outcomes[effects.outcome.command_id] = effects.outcome

    assert outcomes["attempt-1"].value["created"] is True
    assert outcomes["attempt-2"].value["created"] is False
    assert outcomes["attempt-1"].value["orderId"] == outcomes["attempt-2"].value["orderId"]
    assert len(shop.state.orders) == 1
    assert (shop.available("p1"), shop.available("p2")) == (4, 4)


def test_a_command_of_an_unknown_kind_or_bad_arguments_is_malformed() -> None:
    shop = Shop()
    with pytest.raises(MalformedCommandError, match="unknown command kind"):
        shop.decide(Command("cart.teleport", "cart:s1", {}))
    with pytest.raises(MalformedCommandError, match="bad arguments"):
        shop.decide(Command("cart.add", "cart:s1", {"sessionId": "s1"}))
    with pytest.raises(MalformedCommandError, match="not a command"):
        Command.decode(b'{"kind": "cart.add"')


def test_a_command_survives_its_wire_form() -> None:
    command = checkout("s1", "k1", "c1")
    assert Command.decode(command.encode()) == command


def test_the_coupons_owner_refuses_a_redemption_past_its_limit_and_the_lines_go_back() -> None:
    shop = Shop()
    shop.launch("p1", stock=5)
    create_coupon(shop, "ONCE", max_redemptions=1)
    shop.fill("a", ["p1"])
    shop.fill("b", ["p1"])
    # both carts' owners quote the coupon as still available, then the steps interleave
    first = deque(shop.decide(checkout("a", "k1", "c1", "ONCE")).follow_ups)
    second = deque(shop.decide(checkout("b", "k2", "c2", "ONCE")).follow_ups)
    assert [c.kind for c in first] == ["reserve"] and first[0].then[0].key == "coupon:ONCE"
    outcomes: dict[str, Outcome] = {}
    while first or second:
        for attempt in (first, second):
            if attempt:
                effects = shop.decide(attempt.popleft())
                attempt.extend(effects.follow_ups)
                if effects.outcome is not None:
                    outcomes[effects.outcome.command_id] = effects.outcome
    assert outcomes["c1"].refusal is None
    refused = outcomes["c2"].refusal
    assert refused is not None and refused.code == "coupon_exhausted"
    assert len(shop.state.orders) == 1 and shop.available("p1") == 4
    assert list(shop.state.coupons["ONCE"].redemptions) == [outcomes["c1"].value["orderId"]]


def test_a_declined_card_is_recorded_and_answered_and_an_approved_one_sells_the_units() -> None:
    shop = Shop()
    shop.launch("p1", stock=5)
    shop.fill("a", ["p1"])
    order_id = shop.run(checkout("a", "k1", "c1")).value["orderId"]

    declined = shop.run(pay(order_id, "4000000000000002"))
    assert declined.refusal is None and declined.value["outcome"] == "DECLINED"
    order = shop.state.orders[order_id]
    assert order.status == OrderStatus.PLACED and [p.kind for p in order.payments] == ["DECLINED"]

    approved = shop.run(pay(order_id, "4242424242424242"))
    assert approved.value["outcome"] == "APPROVED"
    assert shop.state.orders[order_id].status == OrderStatus.PAID
    level = shop.state.stock["p1"]
    assert (level.stock, level.reserved) == (4, 0)


def test_cancelling_an_order_gives_its_coupon_redemption_back_through_the_coupons_owner() -> None:
    shop = Shop()
    shop.launch("p1", stock=5)
    create_coupon(shop, "ONCE", max_redemptions=1)
    shop.fill("a", ["p1"])
    order_id = shop.run(checkout("a", "k1", "c1", "ONCE")).value["orderId"]
    assert shop.state.orders[order_id].discount > 0

    args = {"orderId": order_id, "status": OrderStatus.CANCELLED.value}
    shop.run(Command("order.status", f"order:{order_id}", args, reply_to="cancel"))
    assert shop.state.coupons["ONCE"].redemptions == {}
    assert shop.available("p1") == 5
