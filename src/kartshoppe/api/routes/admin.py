"""Operator routes: launch a product, change a price or image, restock, flash sales, coupons, the
orders list and order status."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from starlette.responses import Response

from kartshoppe.api.declared import declared_router
from kartshoppe.api.deps import Live, Platform
from kartshoppe.api.errors import error_response
from kartshoppe.api.routes._responses import ERRORS, json
from kartshoppe.api.schemas import (
    CouponBody,
    CouponOut,
    ErrorOut,
    FlashSaleBody,
    LaunchBody,
    OutboxMessage,
    PriceBody,
    ProductEditBody,
    RestockBody,
    StatusBody,
)
from kartshoppe.domain.catalog import generated_image_url
from kartshoppe.domain.errors import NotFoundError
from kartshoppe.domain.orders import names_order
from kartshoppe.events import Coupon, Id, OrderStatus, Product, new_id, now_ms
from kartshoppe.pictures.uploads import ACCEPTED, MAX_UPLOAD_BYTES, UploadRefused, reencode
from kartshoppe.views.models import OrderOut, ProductOut

router = declared_router(prefix="/admin", tags=["admin"], responses={**ERRORS, 410: ERRORS[400]})
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
        brand=body.brand,
        category=body.category,
        price=body.price,
        original_price=max(body.original_price or body.price, body.price),
        stock=body.stock,
        rating=body.rating,
        tags=tuple(body.tags),
        featured=body.featured,
        image_url=generated_image_url(product_id),
    )
    await p.service.launch_product(product)
    return json(p.catalog.product(product_id), 201)


@router.post("/products/{productId}/price", response_model=ProductOut)
async def change_price(p: Live, product_id: ProductId, body: PriceBody) -> Response:
    await p.service.change_price(product_id, body.price)
    return _product(p, product_id)


UPLOADS_PATH = "/images/uploads/"
_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.post(
    "/products/{productId}/image",
    response_model=ProductOut,
    responses={415: {"model": ErrorOut}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": f"The image file itself as the body, at most "
            f"{MAX_UPLOAD_BYTES // 2**20} MB; SVG is refused",
            "content": {media: _BINARY for media in ACCEPTED.values()},
        }
    },
)
async def upload_image(p: Live, request: Request, product_id: ProductId) -> Response:
    """Show an uploaded image for the product instead of its illustration. The file is checked
    and re-encoded to WebP (pictures/uploads.py); anything else is a 4xx naming `image`."""
    if product_id not in p.service.state.products:
        raise NotFoundError("unknown_product", f"no product '{product_id}'", "productId")
    try:
        image = reencode(await request.body(), request.headers.get("content-type", ""))
    except UploadRefused as refused:
        details = [{"field": refused.field, "message": refused.message}]
        return error_response(refused.status, refused.code, refused.message, details)
    name = request.app.state.images.put(image.data)
    await p.service.change_image(product_id, UPLOADS_PATH + name)
    return _product(p, product_id)


@router.delete("/products/{productId}/image", response_model=ProductOut)
async def remove_image(p: Live, product_id: ProductId) -> Response:
    """Show the product's illustration again instead of its uploaded image."""
    await p.service.change_image(product_id, None)
    return _product(p, product_id)


@router.post("/products/{productId}/restock", response_model=ProductOut)
async def restock(p: Live, product_id: ProductId, body: RestockBody) -> Response:
    await p.service.restock(product_id, body.quantity)
    return _product(p, product_id)


@router.patch("/products/{productId}", response_model=ProductOut)
async def edit_product(p: Live, product_id: ProductId, body: ProductEditBody) -> Response:
    """Name, description, brand, price and stock of a product: what is given changes, as one."""
    await p.service.update_product(product_id, body.details(), body.price, body.stock)
    return _product(p, product_id)


@router.delete("/products/{productId}", status_code=204)
async def retire_product(p: Live, product_id: ProductId) -> Response:
    """Take the product out of the catalog: it is no longer shown nor sold (`PRODUCT_RETIRED`)."""
    await p.service.retire_product(product_id)
    return Response(status_code=204)


@router.get("/products", response_model=list[ProductOut])
async def list_products(p: Live) -> Response:
    """Every product on sale, with its live stock, for the operator's table."""
    return json(p.catalog.all_views())


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
    moved = await p.service.set_order_status(order_id, body.status, body.tracking_number)
    return json(OrderOut.of(moved).to_json())


@router.get("/orders", response_model=list[OrderOut])
async def list_orders(
    p: Live,
    status: Annotated[OrderStatus | None, Query()] = None,
    named: Annotated[str | None, Query(min_length=1, max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Every order, newest first, optionally of one status, or only those that `named` names:
    an order id, or a reference a shopper quotes (32 bits: two orders may share one)."""
    found = [
        o
        for o in p.service.state.orders.values()
        if (status is None or o.status == status)
        and (named is None or names_order(named, o.order_id))
    ]
    found.sort(key=lambda o: -o.created_at)
    return json([OrderOut.of(o).to_json() for o in found[:limit]])


@router.post("/coupons", response_model=CouponOut, status_code=201)
async def create_coupon(p: Live, body: CouponBody) -> Response:
    coupon = Coupon(
        code=body.code.upper(),
        kind=body.kind,
        value=body.value,
        min_subtotal=body.min_subtotal,
        starts_at=body.starts_at if body.starts_at is not None else now_ms(),
        ends_at=body.ends_at,
        max_redemptions=body.max_redemptions,
        per_customer_limit=body.per_customer_limit,
        product_ids=tuple(body.product_ids),
        categories=tuple(body.categories),
    )
    return json(CouponOut.of(await p.service.create_coupon(coupon)).to_json(), 201)


@router.get("/coupons", response_model=list[CouponOut])
async def list_coupons(p: Live) -> Response:
    return json([CouponOut.of(c).to_json() for c in p.service.state.coupons.values()])


@router.get("/outbox", response_model=list[OutboxMessage])
async def outbox(request: Request) -> Response:
    """The e-mails the shop queued, newest first, with their delivery status."""
    return json(request.app.state.outbox.messages())
