"""Builders for the domain rule tests: products, stock levels, carts and command metadata."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from kartshoppe.domain.cart import Cart, evolve_cart
from kartshoppe.domain.checkout import ShopRules, make_quote
from kartshoppe.domain.inventory import StockLevel
from kartshoppe.domain.meta import Meta
from kartshoppe.domain.orders import decide_checkout
from kartshoppe.domain.pricing import price_lines, require_sold
from kartshoppe.domain.state import ShopState
from kartshoppe.events import AddToCart, Event, FlashSale, Product

T0 = 1_760_000_000_000
"""A fixed event time (epoch ms) so every decision is reproducible."""


def product(product_id: str = "p1", price: float = 10.0, stock: int = 5, **extra: Any) -> Product:
    fields: dict[str, Any] = {
        "id": product_id,
        "name": f"Product {product_id}",
        "category": "Things",
        "price": price,
        "original_price": price,
        "stock": stock,
        **extra,
    }
    return Product(**fields)


def on_sale(base: Product, sale_price: float | str, starts_at: int, ends_at: int) -> Product:
    exact = Decimal(str(sale_price))
    discount = float(100 * (1 - exact / base.price))
    sale = FlashSale(
        discount_percent=discount, starts_at=starts_at, ends_at=ends_at, sale_price=sale_price
    )
    return base.model_copy(update={"flash_sale": sale})


def level(product_id: str = "p1", stock: int = 5, reserved: int = 0) -> StockLevel:
    return StockLevel(product_id, stock, reserved)


def meta(timestamp: int = T0, session_id: str | None = "s1", user_id: str | None = None) -> Meta:
    return Meta(timestamp, session_id, user_id)


def cart_of(cart_id: str = "s1", lines: Iterable[tuple[str, int, float]] = ()) -> Cart:
    """A cart folded from one `ADD_TO_CART` per (product id, quantity, unit price)."""
    cart = Cart(cart_id=cart_id)
    for product_id, quantity, price in lines:
        event = AddToCart(
            product_id=product_id, quantity=quantity, price=price, session_id=cart_id, timestamp=T0
        )
        cart = evolve_cart(cart, event)
    return cart


def fold(events: Iterable[Event], state: ShopState | None = None) -> ShopState:
    state = state if state is not None else ShopState()
    for event in events:
        state.apply(event)
    return state


def checkout(
    cart: Cart,
    products: Mapping[str, Product],
    levels: Mapping[str, StockLevel],
    order_id: str,
    key: str,
    at: Meta,
) -> list[Event]:
    """A quick checkout (no address, no coupon) priced the way the shop service prices it."""
    lines = price_lines(cart.lines, products, at.timestamp)
    require_sold(cart.lines, products)
    quote = make_quote(lines, Decimal(0), None, None, None, ShopRules(), at.timestamp)
    return decide_checkout(cart, quote, levels, order_id, key, at)
