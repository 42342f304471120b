"""The recommendations processor in the runner: its six keyed stages by event time, routing,
the broadcast catalog, the published tables, restarts."""

from __future__ import annotations

from typing import Any

from kartshoppe.events import (
    AddToCart,
    CartLine,
    CartMerged,
    InventoryChanged,
    Product,
    ProductLaunched,
    ProductView,
    Recommendation,
    RelatedProducts,
    Search,
    Topic,
    event_to_dict,
)
from kartshoppe.processors import default_processors
from kartshoppe.processors.recommendations import (
    CALIBRATION,
    LISTS,
    PRODUCTS,
    PUBLISH,
    USERS,
    RecommendationsProcessor,
)
from kartshoppe.processors.recommender import (
    Catalog,
    RecommenderConfig,
    RecommenderState,
    window_end,
)
from tests.processors.processor_harness import Driver, Emitted, MakeDriver, of_type

T0 = 1_700_000_000_000
WINDOW_MS = RecommenderConfig().window_ms
CATALOG = {"a": "Audio", "b": "Audio", "c": "Books", "d": "Books"}


def launches() -> list[ProductLaunched]:
    return [
        ProductLaunched(
            product_id=pid,
            product=Product(
                id=pid, name=f"Item {pid}", category=cat, price=5.0, original_price=5.0, stock=3
            ),
            timestamp=T0 - 1000,
        )
        for pid, cat in CATALOG.items()
    ]


def history(sessions: int = 3) -> list[ProductView]:
    events = []
    for n in range(sessions):
        for i, pid in enumerate(("a", "c")):
            ts = T0 + n * 10_000 + i
            events.append(ProductView(product_id=pid, session_id=f"s{n}", timestamp=ts))
    return events


def end_of_window(at: int) -> int:
    """When the stages handle what happened at `at`: the end of its window of event time."""
    return window_end(at, WINDOW_MS)


def recommendations(emitted: list[Emitted]) -> list[tuple[str, str | None, Recommendation]]:
    out = []
    for topic, key, event in of_type(emitted, "RECOMMENDATION"):
        assert isinstance(event, Recommendation)
        out.append((topic, key, event))
    return out


def shop_with_history(make_driver: MakeDriver) -> Driver:
    """The recommender on the launched catalog, after the shoppers of `history()`."""
    driver = make_driver(RecommendationsProcessor())
    driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    driver.feed(*history())
    driver.advance(end_of_window(history()[-1].timestamp))
    return driver


def test_is_one_of_the_default_processors() -> None:
    assert any(isinstance(p, RecommendationsProcessor) for p in default_processors())


def test_a_recommendation_goes_to_the_shopper_and_the_websocket_fanout_in_the_seed_shape(
    make_driver: MakeDriver,
) -> None:
    driver = shop_with_history(make_driver)
    view = ProductView(product_id="a", session_id="sess_9", user_id="user_9", timestamp=T0 + 60_000)
    driver.feed(view)
    [(topic1, key1, rec1), (topic2, key2, rec2)] = recommendations(
        driver.advance(end_of_window(view.timestamp))
    )
    assert (topic1, key1) == (Topic.RECOMMENDATIONS.value, "user_9")
    assert (topic2, key2) == (Topic.FANOUT.value, "sess_9")
    # c, seen with a; then filled up: b (a's category), then the rest of the catalog
    assert rec1.product_ids == rec2.product_ids == ("c", "b", "d")
    wire = event_to_dict(rec1)
    assert {"eventType", "userId", "sessionId", "productIds", "confidence", "reason"} <= set(wire)
    assert wire["eventType"] == "RECOMMENDATION"
    assert wire["reason"] == "Because you viewed Item a"
    assert 0 <= wire["confidence"] <= 1
    assert rec1.timestamp == view.timestamp


