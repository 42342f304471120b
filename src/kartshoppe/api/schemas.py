"""Request and response bodies of the REST API, for validation and the OpenAPI schema.

The cart, order and product JSON is built by these models (`CartOut.of(cart).to_json()`, ...),
wherever it is sent: REST answers, WebSocket pushes, the catalog's pre-encoded bytes, time
travel. Bodies are encoded with orjson from `to_json()`; the served schema is these models.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from kartshoppe.domain.cart import Cart
from kartshoppe.domain.catalog import effective_price, sale_active
from kartshoppe.domain.inventory import LOW_STOCK_THRESHOLD, StockLevel
from kartshoppe.domain.orders import Order
from kartshoppe.events import (
    MAX_QUANTITY,
    FlashSale,
    Id,
    Model,
    OrderStatus,
    Price,
    Product,
    Quantity,
    Stock,
)


class Request(Model):
    pass


BodyQuantity = Annotated[Quantity, Field(strict=True)]
"""A cart quantity as sent by a client: a JSON integer, so `true` or `"2"` are refused."""


class AddToCartBody(Request):
    product_id: Id
    quantity: BodyQuantity = 1
    user_id: Id | None = None


class RemoveFromCartBody(Request):
    product_id: Id
    user_id: Id | None = None


class UpdateQuantityBody(Request):
    product_id: Id
    quantity: BodyQuantity
    user_id: Id | None = None


class OwnerBody(Request):
    user_id: Id | None = None


class MergeBody(Request):
    user_id: Id


class CheckoutBody(Request):
    session_id: Id
    user_id: Id | None = None
    idempotency_key: Id


class PriceBody(Request):
    price: Annotated[float, Field(gt=0, le=1_000_000)]


class RestockBody(Request):
    quantity: Annotated[int, Field(ge=1, le=100_000)]


class FlashSaleBody(Request):
    discount_percent: Annotated[float, Field(gt=0, lt=100)]
    duration_seconds: Annotated[int, Field(ge=1, le=7 * 24 * 3600)]


class StatusBody(Request):
    status: OrderStatus


class LaunchBody(Request):
    id: Id | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=4000)] = ""
    category: Annotated[str, Field(min_length=1, max_length=80)]
    price: Annotated[float, Field(gt=0, le=1_000_000)]
    original_price: Price | None = None
    stock: Stock = 0
    rating: Annotated[float, Field(ge=0, le=5)] = 0.0
    tags: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=20)] = []
    featured: bool = False


class Out(Model):
    """A response body, built from the domain's state by the model's `of`."""

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready form: camelCase names."""
        return self.model_dump(mode="json", by_alias=True)


class ProductOut(Out):
    """A product with its live stock and the price a shopper pays now."""

    id: str
    name: str
    description: str
    category: str
    price: float
    original_price: float
    stock: int
    rating: float
    review_count: int
    tags: list[str]
    featured: bool
    image_url: str
    flash_sale: FlashSale | None = None
    available: int
    list_price: float
    low_stock: bool
    sold_out: bool
    trending_score: float | None = None
    """Only in the trending list."""

    @classmethod
    def of(cls, product: Product, level: StockLevel | None, at_ms: int) -> ProductOut:
        """The product as of `at_ms`: the sale price while its flash sale runs."""
        available = level.available if level else product.stock
        return cls(
            id=product.id,
            name=product.name,
            description=product.description,
            category=product.category,
            price=effective_price(product, at_ms),
            list_price=product.price,
            original_price=product.original_price,
            stock=level.stock if level else product.stock,
            available=available,
            low_stock=0 < available <= LOW_STOCK_THRESHOLD,
            sold_out=available <= 0,
            rating=product.rating,
            review_count=product.review_count,
            tags=list(product.tags),
            featured=product.featured,
            image_url=product.image_url,
            flash_sale=product.flash_sale if sale_active(product, at_ms) else None,
        )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(
            mode="json",
            by_alias=True,
            exclude={"trending_score"} if self.trending_score is None else None,
        )


