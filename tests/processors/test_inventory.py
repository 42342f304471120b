"""Inventory: alerts when the available count crosses a line; unpaid reservations expire."""

from __future__ import annotations

from decimal import Decimal

from kartshoppe.events import (
    CheckoutFailed,
    InventoryAlert,
    InventoryChanged,
    OrderLine,
    OrderPlaced,
    OrderStatus,
    OrderStatusChanged,
    PriceChanged,
    Product,
    ProductLaunched,
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


def test_an_expired_order_is_forgotten_a_ttl_after_its_expiry(make_driver: MakeDriver) -> None:
    driver = make_driver(ReservationExpiry(ttl_ms=TTL))
    driver.feed(*checkout("o1", T0))
    driver.advance(T0 + TTL)
    driver.feed(checkout("o1", T0 + TTL + 1)[1])  # a late duplicate is ignored, not re-armed
    driver.advance(T0 + 2 * TTL - 1)
    assert driver.state("o1") is not None
    assert expired(driver.advance(T0 + 2 * TTL)) == []
    assert driver.state("o1") is None


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


def test_an_order_placed_with_a_pay_by_expires_then_and_not_a_ttl_after_placing(
    make_driver: MakeDriver,
) -> None:
    """The deadline the shopper was shown is the one kept, whatever this processor's TTL."""
    driver = make_driver(ReservationExpiry(ttl_ms=TTL))
    reserved, placed = checkout("o1", T0)
    driver.feed(reserved, placed.model_copy(update={"pay_by": T0 + 3 * TTL}))
    assert expired(driver.advance(T0 + 3 * TTL - 1)) == []
    [event] = expired(driver.advance(T0 + 3 * TTL))
    assert event.timestamp == T0 + 3 * TTL


def test_a_pending_expiry_survives_a_restart(make_driver: MakeDriver) -> None:
    driver = make_driver(ReservationExpiry(ttl_ms=TTL))
    driver.feed(*checkout("o1", T0))
    driver.restart()
    assert len(expired(driver.advance(T0 + TTL))) == 1


HOUR = 3_600_000
CATALOG = Topic.PRODUCT_UPDATES.value


def shoe(price: str) -> Product:
    return Product(
        id="p1", name="Trail shoe", category="shoes", price=Decimal(price), original_price=100
    )


def repriced(old: str, new: str, ts: int = T0) -> PriceChanged:
    return PriceChanged(
        product_id="p1",
        old_price=Decimal(old),
        new_price=Decimal(new),
        product=shoe(new),
        timestamp=ts,
    )


def test_a_price_cut_of_ten_percent_or_more_is_a_price_drop_alert_keyed_by_the_product(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(InventoryLevels())
    driver.feed(ProductLaunched(product_id="p1", product=shoe("100"), timestamp=T0), topic=CATALOG)
    assert driver.feed(repriced("100", "90.01"), topic=CATALOG) == []
    assert driver.feed(repriced("90.01", "95"), topic=CATALOG) == []
    emitted = driver.feed(repriced("95", "85.50"), topic=CATALOG)
    assert {(topic, key) for topic, key, _ in emitted} == {
        (Topic.INVENTORY_UPDATES, "p1"),
        (Topic.FANOUT, "p1"),
    }
    alert = emitted[0][2]
    assert isinstance(alert, InventoryAlert)
    assert (alert.level, alert.name) == ("PRICE_DROP", "Trail shoe")
    assert (alert.old_price, alert.new_price) == (Decimal("95.00"), Decimal("85.50"))


def test_stock_that_has_not_moved_for_the_set_time_is_reported_once(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(InventoryLevels(unchanged_after_ms=6 * HOUR))
    driver.feed(level(20, T0), topic=INVENTORY)
    assert driver.advance(T0 + 6 * HOUR - 1) == []
    emitted = driver.advance(T0 + 6 * HOUR)
    assert alerts(emitted) == [("STOCK_UNCHANGED", 20)] * 2  # inventory_updates and fan-out
    alert = emitted[0][2]
    assert isinstance(alert, InventoryAlert) and alert.unchanged_since == T0
    assert driver.advance(T0 + 20 * HOUR) == []


def test_a_sale_restarts_the_quiet_clock_and_a_sold_out_product_is_not_reported_as_quiet(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(InventoryLevels(unchanged_after_ms=6 * HOUR))
    driver.feed(level(20, T0), topic=INVENTORY)
    driver.feed(level(19, T0 + 5 * HOUR), topic=INVENTORY)
    assert driver.advance(T0 + 10 * HOUR) == []
    assert alerts(driver.advance(T0 + 11 * HOUR))[:1] == [("STOCK_UNCHANGED", 19)]
    sold_out = make_driver(InventoryLevels(unchanged_after_ms=HOUR))
    sold_out.feed(level(0, T0, product_id="p2"), topic=INVENTORY)
    assert sold_out.advance(T0 + 3 * HOUR) == []
