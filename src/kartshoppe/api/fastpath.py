"""The hot catalog reads, answered at the ASGI level from the catalog view's pre-encoded bytes.

FastAPI's routing and parameter solving cost more than the lookup itself on these GETs. This
middleware sits inside the edge middleware (rate limits, metrics, logs and request ids still
apply) and answers only requests it fully understands: a query it cannot parse exactly as the
routes in `routes/catalog.py` would, or a product it does not know, falls through to FastAPI,
which then gives the documented answer or error. Both paths return the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, get_args
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from kartshoppe.api.deps import Platform
from kartshoppe.views.catalog import ProductQuery, Sort

PREFIX: Final = "/api/ecommerce"
SORTS: Final = frozenset(get_args(Sort))
MAX_TEXT: Final = {"category": 80, "q": 200}
ALIASES: Final = {"search": "q", "limit": "pageSize"}
"""The original KartShoppe client's names; a name given twice (even as its alias) falls through."""


@dataclass(frozen=True, slots=True)
class HotRoute:
    """What the edge middleware reads as the matched route (for its latency histogram)."""

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            answer = self._answer(scope)
            if answer is not None:
                await _send_json(send, answer)
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> bytes | None:
        path: str = scope["path"]
        if not path.startswith(PREFIX):
            return None
        platform: Platform | None = getattr(scope["app"].state, "platform", None)
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
        if body is not None:
            scope["route"] = route
        return body


async def _send_json(send: Send, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
