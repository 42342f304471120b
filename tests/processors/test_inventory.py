"""Inventory: alerts when the available count crosses a line; unpaid reservations expire."""

from __future__ import annotations

from kartshoppe.events import (
    CheckoutFailed,
    InventoryAlert,
    InventoryChanged,
    OrderLine,
    OrderPlaced,
    OrderStatus,
    OrderStatusChanged,
    ReservationExpired,
    StockReleased,
    StockReserved,
    Topic,
)
from kartshoppe.processors.inventory import InventoryLevels, ReservationExpiry
from tests.processors.processor_harness import Emitted, MakeDriver

T0 = 1_700_000_000_000
TTL = 60_000
INVENTORY = Topic.INVENTORY_UPDATES.value


def level(available: int, ts: int = T0, product_id: str = "p1") -> InventoryChanged:
    return InventoryChanged(
        product_id=product_id,
        stock=available,
        available=available,
        reason="ADJUSTMENT",
        timestamp=ts,
    )


def alerts(emitted: list[Emitted]) -> list[tuple[str, int]]:
    found = [e for _, _, e in emitted if isinstance(e, InventoryAlert)]
    return [(a.level, a.available) for a in found]


def test_alerts_fire_only_when_the_available_count_crosses_a_line(make_driver: MakeDriver) -> None:
    driver = make_driver(InventoryLevels(low_stock_threshold=5))
    seen = []
    for available in (10, 6, 4, 3, 0, 0, 2, 20, 3):
        emitted = driver.feed(level(available), topic=INVENTORY)
        seen.append(alerts(emitted)[:1])
    assert seen == [
        [],
        [],
        [("LOW_STOCK", 4)],
        [],
        [("SOLD_OUT", 0)],
        [],
        [("BACK_IN_STOCK", 2)],
        [],
        [("LOW_STOCK", 3)],
    ]


def test_each_alert_goes_to_inventory_updates_and_the_fanout_keyed_by_product(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(InventoryLevels())
    emitted = driver.feed(level(0, product_id="p9"), topic=INVENTORY)
    assert [(topic, key) for topic, key, _ in emitted] == [
        (Topic.INVENTORY_UPDATES, "p9"),
        (Topic.FANOUT, "p9"),
    ]
    assert emitted[0][2].event_id == emitted[1][2].event_id


def test_a_product_first_seen_low_or_sold_out_is_reported(make_driver: MakeDriver) -> None:
    driver = make_driver(InventoryLevels(low_stock_threshold=5))
    assert alerts(driver.feed(level(2, product_id="a"), topic=INVENTORY))[:1] == [("LOW_STOCK", 2)]
    assert alerts(driver.feed(level(0, product_id="b"), topic=INVENTORY))[:1] == [("SOLD_OUT", 0)]
    assert alerts(driver.feed(level(50, product_id="c"), topic=INVENTORY)) == []


def test_levels_survive_a_restart_so_no_alert_repeats(make_driver: MakeDriver) -> None:
    driver = make_driver(InventoryLevels())
    driver.feed(level(0), topic=INVENTORY)
    driver.restart()
    assert alerts(driver.feed(level(0), topic=INVENTORY)) == []


def test_other_inventory_events_are_ignored(make_driver: MakeDriver) -> None:
    driver = make_driver(InventoryLevels())
    own_alert = InventoryAlert(product_id="p1", level="SOLD_OUT", available=0, timestamp=T0)
    assert driver.feed(own_alert, topic=INVENTORY) == []
    assert driver.state("p1") is None


# --- reservation expiry -----------------------------------------------------------------------


def checkout(order_id: str, ts: int) -> list[StockReserved | OrderPlaced]:
    ids = {"session_id": "s1", "user_id": "u1", "timestamp": ts}
    return [
        StockReserved(product_id="p1", order_id=order_id, quantity=2, **ids),
        OrderPlaced(
            order_id=order_id,
            idempotency_key=f"k-{order_id}",
            lines=(OrderLine(product_id="p1", quantity=2, unit_price=5.0),),
            total=10.0,
            **ids,
        ),
    ]


def expired(emitted: list[Emitted]) -> list[ReservationExpired]:
    found = []
    for topic, key, event in emitted:
        if isinstance(event, ReservationExpired):
            assert topic == Topic.EVENTS
            assert key == "u1"
            found.append(event)
    return found


def test_an_order_left_unpaid_past_the_ttl_expires_once(make_driver: MakeDriver) -> None:
    driver = make_driver(ReservationExpiry(ttl_ms=TTL))
    driver.feed(*checkout("o1", T0))
    assert expired(driver.advance(T0 + TTL - 1)) == []
    [event] = expired(driver.advance(T0 + TTL))
    assert (event.order_id, event.session_id, event.user_id, event.timestamp) == (
        "o1",
        "s1",
        "u1",
        T0 + TTL,
    )
    assert expired(driver.advance(T0 + 10 * TTL)) == []


def test_a_paid_order_never_expires_and_is_forgotten(make_driver: MakeDriver) -> None:
    driver = make_driver(ReservationExpiry(ttl_ms=TTL))
    driver.feed(*checkout("o1", T0))
    driver.feed(
        OrderStatusChanged(
            order_id="o1",
            status=OrderStatus.PAID,
            previous_status=OrderStatus.PLACED,
            timestamp=T0 + 5,
        )
    )
    assert expired(driver.advance(T0 + 10 * TTL)) == []
    assert driver.state("o1") is None


def test_a_reservation_whose_order_never_came_expires_too(make_driver: MakeDriver) -> None:
    driver = make_driver(ReservationExpiry(ttl_ms=TTL))
    driver.feed(checkout("o1", T0)[0])
    assert [e.order_id for e in expired(driver.advance(T0 + TTL))] == ["o1"]


def test_a_reservation_released_in_full_before_placing_does_not_expire(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(ReservationExpiry(ttl_ms=TTL))
    driver.feed(checkout("o1", T0)[0])
    driver.feed(StockReleased(product_id="p1", order_id="o1", quantity=2, timestamp=T0 + 1))
    assert expired(driver.advance(T0 + 10 * TTL)) == []
    assert driver.state("o1") is None


def test_a_failed_checkout_without_holds_is_forgotten(make_driver: MakeDriver) -> None:
    driver = make_driver(ReservationExpiry(ttl_ms=TTL))
    driver.feed(CheckoutFailed(order_id="o1", reason="insufficient stock", timestamp=T0))
    assert driver.state("o1") is None


def test_the_ttl_counts_from_the_moment_the_order_was_placed(make_driver: MakeDriver) -> None:
    driver = make_driver(ReservationExpiry(ttl_ms=TTL))
    reserved, placed = checkout("o1", T0)
    driver.feed(reserved, placed.model_copy(update={"timestamp": T0 + 30_000}))
    assert expired(driver.advance(T0 + TTL)) == []
    assert len(expired(driver.advance(T0 + 30_000 + TTL))) == 1


def test_a_pending_expiry_survives_a_restart(make_driver: MakeDriver) -> None:
    driver = make_driver(ReservationExpiry(ttl_ms=TTL))
    driver.feed(*checkout("o1", T0))
    driver.restart()
    assert len(expired(driver.advance(T0 + TTL))) == 1
