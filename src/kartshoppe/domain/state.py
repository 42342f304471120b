"""The whole shop as a fold over events: products, stock levels, carts and orders.

`ShopState.apply` routes each event to the `evolve_*` function of the aggregate it belongs to.
The same fold serves the write side's decisions, the rebuild of views on start, time travel
over the event store and replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kartshoppe.domain.cart import Cart, empty_cart, evolve_cart
from kartshoppe.domain.catalog import evolve_product
from kartshoppe.domain.coupons import CouponState, evolve_coupon
from kartshoppe.domain.inventory import StockLevel, evolve_stock
from kartshoppe.domain.orders import Order, evolve_order
from kartshoppe.domain.reference_price import History, recorded
from kartshoppe.domain.reviews import ProductReviews, evolve_reviews, has_bought, with_rating
from kartshoppe.domain.wishlist import Wishlist, evolve_wishlist
from kartshoppe.events import (
    CART_EVENTS,
    CATALOG_EVENTS,
    COUPON_EVENTS,
    ORDER_EVENTS,
    WISHLIST_EVENTS,
    AddToCart,
    CartMerged,
    CouponCreated,
    Event,
    InventoryChanged,
    OrderPlaced,
    OrdersClaimed,
    Product,
    ReviewPosted,
    event_key,
)


@dataclass
class ShopState:
    products: dict[str, Product] = field(default_factory=dict)
    stock: dict[str, StockLevel] = field(default_factory=dict)
    carts: dict[str, Cart] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    order_by_key: dict[str, str] = field(default_factory=dict)
    orders_by_owner: dict[str, list[str]] = field(default_factory=dict)
    coupons: dict[str, CouponState] = field(default_factory=dict)
    price_history: dict[str, History] = field(default_factory=dict)
    """Per product, the prices applied lately: what the "was" price rule reads."""
    reviews: dict[str, ProductReviews] = field(default_factory=dict)
    wishlists: dict[str, Wishlist] = field(default_factory=dict)
    """user id -> wishlist"""

    def apply(self, event: Event) -> None:
        if isinstance(event, CART_EVENTS):
            self._apply_cart(event)
        elif isinstance(event, CATALOG_EVENTS):
            self._apply_catalog(event)
        elif isinstance(event, InventoryChanged):
            self.stock[event.product_id] = StockLevel(event.product_id, event.stock, event.reserved)
        elif isinstance(event, OrdersClaimed):
            self._apply_claim(event)
        elif isinstance(event, ReviewPosted):
            self._apply_review(event)
        elif isinstance(event, WISHLIST_EVENTS) and event.user_id is not None:
            wishlist = self.wishlists.setdefault(event.user_id, {})
            evolve_wishlist(wishlist, event)
        if isinstance(event, ORDER_EVENTS):
            self._apply_order(event)
        if isinstance(event, COUPON_EVENTS):
            code = event.coupon.code if isinstance(event, CouponCreated) else event.code
            coupon = evolve_coupon(self.coupons.get(code), event)
            if coupon is not None:
                self.coupons[code] = coupon

    def cart(self, cart_id: str) -> Cart:
        return self.carts.get(cart_id) or empty_cart(cart_id)

    def _apply_cart(self, event: Event) -> None:
        key = event_key(event)
        if key is None:
            return
        names = {}
        if isinstance(event, AddToCart) and event.product_id in self.products:
            names[event.product_id] = self.products[event.product_id].name
        self.carts[key] = evolve_cart(self.cart(key), event, names)
        if isinstance(event, CartMerged):
            self.carts.pop(event.from_session_id, None)

    def _apply_catalog(self, event: Event) -> None:
        assert isinstance(event, CATALOG_EVENTS)
        product = evolve_product(self.products.get(event.product_id), event)
        if product is not None:
            # the rating is its reviews' (on another topic): a catalog event never overrides it
            self.products[event.product_id] = with_rating(
                product, self.reviews.get(event.product_id)
            )
            history = self.price_history.get(event.product_id, ())
            self.price_history[event.product_id] = recorded(history, product, event.timestamp)
        level = evolve_stock(self.stock.get(event.product_id), event)
        if level is not None:
            self.stock[event.product_id] = level

    def _apply_review(self, event: ReviewPosted) -> None:
        reviews = evolve_reviews(self.reviews.get(event.product_id), event)
        self.reviews[event.product_id] = reviews
        product = self.products.get(event.product_id)
        if product is not None:
            self.products[event.product_id] = with_rating(product, reviews)

    def bought(self, user_id: str, product_id: str) -> bool:
        """Whether the user has a paid order containing the product."""
        owned = (self.orders[i] for i in self.orders_by_owner.get(user_id, ()))
        return has_bought(owned, product_id)

    def _apply_order(self, event: Event) -> None:
        assert isinstance(event, ORDER_EVENTS)
        order = evolve_order(self.orders.get(event.order_id), event)
        if order is None:
            return
        if isinstance(event, OrderPlaced) and event.order_id not in self.orders:
            self.order_by_key[event.idempotency_key] = event.order_id
            for owner in {event.user_id, event.session_id} - {None}:
                assert owner is not None
                self.orders_by_owner.setdefault(owner, []).append(event.order_id)
        self.orders[event.order_id] = order

    def _apply_claim(self, event: OrdersClaimed) -> None:
        if event.user_id is None:
            return
        owned = self.orders_by_owner.setdefault(event.user_id, [])
        for order_id in event.order_ids:
            order = evolve_order(self.orders.get(order_id), event)
            if order is None:
                continue
            self.orders[order_id] = order
            if order_id not in owned:
                owned.append(order_id)
