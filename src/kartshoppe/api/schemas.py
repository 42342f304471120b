"""Request and response bodies of the REST API, for validation and the OpenAPI schema.

Responses are encoded straight from the views (pre-encoded bytes on hot paths); these models
document them so that the served schema matches what is sent (checked by Schemathesis).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from kartshoppe.events import (
    MAX_QUANTITY,
    Address,
    CouponKind,
    Delivery,
    Email,
    FlashSale,
    Id,
    Model,
    OrderStatus,
    Price,
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


PositivePrice = Annotated[Price, Field(gt=0)]


class QuoteBody(Request):
    session_id: Id
    user_id: Id | None = None
    email: Email | None = None
    address: Address | None = None
    delivery: Annotated[str, Field(max_length=40)] | None = None
    coupon_code: Annotated[str, Field(max_length=32)] | None = None


class CheckoutBody(QuoteBody):
    """A checkout; `expectedTotal` is the total the shopper was shown (refused if it differs)."""

    idempotency_key: Id
    expected_total: Price | None = None


class CardBody(Request):
    number: Annotated[str, Field(min_length=1, max_length=30)]
    expiry: Annotated[str, Field(min_length=1, max_length=7)]
    cvc: Annotated[str, Field(min_length=1, max_length=4)]
    name: Annotated[str, Field(max_length=120)] = ""


class PayBody(Request):
    """`amount` is the total the shopper agreed to pay; refused if it is not the order's."""

    card: CardBody
    amount: Price | None = None


class CouponBody(Request):
    code: Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
    kind: CouponKind
    value: Annotated[Decimal, Field(gt=0, le=1_000_000, decimal_places=2)]
    min_subtotal: Price = Decimal(0)
    starts_at: Annotated[int, Field(ge=0)] | None = None
    ends_at: Annotated[int, Field(ge=0)] | None = None
    max_redemptions: Annotated[int, Field(ge=1)] | None = None
    per_customer_limit: Annotated[int, Field(ge=1)] | None = None
    product_ids: Annotated[list[Id], Field(max_length=200)] = []
    categories: Annotated[list[Annotated[str, Field(max_length=80)]], Field(max_length=50)] = []


class PriceBody(Request):
    price: PositivePrice


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
    price: PositivePrice
    original_price: Price | None = None
    stock: Stock = 0
    rating: Annotated[float, Field(ge=0, le=5)] = 0.0
    tags: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=20)] = []
    featured: bool = False


class ProductOut(Model):
    id: str
    name: str
    description: str
    category: str
    price: float
    list_price: float
    original_price: float
    stock: int
    available: int
    low_stock: bool
    sold_out: bool
    rating: float
    review_count: int
    tags: list[str]
    featured: bool
    image_url: str
    flash_sale: FlashSale | None = None
    trending_score: float | None = None


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


class CartOut(Model):
    cart_id: str
    session_id: str | None
    user_id: str | None
    lines: list[CartLineOut]
    item_count: int
    subtotal: float
    updated_at: int


class OrderLineOut(Model):
    product_id: str
    name: str
    quantity: int
    unit_price: float
    line_total: float


class StatusChange(Model):
    status: OrderStatus
    timestamp: int


class PaymentOut(Model):
    kind: Literal["CAPTURED", "DECLINED", "REFUNDED"]
    transaction_id: str
    amount: float
    card_last4: str
    reason: str
    timestamp: int


class QuoteOut(Model):
    lines: list[CartLineOut]
    subtotal: float
    discount: float
    shipping: float
    tax: float
    total: float
    coupon_code: str | None
    delivery: Delivery | None
    delivery_options: list[Delivery]


class CouponOut(Model):
    code: str
    kind: CouponKind
    value: float
    min_subtotal: float
    starts_at: int
    ends_at: int | None
    max_redemptions: int | None
    per_customer_limit: int | None
    product_ids: list[str]
    categories: list[str]
    redeemed: int


class OutboxMessage(Model):
    key: str
    to: str
    subject: str
    text: str
    html: str
    status: Literal["PENDING", "SENT", "FAILED", "LOCAL"]
    attempts: int
    last_error: str
    created_at: int
    sent_at: int | None


class OrderOut(Model):
    order_id: str
    session_id: str | None
    user_id: str | None
    idempotency_key: str
    lines: list[OrderLineOut]
    subtotal: float
    discount: float
    shipping: float
    tax: float
    total: float
    coupon_code: str | None
    email: str | None
    address: Address | None
    delivery: Delivery | None
    payments: list[PaymentOut]
    status: OrderStatus
    created_at: int
    updated_at: int
    history: list[StatusChange]


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


class AnalyticsOut(Model):
    model_config = Model.model_config | {"extra": "allow"}

    live_users: int
    events_per_second: float
    orders: int
    revenue: float
    funnel: dict[str, int]
    abandonment_rate: float
    recovered_carts: int
    top_products: list[dict[str, Any]]
    top_categories: list[dict[str, Any]]
    updated_at: int


class RecommendationOut(Model):
    model_config = Model.model_config | {"extra": "allow"}

    event_type: str
    product_ids: list[str]
    confidence: float
    reason: str


class Health(Model):
    status: str
    records_applied: int = 0
