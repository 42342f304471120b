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
from decimal import Decimal
from typing import Any

from kartshoppe.domain.cart import Cart
from kartshoppe.domain.checkout import ORDER_HOLD_MS, Quote
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.inventory import StockLevel, inventory_event, release, reserve, sell
from kartshoppe.domain.meta import Meta
from kartshoppe.domain.payment import Card, Outcome, authorize, validate_card
from kartshoppe.events import (
    Address,
    CartCleared,
    CheckoutStarted,
    CouponRedeemed,
    CouponReleased,
    Delivery,
    Event,
    OrderLine,
    OrderPlaced,
    OrdersClaimed,
    OrderStatus,
    OrderStatusChanged,
    PaymentCaptured,
    PaymentDeclined,
    RefundRecorded,
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
class PaymentRecord:
    kind: str
    """CAPTURED, DECLINED or REFUNDED"""
    transaction_id: str
    amount: Decimal
    timestamp: int
    card_last4: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    idempotency_key: str
    lines: tuple[OrderLine, ...]
    total: Decimal
    status: OrderStatus
    created_at: int
    updated_at: int
    session_id: str | None = None
    user_id: str | None = None
    history: tuple[tuple[OrderStatus, int], ...] = ()
    subtotal: Decimal = Decimal(0)
    discount: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    coupon_code: str | None = None
    customer: str = ""
    email: str | None = None
    address: Address | None = None
    delivery: Delivery | None = None
    payments: tuple[PaymentRecord, ...] = ()
    pay_by: int | None = None
    """Until when it holds its items unpaid (`OrderPlaced.pay_by`)."""
    tracking_number: str | None = None
    """The parcel's number at the carrier, once shipped with one."""

    @property
    def captured(self) -> PaymentRecord | None:
        return next((p for p in self.payments if p.kind == "CAPTURED"), None)

    @property
    def reference(self) -> str:
        return order_reference(self.order_id)


def lapsed(order: Order) -> bool:
    """Whether it was cancelled for not being paid by its pay-by time (the shop's doing, not
    the shopper's or an operator's before it)."""
    if order.status != OrderStatus.CANCELLED or order.captured is not None:
        return False
    cancelled_at = order.history[-1][1] if order.history else order.updated_at
    return order.pay_by is not None and cancelled_at >= order.pay_by


def order_reference(order_id: str) -> str:
    """What a shopper reads and quotes for an order: the first eight characters of its id's
    hash, upper case, in two groups ("order_dd400c09..." is "DD40-0C09"). The id itself stays
    the key (its addresses, its events); 32 bits tell one shopper's orders apart."""
    code = order_id.removeprefix("order_").upper()[:8]
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


def names_order(typed: str, order_id: str) -> bool:
    """Whether what an operator typed names the order: its id as it is, or its reference as a
    shopper quotes it (any case, with or without the dash, spaces around ignored)."""
    text = typed.strip()
    if text == order_id:
        return True
    quoted = text.upper().replace("-", "")
    return len(quoted) == 8 and quoted == order_reference(order_id).replace("-", "")


def decide_checkout(
    cart: Cart,
    quote: Quote,
    levels: Mapping[str, StockLevel],
    order_id: str,
    idempotency_key: str,
    meta: Meta,
    email: str | None = None,
    customer: str = "",
    hold_ms: int = ORDER_HOLD_MS,
) -> list[Event]:
    """Reserve, place (at the quote's prices, to be paid within `hold_ms`) and clear;
    `insufficient_stock` (and no event at all) if any line is short."""
    if not cart.lines:
        raise DomainError("empty_cart", "the cart is empty", "sessionId")
    lines = [
        OrderLine(
            product_id=line.product_id,
            quantity=line.quantity,
            unit_price=line.unit_price,
            name=line.name,
        )
        for line in quote.lines
    ]
    reserved = reserve(
        levels,
        {line.product_id: line.quantity for line in lines},
        {line.product_id: line.name for line in lines},
    )
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
            total=quote.total,
            subtotal=quote.subtotal,
            discount=quote.discount,
            shipping=quote.shipping,
            tax=quote.tax,
            coupon_code=quote.coupon_code,
            email=email,
            address=quote.address,
            delivery=quote.delivery,
            pay_by=meta.timestamp + hold_ms,
            **fields,
        )
    )
    if quote.coupon_code is not None:
        events.append(
            CouponRedeemed(
                code=quote.coupon_code,
                order_id=order_id,
                customer=customer,
                amount=quote.discount,
                **fields,
            )
        )
    events.append(CartCleared(**fields))
    return events


def _order_fields(order: Order, meta: Meta) -> dict[str, Any]:
    return {**meta.fields(), "session_id": order.session_id, "user_id": order.user_id}


