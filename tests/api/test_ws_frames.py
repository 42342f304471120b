"""The outermost WebSocket layer (`api/ws_frames.py`): a WebSocket route without dependencies
is answered before the HTTP layers, with the server's own send; anything else goes through."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, WebSocket

from kartshoppe.api.ws_frames import SEND_KEY, WebSocketsFirst

router = APIRouter()
reached: list[tuple[str, Any]] = []


@router.websocket("/direct/{a}/{b}")
async def direct(websocket: WebSocket, a: str, b: str) -> None:
    reached.append(("direct", (a, b, websocket.scope[SEND_KEY])))


def needs() -> int:
    return 1


@router.websocket("/guarded", dependencies=[Depends(needs)])
async def guarded(websocket: WebSocket) -> None:
    reached.append(("guarded", None))


def layer() -> tuple[WebSocketsFirst, list[str]]:
    inner: list[str] = []

    async def rest(scope: Any, receive: Any, send: Any) -> None:
        inner.append(scope["type"] + " " + scope["path"])

    return WebSocketsFirst(rest, router), inner


async def receive() -> dict[str, Any]:
    return {"type": "websocket.connect"}


async def send(message: Any) -> None:
    return None


async def test_a_websocket_route_without_dependencies_is_called_directly_with_its_params() -> None:
    first, inner = layer()
    reached.clear()
    await first({"type": "websocket", "path": "/direct/s1/u1", "headers": []}, receive, send)
    assert reached == [("direct", ("s1", "u1", send))]
    assert inner == []


async def test_http_and_routes_with_dependencies_go_through_the_app() -> None:
    first, inner = layer()
    reached.clear()
    await first({"type": "websocket", "path": "/guarded", "headers": []}, receive, send)
    await first({"type": "http", "path": "/direct/s1/u1", "headers": []}, receive, send)
    assert reached == []
    assert inner == ["websocket /guarded", "http /direct/s1/u1"]
