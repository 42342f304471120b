"""The hot catalog reads answered by uvicorn's protocol itself (`api/hot_protocol.py`) are HTTP
as uvicorn's own path answers it, with the whole edge: the same headers and bytes as the ASGI
path, keep-alive and `Connection: close`, pipelined requests in order (behind a request the full
stack answers too), HEAD, 304, negotiated coding, query strings, the browse rate limit's 429,
request ids in the access log and the latency metric. One real `kartshoppe serve` process on
its default server, spoken to over raw sockets so that every byte sent is seen."""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.ops.ops_support import json_lines, scrape, value
from tests.support.accounts import OPERATOR
from tests.support.server import ServerProcess, running_server

API = "/api/ecommerce"
BURST = 40
"""The browse limit's burst: an address or a user may send this many reads at once."""
LATENCY = "kartshoppe_http_request_duration_seconds_count"
HTTPX_KEEP_ALIVE_S = httpx.Limits().keepalive_expiry
"""How long httpx (by default) keeps an idle connection for reuse."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Wire:
    """One client connection, reading answers exactly as they come."""

    def __init__(self, server: ServerProcess) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=30)
        self.buffer = b""

    def send(self, *requests: bytes) -> None:
        self.sock.sendall(b"".join(requests))

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def answer(self, head: bool = False) -> Answer:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), "the connection closed before an answer"
        top, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = top.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            name, _, given = line.partition(":")
            assert name.lower() not in headers, f"{name} sent twice"
            headers[name.lower()] = given.strip()
        status = int(status_line.split()[1])
        length = 0 if head or status == 304 else int(headers["content-length"])
        while len(self.buffer) < length:
            assert self._fill(), "the connection closed inside a body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Answer(status, headers, body)

    def closed(self) -> bool:
        """The server closed the connection (and sent nothing more)."""
        return not self.buffer and not self._fill()

    def close(self) -> None:
        self.sock.close()


def get(path: str, *headers: str, method: str = "GET", version: str = "1.1") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: test", *headers, "", ""]
    return "\r\n".join(lines).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # no event-store sink: nothing here reads the store, and its process takes seconds to stop
    env = {"KARTSHOPPE_RATE_BROWSE": f"2/{BURST}", "KARTSHOPPE_SINK": "0"}
    tmp = tmp_path_factory.mktemp("hot-protocol")
    with running_server(tmp, "--processors", "off", env=env, ready_timeout=150) as running:
        yield running


@pytest.fixture
def wire(server: ServerProcess) -> Iterator[Wire]:
    connection = Wire(server)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def product_ids(server: ServerProcess) -> list[str]:
    page = httpx.get(server.url(f"{API}/products"), params={"pageSize": 3}, timeout=30).json()
    return [item["id"] for item in page["items"]]


def without_own(headers: dict[str, str]) -> dict[str, str]:
    """An answer's headers but what is the request's own (its id) or the second's (`date`)."""
    return {k: v for k, v in headers.items() if k not in ("x-request-id", "date")}


def test_a_hot_read_sends_what_the_asgi_path_sends(wire: Wire, product_ids: list[str]) -> None:
    path = f"{API}/product/{product_ids[0]}"
    # alone in its segment, a read is read without httptools; pipelined, httptools parses it;
    # a forwarded-for header is the proxy-headers layer's to judge: uvicorn's own path answers
    wire.send(get(path))
    alone = wire.answer()
    wire.send(get(path), get(path, "X-Forwarded-For: 10.0.0.9"))
    hot, full = wire.answer(), wire.answer()
    assert alone.status == hot.status == full.status == 200
    assert alone.body == hot.body == full.body
    assert without_own(alone.headers) == without_own(hot.headers) == without_own(full.headers)
    assert hot.headers["x-request-id"] != full.headers["x-request-id"]
    assert hot.headers["content-security-policy"].endswith("frame-ancestors 'none'")
    assert hot.headers["x-content-type-options"] == "nosniff"
    assert "date" in hot.headers and "connection" not in hot.headers


def test_pipelined_requests_are_answered_in_order(wire: Wire, product_ids: list[str]) -> None:
    first, second = (f"{API}/product/{pid}" for pid in product_ids[:2])
    # the categories are answered by the full stack: the read behind it waits its turn
    wire.send(get(first), get(f"{API}/categories"), get(second), get(first, method="HEAD"))
    answers = [wire.answer(), wire.answer(), wire.answer(), wire.answer(head=True)]
    assert [a.status for a in answers] == [200, 200, 200, 200]
    assert answers[0].body.startswith(f'{{"id":"{product_ids[0]}"'.encode())
    assert answers[1].body.startswith(b"[")
    assert answers[2].body.startswith(f'{{"id":"{product_ids[1]}"'.encode())
    assert answers[3].headers["content-length"] == str(len(answers[0].body))
    assert len({a.headers["x-request-id"] for a in answers}) == 4


