"""uvicorn's HTTP/1.1 protocol (httptools) answering the hot catalog reads itself.

A hot read on uvicorn cost about twice its edge in the server's own per-request machinery: a
task, a request-response cycle with its event, two ASGI messages, two regular expressions per
header (KartShoppe sends a dozen), the proxy-headers layer, and the head and the body written
in two socket writes. Here a request whose headers are parsed is first offered to the app's
`HotReads.find` (the same kept answers, browse rate limit, request id, metrics and access log
as its ASGI path, `api/fastpath.py`); when it answers, the status line, the server's default
headers (`date`), the answer's pre-rendered headers, the request id and the body go out in one
write, and the connection carries on as uvicorn's own would (keep-alive timer, `Connection:
close` for HTTP/1.0 or a client that asks it, HEAD without a body).

Everything else goes to uvicorn as it is: a method other than GET/HEAD, any request with a body
or `Expect`, an upgrade, a percent-encoded path, forwarded-for headers (the proxy-headers layer
judges them), a request behind one still being answered (pipelining keeps its order), a client
that is not reading (uvicorn's flow control waits for it), and whatever `find` declines.
"""

from __future__ import annotations

import asyncio
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
    answered as soon as their headers are parsed."""

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

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.answered = False

    def on_headers_complete(self) -> None:
        if self.hot_reads is not None and self._answer(self.hot_reads):
            self.answered = True
            return
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if not self.answered:
            super().on_message_complete()

    def _answer(self, hot_reads: HotReads) -> bool:
        parser = self.parser
        method = parser.get_method().decode("ascii")
        if (
            method not in READS
            or self.pipeline
            or (self.cycle is not None and not self.cycle.response_complete)
            or self.flow.write_paused
            or self.expect_100_continue
            or parser.should_upgrade()
            or self.root_path
            or self.limit_concurrency is not None
        ):
            return False
        url = httptools.parse_url(self.url)
        raw_path: bytes = url.path
        if b"%" in raw_path:
            return False
        started = time.perf_counter()
        request = dict(self.headers)
        if not FORWARDED.isdisjoint(request):
            return False
        path = raw_path.decode("ascii")
        query: bytes = url.query or b""
        found = hot_reads.find(method, path, query, request, self.scheme or "http", self.client)
        if found is None:
            return False
        answer, request_id = found
        keep_alive = parser.get_http_version() != "1.0" and parser.should_keep_alive()
        head = method == "HEAD"
        self.transport.write(
            b"".join(
                (
                    STATUS_LINE[answer.status],
                    _defaults.lines(self.server_state.default_headers),
                    answer.wire,
                    REQUEST_ID,
                    request_id,
                    b"\r\n" if keep_alive else b"\r\n" + CLOSE,
                    b"\r\n",
                    b"" if head else answer.body,
                )
            )
        )
        hot_reads.served(answer, head, request_id, started)
        if not keep_alive:
            self.transport.close()
        # what uvicorn does once a response is complete: count it, read on, arm the keep-alive
        self.on_response_complete()
        return True
