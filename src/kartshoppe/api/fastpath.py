"""The hot catalog reads, answered at the ASGI level from the catalog view's pre-encoded bytes.

FastAPI's routing, parameter solving and a stack of middleware layers cost several times the
lookup itself on these GETs. This layer sits outside all of them and answers only requests it
fully understands, with the whole edge applied in one pass: the request id, the browse rate
limit, the latency metric and the access-log line (`Edge`), and the security headers, ETag/304
and negotiated compression (`serving`). Anything else (a query it cannot parse exactly as the
routes in `routes/catalog.py` would, an unknown product, a request the rate limit refuses, a
request body, tracing on) goes down the full stack, which then gives the documented answer or
error. Both paths send the same bytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final, get_args
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.types import Scope, Send

from kartshoppe.api.deps import Platform
from kartshoppe.api.middleware import Edge
from kartshoppe.api.ratelimit import RouteClass
from kartshoppe.api.serving import (
    MIN_COMPRESS,
    PLAIN_SECURITY,
    TLS_SECURITY,
    VariantCache,
    Variants,
    matches,
    negotiate_cached,
    whole,
)
from kartshoppe.views.catalog import ProductQuery, Sort

PREFIX: Final = "/api/ecommerce"
SORTS: Final = frozenset(get_args(Sort))
MAX_TEXT: Final = {"category": 80, "q": 200, "brand": 80}
ALIASES: Final = {"search": "q", "limit": "pageSize"}
"""The original KartShoppe client's names; a name given twice (even as its alias) falls through."""
CONTENT_TYPE: Final = (b"content-type", b"application/json")
FALL_THROUGH_HEADERS: Final = frozenset(
    {b"content-length", b"transfer-encoding", b"x-log-position"}
)
"""A request body (the body limit judges it) or a read that waits for a write's position
(`ReadYourWrites`): the full stack answers."""


@dataclass(frozen=True, slots=True)
class HotRoute:
    """The route template a hot read is counted and logged under."""

    path: str


PRODUCTS = HotRoute(f"{PREFIX}/products")
FEATURED = HotRoute(f"{PREFIX}/products/featured")
TRENDING = HotRoute(f"{PREFIX}/products/trending")
PRODUCT = HotRoute(f"{PREFIX}/product/{{product_id}}")


def _int(text: str, low: int, high: int) -> int | None:
    if not text.isdigit() or len(text) > 6:
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_product_query(query_string: bytes) -> ProductQuery | None:
    """The query of `GET /products`, or None when only the full route can judge it."""
    fields: dict[str, str | int] = {}
    for given, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        name = ALIASES.get(given, given)
        if name in fields:
            return None
        if name in MAX_TEXT:
            if not value or len(value) > MAX_TEXT[name]:
                return None
            fields[name] = value
        elif name == "sort" and value in SORTS:
            fields[name] = value
        elif name == "page" and (page := _int(value, 1, 10_000)) is not None:
            fields[name] = page
        elif name == "pageSize" and (size := _int(value, 1, 100)) is not None:
            fields[name] = size
        else:
            return None
    if "pageSize" in fields:
        fields["page_size"] = fields.pop("pageSize")
    return ProductQuery(**fields)  # type: ignore[arg-type]


def parse_limit(query_string: bytes) -> int | None:
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if not pairs:
        return 8
    if len(pairs) == 1 and pairs[0][0] == "limit":
        return _int(pairs[0][1], 1, 100)
    return None


REPLIES_KEPT: Final = 1024
"""Prebuilt answers kept (one per body, coding, scheme and 200/304); past that rebuilt."""
DEFAULT_QUERY: Final = ProductQuery()

Reply = tuple[int, list[tuple[bytes, bytes]], bytes]
"""Status, headers (all but the request id) and body of a hot answer."""


class HotReads:
    """The hot reads, asked first by the app itself (`KartShoppeApi.__call__`), before its
    middleware stack: one call does the whole edge, with the answer's headers built once per body
    and coding instead of once per request."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.variants = VariantCache()
        self._replies: dict[tuple[bytes, str | None, bool, bool], Reply] = {}
        # found on the app's state once the lifespan has built them
        self._edge: Edge | None = None
        self._platform: Platform | None = None

    async def serve(self, scope: Scope, send: Send) -> bool:
        """Answer a hot read with the whole edge applied; False (nothing sent) when the full
        stack must answer."""
        if scope["method"] not in ("GET", "HEAD") or not scope["path"].startswith(PREFIX):
            return False
        started = time.perf_counter()
        try:
            found = self._reply(scope)
        except Exception:  # the full stack answers it, with its error handling
            return False
        if found is None:
            return False
        edge, request_id, route, (status, headers, body) = found
        method: str = scope["method"]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"x-request-id", request_id.encode())],
            }
        )
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        edge.finish(request_id, method, scope["path"], route.path, status, started)
        return True

    def _reply(self, scope: Scope) -> tuple[Edge, str, HotRoute, Reply] | None:
        edge, platform = self._edge, self._platform
        if edge is None or platform is None:
            edge = self._edge = getattr(self.app.state, "edge", None)
            platform = self._platform = getattr(self.app.state, "platform", None)
            if edge is None or platform is None:
                return None
        if edge.tracing.enabled:
            return None
        request = dict(scope["headers"])
        if FALL_THROUGH_HEADERS.intersection(request):
            return None
        found = self._body(platform, scope["path"], scope["query_string"])
        if found is None:
            return None
        body, route = found
        if edge.limiter.take_or_wait(RouteClass.BROWSE, edge.client_of(scope, request)):
            return None  # the full stack refuses it, counted and logged as everywhere
        variants = self.variants.of(body)
        coding = None
        if len(body) >= MIN_COMPRESS and (accept := request.get(b"accept-encoding")):
            coding = negotiate_cached(accept.decode("latin-1"))
        if_none_match = request.get(b"if-none-match")
        unchanged = if_none_match is not None and matches(if_none_match, variants.etag)
        key = (variants.etag, coding, scope.get("scheme") == "https", unchanged)
        reply = self._replies.get(key)
        if reply is None:
            if len(self._replies) >= REPLIES_KEPT:
                self._replies.clear()
            reply = self._replies[key] = _reply(variants, *key[1:])
        return edge, edge.request_id(request), route, reply

    @staticmethod
    def _body(platform: Platform, path: str, query: bytes) -> tuple[bytes, HotRoute] | None:
        catalog, rest = platform.catalog, path[len(PREFIX) :]
        body: bytes | None = None
        if rest == "/products":
            parsed = parse_product_query(query) if query else DEFAULT_QUERY
            body, route = (catalog.search_bytes(parsed) if parsed else None), PRODUCTS
        elif rest.startswith("/product/") and not query:
            body, route = catalog.product_bytes(rest[len("/product/") :]), PRODUCT
        elif rest in ("/products/featured", "/products/trending"):
            limit = parse_limit(query)
            featured = rest.endswith("featured")
            route = FEATURED if featured else TRENDING
            if limit is not None:
                read = catalog.featured_bytes if featured else catalog.trending_bytes
                body = read(limit)
        else:
            return None
        return None if body is None else (body, route)


def _reply(variants: Variants, coding: str | None, tls: bool, unchanged: bool) -> Reply:
    """The answer to every request for this body in this coding and scheme, 304 if `unchanged`."""
    request = {b"if-none-match": b"*"} if unchanged else {}
    status, representation, encoded = whole(variants, coding or "identity", request, True)
    security = TLS_SECURITY if tls else PLAIN_SECURITY
    return status, [CONTENT_TYPE, *representation, *security], encoded
