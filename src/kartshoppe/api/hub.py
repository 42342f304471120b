"""The WebSocket hub: who is connected, and what each of them is pushed.

A message is encoded once and the same text goes to every recipient. Each connection keeps
only what is still to be sent (`Connection.pending`, insertion-ordered); a message carrying the
latest state of one thing (a product, a stock level, a cart, an order) replaces an older one of
the same thing that has not gone out yet, so a socket that falls behind gets the newest state
rather than the history. A socket that can take a frame now gets the push's frame written
straight to its transport (`api/ws_frames.py`); otherwise the push waits in `pending`, and the
connection has a sender task only while something is pending (no task or queue per idle
socket), so a slow or dead client never blocks the others: its sender waits on its own socket,
and when more than `PENDING_LIMIT` messages are waiting it is disconnected (close code 1013)
rather than slowing the fan-out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from kartshoppe.api.messages import CHANNELS
from kartshoppe.api.ws_frames import text_frame, write_frame
from kartshoppe.domain.coupons import recovery_code
from kartshoppe.domain.state import ShopState
from kartshoppe.events import (
    CART_EVENTS,
    CATALOG_EVENTS,
    CartMerged,
    CartRecovered,
    Event,
    InventoryAlert,
    InventoryChanged,
    OrderPlaced,
    OrderStatusChanged,
    PaymentDeclined,
    ProductRetired,
    Recommendation,
    ReviewPosted,
    WishlistAlert,
    event_key,
    event_to_dict,
    now_ms,
)
from kartshoppe.views.catalog import CatalogView
from kartshoppe.views.models import CartOut, OrderOut

PENDING_LIMIT: Final = 1000
CLOSE_TOO_SLOW: Final = 1013


@dataclass(frozen=True, slots=True)
class Push:
    """One message for the sockets, encoded once."""

    text: str
    frame: bytes
    """The text as a WebSocket frame, for the sockets it can be written to as is."""
    state_of: str | None = None
    """What this message is the latest state of (`product:p1`); None for one that must not be
    merged with others (an error, an event of the `events` channel)."""


def message(kind: str, state_of: str | None = None, **fields: Any) -> Push:
    data = orjson.dumps({"type": kind, **fields})
    return Push(data.decode(), text_frame(data), state_of)


@dataclass(eq=False, slots=True)
class Connection:
    websocket: WebSocket
    session_id: str
    user_id: str | None
    channels: set[str] = field(default_factory=set)
    pending: dict[object, str] = field(default_factory=dict)
    sending: bool = False
    dropped: bool = False
    sink: WebSocketsSansIOProtocol | None = None
    """Where a frame can be written directly (`api/ws_frames.py`); None: the ASGI send only."""

    def offer(self, push: Push) -> bool:
        """Add a message to what is pending; False when too much is waiting already."""
        key: object = object() if push.state_of is None else push.state_of
        # a newer state goes out in the place of the older one's turn: after what came between
        self.pending.pop(key, None)
        if len(self.pending) >= PENDING_LIMIT:
            return False
        self.pending[key] = push.text
        return True

    async def flush(self) -> None:
        """Send what is pending, oldest first; the only writer of the socket while it runs."""
        try:
            while self.pending:
                await self.websocket.send_text(self.pending.pop(next(iter(self.pending))))
        except Exception:
            # the socket is gone: its receive loop sees the disconnect and unregisters it
            self.pending.clear()
        finally:
            self.sending = False


class Hub:
    def __init__(self, state: ShopState, catalog: CatalogView) -> None:
        self._state = state
        self._catalog = catalog
        self._by_owner: dict[str, set[Connection]] = {}
        self._channels: dict[str, set[Connection]] = {name: set() for name in CHANNELS}
        self.connections: set[Connection] = set()
        self.messages_sent = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self, conn: Connection) -> None:
        self.connections.add(conn)
        for owner in self._owners(conn.session_id, conn.user_id):
            self._by_owner.setdefault(owner, set()).add(conn)

    def unregister(self, conn: Connection) -> None:
        self.connections.discard(conn)
        for owner in self._owners(conn.session_id, conn.user_id):
            group = self._by_owner.get(owner)
            if group is not None:
                group.discard(conn)
                if not group:
                    del self._by_owner[owner]
        for members in self._channels.values():
            members.discard(conn)

    def subscribe(self, conn: Connection, channel: str, on: bool) -> None:
        members = self._channels[channel]
        if on:
            members.add(conn)
            conn.channels.add(channel)
        else:
            members.discard(conn)
            conn.channels.discard(channel)

    @staticmethod
    def _owners(session_id: str | None, user_id: str | None) -> list[str]:
        return [f"s:{session_id}"] * bool(session_id) + [f"u:{user_id}"] * bool(user_id)

    def _recipients(self, session_id: str | None, user_id: str | None) -> set[Connection]:
        found: set[Connection] = set()
        for owner in self._owners(session_id, user_id):
            found |= self._by_owner.get(owner, set())
        return found

    def send(self, conns: Iterable[Connection], push: Push) -> None:
        loop: asyncio.AbstractEventLoop | None = None
        for conn in conns:
            if conn.dropped:
                continue
            if not conn.sending and conn.sink is not None and write_frame(conn.sink, push.frame):
                self.messages_sent += 1
                continue
            loop = loop or asyncio.get_running_loop()
            if not conn.offer(push):
                conn.dropped = True
                self._spawn(loop, self._drop(conn))
                continue
            self.messages_sent += 1
            if not conn.sending:
                conn.sending = True
                self._spawn(loop, conn.flush())

    def _spawn(self, loop: asyncio.AbstractEventLoop, job: Coroutine[Any, Any, None]) -> None:
        # the loop keeps only weak references to tasks
        task = loop.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drop(self, conn: Connection) -> None:
        self.unregister(conn)
        conn.pending.clear()
        with contextlib.suppress(Exception):
            await conn.websocket.close(code=CLOSE_TOO_SLOW, reason="client too slow")

    def publish(self, channel: str, push: Push) -> None:
        self.send(self._channels[channel], push)

    def on_event(self, event: Event) -> None:
        """Push what an applied event changes to the connections it concerns."""
        if self.connections:
            self._push(event)

    def _push(self, event: Event) -> None:
        if self._channels["events"]:
            self.publish("events", message("EVENT", event=event_to_dict(event)))
        if isinstance(event, CART_EVENTS):
            self._push_cart(event)
        elif isinstance(event, ProductRetired):
            self.send(
                self.connections,
                message(
                    "PRODUCT_RETIRED", f"product:{event.product_id}", productId=event.product_id
                ),
            )
        elif isinstance(event, (*CATALOG_EVENTS, ReviewPosted)):
            # a review changes the product's rating and count: pushed like any product change
            product = self._catalog.product(event.product_id)
            if product is not None:
                payload = message(
                    "PRODUCT_UPDATED",
                    f"product:{event.product_id}",
                    product=product,
                    change=event.event_type,
                )
                self.send(self.connections, payload)
        elif isinstance(event, WishlistAlert):
            product = self._catalog.product(event.product_id)
            if product is not None:
                alert = event_to_dict(event)
                payload = message("WISHLIST_ALERT", alert=alert, product=product)
                self.send(self._recipients(None, event.user_id), payload)
        elif isinstance(event, InventoryChanged):
            payload = message(
                "INVENTORY_UPDATED",
                f"stock:{event.product_id}",
                productId=event.product_id,
                stock=event.stock,
                reserved=event.reserved,
                available=event.available,
                lowStock=event.low_stock,
                soldOut=event.sold_out,
            )
            self.send(self.connections, payload)
        elif isinstance(event, OrderPlaced | OrderStatusChanged | PaymentDeclined):
            order = self._state.orders.get(event.order_id)
            if order is not None:
                payload = message(
                    "ORDER_UPDATED", f"order:{order.order_id}", order=OrderOut.of(order).to_json()
                )
                self.send(self._recipients(order.session_id, order.user_id), payload)
        elif isinstance(event, InventoryAlert):
            self.publish("inventory", message("INVENTORY_ALERT", alert=event_to_dict(event)))
        elif isinstance(event, Recommendation):
            offered = self._catalog.offered(event)
            if offered is not None:
                payload = message("RECOMMENDATION", recommendation=event_to_dict(offered))
                self.send(self._recipients(event.session_id, event.user_id), payload)
        elif isinstance(event, CartRecovered):
            key = event_key(event)
            if key is not None:
                cart = CartOut.json_of(self._state.cart(key), self._state.products, now_ms())
                code = recovery_code(event.event_id)
                offer = f"{event.offer} with code {code}" if event.offer else code
                payload = message("CART_REMINDER", cart=cart, offer=offer, couponCode=code)
                self.send(self._recipients(event.session_id, event.user_id), payload)

    def _push_cart(self, event: Event) -> None:
        key = event_key(event)
        if key is None:
            return
        cart = CartOut.json_of(self._state.cart(key), self._state.products, now_ms())
        payload = message("CART_UPDATED", f"cart:{key}", cart=cart)
        recipients = self._recipients(event.session_id, event.user_id)
        if isinstance(event, CartMerged):
            recipients |= self._recipients(event.from_session_id, None)
        self.send(recipients, payload)