def decide_payment(
    order: Order,
    card: Card,
    amount: Decimal | None,
    transaction_id: str,
    levels: Mapping[str, StockLevel],
    meta: Meta,
) -> tuple[Outcome, str, list[Event]]:
    """Charge the order's total to the card. Declined: a `PaymentDeclined` record and the order
    still payable; unavailable: nothing recorded; approved: captured, sold and PAID."""
    if OrderStatus.PAID not in TRANSITIONS[order.status]:
        raise DomainError(
            "invalid_transition", f"the order is {order.status}, not awaiting payment", "status"
        )
    if amount is not None and amount != order.total:
        raise DomainError(
            "total_mismatch", f"the order's total is {order.total}, not {amount}", "amount"
        )
    validate_card(card, meta.timestamp)
    outcome, reason = authorize(card)
    fields = _order_fields(order, meta)
    if outcome == Outcome.UNAVAILABLE:
        return outcome, reason, []
    if outcome == Outcome.DECLINED:
        declined = PaymentDeclined(
            order_id=order.order_id,
            transaction_id=transaction_id,
            reason=reason,
            card_last4=card.last4,
            **fields,
        )
        return outcome, reason, [declined]
    captured = PaymentCaptured(
        order_id=order.order_id,
        transaction_id=transaction_id,
        amount=order.total,
        card_last4=card.last4,
        **fields,
    )
    return outcome, reason, [captured, *decide_status(order, OrderStatus.PAID, levels, meta)]


def decide_claim(orders: list[Order], session_id: str, meta: Meta) -> list[Event]:
    """A guest's orders follow the guest into the account on sign-in."""
    guest = tuple(o.order_id for o in orders if o.user_id is None)
    if not guest:
        return []
    return [OrdersClaimed(from_session_id=session_id, order_ids=guest, **meta.fields())]


def decide_status(
    order: Order,
    status: OrderStatus,
    levels: Mapping[str, StockLevel],
    meta: Meta,
    tracking_number: str | None = None,
) -> list[Event]:
    """Move an order along its life cycle, with the inventory consequences of the move; a
    parcel's `tracking_number` goes with shipping only."""
    if tracking_number is not None and status != OrderStatus.SHIPPED:
        raise DomainError(
            "validation_error", "a tracking number goes with shipping only", "trackingNumber"
        )
    if status == order.status:
        return []
    if status not in TRANSITIONS[order.status]:
        raise DomainError(
            "invalid_transition", f"an order {order.status} cannot become {status}", "status"
        )
    fields = _order_fields(order, meta)
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
    if status == OrderStatus.CANCELLED:
        events += _cancellation(order, fields)
    events.append(
        OrderStatusChanged(
            order_id=order.order_id,
            status=status,
            previous_status=order.status,
            tracking_number=tracking_number,
            **fields,
        )
    )
    return events


def _cancellation(order: Order, fields: dict[str, Any]) -> list[Event]:
    """A paid order's money goes back; a coupon's redemption is given back."""
    events: list[Event] = []
    captured = order.captured
    if captured is not None:
        events.append(
            RefundRecorded(
                order_id=order.order_id,
                transaction_id=captured.transaction_id,
                amount=captured.amount,
                **fields,
            )
        )
    if order.coupon_code is not None:
        events.append(
            CouponReleased(
                code=order.coupon_code,
                order_id=order.order_id,
                customer=order.customer,
                **fields,
            )
        )
    return events


def _payment(event: PaymentCaptured | PaymentDeclined | RefundRecorded) -> PaymentRecord:
    match event:
        case PaymentCaptured():
            return PaymentRecord(
                "CAPTURED", event.transaction_id, event.amount, event.timestamp, event.card_last4
            )
        case PaymentDeclined():
            return PaymentRecord(
                "DECLINED",
                event.transaction_id,
                Decimal(0),
                event.timestamp,
                event.card_last4,
                event.reason,
            )
        case RefundRecorded():
            return PaymentRecord("REFUNDED", event.transaction_id, event.amount, event.timestamp)


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
                subtotal=event.subtotal if event.subtotal is not None else event.total,
                discount=event.discount,
                shipping=event.shipping,
                tax=event.tax,
                coupon_code=event.coupon_code,
                email=event.email,
                address=event.address,
                delivery=event.delivery,
                pay_by=event.pay_by,
            )
        case CouponRedeemed() if order is not None:
            return replace(order, customer=event.customer)
        case PaymentCaptured() | PaymentDeclined() | RefundRecorded() if order is not None:
            return replace(order, payments=(*order.payments, _payment(event)))
        case OrdersClaimed() if order is not None:
            return replace(order, user_id=event.user_id)
        case OrderStatusChanged() if order is not None:
            return replace(
                order,
                status=event.status,
                updated_at=event.timestamp,
                history=(*order.history, (event.status, event.timestamp)),
                tracking_number=event.tracking_number or order.tracking_number,
            )
        case _:
            return order
