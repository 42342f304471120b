"""Wishlists: adding twice or removing what is not there changes nothing; unknown products are
refused, and so are retired ones."""

from __future__ import annotations

import pytest

from kartshoppe.domain.errors import DomainError, NotFoundError
from kartshoppe.domain.state import ShopState
from kartshoppe.domain.wishlist import decide_unwish, decide_wish
from kartshoppe.events import Event, WishlistItemAdded, WishlistItemRemoved
from tests.domain.domain_support import T0, meta, product


def test_a_product_is_added_once_and_removed_once() -> None:
    state = ShopState()
    state.products["p1"] = product("p1")
    who = meta(T0, "s1", "u1")

    def wishes() -> list[str]:
        return list(state.wishlists.get("u1", {}))

    def record(events: list[Event]) -> list[Event]:
        for event in events:
            state.apply(event)
        return events

    added = record(decide_wish(state.wishlists.get("u1", {}), state.products["p1"], "p1", who))
    assert [type(e) for e in added] == [WishlistItemAdded] and wishes() == ["p1"]
    assert decide_wish(state.wishlists["u1"], state.products["p1"], "p1", who) == []
    removed = record(decide_unwish(state.wishlists["u1"], "p1", who))
    assert [type(e) for e in removed] == [WishlistItemRemoved] and wishes() == []
    assert decide_unwish(state.wishlists["u1"], "p1", who) == []


def test_wishing_for_an_unknown_product_is_not_found() -> None:
    with pytest.raises(NotFoundError) as refused:
        decide_wish({}, None, "nope", meta(T0, "s1", "u1"))
    assert refused.value.field == "productId"


def test_a_retired_product_cannot_be_wished_for() -> None:
    retired = product("p1", retired_at=T0)
    with pytest.raises(DomainError) as refused:
        decide_wish({}, retired, "p1", meta(T0, "s1", "u1"))
    assert (refused.value.code, refused.value.field) == ("product_retired", "productId")
