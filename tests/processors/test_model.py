"""The processor model's shared rules: event time, output ids, the catalog broadcast state."""

from __future__ import annotations

from typing import Any

from kartshoppe.events import InventoryChanged, PriceChanged, Product, ProductLaunched, ProductView
from kartshoppe.processors.model import (
    Published,
    apply_catalog_event,
    catalog_entry,
    chain,
    event_time,
    output_event_id,
)
from kartshoppe.processors.recommendations import RecommendationsProcessor
from kartshoppe.processors.trending import Trending

PRODUCT = Product(
    id="p1", name="Kettle", category="kitchen", price=30.0, original_price=30.0, stock=4
)


def test_event_time_is_the_events_own_timestamp_when_it_is_not_in_the_future() -> None:
    assert event_time(ProductView(product_id="p1", timestamp=1_000), append_ts=5_000) == 1_000


def test_event_time_never_runs_ahead_of_the_append_time() -> None:
    skewed = ProductView(product_id="p1", timestamp=9_999_999)
    assert event_time(skewed, append_ts=5_000) == 5_000


def test_output_ids_are_deterministic_and_distinct_per_cause_and_index() -> None:
    first = output_event_id("trending", "global", "evt_1", 0)
    assert first == output_event_id("trending", "global", "evt_1", 0)
    others = {
        output_event_id("trending", "global", "evt_1", 1),
        output_event_id("trending", "global", "evt_2", 0),
        output_event_id("trending", "other", "evt_1", 0),
        output_event_id("analytics", "global", "evt_1", 0),
    }
    assert first not in others
    assert len(others) == 4
    assert first.startswith("out_")


def test_catalog_learns_name_category_price_and_stock_from_catalog_and_inventory_events() -> None:
    broadcast: dict[str, Any] = {}
    apply_catalog_event(ProductLaunched(product_id="p1", product=PRODUCT), broadcast)
    assert catalog_entry(broadcast, "p1") == {
        "name": "Kettle",
        "category": "kitchen",
        "price": 30.0,
        "available": 4,
        "soldOut": False,
    }
    cheaper = PRODUCT.model_copy(update={"price": 25.0})
    apply_catalog_event(
        PriceChanged(product_id="p1", old_price=30.0, new_price=25.0, product=cheaper), broadcast
    )
    sold_out = InventoryChanged(
        product_id="p1", stock=4, reserved=4, available=0, reason="RESERVED", sold_out=True
    )
    apply_catalog_event(sold_out, broadcast)
    assert catalog_entry(broadcast, "p1")["price"] == 25.0
    assert catalog_entry(broadcast, "p1")["soldOut"] is True
    assert catalog_entry(broadcast, "unknown") == {}


def test_a_published_table_is_read_as_of_an_event_time() -> None:
    table = Published()
    table.put(100, "p1", "first")
    table.put(200, "p1", "second")
    table.put(150, "p2", "other")
    assert table.view(99).get("p1") is None and "p1" not in table.view(99)
    assert dict(table.view(100)) == {"p1": "first"}
    assert dict(table.view(199)) == {"p1": "first", "p2": "other"}
    assert table.view(200)["p1"] == "second"


def test_values_published_at_one_time_are_read_last_applied_first() -> None:
    table = Published()
    table.put(100, "cell", [1, 0])
    table.put(100, "cell", [2, 1])
    assert table.view(100)["cell"] == [2, 1]


def test_a_value_published_late_still_counts_from_its_own_time() -> None:
    table = Published()
    table.put(200, "p1", "later")
    table.put(100, "p1", "earlier")
    assert table.view(150)["p1"] == "earlier"
    assert table.view(250)["p1"] == "later"


def test_one_field_of_many_keys_reads_as_each_alone() -> None:
    table = Published({"p0": {"m": 1.0}, "p1": {"m": 2.0}})
    table.put(100, "p1", {"m": 3.0})
    table.put(200, "p1", {"m": 4.0})
    table.put(150, "p2", {"m": 5.0})
    keys = ["p0", "p1", "p2", "missing"]
    for at in (50, 100, 150, 199, 250):
        view = table.view(at)
        assert view.fields(keys, "m", 0.0) == [view.get(k, {"m": 0.0})["m"] for k in keys]
    assert table.view(120).fields(keys, "m", 0.0) == [1.0, 3.0, 0.0, 0.0]


def test_a_snapshot_of_a_view_is_the_view_as_a_dict() -> None:
    table = Published({"p0": "base", "p1": "old"})
    table.put(100, "p1", "first")
    table.put(200, "p1", "second")
    table.put(150, "p2", "other")
    for at in (50, 100, 150, 199, 250):
        view = table.view(at)
        assert list(view.snapshot().items()) == list(view.items())
    assert table.view(160).snapshot() == {"p0": "base", "p1": "first", "p2": "other"}


def test_folding_keeps_what_is_read_and_returns_the_base_entries_that_changed() -> None:
    table = Published({"p0": "kept"})
    table.put(100, "p1", "first")
    table.put(200, "p1", "second")
    assert table.fold(150) == {"p1": "first"}
    assert table.view(150)["p1"] == "first" and table.view(200)["p1"] == "second"
    assert table.fold(200) == {"p1": "second"}
    assert table.recent == {} and table.base == {"p0": "kept", "p1": "second"}


def test_a_chain_is_the_processor_then_each_stage_its_predecessor_merges_into() -> None:
    assert [s.name for s in chain(Trending())] == ["trending", "trending.merge"]
    assert [s.name for s in chain(RecommendationsProcessor())] == [
        "recommendations",
        "recommendations.users",
        "recommendations.products",
        "recommendations.lists",
        "recommendations.calibration",
        "recommendations.publish",
    ]
