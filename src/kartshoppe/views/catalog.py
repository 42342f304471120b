"""The product catalog view: the seed's `products-cache`, with search, filters, sort and paging.

It reads the fold's products and stock levels and the latest `TRENDING_UPDATED` scores (from the
fanout topic), and keeps answers pre-encoded as JSON bytes
keyed by the query, dropped whenever the catalog or a stock level changes: the hot GET paths
do no per-request work beyond a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

from kartshoppe.api.schemas import ProductOut
from kartshoppe.domain.state import ShopState
from kartshoppe.events import (
    CATALOG_EVENTS,
    Event,
    InventoryChanged,
    ReviewPosted,
    TrendingUpdated,
    now_ms,
)

Sort = Literal["relevance", "price_asc", "price_desc", "rating", "name", "newest"]
CACHE_LIMIT = 512
DEFAULT_PAGE_SIZE = 24
PRICE_TICK_MS = 1000
"""Cached answers also expire when a flash sale may have started or ended since."""
CHANGES_PRODUCTS: Final = (*CATALOG_EVENTS, InventoryChanged, TrendingUpdated, ReviewPosted)
"""The events after which a cached answer may be wrong."""


@dataclass(frozen=True, slots=True)
class ProductQuery:
    category: str | None = None
    q: str | None = None
    sort: Sort = "relevance"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


def _matches(view: dict[str, Any], query: ProductQuery, terms: Sequence[str]) -> bool:
    if query.category and view["category"].lower() != query.category.lower():
        return False
    haystack = " ".join(
        [view["name"], view["description"], view["category"], *view["tags"]]
    ).lower()
    return all(term in haystack for term in terms)


def _relevance(view: dict[str, Any], terms: Sequence[str]) -> float:
    name = view["name"].lower()
    in_name = sum(term in name for term in terms)
    return -(in_name * 10 + float(view["rating"]) + (5 if view["featured"] else 0))


def _sorted(views: list[dict[str, Any]], sort: Sort, terms: Sequence[str]) -> list[dict[str, Any]]:
    keys: dict[str, Any] = {
        "price_asc": lambda v: (v["price"], v["id"]),
        "price_desc": lambda v: (-v["price"], v["id"]),
        "rating": lambda v: (-v["rating"], -v["reviewCount"], v["id"]),
        "name": lambda v: (v["name"].lower(), v["id"]),
        "newest": lambda v: v["id"],
        "relevance": lambda v: (_relevance(v, terms), v["id"]),
    }
    ordered = sorted(views, key=keys[sort])
    return ordered[::-1] if sort == "newest" else ordered


class CatalogView:
    def __init__(self, state: ShopState) -> None:
        self._state = state
        self._cache: dict[tuple[Any, ...], bytes] = {}
        self.trending_scores: dict[str, float] = {}
        self.hits = 0
        self.misses = 0

    def on_event(self, event: Event) -> None:
        if isinstance(event, TrendingUpdated):
            self.trending_scores = {p.product_id: p.score for p in event.products}
        if isinstance(event, CHANGES_PRODUCTS):
            self._cache.clear()

    def _cached(self, key: tuple[Any, ...], build: Any) -> bytes:
        key = (now_ms() // PRICE_TICK_MS, *key)
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

    def product(self, product_id: str) -> dict[str, Any] | None:
        product = self._state.products.get(product_id)
        if product is None:
            return None
        return ProductOut.of(product, self._state.stock.get(product_id), now_ms()).to_json()

    def product_bytes(self, product_id: str) -> bytes | None:
        if product_id not in self._state.products:
            return None
        return self._cached(("product", product_id), lambda: self.product(product_id))

    def all_views(self) -> list[dict[str, Any]]:
        at = now_ms()
        stock = self._state.stock
        return [
            ProductOut.of(p, stock.get(p.id), at).to_json() for p in self._state.products.values()
        ]

    def search(self, query: ProductQuery) -> dict[str, Any]:
        terms = [t for t in (query.q or "").lower().split() if t]
        found = [v for v in self.all_views() if _matches(v, query, terms)]
        ordered = _sorted(found, query.sort, terms)
        start = (query.page - 1) * query.page_size
        return {
            "items": ordered[start : start + query.page_size],
            "total": len(ordered),
            "page": query.page,
            "pageSize": query.page_size,
        }

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
        for product in self._state.products.values():
            counts[product.category] = counts.get(product.category, 0) + 1
        return [{"name": name, "count": counts[name]} for name in sorted(counts)]
