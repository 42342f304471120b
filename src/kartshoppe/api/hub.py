"""The WebSocket hub: who is connected, and what each of them is pushed.

Every connection has a bounded queue and its own sender task, so a slow or dead client never
blocks the others: when its queue is full it is disconnected (close code 1013) rather than
slowing the fan-out. A message is encoded once and the same bytes go to every recipient.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.websockets import WebSocket

from kartshoppe.api.messages import CHANNELS
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

QUEUE_LIMIT = 1000
CLOSE_TOO_SLOW = 1013


@dataclass(eq=False)
class Connection:
    websocket: WebSocket
    session_id: str
    user_id: str | None
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    channels: set[str] = field(default_factory=set)
    dropped: bool = False

    async def pump(self) -> None:
        """Send queued messages until cancelled; the only task that writes to the socket."""
        while True:
            payload = await self.queue.get()
            await self.websocket.send_text(payload.decode())


def message(kind: str, **fields: Any) -> bytes:
    return orjson.dumps({"type": kind, **fields})


class Hub:
    def __init__(self, state: ShopState, catalog: CatalogView) -> None:
        self._state = state
        self._catalog = catalog
        self._by_owner: dict[str, set[Connection]] = {}
        self._channels: dict[str, set[Connection]] = {name: set() for name in CHANNELS}
        self.connections: set[Connection] = set()
        self.messages_sent = 0

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

    def send(self, conns: Iterable[Connection], payload: bytes) -> None:
        for conn in conns:
            if conn.dropped:
                continue
            try:
                conn.queue.put_nowait(payload)
                self.messages_sent += 1
            except asyncio.QueueFull:
                conn.dropped = True
                asyncio.get_running_loop().create_task(self._drop(conn))

    async def _drop(self, conn: Connection) -> None:
        self.unregister(conn)
        with contextlib.suppress(Exception):
            await conn.websocket.close(code=CLOSE_TOO_SLOW, reason="client too slow")

    def publish(self, channel: str, payload: bytes) -> None:
        self.send(self._channels[channel], payload)

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
            self.send(self.connections, message("PRODUCT_RETIRED", productId=event.product_id))
        elif isinstance(event, (*CATALOG_EVENTS, ReviewPosted)):
            # a review changes the product's rating and count: pushed like any product change
            product = self._catalog.product(event.product_id)
            if product is not None:
                payload = message("PRODUCT_UPDATED", product=product, change=event.event_type)
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
                payload = message("ORDER_UPDATED", order=OrderOut.of(order).to_json())
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
                cart = CartOut.of(self._state.cart(key), self._state.products, now_ms()).to_json()
                code = recovery_code(event.event_id)
                offer = f"{event.offer} with code {code}" if event.offer else code
                payload = message("CART_REMINDER", cart=cart, offer=offer, couponCode=code)
                self.send(self._recipients(event.session_id, event.user_id), payload)

    def _push_cart(self, event: Event) -> None:
        key = event_key(event)
        if key is None:
            return
        cart = CartOut.of(self._state.cart(key), self._state.products, now_ms()).to_json()
        payload = message("CART_UPDATED", cart=cart)
        recipients = self._recipients(event.session_id, event.user_id)
        if isinstance(event, CartMerged):
            recipients |= self._recipients(event.from_session_id, None)
        self.send(recipients, payload)
