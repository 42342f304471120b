"""Cart rules: add, remove, change quantity, clear and merge; line limits and price snapshots.

A cart belongs to the user when the shopper is signed in (every device of that user shares it)
and to the session otherwise. When a user id appears, the anonymous session cart is merged into
the user's cart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from kartshoppe.domain.catalog import check_on_sale, effective_price
from kartshoppe.domain.errors import DomainError, NotFoundError
from kartshoppe.domain.inventory import StockLevel, check_available
from kartshoppe.domain.meta import Meta
from kartshoppe.events import (
    MAX_QUANTITY,
    AddToCart,
    CartCleared,
    CartLine,
    CartMerged,
    CartQuantityChanged,
    Event,
    Product,
    RemoveFromCart,
    owner_key,
)

MAX_LINES = 50


@dataclass(frozen=True, slots=True)
class Cart:
    cart_id: str
    session_id: str | None = None
    user_id: str | None = None
    lines: tuple[CartLine, ...] = ()
    updated_at: int = 0

    def line(self, product_id: str) -> CartLine | None:
        return next((line for line in self.lines if line.product_id == product_id), None)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


def cart_id_for(session_id: str | None, user_id: str | None) -> str:
    """The user's cart when signed in, else the session's."""
    cart_id = owner_key(user_id, session_id)
    if not cart_id:
        raise DomainError("validation_error", "a sessionId or userId is required", "sessionId")
    return cart_id


def empty_cart(cart_id: str) -> Cart:
    return Cart(cart_id=cart_id)


def _check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise DomainError(
            "line_limit", f"quantity must be between 1 and {MAX_QUANTITY}", "quantity"
        )


def _existing_line(cart: Cart, product_id: str) -> CartLine:
    line = cart.line(product_id)
    if line is None:
        raise NotFoundError("not_in_cart", f"'{product_id}' is not in the cart", "productId")
    return line


def decide_add(
    cart: Cart, product: Product | None, level: StockLevel | None, quantity: int, meta: Meta
) -> list[Event]:
    if product is None:
        raise NotFoundError("unknown_product", "this product is not in the shop", "productId")
    check_on_sale(product)
    _check_quantity(quantity)
    existing = cart.line(product.id)
    total = quantity + (existing.quantity if existing else 0)
    if total > MAX_QUANTITY:
        raise DomainError(
            "line_limit", f"at most {MAX_QUANTITY} of one product per cart", "quantity"
        )
    if existing is None and len(cart.lines) >= MAX_LINES:
        raise DomainError("cart_full", f"a cart holds at most {MAX_LINES} products", "productId")
    check_available(level, product.id, total, product.name)
    price = effective_price(product, meta.timestamp)
    return [AddToCart(product_id=product.id, quantity=quantity, price=price, **meta.fields())]


def decide_remove(cart: Cart, product_id: str, meta: Meta) -> list[Event]:
    _existing_line(cart, product_id)
    return [RemoveFromCart(product_id=product_id, **meta.fields())]


def decide_change_quantity(
    cart: Cart, product_id: str, level: StockLevel | None, quantity: int, meta: Meta
) -> list[Event]:
    line = _existing_line(cart, product_id)
    _check_quantity(quantity)
    if quantity == line.quantity:
        return []
    check_available(level, product_id, quantity, line.name)
    return [CartQuantityChanged(product_id=product_id, quantity=quantity, **meta.fields())]


def decide_clear(cart: Cart, meta: Meta) -> list[Event]:
    return [CartCleared(**meta.fields())] if cart.lines else []


def decide_merge(
    session_cart: Cart, user_cart: Cart, levels: Mapping[str, StockLevel], meta: Meta
) -> list[Event]:
    """Move the anonymous cart's lines into the user's; quantities add up within the limits."""
    if not session_cart.lines or session_cart.cart_id == user_cart.cart_id:
        return []
    merged: list[CartLine] = []
    for line in session_cart.lines:
        level = levels.get(line.product_id)
        held = user_cart.line(line.product_id)
        room = min(MAX_QUANTITY, level.available if level else 0) - (held.quantity if held else 0)
        quantity = min(line.quantity, room)
        if quantity > 0:
            merged.append(line.model_copy(update={"quantity": quantity}))
    return [CartMerged(from_session_id=session_cart.cart_id, lines=tuple(merged), **meta.fields())]


def _with_line(cart: Cart, line: CartLine) -> tuple[CartLine, ...]:
    if cart.line(line.product_id) is None:
        return (*cart.lines, line)
    return tuple(line if old.product_id == line.product_id else old for old in cart.lines)


def _add_line(cart: Cart, product_id: str, quantity: int, unit_price: Decimal, name: str) -> Cart:
    held = cart.line(product_id)
    total = min(MAX_QUANTITY, quantity + (held.quantity if held else 0))
    line = CartLine(
        product_id=product_id,
        quantity=total,
        unit_price=unit_price,
        name=name or (held.name if held else ""),
    )
    return replace(cart, lines=_with_line(cart, line))


def evolve_cart(cart: Cart, event: Event, names: Mapping[str, str] | None = None) -> Cart:
    """Apply one event to the cart it belongs to. `names` supplies product names for lines."""
    cart = replace(
        cart,
        session_id=event.session_id or cart.session_id,
        user_id=event.user_id or cart.user_id,
        updated_at=max(cart.updated_at, event.timestamp),
    )
    match event:
        case AddToCart():
            name = (names or {}).get(event.product_id, "")
            return _add_line(cart, event.product_id, event.quantity, event.price, name)
        case RemoveFromCart():
            lines = tuple(line for line in cart.lines if line.product_id != event.product_id)
            return replace(cart, lines=lines)
        case CartQuantityChanged():
            held = cart.line(event.product_id)
            if held is None:
                return cart
            updated = held.model_copy(update={"quantity": event.quantity})
            return replace(cart, lines=_with_line(cart, updated))
        case CartCleared():
            return replace(cart, lines=())
        case CartMerged():
            for line in event.lines:
                cart = _add_line(cart, line.product_id, line.quantity, line.unit_price, line.name)
            return cart
        case _:
            return cart
