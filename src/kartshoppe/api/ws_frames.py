"""A push's WebSocket frame, built once and written as is to every socket that can take it now.

Through ASGI, each socket's send re-encodes the text and builds its own frame in Python
(starlette's checks, uvicorn's protocol, the websockets frame writer): about a hundred
microseconds a socket on this machine, seconds for a price change to 10,000 sockets. A server
frame is the same bytes for every socket (no mask, and no permessage-deflate: `kartshoppe
serve` does not negotiate it), so the hub writes the one frame to the transport of each socket
served by uvicorn's sans-I/O protocol whose connection is open and whose transport is not
paused. Anything else (another server, a closing or backed-up socket) takes the ASGI send.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable
from typing import Final

from fastapi.routing import APIRouter, APIWebSocketRoute
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

SEND_KEY: Final = "kartshoppe.ws_send"
"""Where `WebSocketsFirst` leaves the server's own `send` in a WebSocket scope."""


def text_frame(data: bytes) -> bytes:
    """A final, unmasked, uncompressed text frame (RFC 6455 5.2) carrying UTF-8 `data`."""
    size = len(data)
    if size < 126:
        return struct.pack("!BB", 0x81, size) + data
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + data
    return struct.pack("!BBQ", 0x81, 127, size) + data


class WebSocketsFirst:
    """Outermost layer: a WebSocket's route is answered here, before the HTTP layers.

    Every layer an open socket's handler was reached through stays suspended in it for the
    socket's life (the middleware, the exception handlers, the router, FastAPI's dependency
    wrapper): several KB a socket. The WebSocket routes without dependencies (their path
    parameters are all they take) are called directly with the server's own `send`, which
    `frame_sink` finds; any other WebSocket scope goes through the app as before.
    """

    def __init__(self, app: ASGIApp, router: APIRouter) -> None:
        """`router`: one included without a prefix or dependencies of its own."""
        self.app = app
        self.routes = [
            route
            for route in router.routes
            if isinstance(route, APIWebSocketRoute) and not route.dependant.dependencies
        ]

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # not a coroutine itself: no frame of its own for every HTTP request
        if scope["type"] == "websocket":
            scope[SEND_KEY] = send
            for route in self.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    socket = WebSocket(scope, receive, send)
                    answer: Awaitable[None] = route.endpoint(socket, **child["path_params"])
                    return answer
        return self.app(scope, receive, send)


def frame_sink(scope: Scope) -> WebSocketsSansIOProtocol | None:
    """The uvicorn protocol a frame can be written to for this socket, if it is served by one."""
    protocol = getattr(scope.get(SEND_KEY), "__self__", None)
    return protocol if isinstance(protocol, WebSocketsSansIOProtocol) else None


def write_frame(protocol: WebSocketsSansIOProtocol, frame: bytes) -> bool:
    """Write `frame` now if the connection is open and its transport not backed up."""
    if (
        protocol.close_sent
        or protocol.disconnected
        or not protocol.writable.is_set()
        or protocol.conn.state is not State.OPEN
    ):
        return False
    protocol.transport.write(frame)
    return True
