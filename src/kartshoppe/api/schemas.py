"""Request and response bodies of the REST API, for validation and the OpenAPI schema.

The cart, order and product JSON is built by `views.models` (`OrderOut.of(order).to_json()`, ...),
wherever it is sent: REST answers, WebSocket pushes, the catalog's pre-encoded bytes, time
travel; the models here build on them. Bodies are encoded with orjson from `to_json()`; the served
schema is these models.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from kartshoppe.domain.checkout import Quote
from kartshoppe.domain.coupons import CouponState
from kartshoppe.events import (
    Address,
    CouponKind,
    Delivery,
    Email,
    Id,
    LazyModel,
    Model,
    OrderStatus,
    Price,
    Quantity,
    ReviewPosted,
    Stock,
    TrackingNumber,
    json_number,
)
from kartshoppe.views.models import (
    CartOut,
    LineOut,
    OrderOut,
    Out,
    ProductOut,
)


class Request(Model):
    """A request body. Built at import, not on first use (`LazyModel`): FastAPI builds a
    body's adapter under a filter for a warning pydantic gives about its alias; built later,
    the warning would be printed."""


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


class ProductEditBody(Request):
    """The operator's edit of a product: only the fields given change, all or none."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[str, Field(max_length=4000)] | None = None
    brand: Annotated[str, Field(max_length=80)] | None = None
    price: PositivePrice | None = None
    stock: Stock | None = None

    @model_validator(mode="after")
    def _something(self) -> ProductEditBody:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, description, brand, price, stock")
        return self

    def details(self) -> dict[str, str]:
        """The text fields that were given."""
        given = {"name": self.name, "description": self.description, "brand": self.brand}
        return {k: v for k, v in given.items() if v is not None}


class FlashSaleBody(Request):
    discount_percent: Annotated[float, Field(gt=0, lt=100)]
    duration_seconds: Annotated[int, Field(ge=1, le=7 * 24 * 3600)]


class StatusBody(Request):
    status: OrderStatus
    tracking_number: TrackingNumber | None = None
    """The carrier's parcel number, with SHIPPED only."""


class LaunchBody(Request):
    id: Id | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=4000)] = ""
    brand: Annotated[str, Field(max_length=80)] = ""
    category: Annotated[str, Field(min_length=1, max_length=80)]
    price: PositivePrice
    original_price: Price | None = None
    """Not a "was" price: a new product has no earlier price, so a launch announces none."""
    stock: Stock = 0
    rating: Annotated[float, Field(ge=0, le=5)] = 0.0
    tags: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=20)] = []
    featured: bool = False


class FacetValue(LazyModel):
    value: str
    count: int


class PriceBucket(LazyModel):
    """Products priced from `min` (inclusive) to `max` (exclusive; none for the top bucket)."""

    min: float
    max: float | None
    count: int


class RatingStep(LazyModel):
    """Products rated `min` or better."""

    min: float
    count: int


class Facets(LazyModel):
    """Counts for narrowing a search; each facet counts under every other filter chosen."""

    category: list[FacetValue]
    brand: list[FacetValue]
    price: list[PriceBucket]
    rating: list[RatingStep]
    in_stock: int
    on_sale: int
    """Products with a reduction announced by the "was" rule or a flash sale running."""


class ProductPage(LazyModel):
    items: list[ProductOut]
    total: int
    page: int
    page_size: int
    facets: Facets


class Suggestion(LazyModel):
    id: str
    name: str
    brand: str
    category: str
    price: float


class Suggestions(LazyModel):
    query: str
    suggestions: list[Suggestion]


class CategoryOut(LazyModel):
    name: str
    count: int


class QuoteOut(Out):
    lines: list[LineOut]
    subtotal: float
    discount: float
    shipping: float
    tax: float
    total: float
    coupon_code: str | None
    delivery: Delivery | None
    delivery_options: list[Delivery]

    @classmethod
    def of(cls, quote: Quote, options: list[Delivery]) -> QuoteOut:
        return cls(
            lines=[LineOut.of(line) for line in quote.lines],
            subtotal=json_number(quote.subtotal),
            discount=json_number(quote.discount),
            shipping=json_number(quote.shipping),
            tax=json_number(quote.tax),
            total=json_number(quote.total),
            coupon_code=quote.coupon_code,
            delivery=quote.delivery,
            delivery_options=options,
        )


