"""Checkout and order routes: idempotent checkout, simulated payment, order lookups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from kartshoppe.api.deps import Live
from kartshoppe.api.routes._responses import ERRORS, json
from kartshoppe.api.schemas import CheckoutBody, OrderOut
from kartshoppe.domain.errors import DomainError
from kartshoppe.events import Id, owner_key
from kartshoppe.security.guards import ORDER_OWNER, Caller, check_named_user

router = APIRouter(tags=["orders"], responses=ERRORS)
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
    order, created = await p.service.checkout(body.session_id, body.user_id, body.idempotency_key)
    return json(OrderOut.of(order).to_json(), 201 if created else 200)


@router.post("/orders/{orderId}/pay", response_model=OrderOut, dependencies=ORDER_OWNER)
async def pay_order(p: Live, order_id: OrderId) -> Response:
    return json(OrderOut.of(await p.service.pay_order(order_id)).to_json())


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
