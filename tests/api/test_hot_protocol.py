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
        self.requests: list[dict[bytes, bytes]] = []
        """The headers of each request offered, as `find` was given them."""

    def find(
        self,
        method: str,
        path: str,
        query: bytes,
        request: dict[bytes, bytes],
        scheme: str,
        client: tuple[str, int] | None,
    ) -> tuple[Answer, bytes] | None:
        self.requests.append(request)
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


class NoParser:
    """A parser that must not be needed."""

    def feed_data(self, data: bytes) -> None:
        raise AssertionError(f"parsed {data!r}")


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


HOT = b"GET /hot HTTP/1.1\r\nHost: t\r\nAccept-Encoding:  gzip, br \t\r\nX-Empty:\r\n\r\n"


async def test_a_read_that_comes_whole_is_answered_without_the_parser() -> None:
    protocol, transport, app = connected()
    protocol.parser = NoParser()  # type: ignore[assignment]
    protocol.data_received(HOT)
    protocol.data_received(request("/hot", "HEAD"))
    assert app.hot_reads.served_ids == [(False, b"id-1"), (True, b"id-2")]
    assert transport.writes[0].endswith(b"x-request-id: id-1\r\n\r\n" + BODY)
    assert transport.writes[1].endswith(b"x-request-id: id-2\r\n\r\n")
    assert protocol.server_state.total_requests == 2 and not transport.closed


async def test_a_read_split_over_segments_is_parsed_and_answered_alike() -> None:
    protocol, transport, app = connected()
    protocol.data_received(HOT)
    split = len(HOT) // 2
    protocol.data_received(HOT[:split])
    assert len(transport.writes) == 1  # half a request: nothing to answer yet
    protocol.data_received(HOT[split:])
    # once that request is complete, a whole one is read without uvicorn's parser again
    protocol.parser = NoParser()  # type: ignore[assignment]
    protocol.data_received(HOT)
    whole, parsed, again = transport.writes
    assert again == whole.replace(b"id-1", b"id-3")
    assert whole.replace(b"id-1", b"id-2") == parsed
    # the same headers reach the hot reads either way (names lowercased, values as httptools
    # gives them: leading blanks dropped, trailing ones kept)
    assert (
        app.hot_reads.requests[0]
        == app.hot_reads.requests[1]
        == {
            b"host": b"t",
            b"accept-encoding": b"gzip, br \t",
            b"x-empty": b"",
        }
    )
    assert app.calls == 0


async def test_the_connection_header_is_read_and_an_upgrade_left_to_uvicorn() -> None:
    protocol, transport, app = connected()
    protocol.parser = NoParser()  # type: ignore[assignment]
    protocol.data_received(b"GET /hot HTTP/1.1\r\nHost: t\r\nConnection: Keep-Alive\r\n\r\n")
    assert not transport.closed
    protocol.data_received(b"GET /hot HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert transport.writes[-1].endswith(b"id-2\r\nconnection: close\r\n\r\n" + BODY)
    assert transport.closed
    protocol, transport, app = connected()
    upgrade = b"GET /hot HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    protocol.data_received(upgrade)
    while protocol.tasks:
        await asyncio.sleep(0)
    assert app.hot_reads.served_ids == [] and app.calls == 1


async def test_a_request_the_parser_refuses_gets_uvicorns_400_and_nothing_served() -> None:
    for malformed in (
        b"GET /hot HTTP/1.1\r\nHost : t\r\n\r\n",  # a blank before the colon
        b"GET /hot HTTP/1.1\r\nHost: t\x01\r\n\r\n",  # a control character
        b"GET /hot HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n",  # a folded line
    ):
        protocol, transport, app = connected()
        protocol.data_received(malformed)
        assert transport.writes[0].startswith(b"HTTP/1.1 400 ") and transport.closed
        assert app.hot_reads.served_ids == []


async def test_keep_alive_runs_from_the_last_read_with_one_timer_for_a_run_of_reads() -> None:
    protocol, transport, app = connected()
    protocol.timeout_keep_alive = 0.5  # type: ignore[assignment]
    protocol.data_received(request("/hot"))
    armed = protocol.timeout_keep_alive_task
    assert armed is not None
    protocol.data_received(request("/hot"))
    assert protocol.timeout_keep_alive_task is armed  # not cancelled and armed again
    for _ in range(6):  # 0.6 s of reads: past the first read's keep-alive, not the last's
        await asyncio.sleep(0.1)
        assert not transport.closed
        protocol.data_received(request("/hot"))
    assert not transport.closed
    await asyncio.sleep(0.7)
    assert transport.closed
    assert len(app.hot_reads.served_ids) == 8


async def test_a_closed_connection_lets_go_of_its_second_parser() -> None:
    protocol, _, _ = connected()
    read = protocol.whole_read
    protocol.connection_lost(None)
    # the parser and its callbacks' object no longer hold each other: freed without the collector
    assert not hasattr(read, "parser")
