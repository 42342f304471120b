"""Trending: weighted, time-decayed popularity, published at most once a second."""

from __future__ import annotations

import math
import random

import pytest

from kartshoppe.events import (
    AddToCart,
    OrderLine,
    OrderPlaced,
    Product,
    ProductClick,
    ProductLaunched,
    ProductView,
    Topic,
    TrendingUpdated,
)
from kartshoppe.processors.model import GLOBAL_KEY
from kartshoppe.processors.ranking import RisingTop
from kartshoppe.processors.trending import Trending, kept_top, merge_scores, prune, ranked
from tests.processors.processor_harness import MakeDriver, of_type

T0 = 1_700_000_000_000
HALF_LIFE = 600_000


def launch(product_id: str, category: str) -> ProductLaunched:
    product = Product(
        id=product_id, name=product_id, category=category, price=10.0, original_price=10.0
    )
    return ProductLaunched(product_id=product_id, product=product, timestamp=T0 - 10_000)


def view(product_id: str, ts: int) -> ProductView:
    return ProductView(product_id=product_id, session_id="s1", timestamp=ts)


def order(ts: int, *product_ids: str) -> OrderPlaced:
    lines = tuple(OrderLine(product_id=p, quantity=1, unit_price=10.0) for p in product_ids)
    return OrderPlaced(
        order_id="o1", idempotency_key="k1", lines=lines, total=10.0, session_id="s1", timestamp=ts
    )


def published(emitted: list) -> list[TrendingUpdated]:  # type: ignore[type-arg]
    updates = of_type(emitted, "TRENDING_UPDATED")
    assert all(topic == Topic.FANOUT and key == GLOBAL_KEY for topic, key, _ in updates)
    return [event for _, _, event in updates]  # type: ignore[misc]


