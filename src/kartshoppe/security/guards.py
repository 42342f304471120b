"""FastAPI dependencies that enforce who may do what (docs/ARCHITECTURE.md, Identity).

- Anonymous shoppers need no token: a session id alone reads and changes that session's cart.
- A request naming a `userId` (query or JSON body) needs a Bearer token of that same user:
  401 without a usable token, 403 for another user's id.
- An order is visible to its owner only: a user's order to that user, an anonymous order to
  whoever names the session it was placed from (`?sessionId=`); anyone else gets 404, so order
  ids reveal nothing. Operators see every order.
- Operator routes need a token with the `operator` role: 401 without one, 403 for a shopper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kartshoppe.config import Settings
from kartshoppe.events import Id
from kartshoppe.security.tokens import Principal, TokenError, TokenService, load_secret

bearer = HTTPBearer(auto_error=False, description="a token from POST /api/ecommerce/auth/login")


class AccessError(Exception):
    """Answered as `status` with the JSON error body (installed by `api.middleware.install`)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


@dataclass
class Auth:
    """What the guards need, on `app.state.auth`: tokens (the accounts are the platform's)."""

    tokens: TokenService

    @classmethod
    def from_settings(cls, settings: Settings) -> Auth:
        """The secret and token lifetime of `settings`, under its data dir."""
        secret = load_secret(settings.data_dir, settings.jwt_secret)
        return cls(TokenService(secret, settings.jwt_ttl_seconds))


def auth_of(request: Request) -> Auth:
    found: Auth = request.app.state.auth
    return found


def principal_from_header(auth: Auth, header: str | None) -> Principal | None:
    """The caller an `Authorization` header names; None without one, AccessError if unusable."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AccessError(401, "invalid_token", "use 'Authorization: Bearer <token>'")
    try:
        return auth.tokens.verify(token.strip())
    except TokenError as exc:
        raise AccessError(401, exc.reason, exc.message) from exc


async def caller(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal | None:
    """The signed-in caller, or None for an anonymous one; a bad token is refused (401)."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    principal = principal_from_header(auth_of(request), request.headers.get("authorization"))
    request.state.principal = principal
    return principal


Caller = Annotated[Principal | None, Depends(caller)]


def check_user(principal: Principal | None, user_id: str) -> None:
    """Refuse acting as `user_id` unless the caller is that user."""
    if principal is None:
        raise AccessError(401, "unauthorized", f"sign in as {user_id} to use its cart and orders")
    if principal.user_id != user_id:
        raise AccessError(403, "forbidden", "a shopper can use only its own carts and orders")


def check_named_user(principal: Principal | None, user_id: str | None) -> None:
    """Refuse a validated body's `userId` unless the caller is that user; none is anonymous."""
    if user_id is not None:
        check_user(principal, user_id)


async def named_user_is_caller(request: Request, principal: Caller) -> None:
    """Router guard: every `userId` in the query must be the signed-in caller. A body's
    `userId` is checked by its route, once the body is validated (`check_named_user`)."""
    for user_id in request.query_params.getlist("userId"):
        check_user(principal, user_id)


async def operator_only(principal: Caller) -> None:
    """Router guard of the operator routes."""
    if principal is None:
        raise AccessError(401, "unauthorized", "operator routes need an operator's token")
    if not principal.is_operator:
        raise AccessError(403, "forbidden", "this route needs the operator role")


def may_see_order(
    principal: Principal | None,
    session_id: str | None,
    owner: str | None,
    placed_from: str | None,
) -> bool:
    if principal is not None and principal.is_operator:
        return True
    if owner is not None:
        return principal is not None and principal.user_id == owner
    return session_id is not None and session_id == placed_from


async def order_visible(
    request: Request,
    principal: Caller,
    order_id: Annotated[Id, PathParam(alias="orderId")],
    session_id: Annotated[
        Id | None,
        Query(alias="sessionId", description="the session an anonymous order was placed from"),
    ] = None,
    key: Annotated[
        str | None,
        Query(max_length=64, description="the order's key, from the links in its e-mails"),
    ] = None,
) -> None:
    """Route guard of single-order routes: other people's orders are `not_found` (404), unless
    the caller has the order's key."""
    order = request.app.state.platform.service.state.orders.get(order_id)
    if order is None:
        return
    if key is not None and auth_of(request).tokens.opens_order(order_id, key):
        return
    if not may_see_order(principal, session_id, order.user_id, order.session_id):
        raise AccessError(404, "not_found", f"no order '{order_id}'", "orderId")


NAMED_USER: Final[list[DependsParam]] = [Depends(named_user_is_caller)]
OPERATOR: Final[list[DependsParam]] = [Depends(operator_only)]
ORDER_OWNER: Final[list[DependsParam]] = [Depends(order_visible)]
