"""Live analytics: live users, events per second, orders, funnel, abandonment, top products."""

from __future__ import annotations

from typing import Any

from kartshoppe.events import (
    AddToCart,
    Analytics,
    AnalyticsUpdated,
    BaseEvent,
    CartAbandoned,
    CartRecovered,
    CheckoutStarted,
    OrderLine,
    OrderPlaced,
    PageView,
    Product,
    ProductLaunched,
    ProductView,
    ReservationExpired,
    Topic,
)
from kartshoppe.processors.analytics import LiveAnalytics
from kartshoppe.processors.model import GLOBAL_KEY
from tests.processors.processor_harness import Driver, Emitted, MakeDriver

T0 = 1_700_000_000_000
MINUTE = 60_000


def updates(emitted: list[Emitted]) -> list[dict[str, Any]]:
    found = []
    for topic, key, event in emitted:
        if isinstance(event, AnalyticsUpdated):
            assert (topic, key) == (Topic.FANOUT, GLOBAL_KEY)
            # built as a wire form (`model.WireEvent`): it is exactly `Analytics`'s
            assert Analytics.model_validate(event.analytics).to_json() == event.analytics
            found.append(event.analytics)
    return found


def latest(driver: Driver, watermark: int) -> dict[str, Any]:
    return updates(driver.advance(watermark))[-1]


def view(session: str, ts: int, product_id: str = "p1") -> ProductView:
    return ProductView(product_id=product_id, session_id=session, timestamp=ts)


def add(session: str, ts: int) -> AddToCart:
    return AddToCart(product_id="p1", quantity=1, price=10.0, session_id=session, timestamp=ts)


def placed(session: str, ts: int, total: float, order_id: str) -> list[BaseEvent]:
    return [
        CheckoutStarted(
            order_id=order_id, idempotency_key=order_id, session_id=session, timestamp=ts
        ),
        OrderPlaced(
            order_id=order_id,
            idempotency_key=order_id,
            lines=(OrderLine(product_id="p1", quantity=1, unit_price=total),),
            total=total,
            session_id=session,
            timestamp=ts,
        ),
    ]


def test_the_funnel_counts_each_session_once_per_stage(make_driver: MakeDriver) -> None:
    driver = make_driver(LiveAnalytics())
    driver.feed(
        view("a", T0),
        view("a", T0 + 1),
        view("b", T0),
        view("c", T0),
        add("a", T0 + 2),
        add("a", T0 + 3),
        add("b", T0 + 2),
        *placed("a", T0 + 4, 25.5, "o1"),
        *placed("a", T0 + 5, 10.0, "o2"),
    )
    totals = latest(driver, T0 + 1_000)
    assert totals["funnel"] == {"views": 3, "carts": 2, "checkouts": 1, "orders": 1}
    assert (totals["orders"], totals["revenue"]) == (2, 35.5)


