"""The simulator's shopper model, offline: plausible sessions carrying the planted affinities."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from kartshoppe.demo.seed import seed_products
from kartshoppe.events import OrderPlaced, encode_event, parse_event
from kartshoppe.simulate.shoppers import (
    BUNDLE_NEXT_P,
    PREFERRED_CATEGORY_P,
    Action,
    ShopperModel,
    catalog_items,
    session_events,
)

CATALOG = catalog_items(seed_products())
BY_ID = {item.id: item for item in CATALOG}


def sessions(count: int, seed: int = 7) -> list[tuple[tuple[str, ...], list[Action]]]:
    model = ShopperModel(CATALOG, seed)
    out = []
    for _ in range(count):
        persona = model.persona()
        out.append((persona.categories, model.session(persona)))
    return out


def test_the_same_seed_gives_the_same_shoppers_and_sessions() -> None:
    assert sessions(50, seed=3) == sessions(50, seed=3)
    assert sessions(50, seed=3) != sessions(50, seed=4)


def test_catalog_items_read_products_and_their_json_alike() -> None:
    product = seed_products()[0]
    as_json = product.model_dump(mode="json", by_alias=True)
    assert catalog_items([product]) == catalog_items([as_json])


def test_every_product_belongs_to_one_bundle_of_three() -> None:
    model = ShopperModel(CATALOG)
    members = [pid for bundle in model.affinities.bundles for pid in bundle]
    assert len(members) == len(set(members)) == len(CATALOG) // 3 * 3
    assert all(len(bundle) == 3 for bundle in model.affinities.bundles)


def test_a_bundle_partner_follows_a_viewed_product_far_more_often_than_chance() -> None:
    partners = ShopperModel(CATALOG).affinities.partners
    follows = total = 0
    for _, actions in sessions(1500):
        views = [a.product_id for a in actions if a.kind == "view"]
        for before, after in pairwise(views):
            total += 1
            follows += after in partners.get(before or "", ())
    assert follows / total > BUNDLE_NEXT_P * 0.8  # chance would be 2 in 132
    assert follows / total < 0.9


def test_shoppers_mostly_browse_the_categories_of_their_persona() -> None:
    partners = ShopperModel(CATALOG).affinities.partners
    inside = total = 0
    for categories, actions in sessions(1500):
        views = [a.product_id for a in actions if a.kind == "view" and a.product_id]
        for before, after in pairwise(views):
            if after in partners.get(before, ()):
                continue  # bundles cross categories on purpose
            total += 1
            inside += BY_ID[after].category in categories
    assert inside / total > PREFERRED_CATEGORY_P * 0.9


def test_sessions_follow_the_shop_flow() -> None:
    kinds: Counter[str] = Counter()
    for _, actions in sessions(800):
        assert actions[0].kind in ("browse", "search")
        assert actions[-1].kind in ("leave", "checkout", "pay")
        cart: set[str] = set()
        checked_out = False
        for action in actions:
            kinds[action.kind] += 1
            if action.kind == "add":
                cart.add(action.product_id or "")
            elif action.kind == "remove":
                assert action.product_id in cart
                cart.discard(action.product_id or "")
            elif action.kind == "checkout":
                assert cart
                checked_out = True
            elif action.kind == "pay":
                assert checked_out
    # every kind of behaviour shows up: browse, search, view, add, remove, checkout, pay, leave
    assert set(kinds) == {"browse", "search", "view", "add", "remove", "checkout", "pay", "leave"}
    assert kinds["leave"] > 0 and kinds["checkout"] > 0


def test_session_events_are_valid_contract_events_with_orders_from_the_cart() -> None:
    for n, (_, actions) in enumerate(sessions(300)):
        events = session_events(actions, BY_ID, f"sess_{n}", f"user_{n}", 1_700_000_000_000)
        times = [e.timestamp for e in events]
        assert times == sorted(times)
        for event in events:
            assert parse_event(encode_event(event)) == event
        added = {a.product_id for a in actions if a.kind == "add"}
        for order in (e for e in events if isinstance(e, OrderPlaced)):
            assert {line.product_id for line in order.lines} <= added
            assert order.total == round(sum(line.unit_price for line in order.lines), 2)


def test_bundle_partners_are_often_bought_together() -> None:
    partners = ShopperModel(CATALOG).affinities.partners
    orders_with_a_bundle_pair = orders = 0
    for n, (_, actions) in enumerate(sessions(2000)):
        for event in session_events(actions, BY_ID, f"s{n}", None, 0):
            if isinstance(event, OrderPlaced) and len(event.lines) > 1:
                orders += 1
                ids = [line.product_id for line in event.lines]
                orders_with_a_bundle_pair += any(
                    other in partners.get(pid, ()) for pid in ids for other in ids
                )
    assert orders_with_a_bundle_pair / orders > 0.5
