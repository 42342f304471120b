"""Catalog routes: products (search, filters, sort, paging), featured, trending, one product."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from kartshoppe.api.deps import Live
from kartshoppe.api.routes._responses import ERRORS, json, raw_json
from kartshoppe.api.schemas import CategoryOut, ProductOut, ProductPage
from kartshoppe.domain.errors import NotFoundError
from kartshoppe.events import Id
from kartshoppe.views.catalog import ProductQuery, Sort

router = APIRouter(tags=["catalog"], responses=ERRORS)
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("/products", response_model=ProductPage)
async def list_products(
    p: Live,
    category: Annotated[str | None, Query(max_length=80)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: Sort = "relevance",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=100)] = 24,
) -> Response:
    query = ProductQuery(category=category, q=q, sort=sort, page=page, page_size=page_size)
    return raw_json(p.catalog.search_bytes(query))


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
