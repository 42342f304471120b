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
    matches,
    negotiate_cached,
    whole,
)
from kartshoppe.observability.metrics import Tally
from kartshoppe.views.catalog import CatalogView, ProductQuery, Sort

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


def header_lines(headers: list[tuple[bytes, bytes]]) -> bytes:
    """`headers` as HTTP/1.1 header lines, for a server that writes them itself
    (`api/hot_protocol.py`)."""
    return b"".join(b"%s: %s\r\n" % (name.lower(), value) for name, value in headers)


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


ANSWERS_KEPT: Final = 1024
"""Prebuilt answers kept (one per request shape: path, query, codings offered, validator,
scheme); past that they are built again."""
DEFAULT_QUERY: Final = ProductQuery()
READS: Final = frozenset({"GET", "HEAD"})
REQUEST_ID: Final = b"x-request-id"

AnswerKey = tuple[str, bytes, bytes | None, bytes | None, str]
"""Path, query, `Accept-Encoding`, `If-None-Match` and scheme of a request."""


@dataclass(frozen=True, slots=True)
class Answer:
    """Everything a hot read sends but its request id, built once per request shape and catalog
    generation, with the latency series it counts into."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    get: tuple[Tally, bytes]
    head: tuple[Tally, bytes]
    """Per method: the latency series and the access-log line's prefix."""
    wire: bytes
    """`headers` as header lines (`header_lines`)."""


class HotReads:
    """The hot reads, asked first by the app itself (`KartShoppeApi.__call__`), before its
    middleware stack: one call does the whole edge, with the answer (headers, security headers,
    ETag, coding) built once per request shape while the catalog stays the same, so a read does
    a dictionary lookup, a rate-limit token, an id and two counts."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.variants = VariantCache()
        self._answers: dict[AnswerKey, Answer] = {}
        self._generation = -1
        # found on the app's state once the lifespan has built them
        self._edge: Edge | None = None
        self._catalog: CatalogView | None = None

    async def serve(self, scope: Scope, send: Send) -> bool:
        """Answer a hot read with the whole edge applied; False (nothing sent) when the full
        stack must answer."""
        method: str = scope["method"]
        path: str = scope["path"]
        if method not in READS or not path.startswith(PREFIX):
            return False
        started = time.perf_counter()
        found = self.find(
            method,
            path,
            scope["query_string"],
            dict(scope["headers"]),
            scope.get("scheme", "http"),
            scope.get("client"),
        )
        if found is None:
            return False
        answer, request_id = found
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [*answer.headers, (REQUEST_ID, request_id)],
            }
        )
        head = method == "HEAD"
        await send({"type": "http.response.body", "body": b"" if head else answer.body})
        self.served(answer, head, request_id, started)
        return True

    def find(
        self,
        method: str,
        path: str,
        query: bytes,
        request: dict[bytes, bytes],
        scheme: str,
        client: tuple[str, int] | None,
    ) -> tuple[Answer, bytes] | None:
        """The kept answer to a hot read and its request id, its browse token taken; None when
        the full stack must answer (nothing taken then)."""
        if method not in READS or not path.startswith(PREFIX):
            return None
        edge, catalog = self._edge, self._catalog
        if edge is None or catalog is None:
            edge, catalog = self._edge, self._catalog = self._attached()
            if edge is None or catalog is None:
                return None
        if edge.tracing.enabled or not FALL_THROUGH_HEADERS.isdisjoint(request):
            return None
        generation = catalog.current()
        if generation != self._generation:
            self._answers.clear()
            self._generation = generation
        key = (path, query, request.get(b"accept-encoding"), request.get(b"if-none-match"), scheme)
        answer = self._answers.get(key)
        if answer is None:
            try:
                answer = self._answer(edge, catalog, key)
            except Exception:  # the full stack answers it, with its error handling
                return None
            if answer is None:
                return None
            if len(self._answers) >= ANSWERS_KEPT:
                self._answers.clear()
            self._answers[key] = answer
        else:
            catalog.hits += 1  # the catalog's bytes, kept here with their headers
        if edge.limiter.take_or_wait(RouteClass.BROWSE, edge.client_of(client, request)):
            return None  # the full stack refuses it, counted and logged as everywhere
        return answer, edge.request_id(request)

    def served(self, answer: Answer, head: bool, request_id: bytes, started: float) -> None:
        """Count and log a hot read once it is sent."""
        edge = self._edge
        assert edge is not None  # `find` found it
        tally, log_prefix = answer.head if head else answer.get
        edge.count(tally, log_prefix, request_id, started)

    def _attached(self) -> tuple[Edge | None, CatalogView | None]:
        platform: Platform | None = getattr(self.app.state, "platform", None)
        edge: Edge | None = getattr(self.app.state, "edge", None)
        return edge, None if platform is None else platform.catalog

    def _answer(self, edge: Edge, catalog: CatalogView, key: AnswerKey) -> Answer | None:
        path, query, accept, if_none_match, scheme = key
        found = _body(catalog, path, query)
        if found is None:
            return None
        body, route = found
        variants = self.variants.of(body)
        coding = None
        if len(body) >= MIN_COMPRESS and accept:
            coding = negotiate_cached(accept.decode("latin-1"))
        unchanged = if_none_match is not None and matches(if_none_match, variants.etag)
        request = {b"if-none-match": b"*"} if unchanged else {}
        status, representation, encoded = whole(variants, coding or "identity", request, True)
        security = TLS_SECURITY if scheme == "https" else PLAIN_SECURITY
        headers = [CONTENT_TYPE, *representation, *security]
        get, head = (
            (
                edge.latency(route.path, method, status),
                edge.access_log.prefix(method, path, route.path, status),
            )
            for method in ("GET", "HEAD")
        )
        return Answer(status, headers, encoded, get, head, header_lines(headers))


def _body(catalog: CatalogView, path: str, query: bytes) -> tuple[bytes, HotRoute] | None:
    rest = path[len(PREFIX) :]
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
