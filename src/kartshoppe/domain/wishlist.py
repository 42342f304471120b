"""Wishlists: each signed-in shopper's list of products to watch. Adding a product twice or
removing one that is not there changes nothing (no event), so a retried click is harmless. A
retired product cannot be wished for: it will not get cheaper or come back."""

from __future__ import annotations

from kartshoppe.domain.catalog import check_on_sale
from kartshoppe.domain.errors import DomainError, NotFoundError
from kartshoppe.domain.meta import Meta
from kartshoppe.events import Event, Product, WishlistItemAdded, WishlistItemRemoved

Wishlist = dict[str, int]
"""product id -> when it was added (epoch ms), in the order added."""

MAX_WISHLIST = 200


def decide_wish(
    wishlist: Wishlist, product: Product | None, product_id: str, meta: Meta
) -> list[Event]:
    if product is None:
        raise NotFoundError("unknown_product", f"no product '{product_id}'", "productId")
    check_on_sale(product)
    if product_id in wishlist:
        return []
    if len(wishlist) >= MAX_WISHLIST:
        raise DomainError(
            "wishlist_full", f"a wishlist holds at most {MAX_WISHLIST} products", "productId"
        )
    return [WishlistItemAdded(product_id=product_id, **meta.fields())]


def decide_unwish(wishlist: Wishlist, product_id: str, meta: Meta) -> list[Event]:
    if product_id not in wishlist:
        return []
    return [WishlistItemRemoved(product_id=product_id, **meta.fields())]


def evolve_wishlist(wishlist: Wishlist, event: Event) -> Wishlist:
    if isinstance(event, WishlistItemAdded):
        wishlist.setdefault(event.product_id, event.timestamp)
    elif isinstance(event, WishlistItemRemoved):
        wishlist.pop(event.product_id, None)
    return wishlist
