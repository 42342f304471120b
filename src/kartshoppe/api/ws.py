"""The WebSocket endpoint `/ecommerce/{sessionId}/{userId}`: cart commands and tracking in,
pushes out (via the hub). A bad message gets an `ERROR` reply; the socket stays open."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError

from kartshoppe.api.deps import Platform
from kartshoppe.api.hub import Connection, message
from kartshoppe.api.messages import (
    AddToCartCommand,
    Ping,
    RemoveFromCartCommand,
    SubscribeCommand,
    TrackCommand,
    UpdateQuantityCommand,
    parse_command,
)
from kartshoppe.api.serving import worker_header
from kartshoppe.api.ws_frames import frame_sink
from kartshoppe.api.ws_guard import (
    CLOSE_POLICY,
    Admission,
    admit,
    message_budget,
    over_budget,
)
from kartshoppe.domain.cart import cart_id_for
from kartshoppe.domain.errors import DomainError
from kartshoppe.events import Id, now_ms
from kartshoppe.views.models import CartOut

router = APIRouter()
ANONYMOUS = "anonymous"
_ID: TypeAdapter[str] = TypeAdapter(Id)
BAD_IDS = "sessionId and userId are 1 to 128 letters, digits or _.:@-"


def _valid_ids(*ids: str) -> bool:
    """Whether the path ids fit the event contract; events carrying bad ones could not be made."""
    try:
        for value in ids:
            _ID.validate_python(value)
    except ValidationError:
        return False
    return True


async def _next_text(websocket: WebSocket) -> str | None:
    """The next text frame; None for a binary frame, which gets an ERROR rather than a crash."""
    frame = await websocket.receive()
    if frame["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(frame.get("code", 1000))
    text = frame.get("text")
    return text if isinstance(text, str) else None


async def _handle(p: Platform, conn: Connection, admission: Admission, msg: dict[str, Any]) -> None:
    service, sid, uid = p.service, conn.session_id, conn.user_id
    match parse_command(msg):
        case Ping():
            p.hub.send([conn], message("PONG"))
        case AddToCartCommand(product_id=product_id, quantity=quantity):
            await service.add_to_cart(sid, uid, product_id, quantity)
        case RemoveFromCartCommand(product_id=product_id):
            await service.remove_from_cart(sid, uid, product_id)
        case UpdateQuantityCommand(product_id=product_id, quantity=quantity):
            await service.change_quantity(sid, uid, product_id, quantity)
        case TrackCommand(event=event):
            result = await service.track(
                [{**event, "sessionId": sid} if isinstance(event, dict) else event]
            )
            if result.rejections:
                rejection = result.rejections[0]
                error = message("ERROR", error=rejection.reason, details=rejection.details)
                p.hub.send([conn], error)
        case SubscribeCommand(type=kind, channel=channel):
            if not admission.may_subscribe(channel):
                raise DomainError(
                    "forbidden",
                    f"the {channel} channel is for operators: sign in as one",
                    "channel",
                )
            p.hub.subscribe(conn, channel, kind == "SUBSCRIBE")
            if channel == "analytics" and kind == "SUBSCRIBE":
                p.hub.send([conn], message("ANALYTICS", "analytics", analytics=p.live.analytics))


@router.websocket("/ecommerce/{session_id}/{user_id}")
async def shopper_socket(websocket: WebSocket, session_id: str, user_id: str) -> None:
    p: Platform = websocket.app.state.platform
    uid = None if user_id == ANONYMOUS else user_id
    admission = admit(websocket, uid) if _valid_ids(session_id, user_id) else Admission(BAD_IDS)
    if admission.refusal is not None:
        # accepted first: a close during the handshake is an HTTP 403 that browsers see as 1006
        await websocket.accept()
        await websocket.close(CLOSE_POLICY, admission.refusal)
        return
    budget = message_budget(websocket)
    await websocket.accept(headers=[worker_header()])
    conn = Connection(websocket, session_id, uid, sink=frame_sink(websocket.scope))
    p.hub.register(conn)
    state = p.service.state
    cart_id = cart_id_for(session_id, uid)
    cart = CartOut.json_of(state.cart(cart_id), state.products, now_ms())
    p.hub.send([conn], message("CONNECTED", sessionId=session_id, userId=uid))
    p.hub.send([conn], message("CART_UPDATED", f"cart:{cart_id}", cart=cart))
    try:
        while True:
            raw = await _next_text(websocket)
            if over_budget(websocket, budget):
                await websocket.close(CLOSE_POLICY, "message rate limit exceeded")
                break
            if raw is None:
                error = message("ERROR", error="malformed_json", message="send JSON text frames")
                p.hub.send([conn], error)
                continue
            try:
                msg = orjson.loads(raw)
                if not isinstance(msg, dict):
                    raise DomainError("validation_error", "a message is a JSON object")
                await _handle(p, conn, admission, msg)
            except orjson.JSONDecodeError:
                p.hub.send([conn], message("ERROR", error="malformed_json", message="not JSON"))
            except DomainError as exc:
                p.hub.send(
                    [conn], message("ERROR", error=exc.code, message=exc.message, field=exc.field)
                )
    except WebSocketDisconnect:
        pass
    finally:
        p.hub.unregister(conn)
