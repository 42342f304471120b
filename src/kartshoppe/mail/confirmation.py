"""The order confirmation e-mail, as plain text and HTML with the same figures as the order page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

from kartshoppe.domain.money import line_total
from kartshoppe.domain.orders import Order


@dataclass(frozen=True, slots=True)
class Draft:
    key: str
    """One message per key: enqueuing the same key twice sends once."""
    to: str
    subject: str
    text: str
    html: str


def _money(value: object) -> str:
    return f"${value}"


def _day(iso: str) -> str:
    """A delivery estimate as the shopper reads it: "Tuesday, December 1, 2026"."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day:%A, %B} {day.day}, {day.year}"


def confirmation(order: Order) -> Draft | None:
    """The confirmation of a paid order, or None when the order has no e-mail address."""
    if not order.email:
        return None
    rows = [
        (
            f"{line.quantity} x {line.name or line.product_id}",
            line_total(line.unit_price, line.quantity),
        )
        for line in order.lines
    ]
    sums = [
        ("Subtotal", order.subtotal),
        ("Discount" + (f" ({order.coupon_code})" if order.coupon_code else ""), -order.discount),
        ("Shipping", order.shipping),
        ("Tax", order.tax),
        ("Total", order.total),
    ]
    delivery = ""
    if order.delivery is not None:
        delivery = f"{order.delivery.label}, expected {_day(order.delivery.estimated_date)}"
    address = ""
    if order.address is not None:
        a = order.address
        parts = [
            a.name,
            a.line1,
            a.line2,
            f"{a.postal_code} {a.city} {a.region}".strip(),
            a.country,
        ]
        address = ", ".join(p for p in parts if p)
    text_lines = [
        f"Thank you for your order {order.reference}.",
        "",
        *(f"{label:<40} {_money(amount):>12}" for label, amount in rows),
        "",
        *(f"{label:<40} {_money(amount):>12}" for label, amount in sums),
        "",
        f"Delivery: {delivery}" if delivery else "",
        f"Ship to: {address}" if address else "",
    ]
    html_rows = "".join(
        f"<tr><td>{escape(label)}</td><td align='right'>{_money(amount)}</td></tr>"
        for label, amount in [*rows, *sums]
    )
    html = (
        f"<html><body><h1>Thank you for your order</h1><p>Order {escape(order.reference)}</p>"
        f"<table>{html_rows}</table>"
        + (f"<p>Delivery: {escape(delivery)}</p>" if delivery else "")
        + (f"<p>Ship to: {escape(address)}</p>" if address else "")
        + "</body></html>"
    )
    return Draft(
        key=f"confirmation:{order.order_id}",
        to=order.email,
        subject=f"KartShoppe order confirmation {order.reference}: {_money(order.total)}",
        text="\n".join(text_lines).rstrip() + "\n",
        html=html,
    )