class ProductPage(Model):
    items: list[ProductOut]
    total: int
    page: int
    page_size: int


class CategoryOut(Model):
    name: str
    count: int


class CartLineOut(Model):
    product_id: str
    name: str
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
    unit_price: float
    line_total: float


class CartOut(Out):
    cart_id: str
    session_id: str | None
    user_id: str | None
    lines: list[CartLineOut]
    item_count: int
    subtotal: float
    updated_at: int

    @classmethod
    def of(cls, cart: Cart) -> CartOut:
        return cls(
            cart_id=cart.cart_id,
            session_id=cart.session_id,
            user_id=cart.user_id,
            lines=[
                CartLineOut(
                    product_id=line.product_id,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    line_total=round(line.unit_price * line.quantity, 2),
                )
                for line in cart.lines
            ],
            item_count=cart.item_count,
            subtotal=cart.subtotal,
            updated_at=cart.updated_at,
        )


class OrderLineOut(Model):
    product_id: str
    name: str
    quantity: int
    unit_price: float


class StatusChange(Model):
    status: OrderStatus
    timestamp: int


class OrderOut(Out):
    order_id: str
    session_id: str | None
    user_id: str | None
    idempotency_key: str
    lines: list[OrderLineOut]
    total: float
    status: OrderStatus
    created_at: int
    updated_at: int
    history: list[StatusChange]

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            order_id=order.order_id,
            session_id=order.session_id,
            user_id=order.user_id,
            idempotency_key=order.idempotency_key,
            lines=[
                OrderLineOut(
                    product_id=line.product_id,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                )
                for line in order.lines
            ],
            total=order.total,
            status=order.status,
            created_at=order.created_at,
            updated_at=order.updated_at,
            history=[StatusChange(status=status, timestamp=ts) for status, ts in order.history],
        )


class FieldError(Model):
    field: str
    message: str


class ErrorOut(Model):
    error: str
    message: str
    details: list[FieldError] = []


class Rejected(Model):
    index: int
    event_id: str | None = None
    reason: str
    details: list[FieldError]


class TrackingEnvelope(Request):
    """The original KartShoppe client's batch: ids given once for all its events."""

    events: Annotated[list[Any], Field(max_length=100_000)]
    session_id: Id | None = None
    user_id: Id | None = None


class TrackOut(Model):
    accepted: int
    rejected: int
    errors: list[Rejected]


class RecommendationOut(Model):
    model_config = Model.model_config | {"extra": "allow"}

    event_type: str
    product_ids: list[str]
    confidence: float
    reason: str


class Health(Model):
    status: str
    records_applied: int = 0


# --- the event store's answers (`/store/*`, built by `kartshoppe.store`) ----------------------


class SnapshotOut(Model):
    snapshot_id: int
    commit_time: int
    record_count: int
    delta_record_count: int
    commit_kind: str


class SnapshotsOut(Model):
    snapshots: list[SnapshotOut]


class HistoryPage(Model):
    """Events of a subject, newest first: `events` are the stored events' JSON, `entries` the
    rows they were stored in (log position and snapshot)."""

    events: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    snapshot_id: int | None
    entries: list[dict[str, Any]]


class AsOfSnapshot(Model):
    snapshot_id: int
    commit_time: int


class CartAt(AsOfSnapshot):
    cart: CartOut


class OrderAt(AsOfSnapshot):
    order: OrderOut


class ProductAt(AsOfSnapshot):
    product: ProductOut


class AnalyticsAt(AsOfSnapshot):
    total_events: int
    events_by_type: dict[str, int]
    funnel: dict[str, int]
    orders: int
    cancelled_orders: int
    revenue: float


class ReportInfo(Model):
    name: str
    description: str


class ReportsOut(Model):
    reports: list[ReportInfo]


class ReportOut(Model):
    report: str
    rows: list[dict[str, Any]]
