"""The API's JSON shapes of carts, orders and products (docs/API.md), as pure functions."""

from __future__ import annotations

from typing import Any

from kartshoppe.domain.cart import Cart
from kartshoppe.domain.catalog import effective_price, sale_active
from kartshoppe.domain.inventory import LOW_STOCK_THRESHOLD, StockLevel
from kartshoppe.domain.orders import Order
from kartshoppe.events import Product


def cart_view(cart: Cart) -> dict[str, Any]:
    return {
        "cartId": cart.cart_id,
        "sessionId": cart.session_id,
        "userId": cart.user_id,
        "lines": [
            {
                "productId": line.product_id,
                "name": line.name,
                "quantity": line.quantity,
                "unitPrice": line.unit_price,
                "lineTotal": round(line.unit_price * line.quantity, 2),
            }
            for line in cart.lines
        ],
        "itemCount": cart.item_count,
        "subtotal": cart.subtotal,
        "updatedAt": cart.updated_at,
    }


def order_view(order: Order) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "sessionId": order.session_id,
        "userId": order.user_id,
        "idempotencyKey": order.idempotency_key,
        "lines": [
            {
                "productId": line.product_id,
                "name": line.name,
                "quantity": line.quantity,
                "unitPrice": line.unit_price,
            }
            for line in order.lines
        ],
        "total": order.total,
        "status": order.status.value,
        "createdAt": order.created_at,
        "updatedAt": order.updated_at,
        "history": [{"status": status.value, "timestamp": ts} for status, ts in order.history],
    }


def product_view(product: Product, level: StockLevel | None, at_ms: int) -> dict[str, Any]:
    """The product with its live stock and the price a shopper pays at `at_ms`."""
    view = product.model_dump(mode="json", by_alias=True)
    if not sale_active(product, at_ms):
        view["flashSale"] = None
    stock = level.stock if level else product.stock
    available = level.available if level else product.stock
    view.update(
        stock=stock,
        available=available,
        price=effective_price(product, at_ms),
        listPrice=product.price,
        lowStock=0 < available <= LOW_STOCK_THRESHOLD,
        soldOut=available <= 0,
    )
    return view