class CouponOut(Out):
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

    @classmethod
    def of(cls, state: CouponState) -> CouponOut:
        c = state.coupon
        return cls(
            code=c.code,
            kind=c.kind,
            value=json_number(c.value),
            min_subtotal=json_number(c.min_subtotal),
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            max_redemptions=c.max_redemptions,
            per_customer_limit=c.per_customer_limit,
            product_ids=list(c.product_ids),
            categories=list(c.categories),
            redeemed=len(state.redemptions),
        )


class OutboxMessage(LazyModel):
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


class FieldError(LazyModel):
    field: str
    message: str


class ErrorOut(LazyModel):
    error: str
    message: str
    details: list[FieldError] = []


class Rejected(LazyModel):
    index: int
    event_id: str | None = None
    reason: str
    details: list[FieldError]


class TrackingEnvelope(Request):
    """The original KartShoppe client's batch: ids given once for all its events."""

    events: Annotated[list[Any], Field(max_length=100_000)]
    session_id: Id | None = None
    user_id: Id | None = None


class TrackOut(LazyModel):
    accepted: int
    rejected: int
    errors: list[Rejected]


class RecommendationOut(LazyModel):
    model_config = LazyModel.model_config | {"extra": "allow"}

    event_type: str
    product_ids: list[str]
    confidence: float
    reason: str


class Health(LazyModel):
    status: str
    records_applied: int = 0


# --- the event store's answers (`/store/*`, built by `kartshoppe.store`) ----------------------


class SnapshotOut(LazyModel):
    snapshot_id: int
    commit_time: int
    record_count: int
    delta_record_count: int
    commit_kind: str


class SnapshotsOut(LazyModel):
    snapshots: list[SnapshotOut]


class HistoryPage(LazyModel):
    """Events of a subject, newest first: `events` are the stored events' JSON, `entries` the
    rows they were stored in (log position and snapshot)."""

    events: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    snapshot_id: int | None
    entries: list[dict[str, Any]]


class AsOfSnapshot(LazyModel):
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


class SeriesPoint(LazyModel):
    start: int
    """The bucket's start, epoch ms."""
    events: int
    orders: int
    revenue: float
    viewers: int
    """Distinct sessions that viewed a product in the bucket."""
    conversion_rate: float


class SeriesOut(LazyModel):
    """The dashboard's history of one window, from the stored events (`eventstore.series`)."""

    window: str
    bucket_ms: int
    from_: int = Field(alias="from")
    to: int
    points: list[SeriesPoint]


class ReportInfo(LazyModel):
    name: str
    description: str


class ReportsOut(LazyModel):
    reports: list[ReportInfo]


class ReportOut(LazyModel):
    report: str
    rows: list[dict[str, Any]]


# --- reviews, wishlists and related products (product pages) ---------------------------------


class ReviewBody(Request):
    """A shopper's review; the rating's range is the domain's rule (400 `invalid_rating`)."""

    rating: Annotated[int, Field(strict=True)]
    title: Annotated[str, Field(max_length=120)] = ""
    body: Annotated[str, Field(max_length=4000)] = ""


class ReviewOut(Out):
    review_id: str
    product_id: str
    rating: int
    title: str
    body: str
    author: str
    created_at: int

    @classmethod
    def of(cls, review: ReviewPosted) -> ReviewOut:
        return cls(
            review_id=review.review_id,
            product_id=review.product_id,
            rating=review.rating,
            title=review.title,
            body=review.body,
            author=review.author,
            created_at=review.timestamp,
        )


class ReviewPage(Out):
    """A page of a product's reviews, newest first, with the rating they add up to."""

    items: list[ReviewOut]
    total: int
    rating: float
    """The average to one decimal; 0 when `total` is 0 (show "No reviews yet")."""
    page: int
    page_size: int
    stars: dict[str, int]
    """How many reviews gave each number of stars ("1" to "5")."""


class WishlistOut(Out):
    items: list[ProductOut]
    """Most recently added first."""


class RelatedOut(LazyModel):
    """The recommender's neighbours of a product; each list may be empty (hide it)."""

    bought_together: list[ProductOut]
    also_viewed: list[ProductOut]
