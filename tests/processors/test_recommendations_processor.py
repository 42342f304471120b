"""The recommendations processor in the runner: routing, broadcast catalog, restarts."""

from __future__ import annotations

from kartshoppe.events import (
    AddToCart,
    InventoryChanged,
    Product,
    ProductLaunched,
    ProductView,
    Recommendation,
    Search,
    Topic,
    event_to_dict,
)
from kartshoppe.processors import default_processors
from kartshoppe.processors.model import GLOBAL_KEY
from kartshoppe.processors.recommendations import RecommendationsProcessor
from tests.processors.processor_harness import Emitted, MakeDriver, of_type

T0 = 1_700_000_000_000
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


def recommendations(emitted: list[Emitted]) -> list[tuple[str, str | None, Recommendation]]:
    out = []
    for topic, key, event in of_type(emitted, "RECOMMENDATION"):
        assert isinstance(event, Recommendation)
        out.append((topic, key, event))
    return out


def test_is_one_of_the_default_processors() -> None:
    assert any(isinstance(p, RecommendationsProcessor) for p in default_processors())


def test_a_recommendation_goes_to_the_shopper_and_the_websocket_fanout_in_the_seed_shape(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(RecommendationsProcessor())
    driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    driver.feed(*history())
    view = ProductView(product_id="a", session_id="sess_9", user_id="user_9", timestamp=T0 + 60_000)
    [(topic1, key1, rec1), (topic2, key2, rec2)] = recommendations(driver.feed(view))
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


def test_a_product_sold_out_on_inventory_updates_leaves_the_lists(make_driver: MakeDriver) -> None:
    driver = make_driver(RecommendationsProcessor())
    driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    driver.feed(*history())
    sold_out = InventoryChanged(
        product_id="c", stock=0, available=0, reason="SOLD", sold_out=True, timestamp=T0
    )
    driver.feed(sold_out, topic=Topic.INVENTORY_UPDATES.value)
    driver.feed(ProductView(product_id="b", session_id="other", timestamp=T0 + 50_000))
    emitted = recommendations(
        driver.feed(ProductView(product_id="a", session_id="x", timestamp=T0 + 60_000))
    )
    # c, the only product seen with a, is sold out: the shopper falls back to trending (b),
    # filled up from the catalog (d)
    assert [(rec.kind, rec.product_ids) for _, _, rec in emitted] == [("TRENDING", ("b", "d"))] * 2


def test_events_that_concern_no_shopper_or_no_product_are_ignored(make_driver: MakeDriver) -> None:
    driver = make_driver(RecommendationsProcessor())
    driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    assert driver.feed(ProductView(product_id="a", timestamp=T0)) == []
    assert driver.feed(Search(query="kettle", session_id="s", timestamp=T0)) == []
    assert driver.state(GLOBAL_KEY) is None


def test_a_restart_resumes_from_the_committed_model_with_identical_outputs(
    make_driver: MakeDriver,
) -> None:
    events = [
        *history(),
        AddToCart(product_id="a", quantity=1, price=5.0, session_id="z", timestamp=T0 + 70_000),
        ProductView(product_id="b", session_id="z", timestamp=T0 + 71_000),
    ]
    straight = make_driver(RecommendationsProcessor())
    restarted = make_driver(RecommendationsProcessor())
    for driver in (straight, restarted):
        driver.feed(*launches(), topic=Topic.PRODUCT_UPDATES.value)
    expected = straight.feed(*events)
    actual = restarted.feed(*events[:4])
    restarted.restart()
    actual += restarted.feed(*events[4:])
    assert [(t, k, event_to_dict(e)) for t, k, e in actual] == [
        (t, k, event_to_dict(e)) for t, k, e in expected
    ]
    assert restarted.state(GLOBAL_KEY).to_json() == straight.state(GLOBAL_KEY).to_json()
