"""The hub's fan-out, unit-tested with stand-in sockets (the real sockets are exercised in
test_api_websocket.py): one encode per message, a slow socket costs the others nothing, a
newer state replaces an unsent older one, and a socket too far behind is closed."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import cast

from starlette.websockets import WebSocket
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from kartshoppe.api.hub import CLOSE_TOO_SLOW, PENDING_LIMIT, Connection, Hub, message
from kartshoppe.domain.state import ShopState
from kartshoppe.events import PriceChanged, Product, ProductLaunched
from kartshoppe.views.catalog import CatalogView


class Socket:
    """Records what is sent; a stuck socket's first send never completes (a client that has
    stopped reading, its buffers full) until `release`."""

    def __init__(self, stuck: bool = False) -> None:
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self._open = asyncio.Event()
        if not stuck:
            self._open.set()

    async def send_text(self, text: str) -> None:
        await self._open.wait()
        self.sent.append(text)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed_with = code

    def release(self) -> None:
        self._open.set()


def hub() -> Hub:
    state = ShopState()
    return Hub(state, CatalogView(state))


def connect(h: Hub, socket: Socket, session_id: str) -> Connection:
    conn = Connection(cast(WebSocket, socket), session_id, None)
    h.register(conn)
    return conn


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def shoe(price: str) -> Product:
    return Product(
        id="p1", name="Trail shoe", category="shoes", price=Decimal(price), original_price=100
    )


async def test_a_price_change_is_encoded_once_and_the_same_text_goes_to_every_socket() -> None:
    state = ShopState()
    catalog = CatalogView(state)
    h = Hub(state, catalog)
    sockets = [Socket() for _ in range(3)]
    for i, socket in enumerate(sockets):
        connect(h, socket, f"s{i}")
    for event in (
        ProductLaunched(product_id="p1", product=shoe("100")),
        PriceChanged(
            product_id="p1", old_price=Decimal(100), new_price=Decimal(90), product=shoe("90")
        ),
    ):
        state.apply(event)
        catalog.on_event(event)
    h.on_event(event)
    await settle()
    first = sockets[0].sent[-1]
    assert '"PRODUCT_UPDATED"' in first and "90" in first
    assert all(s.sent[-1] is first for s in sockets)


async def test_a_socket_that_stopped_reading_does_not_delay_the_others() -> None:
    h = hub()
    slow, fast = Socket(stuck=True), Socket()
    connect(h, slow, "slow")
    connect(h, fast, "fast")
    for n in range(5):
        h.send(h.connections, message("PONG", n=n))
    await settle()
    assert len(fast.sent) == 5
    assert slow.sent == []
    slow.release()
    await settle()
    assert slow.sent == fast.sent


async def test_a_newer_state_of_a_thing_replaces_an_older_one_still_waiting() -> None:
    h = hub()
    slow = Socket(stuck=True)
    connect(h, slow, "slow")
    h.send(h.connections, message("CONNECTED"))
    h.send(h.connections, message("PRODUCT_UPDATED", "product:p1", price=10))
    h.send(h.connections, message("INVENTORY_UPDATED", "stock:p1", stock=3))
    h.send(h.connections, message("PRODUCT_UPDATED", "product:p1", price=9))
    h.send(h.connections, message("PRODUCT_UPDATED", "product:p2", price=5))
    slow.release()
    await settle()
    assert slow.sent == [
        '{"type":"CONNECTED"}',
        '{"type":"INVENTORY_UPDATED","stock":3}',
        '{"type":"PRODUCT_UPDATED","price":9}',
        '{"type":"PRODUCT_UPDATED","price":5}',
    ]


async def test_messages_that_are_not_states_are_all_delivered_in_order() -> None:
    h = hub()
    slow = Socket(stuck=True)
    connect(h, slow, "slow")
    for n in range(3):
        h.send(h.connections, message("ERROR", n=n))
    slow.release()
    await settle()
    assert slow.sent == [f'{{"type":"ERROR","n":{n}}}' for n in range(3)]


async def test_a_socket_too_far_behind_is_closed_as_too_slow_and_the_others_get_everything() -> (
    None
):
    h = hub()
    slow, fast = Socket(stuck=True), Socket()
    connect(h, slow, "slow")
    connect(h, fast, "fast")
    for n in range(PENDING_LIMIT + 2):
        h.send(h.connections, message("EVENT", n=n))
        if n % 100 == 0:
            await settle()
    await settle()
    assert slow.closed_with == CLOSE_TOO_SLOW
    assert [c.session_id for c in h.connections] == ["fast"]
    assert len(fast.sent) == PENDING_LIMIT + 2


async def test_an_idle_socket_holds_no_task_and_nothing_pending() -> None:
    h = hub()
    conn = connect(h, Socket(), "idle")
    h.send([conn], message("PONG"))
    await settle()
    assert conn.pending == {}
    assert not conn.sending
    assert asyncio.all_tasks() == {asyncio.current_task()}


def test_a_push_carries_its_text_as_one_unmasked_text_frame_of_any_size() -> None:
    for size in (0, 125, 126, 65_535, 65_536):
        push = message("PING", pad="x" * size)
        reader = StreamReader()
        reader.feed_data(push.frame)
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
        except StopIteration as done:
            frame: Frame = done.value
        assert frame.opcode is Opcode.TEXT and frame.fin
        assert frame.data == push.text.encode()
        assert not reader.buffer
