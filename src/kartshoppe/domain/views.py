"""The API's JSON shapes of carts, orders and products (docs/API.md), as pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kartshoppe.domain.cart import Cart
from kartshoppe.domain.catalog import effective_price, sale_active
from kartshoppe.domain.checkout import Quote
from kartshoppe.domain.coupons import CouponState
from kartshoppe.domain.inventory import LOW_STOCK_THRESHOLD, StockLevel
from kartshoppe.domain.money import line_total
from kartshoppe.domain.orders import Order
from kartshoppe.domain.pricing import PricedLine, price_lines, subtotal
from kartshoppe.events import Address, Delivery, Product, json_number


def _line(line: PricedLine) -> dict[str, Any]:
    return {
        "productId": line.product_id,
        "name": line.name,
        "quantity": line.quantity,
        "unitPrice": json_number(line.unit_price),
        "lineTotal": json_number(line.line_total),
    }


def cart_view(cart: Cart, products: Mapping[str, Product], at_ms: int) -> dict[str, Any]:
    """The cart at the prices that will be charged at `at_ms` (lowest of snapshot and now)."""
    lines = price_lines(cart.lines, products, at_ms)
    return {
        "cartId": cart.cart_id,
        "sessionId": cart.session_id,
        "userId": cart.user_id,
        "lines": [_line(line) for line in lines],
        "itemCount": cart.item_count,
        "subtotal": json_number(subtotal(lines)),
        "updatedAt": cart.updated_at,
    }


def _address(address: Address | None) -> dict[str, Any] | None:
    return address.model_dump(mode="json", by_alias=True) if address else None


def _delivery(delivery: Delivery | None) -> dict[str, Any] | None:
    return delivery.model_dump(mode="json", by_alias=True) if delivery else None


def quote_view(quote: Quote, options: list[Delivery]) -> dict[str, Any]:
    return {
        "lines": [_line(line) for line in quote.lines],
        "subtotal": json_number(quote.subtotal),
        "discount": json_number(quote.discount),
        "shipping": json_number(quote.shipping),
        "tax": json_number(quote.tax),
        "total": json_number(quote.total),
        "couponCode": quote.coupon_code,
        "delivery": _delivery(quote.delivery),
        "deliveryOptions": [_delivery(option) for option in options],
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
                "unitPrice": json_number(line.unit_price),
                "lineTotal": json_number(line_total(line.unit_price, line.quantity)),
            }
            for line in order.lines
        ],
        "subtotal": json_number(order.subtotal),
        "discount": json_number(order.discount),
        "shipping": json_number(order.shipping),
        "tax": json_number(order.tax),
        "total": json_number(order.total),
        "couponCode": order.coupon_code,
        "email": order.email,
        "address": _address(order.address),
        "delivery": _delivery(order.delivery),
        "payments": [
            {
                "kind": p.kind,
                "transactionId": p.transaction_id,
                "amount": json_number(p.amount),
                "cardLast4": p.card_last4,
                "reason": p.reason,
                "timestamp": p.timestamp,
            }
            for p in order.payments
        ],
        "status": order.status.value,
        "createdAt": order.created_at,
        "updatedAt": order.updated_at,
        "history": [{"status": status.value, "timestamp": ts} for status, ts in order.history],
    }


def coupon_view(state: CouponState) -> dict[str, Any]:
    view = state.coupon.model_dump(mode="json", by_alias=True)
    view["redeemed"] = len(state.redemptions)
    return view


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
        price=json_number(effective_price(product, at_ms)),
        listPrice=json_number(product.price),
        lowStock=0 < available <= LOW_STOCK_THRESHOLD,
        soldOut=available <= 0,
    )
    return view
