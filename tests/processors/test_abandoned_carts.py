"""Abandoned carts: idle carts with items are reported once; the shopper's return recovers them."""

from __future__ import annotations

from decimal import Decimal

from kartshoppe.events import (
    AddToCart,
    CartAbandoned,
    CartCleared,
    CartLine,
    CartMerged,
    CartQuantityChanged,
    CartRecovered,
    CheckoutFailed,
    CheckoutStarted,
    PageView,
    RemoveFromCart,
    Topic,
)
from kartshoppe.processors.abandoned_carts import AbandonedCarts
from tests.processors.processor_harness import Emitted, MakeDriver

T0 = 1_700_000_000_000
TIMEOUT = 30_000


def add(
    product_id: str,
    quantity: int,
    price: float,
    ts: int,
    session: str = "s1",
    user: str | None = None,
) -> AddToCart:
    return AddToCart(
        product_id=product_id,
        quantity=quantity,
        price=price,
        session_id=session,
        user_id=user,
        timestamp=ts,
    )


def browse(ts: int, session: str = "s1", user: str | None = None) -> PageView:
    return PageView(page="/", session_id=session, user_id=user, timestamp=ts)


def abandoned(emitted: list[Emitted]) -> list[tuple[str, str | None, CartAbandoned]]:
    return [(t, k, e) for t, k, e in emitted if isinstance(e, CartAbandoned)]


def recovered(emitted: list[Emitted]) -> list[tuple[str, str | None, CartRecovered]]:
    return [(t, k, e) for t, k, e in emitted if isinstance(e, CartRecovered)]


