"""Order rules: checkout with an idempotency key, and the order status life cycle.

Checkout reserves every line's units (never more than available), places the order and empties
the cart, all in one decision whose events are appended atomically. Payment turns the
reservation into a sale; cancelling (or an expired reservation) gives the units back.

    PLACED -> PAID -> SHIPPED -> DELIVERED
    PLACED -> CANCELLED, PAID -> CANCELLED
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from kartshoppe.domain.cart import Cart
from kartshoppe.domain.catalog import effective_price
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.inventory import StockLevel, inventory_event, release, reserve, sell
from kartshoppe.domain.meta import Meta
from kartshoppe.events import (
    CartCleared,
    CheckoutStarted,
    Event,
    OrderLine,
    OrderPlaced,
    OrderStatus,
    OrderStatusChanged,
    Product,
    StockReleased,
    StockReserved,
)

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PLACED: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    idempotency_key: str
    lines: tuple[OrderLine, ...]
    total: float
    status: OrderStatus
    created_at: int
    updated_at: int
    session_id: str | None = None
    user_id: str | None = None
    history: tuple[tuple[OrderStatus, int], ...] = ()


def _order_line(line_product: Product, quantity: int, snapshot: float, at_ms: int) -> OrderLine:
    # the shopper pays the lower of the price seen when adding and the price now
    unit_price = min(snapshot, effective_price(line_product, at_ms))
    return OrderLine(
        product_id=line_product.id, quantity=quantity, unit_price=unit_price, name=line_product.name
    )


def decide_checkout(
    cart: Cart,
    products: Mapping[str, Product],
    levels: Mapping[str, StockLevel],
    order_id: str,
    idempotency_key: str,
    meta: Meta,
) -> list[Event]:
    """Reserve, place and clear; `insufficient_stock` (and no event at all) if any line is short."""
    if not cart.lines:
        raise DomainError("empty_cart", "the cart is empty", "sessionId")
    lines: list[OrderLine] = []
    for cart_line in cart.lines:
        product = products.get(cart_line.product_id)
        if product is None:
            raise DomainError(
                "unknown_product", f"'{cart_line.product_id}' is no longer sold", "productId"
            )
        lines.append(_order_line(product, cart_line.quantity, cart_line.unit_price, meta.timestamp))
    reserved = reserve(levels, {line.product_id: line.quantity for line in lines})
    total = round(sum(line.unit_price * line.quantity for line in lines), 2)
    fields = meta.fields()
    events: list[Event] = [
        CheckoutStarted(order_id=order_id, idempotency_key=idempotency_key, **fields)
    ]
    for line in lines:
        events.append(
            StockReserved(
                product_id=line.product_id, order_id=order_id, quantity=line.quantity, **fields
            )
        )
        events.append(inventory_event(reserved[line.product_id], "RESERVED", meta))
    events.append(
        OrderPlaced(
            order_id=order_id,
            idempotency_key=idempotency_key,
            lines=tuple(lines),
            total=total,
            **fields,
        )
    )
    events.append(CartCleared(**fields))
    return events


def decide_status(
    order: Order, status: OrderStatus, levels: Mapping[str, StockLevel], meta: Meta
) -> list[Event]:
    """Move an order along its life cycle, with the inventory consequences of the move."""
    if status == order.status:
        return []
    if status not in TRANSITIONS[order.status]:
        raise DomainError(
            "invalid_transition", f"an order {order.status} cannot become {status}", "status"
        )
    fields = {**meta.fields(), "session_id": order.session_id, "user_id": order.user_id}
    events: list[Event] = []
    for line in order.lines:
        level = levels.get(line.product_id, StockLevel(line.product_id, 0))
        if status == OrderStatus.PAID:
            events.append(inventory_event(sell(level, line.quantity), "SOLD", meta))
        elif order.status == OrderStatus.PLACED:
            events.append(
                StockReleased(
                    product_id=line.product_id,
                    order_id=order.order_id,
                    quantity=line.quantity,
                    **fields,
                )
            )
            events.append(inventory_event(release(level, line.quantity), "RELEASED", meta))
        elif status == OrderStatus.CANCELLED and order.status == OrderStatus.PAID:
            # a refunded paid order puts its units back on the shelf
            restocked = StockLevel(level.product_id, level.stock + line.quantity, level.reserved)
            events.append(inventory_event(restocked, "ADJUSTMENT", meta))
    events.append(
        OrderStatusChanged(
            order_id=order.order_id, status=status, previous_status=order.status, **fields
        )
    )
    return events


def decide_payment(order: Order, levels: Mapping[str, StockLevel], meta: Meta) -> list[Event]:
    """Pay an order: only one awaiting payment can be, so paying twice is refused too."""
    if OrderStatus.PAID not in TRANSITIONS[order.status]:
        raise DomainError("invalid_transition", f"order is {order.status}, not awaiting payment")
    return decide_status(order, OrderStatus.PAID, levels, meta)


def evolve_order(order: Order | None, event: Event) -> Order | None:
    match event:
        case OrderPlaced() if order is None:
            return Order(
                order_id=event.order_id,
                idempotency_key=event.idempotency_key,
                lines=event.lines,
                total=event.total,
                status=OrderStatus.PLACED,
                created_at=event.timestamp,
                updated_at=event.timestamp,
                session_id=event.session_id,
                user_id=event.user_id,
                history=((OrderStatus.PLACED, event.timestamp),),
            )
        case OrderStatusChanged() if order is not None:
            return replace(
                order,
                status=event.status,
                updated_at=event.timestamp,
                history=(*order.history, (event.status, event.timestamp)),
            )
        case _:
            return order
