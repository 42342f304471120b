"""Catalog routes: products (search, filters, sort, paging), featured, trending, one product.

Every catalog route refuses query parameters it does not take (400 naming them), so a typo is
never silently ignored. The original KartShoppe client's `search` and `limit` on `/products`
are accepted as aliases of `q` and `pageSize`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request
from fastapi.dependencies.models import Dependant
from starlette.responses import Response

from kartshoppe.api.declared import declared_router, served_dependant
from kartshoppe.api.deps import Live
from kartshoppe.api.errors import UnknownQueryParameters
from kartshoppe.api.routes._responses import ERRORS, json, raw_json
from kartshoppe.api.schemas import CategoryOut, ProductPage, Suggestions
from kartshoppe.domain.errors import DomainError, NotFoundError
from kartshoppe.events import Id
from kartshoppe.views.catalog import DEFAULT_PAGE_SIZE, SUGGEST_LIMIT, ProductQuery, Sort
from kartshoppe.views.models import ProductOut


def query_names(dependant: Dependant) -> set[str]:
    """The query parameter names a route and its dependencies declare (aliases as sent)."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= query_names(sub)
    return names


def known_query_only(request: Request) -> None:
    """Refuse query parameters that the matched route does not declare."""
    dependant = served_dependant(request.scope)
    if dependant is None:
        return
    known = query_names(dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise UnknownQueryParameters(unknown, sorted(known))


T = TypeVar("T", str, int)

router = declared_router(
    tags=["catalog"], responses=ERRORS, dependencies=[Depends(known_query_only)]
)
Limit = Annotated[int, Query(ge=1, le=100)]


def amount(alias: str, description: str) -> object:
    return Query(alias=alias, ge=0, le=1_000_000, decimal_places=2, description=description)


def one_of(name: str, value: T | None, alias: str, alias_value: T | None) -> T | None:
    """A parameter given under its name or its alias, refused when both disagree."""
    if value is not None and alias_value is not None and value != alias_value:
        raise DomainError("validation_error", f"give {name} or its alias {alias}, not both", alias)
    return value if value is not None else alias_value


@router.get("/products", response_model=ProductPage)
async def list_products(
    p: Live,
    category: Annotated[str | None, Query(max_length=80)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: Sort = "relevance",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int | None, Query(alias="pageSize", ge=1, le=100)] = None,
    search: Annotated[str | None, Query(max_length=200, description="alias of q")] = None,
    limit: Annotated[int | None, Query(ge=1, le=100, description="alias of pageSize")] = None,
    brand: Annotated[str | None, Query(max_length=80)] = None,
    min_price: Annotated[Decimal | None, amount("minPrice", "inclusive")] = None,
    max_price: Annotated[Decimal | None, amount("maxPrice", "exclusive")] = None,
    min_rating: Annotated[float | None, Query(alias="minRating", ge=0, le=5)] = None,
    in_stock: Annotated[bool | None, Query(alias="inStock")] = None,
    on_sale: Annotated[bool | None, Query(alias="onSale")] = None,
) -> Response:
    query = ProductQuery(
        category=category,
        q=one_of("q", q, "search", search),
        sort=sort,
        page=page,
        page_size=one_of("pageSize", page_size, "limit", limit) or DEFAULT_PAGE_SIZE,
        brand=brand,
        min_price=min_price,
        max_price=max_price,
        min_rating=min_rating,
        in_stock=in_stock,
        on_sale=on_sale,
    )
    return raw_json(p.catalog.search_bytes(query))


@router.get("/products/suggest", response_model=Suggestions)
async def suggest_products(
    p: Live,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=20)] = SUGGEST_LIMIT,
) -> Response:
    return raw_json(p.catalog.suggest_bytes(q, limit))


@router.get("/products/featured", response_model=list[ProductOut])
async def featured_products(p: Live, limit: Limit = 8) -> Response:
    return raw_json(p.catalog.featured_bytes(limit))


@router.get("/products/trending", response_model=list[ProductOut])
async def trending_products(p: Live, limit: Limit = 8) -> Response:
    return raw_json(p.catalog.trending_bytes(limit))


@router.get("/categories", response_model=list[CategoryOut])
async def categories(p: Live) -> Response:
    return json(p.catalog.categories())


@router.get("/product/{product_id}", response_model=ProductOut)
async def product_detail(p: Live, product_id: Annotated[Id, Path()]) -> Response:
    body = p.catalog.product_bytes(product_id)
    if body is None:
        raise NotFoundError("unknown_product", f"no product '{product_id}'", "productId")
    return raw_json(body)
