"""Operator routes: launch a product, change a price, restock, flash sales, order status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

from kartshoppe.api.deps import Live, Platform
from kartshoppe.api.routes._responses import ERRORS, json
from kartshoppe.api.schemas import (
    FlashSaleBody,
    LaunchBody,
    OrderOut,
    PriceBody,
    ProductOut,
    RestockBody,
    StatusBody,
)
from kartshoppe.events import Id, Product, new_id

router = APIRouter(prefix="/admin", tags=["admin"], responses=ERRORS)
ProductId = Annotated[Id, Path(alias="productId")]


def _product(p: Platform, product_id: str) -> Response:
    return json(p.catalog.product(product_id))


@router.post("/products", response_model=ProductOut, status_code=201)
async def launch_product(p: Live, body: LaunchBody) -> Response:
    product_id = body.id or new_id("prod")
    product = Product(
        id=product_id,
        name=body.name,
        description=body.description,
        category=body.category,
        price=body.price,
        original_price=max(body.original_price or body.price, body.price),
        stock=body.stock,
        rating=body.rating,
        tags=tuple(body.tags),
        featured=body.featured,
        image_url=f"/images/products/{product_id}.svg",
    )
    await p.service.launch_product(product)
    return json(p.catalog.product(product_id), 201)


@router.post("/products/{productId}/price", response_model=ProductOut)
async def change_price(p: Live, product_id: ProductId, body: PriceBody) -> Response:
    await p.service.change_price(product_id, body.price)
    return _product(p, product_id)


@router.post("/products/{productId}/restock", response_model=ProductOut)
async def restock(p: Live, product_id: ProductId, body: RestockBody) -> Response:
    await p.service.restock(product_id, body.quantity)
    return _product(p, product_id)


@router.post("/products/{productId}/flash-sale", response_model=ProductOut)
async def start_flash_sale(p: Live, product_id: ProductId, body: FlashSaleBody) -> Response:
    await p.service.start_flash_sale(
        product_id, body.discount_percent, body.duration_seconds * 1000
    )
    return _product(p, product_id)


@router.delete("/products/{productId}/flash-sale", response_model=ProductOut)
async def end_flash_sale(p: Live, product_id: ProductId) -> Response:
    await p.service.end_flash_sale(product_id)
    return _product(p, product_id)


@router.post("/orders/{orderId}/status", response_model=OrderOut)
async def set_order_status(
    p: Live, order_id: Annotated[Id, Path(alias="orderId")], body: StatusBody
) -> Response:
    return json(OrderOut.of(await p.service.set_order_status(order_id, body.status)).to_json())
