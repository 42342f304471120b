"""Responses sent the way a production web server sends them: security headers on every
answer, HEAD on every GET route, negotiated compression (zstd, brotli, gzip) and validators
(ETag, 304) on catalog reads.

One outermost ASGI layer, independent of the routes: the catalog view hands out the same bytes
object until the catalog changes, so the encoded variants and the ETag of a body are computed
once and found again by that object (a cached hash) on every later request.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import brotli
import zstandard
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WORKER_HEADER: Final = b"x-worker"
"""Names the process that answered (its pid), on `/health` and WebSocket handshakes: which
worker of `serve --workers` a connection reached."""


def worker_header() -> tuple[bytes, bytes]:
    return WORKER_HEADER, str(os.getpid()).encode()


CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""No inline script anywhere: the built web app loads its code from /assets only."""
CSP_HEADER: Final = CSP.encode()
DOCS_CDN: Final = "https://cdn.jsdelivr.net"
DOCS_PATHS: Final = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
"""FastAPI's API explorer pages: their one inline script is allowed by its hash, nothing else."""
HSTS: Final = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
SECURITY_HEADERS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
MIN_COMPRESS: Final = 1024
"""Bodies below this go out as they are: a 0.5 KB product fits one packet either way. The 11.8 KB
product page goes out at 3.2 KB; the catalog bench measured that at 0.9x to 1.2x the plain rate
depending on the server, an encoding being made once per body (bench/results/catalog.md)."""
COMPRESSIBLE: Final = (
    b"application/json",
    b"text/",
    b"application/javascript",
    b"image/svg+xml",
)
VALIDATED_PREFIXES: Final = ("/api/ecommerce/product", "/api/ecommerce/categories")
"""Catalog reads: the same URL answers the same bytes until the catalog changes."""
CODINGS: Final = ("zstd", "br", "gzip")
"""Preferred first when the client weighs them alike: zstd compresses fastest at a like ratio."""
ENCODERS: Final[dict[str, Callable[[bytes], bytes]]] = {
    "zstd": zstandard.ZstdCompressor(level=3).compress,
    "br": lambda body: brotli.compress(body, quality=5),
    "gzip": lambda body: gzip.compress(body, compresslevel=6, mtime=0),
}
CACHED_BODIES: Final = 512


def negotiate(accept_encoding: str, offered: tuple[str, ...] = CODINGS) -> str | None:
    """The content coding to answer with for this `Accept-Encoding`, None for identity."""
    weights: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q=([^\s;,]*)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                continue
        weights[name.strip().lower()] = quality
    star = weights.get("*", 0.0)
    best, best_q = None, 0.0
    for coding in offered:
        quality = weights.get(coding, star)
        if quality > best_q:
            best, best_q = coding, quality
    return best


@dataclass(slots=True)
class Variants:
    """A body with its strong validator and its encodings, made when first asked for."""

    identity: bytes
    etag: bytes
    encoded: dict[str, bytes] = field(default_factory=dict)

    def body(self, coding: str | None) -> bytes:
        if coding is None:
            return self.identity
        found = self.encoded.get(coding)
        if found is None:
            found = self.encoded[coding] = ENCODERS[coding](self.identity)
        return found


class VariantCache:
    """The last `size` bodies' variants, by body."""

    def __init__(self, size: int = CACHED_BODIES) -> None:
        self._size = size
        self._entries: OrderedDict[bytes, Variants] = OrderedDict()

    def of(self, body: bytes) -> Variants:
        found = self._entries.get(body)
        if found is None:
            digest = hashlib.blake2b(body, digest_size=12).digest()
            etag = b'"' + base64.urlsafe_b64encode(digest) + b'"'
            found = self._entries[body] = Variants(body, etag)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return found


def matches(if_none_match: bytes, etag: bytes) -> bool:
    """Weak comparison (RFC 9110 13.1.2): a `W/` prefix on either side does not matter."""
    if if_none_match.strip() == b"*":
        return True
    return any(tag.strip().removeprefix(b"W/") == etag for tag in if_none_match.split(b","))


