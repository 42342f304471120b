"""Reviews: a shopper who bought a product rates and reviews it once; the product's rating is
the average of its reviews and its review count their number.

A product's `rating` and `reviewCount` are always derived here from its `REVIEW_POSTED` events
(the seeded ones included), never set by hand, so every count can be read review by review.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.meta import Meta
from kartshoppe.domain.orders import Order
from kartshoppe.events import (
    MAX_RATING,
    MIN_RATING,
    Event,
    OrderStatus,
    Product,
    ReviewPosted,
)

BOUGHT: frozenset[OrderStatus] = frozenset(
    {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED}
)
"""An order in one of these states counts as having bought its products (paid, not cancelled)."""


@dataclass(slots=True)
class ProductReviews:
    """One product's reviews, oldest first by when they were written (the same order on every
    instance, whatever order the partitions were folded in)."""

    reviews: list[ReviewPosted] = field(default_factory=list)
    by_user: dict[str, str] = field(default_factory=dict)
    """user id -> review id: one review per shopper."""
    total: int = 0
    """The sum of the ratings."""

    @property
    def count(self) -> int:
        return len(self.reviews)

    @property
    def average(self) -> float:
        """The mean rating to one decimal (halves up); 0 when there is none (shown as "No
        reviews yet", never as a rating)."""
        if not self.reviews:
            return 0.0
        mean = Decimal(self.total) / Decimal(self.count)
        return float(mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _written(review: ReviewPosted) -> tuple[int, str]:
    return review.timestamp, review.review_id


def has_reviewed(reviews: ProductReviews | None, user_id: str | None) -> bool:
    return reviews is not None and (user_id or "") in reviews.by_user


def review_id_for(product_id: str, user_id: str) -> str:
    """The one review a shopper may write of a product: the same id on every attempt."""
    return "review_" + hashlib.sha256(f"{product_id}\x1f{user_id}".encode()).hexdigest()[:24]


def has_bought(orders: Iterable[Order], product_id: str) -> bool:
    return any(
        order.status in BOUGHT and any(line.product_id == product_id for line in order.lines)
        for order in orders
    )


def check_rating(rating: object) -> int:
    """The rating as a whole number of stars from 1 to 5, or `invalid_rating` on `rating`."""
    if isinstance(rating, bool) or not isinstance(rating, int):
        raise DomainError(
            "invalid_rating", "rating is a whole number of stars from 1 to 5", "rating"
        )
    if not MIN_RATING <= rating <= MAX_RATING:
        raise DomainError(
            "invalid_rating", f"rating must be from {MIN_RATING} to {MAX_RATING} stars", "rating"
        )
    return rating


@dataclass(frozen=True, slots=True)
class Draft:
    """What a shopper wrote: the stars, a title and the text."""

    rating: int
    title: str
    body: str
    author: str


def decide_review(
    reviews: ProductReviews | None,
    product: Product,
    user_id: str,
    bought: bool,
    draft: Draft,
    meta: Meta,
) -> list[Event]:
    rating = check_rating(draft.rating)
    if not bought:
        raise DomainError(
            "not_a_buyer",
            f"only shoppers who bought {product.name} can review it",
            "productId",
        )
    if has_reviewed(reviews, user_id):
        raise DomainError(
            "already_reviewed", f"you have already reviewed {product.name}", "productId"
        )
    return [
        ReviewPosted(
            review_id=review_id_for(product.id, user_id),
            product_id=product.id,
            rating=rating,
            title=draft.title,
            body=draft.body,
            author=draft.author,
            **meta.fields(),
        )
    ]


def evolve_reviews(reviews: ProductReviews | None, event: ReviewPosted) -> ProductReviews:
    reviews = reviews or ProductReviews()
    author = event.user_id or event.review_id
    if author in reviews.by_user:
        return reviews  # a redelivered review (at-least-once) is not counted twice
    reviews.by_user[author] = event.review_id
    bisect.insort(reviews.reviews, event, key=_written)
    reviews.total += event.rating
    return reviews


def with_rating(product: Product, reviews: ProductReviews | None) -> Product:
    """The product with the rating and count its reviews give."""
    average, count = (reviews.average, reviews.count) if reviews else (0.0, 0)
    if product.rating == average and product.review_count == count:
        return product
    return product.model_copy(update={"rating": average, "review_count": count})