def test_the_shopper_stage_keeps_each_shoppers_history_under_the_shoppers_key(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(RecommendationsProcessor())
    driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    driver.feed(*history(sessions=2))
    assert list(driver.state("s0").history) == ["a", "c"]
    assert list(driver.state("s1").history) == ["a", "c"]
    assert driver.state("global") is None


def test_the_product_stage_applies_one_windows_deltas_at_its_end(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(RecommendationsProcessor())
    driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    first = ProductView(product_id="a", session_id="s", timestamp=T0)
    second = ProductView(product_id="c", session_id="s", timestamp=T0 + 10)
    driver.feed(first, second)
    # c at T0 + 10 co-occurs with a: each product's row is its own key; the deltas of the
    # window (a's popularity at T0, the pair at T0 + 10) wait until the watermark reaches its end
    end = end_of_window(T0)
    assert end == end_of_window(second.timestamp) > second.timestamp
    row_a = driver.stage_state(PRODUCTS, "a")
    assert row_a.rows.cooc.values == {} and len(row_a.collected.inbox) == 2
    assert row_a.collected.due == end
    driver.advance(end - 1)
    assert driver.stage_state(PRODUCTS, "a").rows.cooc.values == {}
    driver.advance(end)
    assert set(driver.stage_state(PRODUCTS, "a").rows.cooc.values) == {"c"}
    assert set(driver.stage_state(PRODUCTS, "c").rows.cooc.values) == {"a"}
    assert driver.stage_state(PRODUCTS, "a").collected.inbox == []


def test_the_list_stage_waits_until_the_neighbour_table_is_complete_up_to_the_event(
    make_driver: MakeDriver,
) -> None:
    driver = shop_with_history(make_driver)
    view = ProductView(product_id="a", session_id="x", timestamp=T0 + 60_000)
    assert recommendations(driver.feed(view)) == []
    assert driver.stage_state(LISTS, "x").last == {}
    assert recommendations(driver.advance(end_of_window(view.timestamp) - 1)) == []
    emitted = recommendations(driver.advance(end_of_window(view.timestamp)))
    assert [rec.product_ids for _, _, rec in emitted] == [("c", "b", "d")] * 2
    assert driver.stage_state(LISTS, "x").last == {"MAIN": ["c", "b", "d"]}


def test_a_shoppers_events_of_one_window_get_one_list_assembled_after_the_last(
    make_driver: MakeDriver,
) -> None:
    driver = shop_with_history(make_driver)
    view = ProductView(product_id="a", session_id="x", timestamp=T0 + 60_000)
    added = AddToCart(
        product_id="c", quantity=1, price=5.0, session_id="x", timestamp=T0 + 60_000 + 40
    )
    assert end_of_window(view.timestamp) == end_of_window(added.timestamp)
    emitted = driver.feed(view, added) + driver.advance(end_of_window(added.timestamp))
    # what the model composed in one process holds after both events
    composed = RecommenderState()
    catalog: dict[str, Any] = {}
    processor = RecommendationsProcessor()
    for launch in launches():
        processor.on_broadcast(launch, catalog)
    for event in [*history(), view, added]:
        composed.observe(event, Catalog(catalog), event.timestamp)
    kind, main = composed.recommend("x", Catalog(catalog), added.timestamp)
    lists = [
        (r.kind, r.product_ids, r.timestamp)
        for topic, _, r in recommendations(emitted)
        if topic == Topic.RECOMMENDATIONS.value and r.session_id == "x"
    ]
    # one list, as of the add (nothing else to offer: a and c are the shopper's): none for
    # the view alone, though it came first
    assert lists == [(kind, tuple(main.ids), added.timestamp)]


def test_the_calibration_stage_counts_each_cells_outcomes_under_the_cells_key(
    make_driver: MakeDriver,
) -> None:
    driver = shop_with_history(make_driver)
    driver.feed(ProductView(product_id="a", session_id="x", timestamp=T0 + 60_000))
    driver.advance(end_of_window(T0 + 60_000))
    shown = driver.stage_state(LISTS, "x").shown
    assert shown is not None and shown.startswith("PERSONAL:")
    before = driver.stage_state(CALIBRATION, shown) or {"lists": 0, "hits": 0}
    # x turns to c, the first product on the list shown: one more hit of that list's cell
    driver.feed(ProductView(product_id="c", session_id="x", timestamp=T0 + 61_000))
    driver.advance(end_of_window(T0 + 61_000))
    after = driver.stage_state(CALIBRATION, shown)
    assert (after["lists"] - before["lists"], after["hits"] - before["hits"]) == (1, 1)


def test_the_publish_stage_keeps_no_state(make_driver: MakeDriver) -> None:
    driver = shop_with_history(make_driver)
    driver.advance(T0 + 60_000)
    assert driver.stage_state(PUBLISH, "s0") is None


def test_the_stages_give_the_lists_of_the_model_composed_in_one_process(
    make_driver: MakeDriver,
) -> None:
    events: list[Any] = []
    for n in range(12):
        for i, pid in enumerate(("a", "c", "b", "d")[: 2 + n % 3]):
            events.append(
                ProductView(product_id=pid, session_id=f"s{n}", timestamp=T0 + n * 10_000 + i * 100)
            )
        if n % 4 == 0:
            events.append(
                AddToCart(
                    product_id="d",
                    quantity=1,
                    price=5.0,
                    session_id=f"s{n}",
                    timestamp=T0 + n * 10_000 + 900,
                )
            )
    composed = RecommenderState()
    catalog: dict[str, Any] = {}
    processor = RecommendationsProcessor()
    for launch in launches():
        processor.on_broadcast(launch, catalog)
    expected = [
        (rec.session_id, rec.kind, rec.product_ids, rec.confidence, rec.reason)
        for event in events
        for rec in composed.observe(event, Catalog(catalog), event.timestamp)
    ]
    driver = make_driver(processor)
    driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    emitted = recommendations(
        driver.feed(*events) + driver.advance(end_of_window(events[-1].timestamp))
    )
    actual = [
        (rec.session_id, rec.kind, rec.product_ids, rec.confidence, rec.reason)
        for topic, _, rec in emitted
        if topic == Topic.RECOMMENDATIONS.value
    ]
    assert actual == expected


def sign_in(session: str, user: str, timestamp: int, *cart: str) -> CartMerged:
    lines = tuple(CartLine(product_id=pid, quantity=1, unit_price=5.0) for pid in cart)
    return CartMerged(
        from_session_id=session, lines=lines, session_id=session, user_id=user, timestamp=timestamp
    )


def test_signing_in_joins_the_anonymous_sessions_history_to_the_users(
    make_driver: MakeDriver,
) -> None:
    driver = shop_with_history(make_driver)
    known = ProductView(product_id="b", session_id="old", user_id="u1", timestamp=T0 + 50_000)
    anonymous = [
        ProductView(product_id="c", session_id="anon", timestamp=T0 + 60_000),
        AddToCart(product_id="d", quantity=1, price=5.0, session_id="anon", timestamp=T0 + 60_100),
    ]
    emitted = driver.feed(known, *anonymous, sign_in("anon", "u1", T0 + 61_000, "d"))
    emitted += driver.advance(end_of_window(T0 + 61_000))
    to_user = [rec for _, key, rec in recommendations(emitted) if key == "u1"]
    assert to_user[-1].product_ids == ("a",) and to_user[-1].timestamp == T0 + 61_000
    assert driver.state("anon") is None, "the session's state went to the user"
    user = driver.stage_state(USERS, "u1")
    assert list(user.history) == ["b", "c", "d"]
    assert user.cart == {"d"}
    assert (user.session_id, user.user_id) == ("anon", "u1")
    # the list on signing in offers a only: b, c and d are the shopper's already
    assert driver.stage_state(LISTS, "u1").last == {"MAIN": ["a"]}


def test_the_stages_join_signed_in_histories_as_the_model_composed_in_one_process(
    make_driver: MakeDriver,
) -> None:
    events: list[Any] = []
    for n in range(8):
        session, user = f"s{n}", f"u{n % 3}"
        at = T0 + n * 10_000
        for i, pid in enumerate(("a", "c", "b", "d")[: 2 + n % 3]):
            signed_in = user if n % 2 and i > 0 else None
            events.append(
                ProductView(
                    product_id=pid, session_id=session, user_id=signed_in, timestamp=at + i * 100
                )
            )
            if n % 2 and i == 0:
                events.append(sign_in(session, user, at + 50))
    composed = RecommenderState()
    catalog: dict[str, Any] = {}
    processor = RecommendationsProcessor()
    for launch in launches():
        processor.on_broadcast(launch, catalog)
    expected = [
        (rec.session_id, rec.user_id, rec.kind, rec.product_ids, rec.confidence, rec.reason)
        for event in events
        for rec in composed.observe(event, Catalog(catalog), event.timestamp)
    ]
    driver = make_driver(processor)
    driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    emitted = recommendations(
        driver.feed(*events) + driver.advance(end_of_window(events[-1].timestamp))
    )
    actual = [
        (rec.session_id, rec.user_id, rec.kind, rec.product_ids, rec.confidence, rec.reason)
        for topic, _, rec in emitted
        if topic == Topic.RECOMMENDATIONS.value
    ]
    assert actual == expected
    for user in ("u0", "u1", "u2"):
        staged, whole = driver.stage_state(USERS, user), composed.shoppers[user]
        assert (staged.history, staged.seen, staged.cart) == (whole.history, whole.seen, whole.cart)


def test_a_product_sold_out_on_inventory_updates_leaves_the_lists(make_driver: MakeDriver) -> None:
    driver = shop_with_history(make_driver)
    sold_out = InventoryChanged(
        product_id="c", stock=0, available=0, reason="SOLD", sold_out=True, timestamp=T0
    )
    driver.feed(sold_out, topic=Topic.INVENTORY_UPDATES.value)
    driver.feed(ProductView(product_id="b", session_id="other", timestamp=T0 + 50_000))
    driver.feed(ProductView(product_id="a", session_id="x", timestamp=T0 + 60_000))
    emitted = [
        rec
        for _, _, rec in recommendations(driver.advance(end_of_window(T0 + 60_000)))
        if rec.session_id == "x"
    ]
    # c, the only product seen with a, is sold out: the shopper falls back to trending (b),
    # filled up from the catalog (d)
    assert [(rec.kind, rec.product_ids) for rec in emitted] == [("TRENDING", ("b", "d"))] * 2


def test_events_that_concern_no_shopper_or_no_product_are_ignored(make_driver: MakeDriver) -> None:
    driver = make_driver(RecommendationsProcessor())
    driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    assert driver.feed(ProductView(product_id="a", timestamp=T0)) == []
    assert driver.feed(Search(query="kettle", session_id="s", timestamp=T0)) == []
    assert driver.advance(T0 + 1000) == []
    assert driver.state("s") is None


def test_a_restart_resumes_from_the_committed_stages_with_identical_outputs(
    make_driver: MakeDriver,
) -> None:
    events = [
        *history(),
        AddToCart(product_id="a", quantity=1, price=5.0, session_id="z", timestamp=T0 + 70_000),
        ProductView(product_id="b", session_id="z", timestamp=T0 + 71_000),
    ]
    end = events[-1].timestamp + 1
    straight = make_driver(RecommendationsProcessor())
    restarted = make_driver(RecommendationsProcessor())
    for driver in (straight, restarted):
        driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    expected = straight.feed(*events) + straight.advance(end)
    # cut between an event and the timers it armed in the product and list stages
    actual = restarted.feed(*events[:5])
    restarted.restart()
    actual += restarted.feed(*events[5:]) + restarted.advance(end)
    assert [(t, k, event_to_dict(e)) for t, k, e in actual] == [
        (t, k, event_to_dict(e)) for t, k, e in expected
    ]
    assert restarted.state("z").to_json() == straight.state("z").to_json()
    for pid in CATALOG:
        assert restarted.stage_state(PRODUCTS, pid) == straight.stage_state(PRODUCTS, pid)


def test_the_product_stage_sends_a_products_related_lists_when_they_change(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(RecommendationsProcessor())
    driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    first, second = history(sessions=2)[:2], history(sessions=2)[2:]
    emitted = driver.feed(*first) + driver.advance(end_of_window(T0 + 1))
    related = [(t, k, e) for t, k, e in of_type(emitted, "RELATED_PRODUCTS")]
    assert [(t, k) for t, k, _ in related] == [(Topic.FANOUT.value, "a"), (Topic.FANOUT.value, "c")]
    event = related[0][2]
    assert isinstance(event, RelatedProducts)
    assert (event.also_viewed, event.bought_together) == (("c",), ())
    # the same pair seen again: more evidence, the same lists, nothing sent
    emitted = driver.feed(*second) + driver.advance(end_of_window(T0 + 10_001))
    assert of_type(emitted, "RELATED_PRODUCTS") == []
