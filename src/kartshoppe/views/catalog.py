"""The product catalog view: the seed's `products-cache`, with search, filters, facets, sort
and paging.

Search is `views/search.py` (typo-tolerant, relevance-ranked). Filters are category, brand,
price range, minimum rating, in stock and on sale; facet counts are disjunctive: the counts of a
facet apply every filter but its own, so choosing one brand still shows how many the others have.

It reads the fold's products and stock levels and the latest `TRENDING_UPDATED` scores (from the
fanout topic), and keeps answers pre-encoded as JSON bytes
keyed by the query, dropped whenever the catalog or a stock level changes, and when the clock
passes a flash sale's start or end (`fresh_until`): the only moments a product's answer changes
by itself. The hot GET paths do no per-request work beyond a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

import orjson

from kartshoppe.domain.catalog import effective_price, is_on_sale
from kartshoppe.domain.reference_price import History
from kartshoppe.domain.state import ShopState
from kartshoppe.events import (
    CATALOG_EVENTS,
    Event,
    InventoryChanged,
    Product,
    Recommendation,
    ReviewPosted,
    TrendingUpdated,
    json_number,
    now_ms,
)
from kartshoppe.views.models import ProductOut
from kartshoppe.views.search import SearchIndex

Sort = Literal["relevance", "price_asc", "price_desc", "rating", "name", "newest"]
CACHE_LIMIT = 512
DEFAULT_PAGE_SIZE = 24
CHANGES_PRODUCTS: Final = (*CATALOG_EVENTS, InventoryChanged, TrendingUpdated, ReviewPosted)
"""The events after which a cached answer may be wrong."""


PRICE_EDGES: Final = (0, 25, 50, 100, 250, 500, 1000)
"""The price facet's buckets: [0, 25), [25, 50), ... [1000, and up)."""
RATING_STEPS: Final = (4.5, 4.0, 3.5, 3.0)
"""The rating facet: "4.5 and up", "4 and up", ..."""
SUGGEST_LIMIT: Final = 6


@dataclass(frozen=True, slots=True)
class ProductQuery:
    category: str | None = None
    q: str | None = None
    sort: Sort = "relevance"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    brand: str | None = None
    min_price: Decimal | None = None
    """Inclusive."""
    max_price: Decimal | None = None
    """Exclusive, like the price facet's buckets."""
    min_rating: float | None = None
    in_stock: bool | None = None
    on_sale: bool | None = None


@dataclass(frozen=True, slots=True)
class Row:
    """A product as shown now, with what the filters read in exact form."""

    view: dict[str, Any]
    price: Decimal
    on_sale: bool


Filter = Callable[[Row], bool]


def _same(wanted: str | None, value: str) -> bool:
    """An empty filter (`?brand=`) is no filter, as the original client sends it."""
    return not wanted or wanted.lower() == value.lower()


def _filters(query: ProductQuery) -> dict[str, Filter]:
    """Per facet, whether a row passes the query's filter on it."""
    low, high = query.min_price, query.max_price
    return {
        "category": lambda r: _same(query.category, r.view["category"]),
        "brand": lambda r: _same(query.brand, r.view["brand"]),
        "price": lambda r: (low is None or r.price >= low) and (high is None or r.price < high),
        "rating": lambda r: query.min_rating is None or r.view["rating"] >= query.min_rating,
        "inStock": lambda r: query.in_stock is None or query.in_stock != r.view["soldOut"],
        "onSale": lambda r: query.on_sale is None or query.on_sale == r.on_sale,
    }


def _counts(values: list[str]) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for value in values:
        if value:
            counts[value] = counts.get(value, 0) + 1
    return [{"value": v, "count": counts[v]} for v in sorted(counts, key=lambda v: (-counts[v], v))]


def _price_buckets(rows: list[Row]) -> list[dict[str, Any]]:
    buckets = []
    for index, low in enumerate(PRICE_EDGES):
        high = PRICE_EDGES[index + 1] if index + 1 < len(PRICE_EDGES) else None
        count = sum(1 for r in rows if r.price >= low and (high is None or r.price < high))
        if count:
            buckets.append({"min": low, "max": high, "count": count})
    return buckets


