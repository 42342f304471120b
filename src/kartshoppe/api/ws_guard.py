"""Admission and flood control of the WebSocket endpoint.

A socket for a signed-in user (`/ecommerce/{sessionId}/{userId}` with `userId` other than
`anonymous`) needs that user's token in the `token` query parameter, since browsers cannot set
headers on a WebSocket; without it the handshake is refused with close code 1008. Each
connection has a message budget (`KARTSHOPPE_RATE_WS`); a client that exceeds it is closed with
1008 (policy violation).
"""

from __future__ import annotations

from typing import Final

from starlette.websockets import WebSocket

from kartshoppe.api.ratelimit import RateLimiter, TokenBucket
from kartshoppe.observability.metrics import Metrics
from kartshoppe.security.guards import Auth
from kartshoppe.security.tokens import TokenError

CLOSE_POLICY: Final = 1008


def socket_refusal(websocket: WebSocket, user_id: str | None) -> str | None:
    """Why this socket may not open (None when it may)."""
    auth: Auth = websocket.app.state.auth
    if user_id is None:
        return None
    token = websocket.query_params.get("token")
    if not token:
        return "sign in: pass the user's token as ?token="
    try:
        principal = auth.tokens.verify(token)
    except TokenError as exc:
        # a close reason may be at most 123 bytes
        return exc.message[:120]
    if principal.user_id != user_id:
        return "the token is another user's"
    return None


def message_budget(websocket: WebSocket) -> TokenBucket | None:
    limiter: RateLimiter = websocket.app.state.rate_limiter
    return limiter.message_budget()


def over_budget(websocket: WebSocket, budget: TokenBucket | None) -> bool:
    """Spend one message of the budget; True (and counted) when there is none left."""
    if budget is None or budget.take_or_wait() == 0:
        return False
    metrics: Metrics = websocket.app.state.metrics
    metrics.ws_closed_for_flooding.inc()
    return True
