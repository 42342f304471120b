"""uvicorn's HTTP/1.1 protocol (httptools) answering the hot catalog reads itself.

A hot read on uvicorn cost about twice its edge in the server's own per-request machinery: a
task, a request-response cycle with its event, two ASGI messages, two regular expressions per
header (KartShoppe sends a dozen), the proxy-headers layer, and the head and the body written
in two socket writes. Here a hot read is offered to the app's `HotReads.find` (the same kept
answers, browse rate limit, request id, metrics and access log as its ASGI path,
`api/fastpath.py`); when it answers, the status line, the server's default headers (`date`),
the answer's pre-rendered headers and the request id go out with the kept body in one socket
write (`writelines`: one `writev`, the body not copied), and the connection carries on as
uvicorn's own would (keep-alive timer, `Connection: close` for HTTP/1.0 or a client that asks
it, HEAD without a body).

A read arrives in two ways. Most come whole in one segment, alone on their connection: such a
segment is first read by a second httptools parser of the connection's own (`WholeRead`: the
same llhttp, so what it accepts and how it splits the headers are uvicorn's) whose callbacks
only keep the target and the headers, without uvicorn's per-request scope and callbacks, and
without a keep-alive timer cancelled and armed again per request (the timer is armed once and,
when it fires, waits on for the time since the last answer: `timeout_keep_alive_handler`).
Whatever is not one whole request there (a request split over segments, several pipelined in
one, one the parser refuses) or not a hot read goes to uvicorn's parser as it came, and a hot
read that parser parses is offered the same way once its headers are complete.

Everything else goes to uvicorn as it is: a method other than GET/HEAD, any request with a body
or `Expect`, an upgrade, a percent-encoded path, forwarded-for headers (the proxy-headers layer
judges them), a request behind one still being answered (pipelining keeps its order), a client
that is not reading (uvicorn's flow control waits for it), and whatever `find` declines.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any, Final

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from kartshoppe.api.fastpath import READS, HotReads, header_lines

FORWARDED: Final = frozenset({b"x-forwarded-for", b"x-forwarded-proto"})
"""Headers uvicorn's proxy-headers layer reads to change the client and the scheme."""
REQUEST_ID: Final = b"x-request-id: "
CLOSE: Final = b"connection: close\r\n"
UNWRAP_DEPTH: Final = 8
PARSE_FAILED: Final = (httptools.HttpParserError, httptools.HttpParserUpgrade)


class WholeRead:
    """A second httptools parser and what it saw of a segment: the requests that began and
    completed in it, the last one's target, headers (names lowercased, as uvicorn's), method and
    whether the connection stays open, read without uvicorn's scope and callbacks."""

    __slots__ = ("begun", "complete", "headers", "keep_alive", "method", "parser", "upgrade", "url")

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.method = b""
        self.keep_alive = self.upgrade = False
        self.clear()

    def clear(self) -> None:
        self.url = b""
        self.headers: dict[bytes, bytes] = {}
        self.begun = self.complete = 0

    def on_message_begin(self) -> None:
        self.begun += 1

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        parser = self.parser
        self.method = parser.get_method()
        self.keep_alive = parser.get_http_version() != "1.0" and parser.should_keep_alive()
        self.upgrade = parser.should_upgrade()

    def on_message_complete(self) -> None:
        self.complete += 1

    def close(self) -> None:
        """Let go of the parser (it holds this object: a cycle the collector would find)."""
        del self.parser


def hot_reads_of(app: Any) -> HotReads | None:
    """The `HotReads` of the app uvicorn serves, under the layers uvicorn wraps around it."""
    for _ in range(UNWRAP_DEPTH):
        found = getattr(app, "hot_reads", None)
        if isinstance(found, HotReads):
            return found
        app = getattr(app, "app", None)
        if app is None:
            break
    return None


class DefaultHeaders:
    """The server's default headers as header lines, rendered again when uvicorn replaces the
    list (each second, for its `date`)."""

    __slots__ = ("_lines", "_of")

    def __init__(self) -> None:
        self._of: list[tuple[bytes, bytes]] | None = None
        self._lines = b""

    def lines(self, headers: list[tuple[bytes, bytes]]) -> bytes:
        if headers is not self._of:
            self._of = headers
            self._lines = header_lines(headers)
        return self._lines


_defaults = DefaultHeaders()