def whole(
    variants: Variants, accept: str, request: dict[bytes, bytes], validate: bool
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, representation headers and body of a whole 200 answer, for this request's
    `Accept-Encoding` and (when `validate`) `If-None-Match`."""
    body = variants.identity
    coding = negotiate_cached(accept) if len(body) >= MIN_COMPRESS and accept else None
    headers = [(b"vary", b"Accept-Encoding")] if len(body) >= MIN_COMPRESS else []
    if validate:
        headers += [(b"etag", variants.etag), (b"cache-control", b"no-cache")]
        if_none_match = request.get(b"if-none-match")
        if if_none_match is not None and matches(if_none_match, variants.etag):
            return 304, headers, b""
    encoded = variants.body(coding)
    if coding is not None:
        headers.append((b"content-encoding", coding.encode()))
    headers.append((b"content-length", str(len(encoded)).encode()))
    return 200, headers, encoded


def negotiate_cached(accept: str) -> str | None:
    """`negotiate` for the few `Accept-Encoding` values clients actually send."""
    if accept in _NEGOTIATED:
        return _NEGOTIATED[accept]
    found = negotiate(accept)
    if len(_NEGOTIATED) < 256:
        _NEGOTIATED[accept] = found
    return found


_NEGOTIATED: dict[str, str | None] = {}


PLAIN_SECURITY: Final = ((b"content-security-policy", CSP_HEADER), *SECURITY_HEADERS)
TLS_SECURITY: Final = (*PLAIN_SECURITY, HSTS)


def security_headers(scope: Scope) -> tuple[tuple[bytes, bytes], ...]:
    """Every answer's: HSTS only where the request came over TLS."""
    return TLS_SECURITY if scope.get("scheme") in ("https", "wss") else PLAIN_SECURITY


def docs_csp(html: bytes) -> bytes:
    """The policy of an API explorer page: its CDN and the hashes of its own inline scripts."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in re.findall(rb"<script>(.*?)</script>", html, re.S)
    )
    return (
        f"default-src 'self'; script-src 'self' {DOCS_CDN} {hashes}; "
        f"style-src 'self' {DOCS_CDN}; img-src 'self' data: https://fastapi.tiangolo.com; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    ).encode()


class Serving:
    """The outermost layer of the HTTP app (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.variants = VariantCache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            # every GET route answers HEAD: the same headers, no body (the server keeps its
            # own scope, which still says HEAD)
            scope = {**scope, "method": "GET"}
        path: str = scope["path"]
        security = security_headers(scope)
        if path in DOCS_PATHS:
            await self.app(scope, receive, self._docs_sender(send, security, head))
            return
        request = dict(scope["headers"]) if scope["method"] == "GET" else {}
        accept = request.get(b"accept-encoding", b"").decode("latin-1")
        validate = path.startswith(VALIDATED_PREFIXES)
        start: Message | None = None

        async def respond(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *security]
                if scope["method"] == "GET" and self._may_rework(message):
                    start = message  # held until the body says whether it is whole
                    return
                await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            if start is not None:
                held, start = start, None
                if message.get("more_body"):
                    await send(held)  # a stream: sent as it comes
                else:
                    await self._send_reworked(send, held, message, accept, validate, request, head)
                    return
            if not head:
                await send(message)
            elif not message.get("more_body"):
                await send({"type": "http.response.body", "body": b""})

        await self.app(scope, receive, respond)

    @staticmethod
    def _may_rework(start: Message) -> bool:
        if start["status"] != 200:
            return False
        content_type = b""
        for name, value in start["headers"]:
            lowered = name.lower()
            if lowered == b"content-encoding":
                return False
            if lowered == b"content-type":
                content_type = value
        return content_type.startswith(COMPRESSIBLE)

    async def _send_reworked(
        self,
        send: Send,
        start: Message,
        message: Message,
        accept: str,
        validate: bool,
        request: dict[bytes, bytes],
        head: bool,
    ) -> None:
        body: bytes = message.get("body", b"")
        if not validate and (len(body) < MIN_COMPRESS or not accept):
            await send(start)
            await send({"type": "http.response.body", "body": b"" if head else body})
            return
        headers = [
            (name, value) for name, value in start["headers"] if name.lower() != b"content-length"
        ]
        status, extra, encoded = whole(self.variants.of(body), accept, request, validate)
        headers += extra
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else encoded})

    def _docs_sender(
        self, send: Send, security: tuple[tuple[bytes, bytes], ...], head: bool
    ) -> Send:
        """The explorer pages are small HTML: held whole, to hash their inline script."""
        held: list[Message] = []

        async def respond(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.append(message)
                return
            if message["type"] != "http.response.body" or not held:
                await send(message)
                return
            held.append(message)
            if message.get("more_body"):
                return
            start, *chunks = held
            html = b"".join(chunk.get("body", b"") for chunk in chunks)
            policy = (b"content-security-policy", docs_csp(html))
            start["headers"] = [*start.get("headers", ()), policy, *security[1:]]
            await send(start)
            await send({"type": "http.response.body", "body": b"" if head else html})

        return respond