def test_a_cart_idle_past_the_timeout_is_reported_with_its_value_and_items(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(AbandonedCarts(timeout_ms=TIMEOUT))
    driver.feed(
        add("a", 2, 10.0, T0),
        add("b", 1, 5.5, T0 + 10),
        CartQuantityChanged(product_id="a", quantity=3, session_id="s1", timestamp=T0 + 20),
    )
    assert abandoned(driver.advance(T0 + 20 + TIMEOUT - 1)) == []
    reports = abandoned(driver.advance(T0 + 20 + TIMEOUT))
    assert [(t, k) for t, k, _ in reports] == [(Topic.EVENTS, "s1"), (Topic.FANOUT, "s1")]
    event = reports[0][2]
    assert (event.cart_value, event.item_count, event.session_id) == (Decimal("35.5"), 4, "s1")
    assert event.timestamp == T0 + 20 + TIMEOUT
    assert abandoned(driver.advance(T0 + 100 * TIMEOUT)) == []


def test_browsing_keeps_the_cart_alive(make_driver: MakeDriver) -> None:
    driver = make_driver(AbandonedCarts(timeout_ms=TIMEOUT))
    driver.feed(add("a", 1, 10.0, T0))
    driver.feed(browse(T0 + TIMEOUT - 5))
    assert abandoned(driver.advance(T0 + TIMEOUT)) == []
    assert len(abandoned(driver.advance(T0 + 2 * TIMEOUT - 5))) == 2


def test_an_empty_cart_is_never_abandoned(make_driver: MakeDriver) -> None:
    driver = make_driver(AbandonedCarts(timeout_ms=TIMEOUT))
    driver.feed(
        browse(T0),
        add("a", 1, 10.0, T0 + 1),
        RemoveFromCart(product_id="a", session_id="s1", timestamp=T0 + 2),
    )
    assert abandoned(driver.advance(T0 + 10 * TIMEOUT)) == []
    assert driver.state("s1") is None


def test_clearing_the_cart_disarms_the_timeout(make_driver: MakeDriver) -> None:
    driver = make_driver(AbandonedCarts(timeout_ms=TIMEOUT))
    driver.feed(add("a", 1, 10.0, T0), CartCleared(session_id="s1", timestamp=T0 + 1))
    assert abandoned(driver.advance(T0 + 10 * TIMEOUT)) == []


def test_a_checkout_in_progress_disarms_and_a_failed_one_rearms(make_driver: MakeDriver) -> None:
    driver = make_driver(AbandonedCarts(timeout_ms=TIMEOUT))
    driver.feed(
        add("a", 1, 10.0, T0),
        CheckoutStarted(order_id="o1", idempotency_key="k", session_id="s1", timestamp=T0 + 1),
    )
    assert abandoned(driver.advance(T0 + 5 * TIMEOUT)) == []
    driver.feed(
        CheckoutFailed(
            order_id="o1", reason="no stock", session_id="s1", timestamp=T0 + 5 * TIMEOUT
        )
    )
    assert len(abandoned(driver.advance(T0 + 6 * TIMEOUT))) == 2


def test_the_shoppers_return_recovers_the_cart_once_with_the_offer(make_driver: MakeDriver) -> None:
    driver = make_driver(AbandonedCarts(timeout_ms=TIMEOUT, offer="10% off with COMEBACK10"))
    driver.feed(add("a", 1, 10.0, T0, session="s1", user="u1"))
    driver.advance(T0 + TIMEOUT)
    back = recovered(driver.feed(browse(T0 + 2 * TIMEOUT, session="s2", user="u1")))
    assert [(t, k) for t, k, _ in back] == [(Topic.EVENTS, "u1"), (Topic.FANOUT, "s2")]
    assert back[0][2].offer == "10% off with COMEBACK10"
    assert (back[0][2].session_id, back[0][2].user_id) == ("s2", "u1")
    assert recovered(driver.feed(browse(T0 + 2 * TIMEOUT + 1, session="s2", user="u1"))) == []


def test_a_recovered_cart_left_idle_again_is_reported_again(make_driver: MakeDriver) -> None:
    driver = make_driver(AbandonedCarts(timeout_ms=TIMEOUT))
    driver.feed(add("a", 1, 10.0, T0))
    driver.advance(T0 + TIMEOUT)
    driver.feed(browse(T0 + 2 * TIMEOUT))
    assert len(abandoned(driver.advance(T0 + 3 * TIMEOUT))) == 2


def test_the_processors_own_signals_are_not_a_return(make_driver: MakeDriver) -> None:
    driver = make_driver(AbandonedCarts(timeout_ms=TIMEOUT))
    driver.feed(add("a", 1, 10.0, T0))
    emitted = driver.advance(T0 + TIMEOUT)
    assert recovered(driver.feed(abandoned(emitted)[0][2])) == []


def test_a_merged_anonymous_cart_is_never_reported_and_the_user_cart_holds_its_lines(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(AbandonedCarts(timeout_ms=TIMEOUT))
    driver.feed(add("a", 2, 10.0, T0, session="s1"))
    merged = CartMerged(
        from_session_id="s1",
        lines=(CartLine(product_id="a", quantity=2, unit_price=10.0),),
        session_id="s1",
        user_id="u1",
        timestamp=T0 + 1,
    )
    driver.feed(merged, add("b", 1, 1.0, T0 + 2, session="s1", user="u1"))
    reports = abandoned(driver.advance(T0 + 10 * TIMEOUT))
    assert [k for t, k, _ in reports if t == Topic.EVENTS] == ["u1"]
    assert (reports[0][2].cart_value, reports[0][2].item_count) == (Decimal("21.0"), 3)
    assert driver.state("s1") is None


def test_a_pending_timeout_survives_a_restart(make_driver: MakeDriver) -> None:
    driver = make_driver(AbandonedCarts(timeout_ms=TIMEOUT))
    driver.feed(add("a", 1, 10.0, T0))
    driver.restart()
    assert len(abandoned(driver.advance(T0 + TIMEOUT))) == 2


def test_an_abandoned_cart_is_forgotten_after_the_recovery_window(make_driver: MakeDriver) -> None:
    driver = make_driver(AbandonedCarts(timeout_ms=TIMEOUT, recovery_window_ms=10 * TIMEOUT))
    driver.feed(add("a", 1, 10.0, T0))
    driver.advance(T0 + TIMEOUT)
    assert driver.state("s1")["abandoned"] is True
    driver.advance(T0 + 10 * TIMEOUT)
    assert driver.state("s1") is None
    assert recovered(driver.feed(browse(T0 + 11 * TIMEOUT))) == []
