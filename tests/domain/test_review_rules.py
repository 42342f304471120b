"""Reviews: only a buyer reviews, once, with 1 to 5 stars; the rating is its reviews' average."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kartshoppe.application.commands import Command, Decider, step
from kartshoppe.domain import cart, catalog, orders
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.inventory import StockLevel, inventory_event
from kartshoppe.domain.reservations import ReservationBook
from kartshoppe.domain.reviews import ProductReviews, evolve_reviews
from kartshoppe.domain.state import ShopState
from kartshoppe.events import Event, OrderStatus, ReviewPosted
from tests.domain.domain_support import T0, checkout, meta, product


def shop_where(buyer: str, status: OrderStatus | None = OrderStatus.PAID) -> ShopState:
    """A shop with product p1 and p2; `buyer` has an order of p1 in `status` (None: no order)."""
    state = ShopState()

    def record(events: list[Event]) -> None:
        for event in events:
            state.apply(event)

    for p in (product("p1", 10.0, 5), product("p2", 4.0, 5)):
        record(catalog.decide_launch(None, p, meta()))
        record([inventory_event(StockLevel(p.id, p.stock), "INITIAL", meta())])
    if status is None:
        return state
    who = meta(T0 + 1, "s1", buyer)
    record(cart.decide_add(state.cart(buyer), state.products["p1"], state.stock["p1"], 1, who))
    record(checkout(state.cart(buyer), state.products, state.stock, "o1", "k1", who))
    path = {
        OrderStatus.PLACED: [],
        OrderStatus.CANCELLED: [OrderStatus.CANCELLED],
        OrderStatus.PAID: [OrderStatus.PAID],
        OrderStatus.SHIPPED: [OrderStatus.PAID, OrderStatus.SHIPPED],
        OrderStatus.DELIVERED: [OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED],
    }
    for n, step_to in enumerate(path[status]):
        order = state.orders["o1"]
        record(orders.decide_status(order, step_to, state.stock, meta(T0 + 2 + n)))
    return state


def review(state: ShopState, user: str, rating: Any = 5, product_id: str = "p1") -> ReviewPosted:
    """Decide a `review.post` command as its product's owner would, and fold its event."""
    args = {
        "productId": product_id,
        "userId": user,
        "rating": rating,
        "title": "Nice",
        "body": "Works well.",
        "author": "Maya R.",
    }
    command = Command("review.post", f"product:{product_id}", args, command_id="c1", reply_to="c1")
    effects = step(Decider(state, ReservationBook()), command)
    assert effects.outcome is not None
    if effects.outcome.refusal is not None:
        raise effects.outcome.refusal.error()
    (event,) = effects.events
    assert isinstance(event, ReviewPosted)
    state.apply(event)
    return event


@pytest.mark.parametrize("status", [OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED])
def test_a_shopper_whose_paid_order_holds_the_product_reviews_it(status: OrderStatus) -> None:
    state = shop_where("u1", status)
    posted = review(state, "u1", 4)
    assert (posted.rating, posted.author, posted.user_id) == (4, "Maya R.", "u1")
    assert (state.products["p1"].rating, state.products["p1"].review_count) == (4.0, 1)


def test_the_second_review_of_the_same_product_is_refused_and_changes_nothing() -> None:
    state = shop_where("u1")
    review(state, "u1", 5)
    with pytest.raises(DomainError) as refused:
        review(state, "u1", 1)
    assert (refused.value.code, refused.value.field) == ("already_reviewed", "productId")
    assert (state.products["p1"].rating, state.products["p1"].review_count) == (5.0, 1)


@pytest.mark.parametrize(
    ("status", "reviewer", "product_id"),
    [
        (None, "u1", "p1"),  # never ordered
        (OrderStatus.PLACED, "u1", "p1"),  # ordered but not paid
        (OrderStatus.CANCELLED, "u1", "p1"),  # cancelled
        (OrderStatus.PAID, "u2", "p1"),  # someone else bought it
        (OrderStatus.PAID, "u1", "p2"),  # bought another product
    ],
)
def test_a_shopper_who_has_not_bought_the_product_may_not_review_it(
    status: OrderStatus | None, reviewer: str, product_id: str
) -> None:
    state = shop_where("u1", status)
    with pytest.raises(DomainError) as refused:
        review(state, reviewer, 5, product_id)
    assert refused.value.code == "not_a_buyer"
    assert "bought" in refused.value.message
    assert state.reviews == {}


@pytest.mark.parametrize("rating", [0, 6, -1, 4.5, "5", True, None])
def test_a_rating_other_than_one_to_five_whole_stars_is_refused_naming_the_field(
    rating: Any,
) -> None:
    state = shop_where("u1")
    with pytest.raises(DomainError) as refused:
        review(state, "u1", rating)
    assert (refused.value.code, refused.value.field) == ("invalid_rating", "rating")


def test_the_rating_is_the_mean_to_one_decimal_halves_up() -> None:
    reviews: ProductReviews | None = None
    for user, stars in (("a", 5), ("b", 4), ("c", 4), ("d", 4)):  # 17 / 4 = 4.25
        reviews = evolve_reviews(reviews, ReviewPosted(
            review_id=f"r-{user}", product_id="p1", rating=stars, author=user, user_id=user
        ))  # fmt: skip
    assert reviews is not None
    assert (reviews.average, reviews.count, reviews.total) == (4.3, 4, 17)


def test_no_reviews_is_a_count_of_zero_never_a_rating() -> None:
    state = shop_where("u1", None)
    assert (state.products["p1"].rating, state.products["p1"].review_count) == (0.0, 0)
    assert ProductReviews().average == 0.0


def test_a_redelivered_review_is_counted_once() -> None:
    state = shop_where("u1")
    posted = review(state, "u1", 2)
    state.apply(posted)
    assert state.reviews["p1"].count == 1


def test_a_catalog_event_never_overrides_the_rating_the_reviews_give() -> None:
    """A price change decided against a fold that had not seen the review yet carries the old
    rating in its product; the fold keeps the reviews' figure."""
    state = shop_where("u1")
    before = state.products["p1"]
    review(state, "u1", 3)
    stale = catalog.decide_price_change(before, Decimal("8.00"), meta(T0 + 9))
    for event in stale:
        state.apply(event)
    assert state.products["p1"].price == Decimal("8.00")
    assert (state.products["p1"].rating, state.products["p1"].review_count) == (3.0, 1)


def test_reviews_are_kept_in_the_order_they_were_written_whatever_the_fold_order() -> None:
    def written(user: str, at: int) -> ReviewPosted:
        return ReviewPosted(
            review_id=f"r-{user}",
            product_id="p1",
            rating=3,
            author=user,
            user_id=user,
            timestamp=at,
        )

    reviews: ProductReviews | None = None
    for event in (written("late", T0 + 50), written("early", T0), written("middle", T0 + 20)):
        reviews = evolve_reviews(reviews, event)
    assert reviews is not None
    assert [r.user_id for r in reviews.reviews] == ["early", "middle", "late"]