def facets(rows: list[Row], passes: Mapping[str, Filter]) -> dict[str, Any]:
    """Counts per facet value among `rows`, each facet under every filter but its own."""

    def without(name: str) -> list[Row]:
        others = [f for facet, f in passes.items() if facet != name]
        return [r for r in rows if all(f(r) for f in others)]

    rated = without("rating")
    return {
        "category": _counts([r.view["category"] for r in without("category")]),
        "brand": _counts([r.view["brand"] for r in without("brand")]),
        "price": _price_buckets(without("price")),
        "rating": [
            {"min": step, "count": sum(1 for r in rated if r.view["rating"] >= step)}
            for step in RATING_STEPS
        ],
        "inStock": sum(1 for r in without("inStock") if not r.view["soldOut"]),
        "onSale": sum(1 for r in without("onSale") if r.on_sale),
    }


def _ordered(rows: list[Row], sort: Sort, scores: Mapping[str, float]) -> list[Row]:
    """`relevance` is the search score, then editorial picks and rating."""
    keys: dict[str, Callable[[Row], Any]] = {
        "price_asc": lambda r: (r.price, r.view["id"]),
        "price_desc": lambda r: (-r.price, r.view["id"]),
        "rating": lambda r: (-r.view["rating"], -r.view["reviewCount"], r.view["id"]),
        "name": lambda r: (r.view["name"].lower(), r.view["id"]),
        "newest": lambda r: r.view["id"],
        "relevance": lambda r: (
            -scores.get(r.view["id"], 0.0),
            not r.view["featured"],
            -r.view["rating"],
            r.view["id"],
        ),
    }
    ordered = sorted(rows, key=keys[sort])
    return ordered[::-1] if sort == "newest" else ordered


def next_price_moment(products: Iterable[Product], history: Mapping[str, History], at: int) -> int:
    """The first moment after `at` when a product's answer changes with no event: a flash sale's
    start or end, or a recorded price taking effect (the shown price, the sale, and the "was"
    price, which looks back from when the current price began). Never, with none ahead."""
    moment = NEVER
    for product in products:
        edges = (
            []
            if product.flash_sale is None
            else [product.flash_sale.starts_at, product.flash_sale.ends_at]
        )
        for point in history.get(product.id, ()):
            edges.append(point.at_ms)
            if point.sale is not None:
                edges += (point.sale.starts_at, point.sale.ends_at)
        for edge in edges:
            if at < edge < moment:
                moment = edge
    return moment


NEVER: Final = 2**63
"""Later than any moment in milliseconds."""


