"""Product-page routes: a product's reviews (read by anyone, written once by a buyer), the
signed-in shopper's wishlist, and the recommender's related products."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path, Query
from starlette.responses import Response

from kartshoppe.api.declared import declared_router
from kartshoppe.api.deps import Live, Platform
from kartshoppe.api.routes._responses import ERRORS, json
from kartshoppe.api.schemas import (
    ErrorOut,
    RelatedOut,
    ReviewBody,
    ReviewOut,
    ReviewPage,
    WishlistOut,
)
from kartshoppe.domain.errors import NotFoundError
from kartshoppe.domain.reviews import Draft, ProductReviews
from kartshoppe.events import Id
from kartshoppe.security.guards import AccessError, Caller
from kartshoppe.security.tokens import Principal

router = declared_router(tags=["product pages"], responses=ERRORS)
ProductId = Annotated[Id, Path(alias="productId")]
ANONYMOUS_AUTHOR: Final = "KartShoppe shopper"
RELATED_SIZE: Final = 6


def _known(p: Platform, product_id: str) -> None:
    if product_id not in p.service.state.products:
        raise NotFoundError("unknown_product", f"no product '{product_id}'", "productId")


def _signed_in(principal: Principal | None, what: str) -> Principal:
    if principal is None:
        raise AccessError(401, "unauthorized", f"sign in to {what}")
    return principal


def review_page(reviews: ProductReviews | None, page: int, page_size: int) -> ReviewPage:
    found = reviews or ProductReviews()
    newest = found.reviews[::-1]
    start = (page - 1) * page_size
    stars = {str(n): 0 for n in range(1, 6)}
    for review in found.reviews:
        stars[str(review.rating)] += 1
    return ReviewPage(
        items=[ReviewOut.of(r) for r in newest[start : start + page_size]],
        total=found.count,
        rating=found.average,
        page=page,
        page_size=page_size,
        stars=stars,
    )


@router.get("/product/{productId}/reviews", response_model=ReviewPage)
async def reviews(
    p: Live,
    product_id: ProductId,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=50)] = 10,
) -> Response:
    _known(p, product_id)
    found = p.service.state.reviews.get(product_id)
    return json(review_page(found, page, page_size).to_json())


@router.post(
    "/product/{productId}/reviews",
    response_model=ReviewOut,
    status_code=201,
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)
async def post_review(
    p: Live, principal: Caller, product_id: ProductId, body: ReviewBody
) -> Response:
    """A shopper who bought the product (a paid order with it) reviews it, once."""
    who = _signed_in(principal, "review a product")
    _known(p, product_id)
    user = p.accounts.by_id(who.user_id)
    author = (user.name if user and user.name else ANONYMOUS_AUTHOR)[:80]
    draft = Draft(body.rating, body.title, body.body, author)
    found = await p.service.post_review(who.user_id, product_id, draft)
    mine = next(r for r in reversed(found.reviews) if r.user_id == who.user_id)
    return json(ReviewOut.of(mine).to_json(), 201)


def _wishlist(p: Platform, user_id: str) -> Response:
    wished = p.service.state.wishlists.get(user_id, {})
    items = [p.catalog.product(pid) for pid in reversed(wished)]
    return json({"items": [item for item in items if item is not None]})


@router.get("/wishlist", response_model=WishlistOut, responses={401: {"model": ErrorOut}})
async def wishlist(p: Live, principal: Caller) -> Response:
    """The signed-in shopper's wishlist, most recently added first."""
    return _wishlist(p, _signed_in(principal, "see your wishlist").user_id)


@router.put(
    "/wishlist/{productId}", response_model=WishlistOut, responses={401: {"model": ErrorOut}}
)
async def wish(p: Live, principal: Caller, product_id: ProductId) -> Response:
    """Add a product to the wishlist (adding it again changes nothing); the new list."""
    user_id = _signed_in(principal, "keep a wishlist").user_id
    await p.service.change_wishlist(user_id, product_id, add=True)
    return _wishlist(p, user_id)


@router.delete(
    "/wishlist/{productId}", response_model=WishlistOut, responses={401: {"model": ErrorOut}}
)
async def unwish(p: Live, principal: Caller, product_id: ProductId) -> Response:
    """Take a product off the wishlist; the new list."""
    user_id = _signed_in(principal, "keep a wishlist").user_id
    await p.service.change_wishlist(user_id, product_id, add=False)
    return _wishlist(p, user_id)


@router.get("/product/{productId}/related", response_model=RelatedOut)
async def related(p: Live, product_id: ProductId) -> Response:
    """ "Often bought with" and "Customers also viewed", from the recommender's neighbours."""
    _known(p, product_id)
    found = p.live.related(product_id)

    def views(ids: tuple[str, ...]) -> list[dict[str, Any]]:
        products = (p.catalog.product(pid) for pid in ids if pid != product_id)
        return [v for v in products if v is not None][:RELATED_SIZE]

    return json(
        {
            "boughtTogether": views(found.bought_together if found else ()),
            "alsoViewed": views(found.also_viewed if found else ()),
        }
    )
