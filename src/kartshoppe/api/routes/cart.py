"""Cart routes: read, add, remove, change quantity, clear, and merge into a user's cart."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from starlette.responses import Response

from kartshoppe.api.declared import declared_router
from kartshoppe.api.deps import Live, Platform
from kartshoppe.api.routes._responses import ERRORS, json
from kartshoppe.api.schemas import (
    AddToCartBody,
    MergeBody,
    OwnerBody,
    RemoveFromCartBody,
    UpdateQuantityBody,
)
from kartshoppe.domain.cart import Cart, cart_id_for
from kartshoppe.events import Id, now_ms
from kartshoppe.security.guards import Caller, check_named_user
from kartshoppe.views.models import CartOut

router = declared_router(prefix="/cart", tags=["cart"], responses=ERRORS)
SessionId = Annotated[Id, Path(alias="sessionId")]


def _answer(p: Platform, cart: Cart) -> Response:
    """The cart at the prices that will be charged now."""
    return json(CartOut.json_of(cart, p.service.state.products, now_ms()))


@router.get("/{sessionId}", response_model=CartOut)
async def get_cart(
    p: Live, session_id: SessionId, user_id: Annotated[Id | None, Query(alias="userId")] = None
) -> Response:
    cart = p.service.state.cart(cart_id_for(session_id, user_id))
    return _answer(p, cart)


@router.post("/{sessionId}/add", response_model=CartOut)
async def add_to_cart(
    p: Live, principal: Caller, session_id: SessionId, body: AddToCartBody
) -> Response:
    check_named_user(principal, body.user_id)
    cart = await p.service.add_to_cart(session_id, body.user_id, body.product_id, body.quantity)
    return _answer(p, cart)


@router.post("/{sessionId}/remove", response_model=CartOut)
async def remove_from_cart(
    p: Live, principal: Caller, session_id: SessionId, body: RemoveFromCartBody
) -> Response:
    check_named_user(principal, body.user_id)
    cart = await p.service.remove_from_cart(session_id, body.user_id, body.product_id)
    return _answer(p, cart)


@router.post("/{sessionId}/update", response_model=CartOut)
async def update_quantity(
    p: Live, principal: Caller, session_id: SessionId, body: UpdateQuantityBody
) -> Response:
    check_named_user(principal, body.user_id)
    cart = await p.service.change_quantity(session_id, body.user_id, body.product_id, body.quantity)
    return _answer(p, cart)


@router.post("/{sessionId}/clear", response_model=CartOut)
async def clear_cart(
    p: Live, principal: Caller, session_id: SessionId, body: OwnerBody
) -> Response:
    check_named_user(principal, body.user_id)
    cart = await p.service.clear_cart(session_id, body.user_id)
    return _answer(p, cart)


@router.post("/{sessionId}/merge", response_model=CartOut)
async def merge_cart(
    p: Live, principal: Caller, session_id: SessionId, body: MergeBody
) -> Response:
    check_named_user(principal, body.user_id)
    cart = await p.service.merge_carts(session_id, body.user_id)
    return _answer(p, cart)
