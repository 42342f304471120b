"""Admission and flood control of the WebSocket endpoint.

A socket for a signed-in user (`/ecommerce/{sessionId}/{userId}` with `userId` other than
`anonymous`) needs that user's token in the `token` query parameter, since browsers cannot set
headers on a WebSocket; without it the handshake is refused with close code 1008. The
`events` and `inventory` channels (every shopper's events, stock alerts) are the operator's:
a socket opened with an operator's token may subscribe to them. Each
connection has a message budget (`KARTSHOPPE_RATE_WS`); a client that exceeds it is closed with
1008 (policy violation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from starlette.websockets import WebSocket

from kartshoppe.api.messages import Channel
from kartshoppe.api.ratelimit import RateLimiter, TokenBucket
from kartshoppe.events import Role
from kartshoppe.observability.metrics import Metrics
from kartshoppe.security.guards import Auth
from kartshoppe.security.tokens import TokenError

CLOSE_POLICY: Final = 1008


OPERATOR_CHANNELS: Final[frozenset[Channel]] = frozenset({"events", "inventory"})


@dataclass(frozen=True)
class Admission:
    """Whether a socket may open (`refusal` None) and the role its token carries, if any."""

    refusal: str | None = None
    role: Role | None = None

    def may_subscribe(self, channel: Channel) -> bool:
        return channel not in OPERATOR_CHANNELS or self.role is Role.OPERATOR


def admit(websocket: WebSocket, user_id: str | None) -> Admission:
    """Whether this socket may open, and as whom."""
    auth: Auth = websocket.app.state.auth
    if user_id is None:
        return Admission()
    token = websocket.query_params.get("token")
    if not token:
        return Admission("sign in: pass the user's token as ?token=")
    try:
        principal = auth.tokens.verify(token)
    except TokenError as exc:
        # a close reason may be at most 123 bytes
        return Admission(exc.message[:120])
    if principal.user_id != user_id:
        return Admission("the token is another user's")
    return Admission(role=principal.role)


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
