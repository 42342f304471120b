"""Helpers of the API suite: error-body checks, fresh ids, products of its own, WebSocket reads."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection

from kartshoppe.eventlog.port import EventLog

TopicReader = Callable[[str], Awaitable[list[Any]]]
"""Every record of a topic, decoded from JSON, in log order."""

WS_TIMEOUT = 5.0


def fresh(prefix: str) -> str:
    """An id no other test uses, so tests can share one server."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is `status` with the documented JSON error body naming `code`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body.get("details", []), list)
    return body


@dataclass(frozen=True)
class Shopper:
    """A registered, signed-in shopper."""

    user_id: str
    token: str
    email: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def register(api: httpx.Client) -> Shopper:
    """A new shopper account of the test's own, signed in."""
    body = {"email": f"{fresh('shopper')}@test.kartshoppe.dev", "password": "long-enough-pass"}
    response = api.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    token = response.json()
    return Shopper(token["userId"], token["token"], body["email"])


def launch(
    admin: httpx.Client, stock: int = 100, price: float = 10.0, category: str = "Test Lab"
) -> dict[str, Any]:
    """A product of the test's own (launched by the operator), so changing it disturbs no other
    test."""
    product_id = fresh("prod-test")
    body = {
        "id": product_id,
        "name": f"Test product {product_id}",
        "category": category,
        "price": price,
        "stock": stock,
    }
    response = admin.post("/admin/products", json=body)
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


def port_topic_reader(open_log: Callable[[], EventLog]) -> TopicReader:
    """Reads a whole topic through the log port, whichever adapter: a group-less consumer's
    polls come back empty only once it has reached the end the log had when it started."""

    async def read(topic: str) -> list[Any]:
        values: list[Any] = []
        async with open_log() as log, log.consumer([topic]) as consumer:
            while records := await consumer.poll(max_records=2000, timeout=0):
                values += [orjson.loads(r.value) for r in records]
        return values

    return read


async def receive(ws: ClientConnection, timeout: float = WS_TIMEOUT) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    message: dict[str, Any] = json.loads(raw)
    return message


async def receive_until(
    ws: ClientConnection,
    accept: Callable[[dict[str, Any]], bool],
    timeout: float = WS_TIMEOUT,
) -> dict[str, Any]:
    """The first message `accept` takes; other messages (broadcasts of other tests) are skipped."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError("no matching WebSocket message in time")
        message = await receive(ws, remaining)
        if accept(message):
            return message


def of_type(kind: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    """Accepts messages of type `kind` whose top-level `fields` are as given."""
    return lambda m: m.get("type") == kind and all(m.get(k) == v for k, v in fields.items())


async def no_message(
    ws: ClientConnection, accept: Callable[[dict[str, Any]], bool], within: float = 0.5
) -> bool:
    """Whether no message `accept` takes arrives within `within` seconds."""
    try:
        await receive_until(ws, accept, within)
    except TimeoutError:
        return True
    return False