def test_head_sends_the_headers_of_get_and_no_body(wire: Wire) -> None:
    wire.send(get(f"{API}/products", method="HEAD"), get(f"{API}/products?pageSize=1"))
    head, after = wire.answer(head=True), wire.answer()
    assert head.status == 200 and head.body == b""
    assert int(head.headers["content-length"]) > 1024
    # nothing of a body came between the two answers: the next one parses from its status line
    assert after.status == 200 and after.body.startswith(b"{")


def test_a_connection_stays_open_unless_the_client_closes_it(
    server: ServerProcess, product_ids: list[str]
) -> None:
    path = f"{API}/product/{product_ids[0]}"
    for request in (get(path, version="1.0"), get(path, "Connection: close")):
        wire = Wire(server)
        wire.send(request)
        answer = wire.answer()
        assert answer.status == 200 and answer.headers["connection"] == "close"
        assert wire.closed()
        wire.close()
    kept = Wire(server)
    for _ in range(3):
        kept.send(get(path))
        assert kept.answer().status == 200
    kept.close()


def test_an_idle_connection_outlives_a_clients_keep_alive_expiry(
    wire: Wire, product_ids: list[str]
) -> None:
    # httpx lets an idle connection go after 5 s: closed by the server at the same moment, as
    # uvicorn's default did, a request sent on it just then failed unanswered
    path = f"{API}/product/{product_ids[0]}"
    wire.send(get(f"{API}/products"))
    assert wire.answer().status == 200
    assert HTTPX_KEEP_ALIVE_S is not None
    time.sleep(HTTPX_KEEP_ALIVE_S + 1)
    wire.send(get(path))
    assert wire.answer().status == 200


def test_a_matching_etag_gets_304_and_gzip_is_negotiated(wire: Wire) -> None:
    wire.send(get(f"{API}/products?sort=price_asc&pageSize=20"))
    plain = wire.answer()
    etag = plain.headers["etag"]
    wire.send(
        get(f"{API}/products?sort=price_asc&pageSize=20", f"If-None-Match: {etag}"),
        get(f"{API}/products?sort=price_asc&pageSize=20", "Accept-Encoding: gzip, br;q=0"),
    )
    unchanged, zipped = wire.answer(), wire.answer()
    assert unchanged.status == 304 and unchanged.body == b""
    assert unchanged.headers["etag"] == etag
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.body) == plain.body


def test_a_query_the_fast_path_cannot_judge_gets_the_routes_answer(wire: Wire) -> None:
    wire.send(get(f"{API}/products?pageSize=0"), get(f"{API}/product/prod_nope"))
    refused, missing = wire.answer(), wire.answer()
    assert refused.status == 422 and b"pageSize" in refused.body
    assert missing.status == 404


def test_reads_past_the_browse_limit_are_refused_with_429(
    server: ServerProcess, product_ids: list[str]
) -> None:
    token = httpx.post(server.url(f"{API}/auth/login"), json=OPERATOR, timeout=30).json()["token"]
    wire = Wire(server)
    # a signed-in user has a bucket of its own: the other tests' address keeps its tokens
    read = get(f"{API}/product/{product_ids[0]}", f"Authorization: Bearer {token}")
    # the burst pipelined (parsed by httptools), then reads sent one at a time (each whole in
    # its segment, read without the parser): the limit holds for both
    wire.send(*(read for _ in range(BURST)))
    pipelined = [wire.answer() for _ in range(BURST)]
    alone = []
    for _ in range(BURST):
        wire.send(read)
        alone.append(wire.answer())
    wire.close()
    assert [a.status for a in pipelined] == [200] * BURST
    statuses = [a.status for a in alone]
    assert statuses.count(429) > BURST // 2
    refused = next(a for a in alone if a.status == 429)
    assert refused.headers["retry-after"]
    assert b"rate_limited" in refused.body


def test_a_hot_read_is_logged_with_its_request_id_and_counted(
    server: ServerProcess, wire: Wire, product_ids: list[str]
) -> None:
    route = f"{API}/product/{{product_id}}"
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        before = value(scrape(client), LATENCY, route=route, method="GET", status="200")
        wire.send(get(f"{API}/product/{product_ids[2]}", "X-Request-ID: hot-protocol-1"))
        answer = wire.answer()
        assert answer.headers["x-request-id"] == "hot-protocol-1"
        after = value(scrape(client), LATENCY, route=route, method="GET", status="200")
    assert after == before + 1
    deadline = time.monotonic() + 10
    while True:
        lines = [e for e in json_lines(server.log_text()) if e.get("requestId") == "hot-protocol-1"]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [(e["route"], e["status"], e["method"]) for e in lines] == [(route, 200, "GET")]
