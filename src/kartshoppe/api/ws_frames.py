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

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

SEND_KEY: Final = "kartshoppe.ws_send"
"""Where `KeepServerSend` leaves the server's own `send` in a WebSocket scope."""


def text_frame(data: bytes) -> bytes:
    """A final, unmasked, uncompressed text frame (RFC 6455 5.2) carrying UTF-8 `data`."""
    size = len(data)
    if size < 126:
        return struct.pack("!BB", 0x81, size) + data
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + data
    return struct.pack("!BBQ", 0x81, 127, size) + data


class KeepServerSend:
    """Outermost layer: remembers the server's `send` of a WebSocket (the layers within wrap it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # not a coroutine itself: no frame of its own for every HTTP request
        if scope["type"] == "websocket":
            scope[SEND_KEY] = send
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