class CatalogView:
    def __init__(self, state: ShopState, clock: Callable[[], int] = now_ms) -> None:
        self._state = state
        self._clock = clock
        self._cache: dict[tuple[Any, ...], bytes] = {}
        self.generation = 0
        """Bumped whenever the cached answers are dropped: an answer kept beside the view (the
        hot reads' headers) holds for one generation."""
        self._fresh_until = 0
        self.trending_scores: dict[str, float] = {}
        self._index: SearchIndex | None = None
        self.hits = 0
        self.misses = 0

    def on_event(self, event: Event) -> None:
        if isinstance(event, TrendingUpdated):
            self.trending_scores = {p.product_id: p.score for p in event.products}
        if isinstance(event, CATALOG_EVENTS):
            self._index = None
        if isinstance(event, CHANGES_PRODUCTS):
            self._drop()

    def _drop(self) -> None:
        self._cache.clear()
        self.generation += 1
        self._fresh_until = 0

    def current(self) -> int:
        """The generation of the answers as of now: the answers go when a flash sale starts
        or ends."""
        now = self._clock()
        if now >= self._fresh_until:
            if self._fresh_until:
                self._drop()
            self._fresh_until = next_price_moment(
                self._state.products.values(), self._state.price_history, now
            )
        return self.generation

    @property
    def index(self) -> SearchIndex:
        """The search index of the current catalog (built on first use after a change)."""
        if self._index is None:
            self._index = SearchIndex(self.on_sale())
        return self._index

    def _cached(self, key: tuple[Any, ...], build: Any) -> bytes:
        self.current()
        found = self._cache.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        encoded = orjson.dumps(build())
        self._cache[key] = encoded
        return encoded

    def _out(self, product: Product, at_ms: int) -> ProductOut:
        history = self._state.price_history.get(product.id, ())
        return ProductOut.of(product, self._state.stock.get(product.id), at_ms, history)

    def offered(self, recommendation: Recommendation) -> Recommendation | None:
        """The recommendation without products that left the catalog (the processors know
        nothing of retirement); None if none is left."""
        products = self._state.products
        ids = tuple(p for p in recommendation.product_ids if is_on_sale(products.get(p)))
        return recommendation.model_copy(update={"product_ids": ids}) if ids else None

    def on_sale(self) -> list[Product]:
        """The products shoppers can see and buy: a retired product has left the catalog."""
        return [p for p in self._state.products.values() if is_on_sale(p)]

    def product(self, product_id: str) -> dict[str, Any] | None:
        product = self._state.products.get(product_id)
        if not is_on_sale(product):
            return None
        return self._out(product, self._clock()).to_json()

    def product_bytes(self, product_id: str) -> bytes | None:
        if not is_on_sale(self._state.products.get(product_id)):
            return None
        return self._cached(("product", product_id), lambda: self.product(product_id))

    def all_views(self) -> list[dict[str, Any]]:
        at = self._clock()
        return [self._out(p, at).to_json() for p in self.on_sale()]

    def _rows(self, ids: Mapping[str, float] | None) -> list[Row]:
        at = self._clock()
        rows = []
        for product in self.on_sale():
            if ids is not None and product.id not in ids:
                continue
            out = self._out(product, at)
            on_sale = out.reduction_percent is not None or out.flash_sale is not None
            rows.append(Row(out.to_json(), effective_price(product, at), on_sale))
        return rows

    def search(self, query: ProductQuery) -> dict[str, Any]:
        scores = self.index.search(query.q) if query.q else None
        rows = self._rows(scores)
        passes = _filters(query)
        found = [r for r in rows if all(f(r) for f in passes.values())]
        ordered = _ordered(found, query.sort, scores or {})
        start = (query.page - 1) * query.page_size
        return {
            "items": [r.view for r in ordered[start : start + query.page_size]],
            "total": len(ordered),
            "page": query.page,
            "pageSize": query.page_size,
            "facets": facets(rows, passes),
        }

    def suggest(self, q: str, limit: int = SUGGEST_LIMIT) -> dict[str, Any]:
        """The best few products for what is typed so far, for search as you type."""
        scores = self.index.search(q)
        products = self._state.products
        best = sorted(scores, key=lambda pid: (-scores[pid], not products[pid].featured, pid))
        at = self._clock()
        return {
            "query": q,
            "suggestions": [
                {
                    "id": pid,
                    "name": products[pid].name,
                    "brand": products[pid].brand,
                    "category": products[pid].category,
                    "price": json_number(effective_price(products[pid], at)),
                }
                for pid in best[:limit]
            ],
        }

    def suggest_bytes(self, q: str, limit: int = SUGGEST_LIMIT) -> bytes:
        return self._cached(("suggest", q, limit), lambda: self.suggest(q, limit))

    def search_bytes(self, query: ProductQuery) -> bytes:
        return self._cached(("search", query), lambda: self.search(query))

    def featured(self, limit: int) -> list[dict[str, Any]]:
        """Editorial picks first, then by performance (trending score, then rating)."""
        views = self.all_views()

        def rank(v: dict[str, Any]) -> tuple[Any, ...]:
            score = self.trending_scores.get(v["id"], 0.0)
            return (not v["featured"], v["soldOut"], -score, -v["rating"], v["id"])

        return sorted(views, key=rank)[:limit]

    def featured_bytes(self, limit: int) -> bytes:
        return self._cached(("featured", limit), lambda: self.featured(limit))

    def trending(self, limit: int) -> list[dict[str, Any]]:
        """Most popular now by the trending processor; best rated until it has spoken."""
        views = {v["id"]: v for v in self.all_views()}
        ranked = sorted(self.trending_scores.items(), key=lambda kv: -kv[1])
        items = [{**views[pid], "trendingScore": score} for pid, score in ranked if pid in views]
        if len(items) < limit:
            seen = {v["id"] for v in items}
            rest = sorted(
                (v for v in views.values() if v["id"] not in seen),
                key=lambda v: (-v["rating"] * v["reviewCount"], v["id"]),
            )
            items += [{**v, "trendingScore": 0.0} for v in rest]
        return items[:limit]

    def trending_bytes(self, limit: int) -> bytes:
        return self._cached(("trending", limit), lambda: self.trending(limit))

    def categories(self) -> list[dict[str, Any]]:
        counts: dict[str, int] = {}
        for product in self.on_sale():
            counts[product.category] = counts.get(product.category, 0) + 1
        return [{"name": name, "count": counts[name]} for name in sorted(counts)]
