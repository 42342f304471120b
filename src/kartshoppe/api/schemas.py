"""Request and response bodies of the REST API, for validation and the OpenAPI schema.

The cart, order and product JSON is built by these models (`CartOut.of(cart).to_json()`, ...),
wherever it is sent: REST answers, WebSocket pushes, the catalog's pre-encoded bytes, time
travel. Bodies are encoded with orjson from `to_json()`; the served schema is these models.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from kartshoppe.domain.cart import Cart
from kartshoppe.domain.catalog import effective_price, sale_active
from kartshoppe.domain.checkout import Quote
from kartshoppe.domain.coupons import CouponState
from kartshoppe.domain.inventory import LOW_STOCK_THRESHOLD, StockLevel
from kartshoppe.domain.money import line_total
from kartshoppe.domain.orders import Order
from kartshoppe.domain.pricing import PricedLine, price_lines, subtotal
from kartshoppe.domain.reference_price import History, reduction_percent, was_price
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
    Product,
    Quantity,
    ReviewPosted,
    Spec,
    Stock,
    json_number,
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
    brand: str = ""
    category: str
    price: float
    original_price: float
    """The "was" price by the 30-day rule (`domain/reference_price.py`) when a reduction may be
    announced, else the price itself: struck through exactly when it is above `price`."""
    reduction_percent: int | None = None
    """The whole-percent reduction from `originalPrice` to `price`, for a "-20 %" badge."""
    stock: int
    rating: float
    review_count: int
    tags: list[str]
    featured: bool
    image_url: str
    flash_sale: FlashSale | None = None
    specs: list[Spec] = []
    available: int
    list_price: float
    low_stock: bool
    sold_out: bool
    trending_score: float | None = None
    """Only in the trending list."""

    @classmethod
    def of(
        cls, product: Product, level: StockLevel | None, at_ms: int, history: History = ()
    ) -> ProductOut:
        """The product as of `at_ms`: the sale price while its flash sale runs, and the "was"
        price its price `history` allows."""
        available = level.available if level else product.stock
        price = effective_price(product, at_ms)
        was = was_price(history, at_ms)
        return cls(
            id=product.id,
            name=product.name,
            description=product.description,
            brand=product.brand,
            category=product.category,
            price=json_number(price),
            list_price=json_number(product.price),
            original_price=json_number(price if was is None else was),
            reduction_percent=None if was is None else reduction_percent(price, was),
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
            specs=list(product.specs),
        )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(
            mode="json",
            by_alias=True,
            exclude={"trending_score"} if self.trending_score is None else None,
        )


class FacetValue(Model):
    value: str
    count: int


class PriceBucket(Model):
    """Products priced from `min` (inclusive) to `max` (exclusive; none for the top bucket)."""

    min: float
    max: float | None
    count: int


class RatingStep(Model):
    """Products rated `min` or better."""

    min: float
    count: int


class Facets(Model):
    """Counts for narrowing a search; each facet counts under every other filter chosen."""

    category: list[FacetValue]
    brand: list[FacetValue]
    price: list[PriceBucket]
    rating: list[RatingStep]
    in_stock: int
    on_sale: int
    """Products with a reduction announced by the "was" rule or a flash sale running."""


class ProductPage(Model):
    items: list[ProductOut]
    total: int
    page: int
    page_size: int
    facets: Facets


class Suggestion(Model):
    id: str
    name: str
    brand: str
    category: str
    price: float


class Suggestions(Model):
    query: str
    suggestions: list[Suggestion]


class CategoryOut(Model):
    name: str
    count: int


class CartLineOut(Model):
    product_id: str
    name: str
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
    unit_price: float
    line_total: float

    @classmethod
    def of(cls, line: PricedLine) -> CartLineOut:
        return cls(
            product_id=line.product_id,
            name=line.name,
            quantity=line.quantity,
            unit_price=json_number(line.unit_price),
            line_total=json_number(line.line_total),
        )


class CartOut(Out):
    """The cart at the prices that will be charged at `at_ms` (lowest of snapshot and now)."""

    cart_id: str
    session_id: str | None
    user_id: str | None
    lines: list[CartLineOut]
    item_count: int
    subtotal: float
    updated_at: int

    @classmethod
    def of(cls, cart: Cart, products: Mapping[str, Product], at_ms: int) -> CartOut:
        lines = price_lines(cart.lines, products, at_ms)
        return cls(
            cart_id=cart.cart_id,
            session_id=cart.session_id,
            user_id=cart.user_id,
            lines=[CartLineOut.of(line) for line in lines],
            item_count=cart.item_count,
            subtotal=json_number(subtotal(lines)),
            updated_at=cart.updated_at,
        )


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


class QuoteOut(Out):
    lines: list[CartLineOut]
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
            lines=[CartLineOut.of(line) for line in quote.lines],
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


class OrderOut(Out):
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
                    unit_price=json_number(line.unit_price),
                    line_total=json_number(line_total(line.unit_price, line.quantity)),
                )
                for line in order.lines
            ],
            subtotal=json_number(order.subtotal),
            discount=json_number(order.discount),
            shipping=json_number(order.shipping),
            tax=json_number(order.tax),
            total=json_number(order.total),
            coupon_code=order.coupon_code,
            email=order.email,
            address=order.address,
            delivery=order.delivery,
            payments=[
                PaymentOut(
                    kind=p.kind,
                    transaction_id=p.transaction_id,
                    amount=json_number(p.amount),
                    card_last4=p.card_last4,
                    reason=p.reason,
                    timestamp=p.timestamp,
                )
                for p in order.payments
            ],
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


class SeriesPoint(Model):
    start: int
    """The bucket's start, epoch ms."""
    events: int
    orders: int
    revenue: float
    viewers: int
    """Distinct sessions that viewed a product in the bucket."""
    conversion_rate: float


class SeriesOut(Model):
    """The dashboard's history of one window, from the stored events (`eventstore.series`)."""

    window: str
    bucket_ms: int
    from_: int = Field(alias="from")
    to: int
    points: list[SeriesPoint]


class ReportInfo(Model):
    name: str
    description: str


class ReportsOut(Model):
    reports: list[ReportInfo]


class ReportOut(Model):
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


class RelatedOut(Model):
    """The recommender's neighbours of a product; each list may be empty (hide it)."""

    bought_together: list[ProductOut]
    also_viewed: list[ProductOut]
