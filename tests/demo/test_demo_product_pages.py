"""The demo catalog's product pages: every rating is its seeded reviews' average, every product
has specifications that fit its type and a description of more than one sentence."""

from __future__ import annotations

from collections import defaultdict

from kartshoppe.demo import seed_products, seed_reviews, seed_shop
from kartshoppe.domain.reviews import ProductReviews, evolve_reviews
from kartshoppe.events import MAX_RATING, MIN_RATING

NOW = 1_790_000_000_000
YEAR_MS = 365 * 24 * 3600 * 1000


def test_every_seeded_rating_and_count_is_what_its_seeded_reviews_add_up_to() -> None:
    folded: dict[str, ProductReviews] = defaultdict(ProductReviews)
    for review in seed_reviews(NOW):
        folded[review.product_id] = evolve_reviews(folded[review.product_id], review)
    for product in seed_products():
        reviews = folded[product.id]
        assert reviews.count == product.review_count >= 2
        assert reviews.average == product.rating
        assert 3.0 <= product.rating <= 5.0


def test_a_fresh_server_seeds_in_one_pass_the_same_catalog_and_reviews() -> None:
    products, reviews = seed_shop(NOW)

    assert products == seed_products()
    assert reviews == seed_reviews(NOW)


def test_seeded_reviews_are_readable_one_per_reviewer_and_dated_within_the_year() -> None:
    reviews = seed_reviews(NOW)
    assert seed_reviews(NOW) == reviews, "deterministic"
    pairs = {(r.product_id, r.user_id) for r in reviews}
    assert len(pairs) == len(reviews), "a reviewer reviews a product once"
    for review in reviews:
        assert MIN_RATING <= review.rating <= MAX_RATING
        assert review.title and review.body.count(".") >= 2 and review.author.endswith(".")
        assert NOW - YEAR_MS <= review.timestamp < NOW
    ratings = {r.rating for r in reviews}
    assert ratings == {1, 2, 3, 4, 5}, "the spread of real ratings, not all fives"


def test_specifications_follow_the_product_type_and_descriptions_have_two_paragraphs() -> None:
    products = seed_products()
    by_type: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for product in products:
        names = [s.name for s in product.specs]
        assert names[:3] == ["Brand", "Type", "Model"] and len(names) >= 6
        assert product.name.startswith(product.specs[0].value)
        by_type[product.specs[1].value].add(tuple(names))
        first, second = product.description.split("\n\n")
        assert first and second.count(".") >= 2
    skillet = next(p for p in products if "Skillet" in p.name)
    assert ("Material", "pre-seasoned cast iron") in [(s.name, s.value) for s in skillet.specs]
    for kind, shapes in by_type.items():
        assert len(shapes) == 1, f"every {kind} lists the same specifications"
