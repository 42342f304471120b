"""`HotReadsProtocol`, the httptools protocol that answers hot reads itself: what it answers goes
out in one write without an ASGI task, what it does not goes to uvicorn's own path, in the order
the requests came. The app's `HotReads` is replaced by one answering a single path; the real
one, behind a real server, is in tests/integration/test_hot_protocol.py."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.server import ServerState

from kartshoppe.api.fastpath import Answer, HotReads, header_lines
from kartshoppe.api.hot_protocol import HotReadsProtocol
from kartshoppe.observability.metrics import Tally

BODY = b'{"hot":true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"12")]


class OnePath(HotReads):
    """Answers `GET /hot` (and its HEAD) with a kept answer; records what it served."""

    def __init__(self) -> None:
        super().__init__(Starlette())
        tally = Tally()
        self.answer = Answer(200, HEADERS, BODY, (tally, b""), (tally, b""), header_lines(HEADERS))
        self.served_ids: list[tuple[bool, bytes]] = []

    def find(
        self,
        method: str,
        path: str,
        query: bytes,
        request: dict[bytes, bytes],
        scheme: str,
        client: tuple[str, int] | None,
    ) -> tuple[Answer, bytes] | None:
        if path != "/hot" or query:
            return None
        return self.answer, b"id-%d" % (len(self.served_ids) + 1)

    def served(self, answer: Answer, head: bool, request_id: bytes, started: float) -> None:
        self.served_ids.append((head, request_id))


class App:
    """An app with hot reads; whatever they do not answer, it answers `full`."""

    def __init__(self) -> None:
        self.hot_reads = OnePath()
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        headers = [(b"content-length", b"4")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"full"})


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def connected() -> tuple[HotReadsProtocol, Transport, App]:
    app = App()
    config = Config(app=app, http=HotReadsProtocol, lifespan="off", log_level="warning")
    config.load()
    state = ServerState()
    state.default_headers = [(b"date", b"Thu, 26 Nov 2026 10:00:00 GMT")]
    protocol = HotReadsProtocol(config, state, {}, asyncio.get_running_loop())
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport, app


def request(path: str, method: str = "GET", version: str = "1.1") -> bytes:
    return f"{method} {path} HTTP/{version}\r\nHost: test\r\n\r\n".encode()


async def test_a_hot_read_goes_out_in_one_write_without_the_app() -> None:
    protocol, transport, app = connected()
    protocol.data_received(request("/hot"))
    assert app.calls == 0 and protocol.tasks == set()
    assert transport.writes == [
        b"HTTP/1.1 200 OK\r\ndate: Thu, 26 Nov 2026 10:00:00 GMT\r\n"
        b"content-type: application/json\r\ncontent-length: 12\r\n"
        b"x-request-id: id-1\r\n\r\n" + BODY
    ]
    assert not transport.closed
    assert protocol.timeout_keep_alive_task is not None  # the keep-alive wait, as uvicorn's
    assert app.hot_reads.served_ids == [(False, b"id-1")]


async def test_head_sends_no_body_and_http_1_0_closes() -> None:
    protocol, transport, app = connected()
    protocol.data_received(request("/hot", "HEAD", "1.0"))
    (sent,) = transport.writes
    assert sent.endswith(b"x-request-id: id-1\r\nconnection: close\r\n\r\n")
    assert transport.closed
    assert app.hot_reads.served_ids == [(True, b"id-1")]


async def test_pipelined_requests_keep_their_order_behind_one_the_app_answers() -> None:
    protocol, transport, app = connected()
    protocol.data_received(request("/hot") + request("/other") + request("/hot"))
    # the first is answered at once, the second is the app's, and the third waits behind it in
    # uvicorn's queue, whose requests the app answers (the real app's hot reads then answer it
    # at the ASGI level)
    assert len(transport.writes) == 1 and len(protocol.pipeline) == 1
    while protocol.tasks or protocol.pipeline:
        await asyncio.sleep(0)
    sent = b"".join(transport.writes)
    assert sent.count(b"HTTP/1.1 200 OK") == 3
    assert sent.index(b"id-1") < sent.index(b"full") < sent.rindex(b"full")
    assert app.calls == 2 and app.hot_reads.served_ids == [(False, b"id-1")]
    # once the queue is empty, the next hot read is the protocol's again
    protocol.data_received(request("/hot"))
    assert transport.writes[-1].endswith(b"x-request-id: id-2\r\n\r\n" + BODY)


async def test_what_the_hot_reads_decline_or_uvicorn_must_judge_goes_to_the_app() -> None:
    protocol, transport, app = connected()
    forwarded = b"GET /hot HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n"
    expecting = b"GET /hot HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n"
    for raw in (
        request("/hot?x=1"),
        forwarded,
        expecting,
        request("/h%6Ft"),  # uvicorn decodes the path
        request("/hot", "POST"),
    ):
        protocol.data_received(raw)
        while protocol.tasks:
            await asyncio.sleep(0)
    assert app.calls == 5 and app.hot_reads.served_ids == []
    assert all(write.endswith(b"full") for write in transport.writes[1::2])