class HotReadsProtocol(HttpToolsProtocol):
    """`uvicorn.run(..., http=HotReadsProtocol)`: the httptools protocol with the hot reads
    answered as soon as they are read."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.hot_reads = hot_reads_of(self.app)
        self.answered = False
        """The request being parsed was answered here (its message end is not uvicorn's)."""
        self.between = True
        """The parser holds nothing of a request: a whole one may be read without it."""
        self.answered_at = -math.inf
        """When the last hot read was answered (`time.perf_counter`), for the keep-alive."""
        self.whole_read = WholeRead()

    def data_received(self, data: bytes) -> None:
        hot_reads = self.hot_reads
        if hot_reads is not None and self.between and self._idle() and self._whole(hot_reads, data):
            return
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.whole_read.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.answered = False
        self.between = False

    def on_headers_complete(self) -> None:
        if self.hot_reads is not None and self._parsed(self.hot_reads):
            self.answered = True
            return
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.between = True
        if not self.answered:
            super().on_message_complete()

    def timeout_keep_alive_handler(self) -> None:
        # armed once for a run of hot reads, not again by each: it waits on for the time
        # since the last one
        waited = time.perf_counter() - self.answered_at
        if waited < self.timeout_keep_alive:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive - waited, self.timeout_keep_alive_handler
            )
            return
        super().timeout_keep_alive_handler()

    def _idle(self) -> bool:
        """Nothing is being answered or waits to be, the client reads, and the server has no
        setting that changes a request (a root path, a concurrency limit)."""
        return not (
            self.pipeline
            or (self.cycle is not None and not self.cycle.response_complete)
            or self.flow.write_paused
            or self.root_path
            or self.limit_concurrency is not None
        )

    def _whole(self, hot_reads: HotReads, data: bytes) -> bool:
        """Answer `data` when it is one whole request, and a hot read."""
        read = self.whole_read
        read.clear()
        try:
            read.parser.feed_data(data)
        except PARSE_FAILED:
            read.begun = -1
        if read.begun != read.complete:
            # a request cut short, or one the parser refuses (uvicorn's answers it): the next
            # segment starts with a parser of its own
            self.whole_read = WholeRead()
            return False
        method = read.method.decode("ascii")
        url = read.url
        if (
            read.complete != 1
            or method not in READS
            or read.upgrade
            or b"expect" in read.headers
            or url[:1] != b"/"
            or b"#" in url
        ):
            return False
        path, _, query = url.partition(b"?")
        if not self._respond(hot_reads, method, path, query, read.headers, read.keep_alive):
            return False
        # what uvicorn does once a response is complete, but the timer: armed once (see
        # `timeout_keep_alive_handler`)
        self.server_state.total_requests += 1
        if read.keep_alive and self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )
        return True

    def _parsed(self, hot_reads: HotReads) -> bool:
        """Answer the request whose headers httptools parsed when it is a hot read."""
        parser = self.parser
        method = parser.get_method().decode("ascii")
        if (
            method not in READS
            or not self._idle()
            or self.expect_100_continue
            or parser.should_upgrade()
        ):
            return False
        url = httptools.parse_url(self.url)
        keep_alive = parser.get_http_version() != "1.0" and parser.should_keep_alive()
        request = dict(self.headers)
        if not self._respond(hot_reads, method, url.path, url.query or b"", request, keep_alive):
            return False
        # what uvicorn does once a response is complete: count it, read on, arm the keep-alive
        self.on_response_complete()
        return True

    def _respond(
        self,
        hot_reads: HotReads,
        method: str,
        raw_path: bytes,
        query: bytes,
        request: dict[bytes, bytes],
        keep_alive: bool,
    ) -> bool:
        """Send the hot read's answer, count and log it; False (nothing sent) when uvicorn's
        path must answer."""
        if b"%" in raw_path or not FORWARDED.isdisjoint(request):
            return False
        started = time.perf_counter()
        path = raw_path.decode("ascii")
        found = hot_reads.find(method, path, query, request, self.scheme or "http", self.client)
        if found is None:
            return False
        answer, request_id = found
        head = method == "HEAD"
        self.transport.writelines(
            (
                b"".join(
                    (
                        STATUS_LINE[answer.status],
                        _defaults.lines(self.server_state.default_headers),
                        answer.wire,
                        REQUEST_ID,
                        request_id,
                        b"\r\n\r\n" if keep_alive else b"\r\n" + CLOSE + b"\r\n",
                    )
                ),
                b"" if head else answer.body,
            )
        )
        hot_reads.served(answer, head, request_id, started)
        self.answered_at = started
        if not keep_alive:
            self.transport.close()
        return True
