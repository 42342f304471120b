"""The e-mails an order sends its shopper as its status moves, plain text and HTML with the same
figures as the order page: the confirmation once paid, a notice once shipped, and one once
cancelled (with the refund, when money was taken). One message per order and kind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import escape

from kartshoppe.domain.checkout import address_lines
from kartshoppe.domain.money import line_total
from kartshoppe.domain.orders import Order, lapsed
from kartshoppe.events import OrderStatus
from kartshoppe.mail.format import money
from kartshoppe.mail.outbox import Draft


def _day(iso: str) -> str:
    """A delivery estimate as the shopper reads it: "Tuesday, December 1, 2026"."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day:%A, %B} {day.day}, {day.year}"


def _where(order: Order) -> list[str]:
    """Where and when the order goes, as far as it says."""
    notes = []
    if order.delivery is not None:
        expected = _day(order.delivery.estimated_date)
        notes.append(f"Delivery: {order.delivery.label}, expected {expected}")
    if order.address is not None:
        notes.append(f"Ship to: {', '.join(address_lines(order.address))}")
    return notes


def _lines(order: Order) -> list[tuple[str, Decimal]]:
    return [
        (
            f"{line.quantity} x {line.name or line.product_id}",
            line_total(line.unit_price, line.quantity),
        )
        for line in order.lines
    ]


def _bill(order: Order) -> list[tuple[str, Decimal]]:
    coupon = f" ({order.coupon_code})" if order.coupon_code else ""
    return [
        *_lines(order),
        ("Subtotal", order.subtotal),
        ("Discount" + coupon, -order.discount),
        ("Shipping", order.shipping),
        ("Tax", order.tax),
        ("Total", order.total),
    ]


def _draft(
    order: Order,
    kind: str,
    subject: str,
    heading: str,
    said: list[str],
    rows: list[tuple[str, Decimal]],
    shipping: bool,
    link: str,
) -> Draft | None:
    """One message: a heading, what it says (sentences), the rows of money, where the order
    goes when `shipping`, and the `link` to its page; None when the order has no e-mail
    address."""
    if not order.email:
        return None
    notes = _where(order) if shipping else []
    text = [
        *said,
        "",
        *(f"{label:<40} {money(amount):>12}" for label, amount in rows),
        "",
        *notes,
        "",
        f"See your order: {link}",
    ]
    html_rows = "".join(
        f"<tr><td>{escape(label)}</td><td align='right'>{money(amount)}</td></tr>"
        for label, amount in rows
    )
    html = (
        f"<html><body><h1>{escape(heading)}</h1>"
        + "".join(f"<p>{escape(s)}</p>" for s in said)
        + f"<table>{html_rows}</table>"
        + "".join(f"<p>{escape(n)}</p>" for n in notes)
        + f"<p><a href='{escape(link, quote=True)}'>See your order</a></p>"
        + "</body></html>"
    )
    return Draft(
        key=f"{kind}:{order.order_id}",
        to=order.email,
        subject=subject,
        text="\n".join(text).rstrip() + "\n",
        html=html,
    )


def confirmation(order: Order, link: str) -> Draft | None:
    """The confirmation of a paid order, or None when the order has no e-mail address."""
    said = [f"Thank you for your order {order.reference}."]
    subject = f"KartShoppe order confirmation {order.reference}: {money(order.total)}"
    return _draft(
        order, "confirmation", subject, "Thank you for your order", said, _bill(order), True, link
    )


def shipped(order: Order, link: str) -> Draft | None:
    """The notice that an order is on its way, or None without an e-mail address."""
    said = [f"Your order {order.reference} is on its way."]
    if order.tracking_number:
        said.append(f"Its tracking number is {order.tracking_number}.")
    subject = f"Your KartShoppe order {order.reference} has shipped"
    heading = "Your order is on its way"
    return _draft(order, "shipped", subject, heading, said, _lines(order), True, link)


def _why_cancelled(order: Order) -> list[str]:
    """Why the shop cancelled it, when it was the shop: not paid by its pay-by time."""
    if not lapsed(order) or order.pay_by is None:
        return []
    minutes = max(1, (order.pay_by - order.created_at) // 60_000)
    return [
        f"It was not paid within {minutes} minutes of being placed, so its items went back on sale."
    ]


def cancelled(order: Order, link: str) -> Draft | None:
    """The notice that an order is cancelled, with the refund of what was paid; None without an
    e-mail address."""
    refund = next((p for p in order.payments if p.kind == "REFUNDED"), None)
    card = order.captured.card_last4 if order.captured is not None else ""
    paid_back = "Nothing was charged."
    if refund is not None:
        ending = f" ending {card}" if card else ""
        paid_back = f"We refunded {money(refund.amount)} to your card{ending}."
    said = [f"Your order {order.reference} is cancelled.", *_why_cancelled(order), paid_back]
    subject = f"Your KartShoppe order {order.reference} is cancelled"
    return _draft(
        order, "cancelled", subject, "Your order is cancelled", said, _lines(order), False, link
    )


def order_mail(order: Order, link: str) -> Draft | None:
    """The e-mail the order's status sends, with the `link` to its page, if any (None without
    an e-mail address too)."""
    match order.status:
        case OrderStatus.PAID:
            return confirmation(order, link)
        case OrderStatus.SHIPPED:
            return shipped(order, link)
        case OrderStatus.CANCELLED:
            return cancelled(order, link)
        case _:
            return None
