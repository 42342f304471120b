"""Checkout and order routes: the quote, idempotent checkout, simulated card payment, the
shopper's own cancellation, order lookups."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import Path, Query
from starlette.responses import Response

from kartshoppe.api.declared import declared_router
from kartshoppe.api.deps import Live
from kartshoppe.api.routes._responses import ERRORS, json
from kartshoppe.api.schemas import CheckoutBody, ErrorOut, PayBody, QuoteBody, QuoteOut
from kartshoppe.domain.checkout import CheckoutDetails
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.payment import Card
from kartshoppe.events import Id, OrderStatus, now_ms, owner_key
from kartshoppe.security.guards import ORDER_OWNER, Caller, check_named_user
from kartshoppe.views.models import OrderOut

router = declared_router(tags=["orders"], responses=ERRORS)
OrderId = Annotated[Id, Path(alias="orderId")]


@router.post(
    "/checkout",
    response_model=OrderOut,
    status_code=201,
    responses={
        200: {"model": OrderOut, "description": "the order of an idempotencyKey seen before"}
    },
)
async def checkout(p: Live, principal: Caller, body: CheckoutBody) -> Response:
    check_named_user(principal, body.user_id)
    details = _details(body, body.expected_total)
    order, created = await p.service.checkout(
        body.session_id, body.user_id, body.idempotency_key, details
    )
    return json(OrderOut.of(order).to_json(), 201 if created else 200)


def _details(body: QuoteBody, expected_total: Decimal | None = None) -> CheckoutDetails:
    return CheckoutDetails(
        email=body.email,
        address=body.address,
        delivery=body.delivery,
        coupon_code=body.coupon_code or None,
        expected_total=expected_total,
    )


@router.post("/checkout/quote", response_model=QuoteOut)
async def quote(p: Live, body: QuoteBody) -> Response:
    """The bill the cart would be placed at now: what the checkout page shows."""
    found, options = p.service.quote(body.session_id, body.user_id, _details(body), now_ms())
    return json(QuoteOut.of(found, options).to_json())


@router.post(
    "/orders/{orderId}/pay",
    response_model=OrderOut,
    dependencies=ORDER_OWNER,
    responses={402: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
async def pay_order(p: Live, order_id: OrderId, body: PayBody) -> Response:
    card = Card(number=body.card.number, expiry=body.card.expiry, cvc=body.card.cvc)
    return json(OrderOut.of(await p.service.pay(order_id, card, body.amount)).to_json())


@router.post("/orders/{orderId}/cancel", response_model=OrderOut, dependencies=ORDER_OWNER)
async def cancel_order(p: Live, order_id: OrderId) -> Response:
    """The shopper cancels an own order before it ships: stock released, payment refunded."""
    order = p.service.order(order_id)
    if order.status not in (OrderStatus.PLACED, OrderStatus.PAID):
        raise DomainError(
            "invalid_transition", f"an order {order.status} can no longer be cancelled", "status"
        )
    return json(
        OrderOut.of(await p.service.set_order_status(order_id, OrderStatus.CANCELLED)).to_json()
    )


@router.get("/orders/{orderId}", response_model=OrderOut, dependencies=ORDER_OWNER)
async def get_order(p: Live, order_id: OrderId) -> Response:
    return json(OrderOut.of(p.service.order(order_id)).to_json())


@router.get("/orders", response_model=list[OrderOut])
async def list_orders(
    p: Live,
    user_id: Annotated[Id | None, Query(alias="userId")] = None,
    session_id: Annotated[Id | None, Query(alias="sessionId")] = None,
) -> Response:
    owner = owner_key(user_id, session_id)
    if not owner:
        raise DomainError("validation_error", "give a userId or a sessionId", "userId")
    state = p.service.state
    ids = state.orders_by_owner.get(owner, [])
    found = sorted((state.orders[i] for i in ids), key=lambda o: -o.created_at)
    return json([OrderOut.of(o).to_json() for o in found])