def test_scores_weigh_views_and_clicks_1_cart_adds_3_and_order_lines_5(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(Trending(half_life_ms=HALF_LIFE))
    driver.feed(
        view("a", T0),
        ProductClick(product_id="a", session_id="s1", timestamp=T0),
        AddToCart(product_id="b", quantity=2, price=10.0, session_id="s1", timestamp=T0),
        order(T0, "c", "a"),
    )
    [update] = published(driver.advance(T0 + 1_000))
    scores = {p.product_id: p.score for p in update.products}
    decay = 0.5 ** (1_000 / HALF_LIFE)
    assert scores == {
        "a": round(7 * decay, 4),
        "c": round(5 * decay, 4),
        "b": round(3 * decay, 4),
    }
    assert [p.product_id for p in update.products] == ["a", "c", "b"]
    assert update.timestamp == T0 + 1_000


def test_a_score_halves_with_every_half_life(make_driver: MakeDriver) -> None:
    driver = make_driver(Trending(half_life_ms=HALF_LIFE))
    driver.feed(order(T0, "a"), order(T0, "a"))
    driver.advance(T0 + 1_000)
    [update] = published(driver.feed(view("b", T0 + HALF_LIFE), view("b", T0 + HALF_LIFE + 1_000)))
    assert update.timestamp == T0 + HALF_LIFE + 1_000
    scores = {p.product_id: p.score for p in update.products}
    assert scores["a"] == round(10 * 0.5 ** ((HALF_LIFE + 1_000) / HALF_LIFE), 4)


def test_late_events_count_as_if_they_had_come_in_order(make_driver: MakeDriver) -> None:
    in_order = make_driver(Trending(half_life_ms=HALF_LIFE))
    shuffled = make_driver(Trending(half_life_ms=HALF_LIFE), lateness_ms=60_000)
    events = [view("a", T0), view("a", T0 + 30_000), view("a", T0 + 50_000)]
    in_order.feed(*events)
    shuffled.feed(events[2], events[0], events[1])
    [expected] = published(in_order.advance(T0 + 200_000))
    [actual] = published(shuffled.advance(T0 + 200_000))
    assert actual.products == expected.products


def test_publishes_at_most_once_a_second_at_the_next_whole_second(make_driver: MakeDriver) -> None:
    driver = make_driver(Trending())
    emitted = driver.feed(*(view("a", T0 + 100 + i) for i in range(50)))
    assert published(emitted) == []
    assert published(driver.advance(T0 + 999)) == []
    assert len(published(driver.advance(T0 + 1_000))) == 1
    assert published(driver.advance(T0 + 5_000)) == []


def test_a_quiet_shop_publishes_nothing(make_driver: MakeDriver) -> None:
    driver = make_driver(Trending())
    driver.feed(view("a", T0))
    assert len(published(driver.advance(T0 + 1_000))) == 1
    assert published(driver.advance(T0 + 3_600_000)) == []


def test_categories_score_from_the_catalog_broadcast(make_driver: MakeDriver) -> None:
    processor = Trending(half_life_ms=HALF_LIFE)
    driver = make_driver(processor)
    driver.feed(
        launch("a", "kitchen"),
        launch("b", "garden"),
        launch("c", "kitchen"),
        topic=Topic.PRODUCT_UPDATES.value,
    )
    driver.feed(view("a", T0), view("c", T0), order(T0, "b"))
    [update] = published(driver.advance(T0 + 1_000))
    assert [(c.category, c.score) for c in update.categories] == [
        ("garden", round(5 * 0.5 ** (1_000 / HALF_LIFE), 4)),
        ("kitchen", round(2 * 0.5 ** (1_000 / HALF_LIFE), 4)),
    ]


def test_only_the_top_products_are_published_and_faded_ones_are_forgotten(
    make_driver: MakeDriver,
) -> None:
    driver = make_driver(Trending(half_life_ms=HALF_LIFE, top_products=3))
    driver.feed(*(view(f"p{i}", T0) for i in range(10)), *(view("p7", T0) for _ in range(3)))
    [update] = published(driver.advance(T0 + 1_000))
    assert [p.product_id for p in update.products] == ["p7", "p0", "p1"]
    driver.feed(view("fresh", T0 + 10 * HALF_LIFE))
    driver.advance(T0 + 10 * HALF_LIFE + 1_000)
    assert set(driver.merged_state(GLOBAL_KEY)["products"]) == {"fresh"}


def test_state_and_pending_publication_survive_a_restart(make_driver: MakeDriver) -> None:
    driver = make_driver(Trending(half_life_ms=HALF_LIFE))
    driver.feed(view("a", T0), view("a", T0 + 10))
    driver.restart()
    [update] = published(driver.advance(T0 + 1_000))
    assert update.products[0].product_id == "a"
    expected = 0.5 ** (1_000 / HALF_LIFE) + 0.5 ** (990 / HALF_LIFE)
    assert update.products[0].score == round(expected, 4)


@pytest.mark.parametrize("seed", range(30))
def test_the_ranking_kept_from_tick_to_tick_equals_sorting_all_scores(seed: int) -> None:
    # equal scores are common (one view each in the same millisecond): ties must keep the
    # dict's order either way, and a prune (scores removed) must not leave a stale ranking
    rng = random.Random(seed)
    limit = rng.randint(1, 6)
    scores: dict[str, float] = {}
    kept: dict[str, RisingTop] = {}
    for tick in range(20):
        ts = T0 + tick * 1000
        top = kept_top(kept, "products", scores, limit)
        for item in rng.sample("abcdefghijkl", rng.randint(0, 4)):
            weight = rng.choice([1.0, 1.0, 3.0, 5.0])
            merge_scores(scores, {item: math.log(weight) + ts * math.log(2) / HALF_LIFE}, top)
        if rng.random() < 0.2:
            prune(scores, ts + rng.choice([0, HALF_LIFE, 5 * HALF_LIFE]), HALF_LIFE)
            kept.clear()
        whole = ranked(scores, ts, HALF_LIFE, limit)
        assert (
            ranked(scores, ts, HALF_LIFE, limit, kept_top(kept, "products", scores, limit)) == whole
        )