def test_conversion_rate_is_visits_that_ordered_over_visits_that_viewed_a_product(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(LiveAnalytics())
    driver.feed(
        *(view(s, T0) for s in ("a", "b", "c")),
        *placed("a", T0 + 1, 10.0, "o1"),
        *placed("a", T0 + 2, 10.0, "o2"),
        *placed("b", T0 + 3, 10.0, "o3"),
    )
    totals = latest(driver, T0 + 1_000)
    assert (totals["orders"], totals["funnel"]["views"]) == (3, 3)
    # two of the three visits that viewed a product ordered, however many orders they placed
    assert totals["conversionRate"] == 0.6667


def test_live_users_are_sessions_active_in_the_last_five_minutes(make_driver: MakeDriver) -> None:
    driver = make_driver(LiveAnalytics(live_window_ms=5 * MINUTE))
    driver.feed(view("early", T0), view("late", T0 + 3 * MINUTE))
    assert latest(driver, T0 + 4 * MINUTE)["liveUsers"] == 2
    assert latest(driver, T0 + 6 * MINUTE)["liveUsers"] == 1
    assert latest(driver, T0 + 9 * MINUTE)["liveUsers"] == 0


def test_events_per_second_is_the_rate_over_the_last_ten_seconds(make_driver: MakeDriver) -> None:
    driver = make_driver(LiveAnalytics())
    driver.feed(*(PageView(page="/", session_id="s", timestamp=T0 + i * 100) for i in range(50)))
    assert latest(driver, T0 + 5_000)["eventsPerSecond"] == 5.0
    # the ten whole seconds before the tick at +14 s hold the 10 events of second 4
    assert latest(driver, T0 + 14_000)["eventsPerSecond"] == 1.0
    assert latest(driver, T0 + 15_000)["eventsPerSecond"] == 0.0


def test_publishes_every_second_while_live_and_stops_in_a_quiet_shop(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(LiveAnalytics(live_window_ms=5 * MINUTE))
    driver.feed(view("a", T0 + 500))
    ticks = [u["updatedAt"] for w in range(1, 6) for u in updates(driver.advance(T0 + w * 1_000))]
    assert ticks == [T0 + 1_000, T0 + 2_000, T0 + 3_000, T0 + 4_000, T0 + 5_000]
    quiet = updates(driver.advance(T0 + 60 * MINUTE))
    assert quiet[-1]["liveUsers"] == 0
    assert updates(driver.advance(T0 + 120 * MINUTE)) == []


def test_catching_up_on_a_backlog_publishes_only_the_latest_second(make_driver: MakeDriver) -> None:
    driver = make_driver(LiveAnalytics(live_window_ms=5 * MINUTE))
    driver.feed(view("a", T0 + 500), view("b", T0 + 1_500))
    assert [u["updatedAt"] for u in updates(driver.advance(T0 + 4_200))] == [T0 + 4_000]


def test_abandonment_rate_and_recovered_carts_come_from_the_cart_signals(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(LiveAnalytics())
    driver.feed(
        add("a", T0),
        add("b", T0),
        add("c", T0),
        add("d", T0),
        CartAbandoned(session_id="a", cart_value=10.0, item_count=1, timestamp=T0 + 10),
        CartAbandoned(session_id="b", cart_value=10.0, item_count=1, timestamp=T0 + 10),
        CartRecovered(session_id="a", timestamp=T0 + 20),
    )
    totals = latest(driver, T0 + 1_000)
    assert totals["abandonedCarts"] == 2
    assert totals["abandonmentRate"] == 0.5
    assert totals["recoveredCarts"] == 1
    assert totals["liveUsers"] == 4


def test_top_products_carry_names_from_the_catalog(make_driver: MakeDriver) -> None:
    driver = make_driver(LiveAnalytics())
    kettle = Product(id="p1", name="Kettle", category="kitchen", price=1.0, original_price=1.0)
    driver.feed(
        ProductLaunched(product_id="p1", product=kettle, timestamp=T0),
        topic=Topic.PRODUCT_UPDATES.value,
    )
    driver.feed(view("a", T0), view("a", T0, "p2"), add("a", T0))
    totals = latest(driver, T0 + 1_000)
    assert [(p["productId"], p["name"]) for p in totals["topProducts"]] == [
        ("p1", "Kettle"),
        ("p2", "p2"),
    ]
    assert [c["category"] for c in totals["topCategories"]] == ["kitchen"]


def test_the_analytics_shape_is_the_one_of_get_analytics(make_driver: MakeDriver) -> None:
    driver = make_driver(LiveAnalytics())
    driver.feed(view("a", T0))
    assert set(latest(driver, T0 + 1_000)) >= {
        "liveUsers",
        "eventsPerSecond",
        "orders",
        "revenue",
        "funnel",
        "abandonmentRate",
        "recoveredCarts",
        "topProducts",
        "topCategories",
        "updatedAt",
    }


def test_totals_continue_across_a_restart(make_driver: MakeDriver) -> None:
    driver = make_driver(LiveAnalytics())
    driver.feed(*placed("a", T0, 10.0, "o1"))
    driver.restart()
    driver.feed(*placed("b", T0 + 10, 5.0, "o2"))
    totals = latest(driver, T0 + 1_000)
    assert (totals["orders"], totals["revenue"], totals["funnel"]["orders"]) == (2, 15.0, 2)


def test_a_cart_signal_delivered_twice_is_counted_once(make_driver: MakeDriver) -> None:
    driver = make_driver(LiveAnalytics())
    signal = CartAbandoned(session_id="a", cart_value=10.0, item_count=1, timestamp=T0)
    back = CartRecovered(session_id="a", timestamp=T0 + 5)
    driver.feed(add("a", T0), signal, back, signal, back)
    totals = latest(driver, T0 + 1_000)
    assert (totals["abandonedCarts"], totals["recoveredCarts"]) == (1, 1)


def test_a_session_back_after_the_session_ttl_is_a_new_visit_in_the_funnel(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(LiveAnalytics(session_ttl_ms=30 * MINUTE))
    driver.feed(view("a", T0), view("a", T0 + 29 * MINUTE), view("a", T0 + 60 * MINUTE))
    assert latest(driver, T0 + 61 * MINUTE)["funnel"]["views"] == 2


def test_total_events_leave_out_the_processors_own_signals(make_driver: MakeDriver) -> None:
    driver = make_driver(LiveAnalytics())
    driver.feed(
        view("a", T0), add("a", T0), CartAbandoned(session_id="a", item_count=1, timestamp=T0)
    )
    assert latest(driver, T0 + 1_000)["totalEvents"] == 2


def test_a_signal_arriving_after_its_session_was_forgotten_leaves_no_key_behind(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(LiveAnalytics(session_ttl_ms=30 * MINUTE))
    driver.feed(view("a", T0))
    driver.advance(T0 + 31 * MINUTE)
    assert driver.state("a") is None
    # the reservations processor's signal, fed back after the session was forgotten
    driver.feed(ReservationExpired(order_id="o1", session_id="a", timestamp=T0 + 15 * MINUTE))
    driver.advance(T0 + 32 * MINUTE)
    assert driver.state("a") is None
