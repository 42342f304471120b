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

from starlette.types import ASGIApp, Receive, Scope, Send

from kartshoppe.api.deps import Platform
from kartshoppe.api.middleware import Edge
from kartshoppe.api.ratelimit import RouteClass
from kartshoppe.api.serving import VariantCache, security_headers, whole
from kartshoppe.views.catalog import ProductQuery, Sort

PREFIX: Final = "/api/ecommerce"
SORTS: Final = frozenset(get_args(Sort))
MAX_TEXT: Final = {"category": 80, "q": 200, "brand": 80}
ALIASES: Final = {"search": "q", "limit": "pageSize"}
"""The original KartShoppe client's names; a name given twice (even as its alias) falls through."""


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


class HotReads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.variants = VariantCache()
        # found on the app's state on first use (Starlette's state lookup is a Python call)
        self._edge: Edge | None = None
        self._platform: Platform | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and scope["path"].startswith(PREFIX)
        ):
            started = time.perf_counter()
            found = self._answer(scope)
            if found is not None and await self._serve(scope, send, started, *found):
                return
        await self.app(scope, receive, send)

    async def _serve(
        self, scope: Scope, send: Send, started: float, body: bytes, route: HotRoute
    ) -> bool:
        """Answer with the whole edge applied; False (nothing sent) when the full stack must."""
        edge = self._edge
        if edge is None:
            edge = self._edge = getattr(scope["app"].state, "edge", None)
            if edge is None:
                return False
        if edge.tracing.enabled:
            return False
        request = dict(scope["headers"])
        if b"content-length" in request or b"transfer-encoding" in request:
            return False
        method: str = scope["method"]
        path: str = scope["path"]
        if edge.limiter.take_or_wait(RouteClass.BROWSE, edge.client_of(scope, request)):
            return False  # the full stack refuses it, counted and logged as everywhere
        request_id = edge.request_id(request)
        accept = request.get(b"accept-encoding", b"").decode("latin-1")
        status, representation, encoded = whole(self.variants.of(body), accept, request, True)
        headers = [
            (b"content-type", b"application/json"),
            *representation,
            *security_headers(scope),
            (b"x-request-id", request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else encoded})
        edge.finish(request_id, method, path, route.path, status, started)
        return True

    def _answer(self, scope: Scope) -> tuple[bytes, HotRoute] | None:
        path: str = scope["path"]
        platform = self._platform
        if platform is None:
            platform = self._platform = getattr(scope["app"].state, "platform", None)
            if platform is None:
                return None
        catalog, rest, query = platform.catalog, path[len(PREFIX) :], scope["query_string"]
        body: bytes | None = None
        if rest == "/products":
            parsed = parse_product_query(query)
            body, route = (catalog.search_bytes(parsed) if parsed else None), PRODUCTS
        elif rest in ("/products/featured", "/products/trending"):
            limit = parse_limit(query)
            featured = rest.endswith("featured")
            route = FEATURED if featured else TRENDING
            if limit is not None:
                read = catalog.featured_bytes if featured else catalog.trending_bytes
                body = read(limit)
        elif rest.startswith("/product/") and not query:
            body, route = catalog.product_bytes(rest[len("/product/") :]), PRODUCT
        else:
            return None
        return None if body is None else (body, route)
