"""The event contract: every event KartShoppe writes or reads, its JSON wire form and validation.

The seed's shapes (`PRODUCT_VIEW`, `ADD_TO_CART`, `RECOMMENDATION`) keep their camelCase field
names exactly; every other event follows the same conventions. Each event carries an `eventId`
and a `schemaVersion`. `parse_event` turns wire JSON into a typed event and reports validation
errors field by field; `encode_event` is its inverse. The frontend's TypeScript types are
generated from `json_schema()`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, get_args

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
)
from pydantic.alias_generators import to_camel

SCHEMA_VERSION: Final = 1

MAX_QUANTITY: Final = 99
"""The largest quantity of one product a single cart line may hold."""


class Topic(StrEnum):
    """The seed's topic names, plus the dead-letter queue."""

    EVENTS = "ecommerce_events"
    FANOUT = "ecommerce_processing_fanout"
    PRODUCT_UPDATES = "product_updates"
    RECOMMENDATIONS = "recommendations"
    INVENTORY_UPDATES = "inventory_updates"
    DLQ = "ecommerce_events_dlq"
    ACCOUNTS = "ecommerce_accounts"
    """Accounts (argon2 hashes, never passwords): compacted per e-mail, read only by the fold;
    never in `ecommerce_events`, the event store or the explorer."""


class Role(StrEnum):
    SHOPPER = "shopper"
    OPERATOR = "operator"


class OrderStatus(StrEnum):
    PLACED = "PLACED"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id(prefix: str = "evt") -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


InventoryReason = Literal["RESTOCK", "RESERVED", "RELEASED", "SOLD", "ADJUSTMENT", "INITIAL"]
"""Why an inventory level changed (`INVENTORY_CHANGED.reason`)."""

AlertLevel = Literal["LOW_STOCK", "SOLD_OUT", "BACK_IN_STOCK", "STOCK_UNCHANGED", "PRICE_DROP"]
"""What an `INVENTORY_ALERT` warns of (`processors.inventory`)."""

RecommendationKind = Literal["PERSONAL", "BOUGHT_TOGETHER", "NEXT_BEST_OFFER", "TRENDING"]
"""Which list a `RECOMMENDATION` comes from."""

WishlistAlertReason = Literal["PRICE_DROP", "BACK_IN_STOCK"]
"""Why a `WISHLIST_ALERT` tells a shopper about a product on their wishlist."""

MIN_RATING: Final = 1
MAX_RATING: Final = 5


def owner_key(user_id: str | None, session_id: str | None) -> str | None:
    """Whose activity, cart and orders these are: the user if signed in, else the session."""
    return user_id or session_id


class Model(BaseModel):
    """Base of wire models: camelCase on the wire, snake_case in Python, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )


class LazyModel(Model):
    """A wire model whose validator and serializer are built on its first use, not at import:
    the API's and the views' models, of which a fresh server uses few before it is ready
    (FastAPI's route adapters of such a model defer with it). Events and the models they hold
    stay built at import: the union of every event, which the processors need on their first
    read, reuses their schemas; built lazily, it would build each again."""

    model_config = Model.model_config | ConfigDict(defer_build=True)


Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")]
CENT: Final = Decimal("0.01")


def to_cents(value: Decimal) -> Decimal:
    """An amount at cent precision, halves rounded away from zero (docs/ARCHITECTURE.md, Money)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def json_number(value: Decimal) -> float:
    """A money amount as a JSON number (the seed's `"price": 99.99`). Only a representation
    change: a float's shortest repr of an amount with at most 15 digits is that amount."""
    return float(value)


def in_cents(value: Decimal) -> int:
    """An amount as integer cents, for state that must be plain JSON (processor state)."""
    return int(to_cents(value) * 100)


TrackingNumber = Annotated[str, Field(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
"""A carrier's parcel number: letters, digits and dashes."""

Price = Annotated[
    Decimal,
    Field(ge=0, le=1_000_000, decimal_places=2),
    AfterValidator(to_cents),
    PlainSerializer(json_number, return_type=float, when_used="json"),
]
"""Money: an exact Decimal of cents in Python, a plain number in JSON."""
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
Stock = Annotated[int, Field(ge=0, le=10_000_000)]


class FlashSale(Model):
    discount_percent: Annotated[float, Field(gt=0, lt=100)]
    starts_at: int
    ends_at: int
    sale_price: Price


class Spec(Model):
    """One line of a product's specifications ("Weight": "1.2 kg")."""

    name: Annotated[str, Field(min_length=1, max_length=60)]
    value: Annotated[str, Field(min_length=1, max_length=200)]


class Product(Model):
    """A catalog entry as materialised from `product_updates` (the seed's `products-cache`)."""

    id: Id
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=4000)] = ""
    brand: Annotated[str, Field(max_length=80)] = ""
    category: Annotated[str, Field(min_length=1, max_length=80)]
    price: Price
    original_price: Price
    """The reference ("was") price by the rule in `domain/reference_price.py` when the event was
    decided; the price itself when no reduction may be announced."""
    stock: Stock = 0
    rating: Annotated[float, Field(ge=0, le=5)] = 0.0
    review_count: Annotated[int, Field(ge=0)] = 0
    tags: tuple[Annotated[str, Field(max_length=40)], ...] = ()
    featured: bool = False
    image_url: Annotated[str, Field(max_length=300)] = ""
    flash_sale: FlashSale | None = None
    specs: tuple[Spec, ...] = ()
    retired_at: Annotated[int, Field(ge=0)] | None = None
    """When the operator retired it: out of the catalog, no longer sold (`PRODUCT_RETIRED`)."""


class CartLine(Model):
    product_id: Id
    quantity: Quantity
    unit_price: Price
    """The price snapshot taken when the line was added."""
    name: str = ""


class OrderLine(Model):
    product_id: Id
    quantity: Quantity
    unit_price: Price
    name: str = ""


class BaseEvent(Model):
    """Fields every event carries. `timestamp` is event time in epoch milliseconds."""

    event_id: Id = Field(default_factory=new_id)
    schema_version: Literal[1] = SCHEMA_VERSION
    timestamp: Annotated[int, Field(ge=0)] = Field(default_factory=now_ms)
    session_id: Id | None = None
    user_id: Id | None = None


# --- shopper behaviour (tracking) -------------------------------------------------------------


class PageView(BaseEvent):
    event_type: Literal["PAGE_VIEW"] = "PAGE_VIEW"
    page: Annotated[str, Field(max_length=300)]


class ProductView(BaseEvent):
    event_type: Literal["PRODUCT_VIEW"] = "PRODUCT_VIEW"
    product_id: Id


class ProductClick(BaseEvent):
    event_type: Literal["PRODUCT_CLICK"] = "PRODUCT_CLICK"
    product_id: Id
    source: Annotated[str, Field(max_length=80)] = ""


class Search(BaseEvent):
    event_type: Literal["SEARCH"] = "SEARCH"
    query: Annotated[str, Field(max_length=200)]
    result_count: Annotated[int, Field(ge=0)] = 0


# --- cart -------------------------------------------------------------------------------------


class AddToCart(BaseEvent):
    event_type: Literal["ADD_TO_CART"] = "ADD_TO_CART"
    product_id: Id
    quantity: Quantity
    price: Price


class RemoveFromCart(BaseEvent):
    event_type: Literal["REMOVE_FROM_CART"] = "REMOVE_FROM_CART"
    product_id: Id


class CartQuantityChanged(BaseEvent):
    event_type: Literal["CART_QUANTITY_CHANGED"] = "CART_QUANTITY_CHANGED"
    product_id: Id
    quantity: Quantity


class CartCleared(BaseEvent):
    event_type: Literal["CART_CLEARED"] = "CART_CLEARED"


class CartMerged(BaseEvent):
    """The anonymous cart of `fromSessionId` was merged into the cart of `userId`."""

    event_type: Literal["CART_MERGED"] = "CART_MERGED"
    from_session_id: Id
    lines: tuple[CartLine, ...]


class CartAbandoned(BaseEvent):
    event_type: Literal["CART_ABANDONED"] = "CART_ABANDONED"
    cart_value: Price = Decimal(0)
    item_count: Annotated[int, Field(ge=0)] = 0


class CartRecovered(BaseEvent):
    event_type: Literal["CART_RECOVERED"] = "CART_RECOVERED"
    offer: Annotated[str, Field(max_length=200)] = ""
    coupon_code: Id | None = None
    """A one-time code the offer refers to, issued by the shop when it saw the signal."""


# --- checkout and orders ----------------------------------------------------------------------


class CheckoutStarted(BaseEvent):
    event_type: Literal["CHECKOUT_STARTED"] = "CHECKOUT_STARTED"
    order_id: Id
    idempotency_key: Id


class CheckoutFailed(BaseEvent):
    event_type: Literal["CHECKOUT_FAILED"] = "CHECKOUT_FAILED"
    order_id: Id
    reason: Annotated[str, Field(max_length=500)]


class Address(Model):
    """A shipping address; `region` is the state or province where the country needs one."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str, Field(max_length=200)] = ""
    city: Annotated[str, Field(min_length=1, max_length=100)]
    region: Annotated[str, Field(max_length=60)] = ""
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country: Annotated[str, Field(min_length=2, max_length=2)]


class Delivery(Model):
    option: Annotated[str, Field(min_length=1, max_length=40)]
    label: Annotated[str, Field(max_length=80)] = ""
    cost: Price
    estimated_date: Annotated[str, Field(max_length=10)]
    """ISO date (YYYY-MM-DD) the parcel is expected."""


Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class OrderPlaced(BaseEvent):
    """`total` = `subtotal` - `discount` + `shipping` + `tax`; an order placed without shipping
    details (the API's quick checkout) has no delivery and no tax."""

    event_type: Literal["ORDER_PLACED"] = "ORDER_PLACED"
    order_id: Id
    idempotency_key: Id
    lines: tuple[OrderLine, ...]
    total: Price
    subtotal: Price | None = None
    discount: Price = Decimal(0)
    shipping: Price = Decimal(0)
    tax: Price = Decimal(0)
    coupon_code: Id | None = None
    email: Email | None = None
    address: Address | None = None
    delivery: Delivery | None = None
    pay_by: Annotated[int, Field(ge=0)] | None = None
    """Until when (epoch milliseconds) the order holds its items unpaid; the reservations
    processor cancels it after that. Absent on orders placed before it was decided here."""


class OrderStatusChanged(BaseEvent):
    event_type: Literal["ORDER_STATUS_CHANGED"] = "ORDER_STATUS_CHANGED"
    order_id: Id
    status: OrderStatus
    previous_status: OrderStatus
    tracking_number: TrackingNumber | None = None
    """The carrier's number of the parcel, given when the order ships."""


class PaymentCaptured(BaseEvent):
    event_type: Literal["PAYMENT_CAPTURED"] = "PAYMENT_CAPTURED"
    order_id: Id
    transaction_id: Id
    amount: Price
    card_last4: Annotated[str, Field(min_length=4, max_length=4)]


class PaymentDeclined(BaseEvent):
    """A refused card; the order stays payable."""

    event_type: Literal["PAYMENT_DECLINED"] = "PAYMENT_DECLINED"
    order_id: Id
    transaction_id: Id
    reason: Annotated[str, Field(max_length=300)]
    card_last4: Annotated[str, Field(min_length=4, max_length=4)]


class RefundRecorded(BaseEvent):
    event_type: Literal["REFUND_RECORDED"] = "REFUND_RECORDED"
    order_id: Id
    transaction_id: Id
    amount: Price


class OrdersClaimed(BaseEvent):
    """A guest's orders (placed under `fromSessionId`) now belong to `userId`."""

    event_type: Literal["ORDERS_CLAIMED"] = "ORDERS_CLAIMED"
    from_session_id: Id
    order_ids: tuple[Id, ...]


# --- coupons ----------------------------------------------------------------------------------


class CouponKind(StrEnum):
    PERCENT = "PERCENT"
    FIXED = "FIXED"


class Coupon(Model):
    """A discount code. `value` is a percentage (PERCENT) or an amount off (FIXED); limits of
    None are unlimited; a scope of products or categories limits what the discount applies to."""

    code: Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[A-Z0-9_-]+$")]
    kind: CouponKind
    value: Annotated[Decimal, Field(gt=0, le=1_000_000, decimal_places=2)]
    min_subtotal: Price = Decimal(0)
    starts_at: Annotated[int, Field(ge=0)] = 0
    ends_at: Annotated[int, Field(ge=0)] | None = None
    max_redemptions: Annotated[int, Field(ge=1)] | None = None
    per_customer_limit: Annotated[int, Field(ge=1)] | None = None
    product_ids: tuple[Id, ...] = ()
    categories: tuple[Annotated[str, Field(max_length=80)], ...] = ()


class CouponCreated(BaseEvent):
    event_type: Literal["COUPON_CREATED"] = "COUPON_CREATED"
    coupon: Coupon


class CouponRedeemed(BaseEvent):
    event_type: Literal["COUPON_REDEEMED"] = "COUPON_REDEEMED"
    code: str
    order_id: Id
    customer: Annotated[str, Field(max_length=254)]
    amount: Price


class CouponReleased(BaseEvent):
    """A cancelled order gives its redemption back."""

    event_type: Literal["COUPON_RELEASED"] = "COUPON_RELEASED"
    code: str
    order_id: Id
    customer: Annotated[str, Field(max_length=254)]


# --- inventory --------------------------------------------------------------------------------


class StockReserved(BaseEvent):
    """Units held for an order; they leave `available` but not yet `stock`."""

    event_type: Literal["STOCK_RESERVED"] = "STOCK_RESERVED"
    product_id: Id
    order_id: Id
    quantity: Quantity


class StockReleased(BaseEvent):
    """A reservation given back (cancelled or expired checkout)."""

    event_type: Literal["STOCK_RELEASED"] = "STOCK_RELEASED"
    product_id: Id
    order_id: Id
    quantity: Quantity


class InventoryChanged(BaseEvent):
    """The inventory level of one product after a change; published on `inventory_updates`."""

    event_type: Literal["INVENTORY_CHANGED"] = "INVENTORY_CHANGED"
    product_id: Id
    stock: Stock
    reserved: Stock = 0
    available: Stock
    reason: InventoryReason
    low_stock: bool = False
    sold_out: bool = False


# --- catalog (published on `product_updates`, keyed by product id, full product attached) ------


class ProductLaunched(BaseEvent):
    event_type: Literal["PRODUCT_LAUNCHED"] = "PRODUCT_LAUNCHED"
    product_id: Id
    product: Product


class PriceChanged(BaseEvent):
    event_type: Literal["PRICE_CHANGED"] = "PRICE_CHANGED"
    product_id: Id
    old_price: Price
    new_price: Price
    product: Product


class ProductImageChanged(BaseEvent):
    """The operator gave the product an uploaded image, or took it back to its illustration."""

    event_type: Literal["PRODUCT_IMAGE_CHANGED"] = "PRODUCT_IMAGE_CHANGED"
    product_id: Id
    image_url: Annotated[str, Field(max_length=300)]
    product: Product


class FlashSaleStarted(BaseEvent):
    event_type: Literal["FLASH_SALE_STARTED"] = "FLASH_SALE_STARTED"
    product_id: Id
    flash_sale: FlashSale
    product: Product


class FlashSaleEnded(BaseEvent):
    event_type: Literal["FLASH_SALE_ENDED"] = "FLASH_SALE_ENDED"
    product_id: Id
    product: Product


class ProductEdited(BaseEvent):
    """The operator changed a product's details; `fields` names what changed."""

    event_type: Literal["PRODUCT_EDITED"] = "PRODUCT_EDITED"
    product_id: Id
    fields: tuple[str, ...]
    product: Product


class ProductRetired(BaseEvent):
    """The operator took a product out of the catalog; it can no longer be bought."""

    event_type: Literal["PRODUCT_RETIRED"] = "PRODUCT_RETIRED"
    product_id: Id
    product: Product


# --- reviews and wishlists (on `ecommerce_events`, keyed by the shopper) -----------------------


class ReviewPosted(BaseEvent):
    """A buyer's one review of a product; `author` is the name shown with it."""

    event_type: Literal["REVIEW_POSTED"] = "REVIEW_POSTED"
    review_id: Id
    product_id: Id
    rating: Annotated[int, Field(ge=MIN_RATING, le=MAX_RATING)]
    title: Annotated[str, Field(max_length=120)] = ""
    body: Annotated[str, Field(max_length=4000)] = ""
    author: Annotated[str, Field(min_length=1, max_length=80)]


class WishlistItemAdded(BaseEvent):
    event_type: Literal["WISHLIST_ITEM_ADDED"] = "WISHLIST_ITEM_ADDED"
    product_id: Id


class WishlistItemRemoved(BaseEvent):
    event_type: Literal["WISHLIST_ITEM_REMOVED"] = "WISHLIST_ITEM_REMOVED"
    product_id: Id


# --- processor outputs ------------------------------------------------------------------------


class Recommendation(BaseEvent):
    """Products suggested to a shopper. `confidence` is in [0, 1] (see docs/ARCHITECTURE.md)."""

    event_type: Literal["RECOMMENDATION"] = "RECOMMENDATION"
    product_ids: tuple[Id, ...]
    confidence: Annotated[float, Field(ge=0, le=1)]
    reason: Annotated[str, Field(max_length=300)]
    kind: RecommendationKind = "PERSONAL"


class WishlistAlert(BaseEvent):
    """A product on `userId`'s wishlist got cheaper or came back in stock (on the fan-out)."""

    event_type: Literal["WISHLIST_ALERT"] = "WISHLIST_ALERT"
    product_id: Id
    reason: WishlistAlertReason
    old_price: Price | None = None
    new_price: Price | None = None
    available: Stock | None = None


class RelatedProducts(BaseEvent):
    """The recommender's neighbours of one product, most related first (on the fan-out, keyed
    by product): bought in the same orders, and viewed by the same shoppers."""

    event_type: Literal["RELATED_PRODUCTS"] = "RELATED_PRODUCTS"
    product_id: Id
    bought_together: tuple[Id, ...] = ()
    also_viewed: tuple[Id, ...] = ()


class ReservationExpired(BaseEvent):
    """A checkout's reservation outlived its time to pay; the shop cancels the order."""

    event_type: Literal["RESERVATION_EXPIRED"] = "RESERVATION_EXPIRED"
    order_id: Id


class InventoryAlert(BaseEvent):
    event_type: Literal["INVENTORY_ALERT"] = "INVENTORY_ALERT"
    product_id: Id
    level: AlertLevel
    available: Stock
    name: str | None = None
    old_price: Price | None = None
    """`PRICE_DROP`: the price before the drop; `new_price` the price after it."""
    new_price: Price | None = None
    unchanged_since: int | None = None
    """`STOCK_UNCHANGED`: when the level last changed (epoch ms)."""


class ScoredProduct(Model):
    product_id: Id
    score: Annotated[float, Field(ge=0)]


class ScoredCategory(Model):
    category: str
    score: Annotated[float, Field(ge=0)]


class TrendingUpdated(BaseEvent):
    """Time-decayed popularity, most popular first; the API answers `/products/trending` from it."""

    event_type: Literal["TRENDING_UPDATED"] = "TRENDING_UPDATED"
    products: tuple[ScoredProduct, ...]
    categories: tuple[ScoredCategory, ...] = ()


class TopProduct(Model):
    product_id: str
    name: str
    score: float


class TopCategory(Model):
    category: str
    score: float


class Analytics(Model):
    """The live analytics totals: `GET /analytics`, the `ANALYTICS` push and the `analytics` of
    `ANALYTICS_UPDATED` (what each counts: `processors.analytics`)."""

    live_users: int
    events_per_second: float
    total_events: int | None = None
    """Absent, like `abandonedCarts`, until the processors publish their first totals."""
    orders: int
    revenue: float
    funnel: dict[str, int]
    abandoned_carts: int | None = None
    abandonment_rate: float
    conversion_rate: float = 0.0
    """Visits that placed an order / visits that viewed a product (`processors.analytics`)."""
    recovered_carts: int
    top_products: tuple[TopProduct, ...]
    top_categories: tuple[TopCategory, ...]
    updated_at: int

    @classmethod
    def quiet(cls) -> Analytics:
        """The totals of a shop nobody has visited yet."""
        return cls(
            live_users=0,
            events_per_second=0.0,
            orders=0,
            revenue=0.0,
            funnel=dict.fromkeys(("views", "carts", "checkouts", "orders"), 0),
            abandonment_rate=0.0,
            recovered_carts=0,
            top_products=(),
            top_categories=(),
            updated_at=0,
        )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class AnalyticsUpdated(BaseEvent):
    """The live analytics totals, emitted about once a second: an `Analytics` in its JSON form."""

    event_type: Literal["ANALYTICS_UPDATED"] = "ANALYTICS_UPDATED"
    analytics: dict[str, Any]


Event = Annotated[
    PageView
    | ProductView
    | ProductClick
    | Search
    | AddToCart
    | RemoveFromCart
    | CartQuantityChanged
    | CartCleared
    | CartMerged
    | CartAbandoned
    | CartRecovered
    | CheckoutStarted
    | CheckoutFailed
    | OrderPlaced
    | OrderStatusChanged
    | PaymentCaptured
    | PaymentDeclined
    | RefundRecorded
    | OrdersClaimed
    | CouponCreated
    | CouponRedeemed
    | CouponReleased
    | StockReserved
    | StockReleased
    | InventoryChanged
    | ProductLaunched
    | PriceChanged
    | ProductImageChanged
    | FlashSaleStarted
    | FlashSaleEnded
    | ProductEdited
    | ProductRetired
    | ReviewPosted
    | WishlistItemAdded
    | WishlistItemRemoved
    | Recommendation
    | WishlistAlert
    | RelatedProducts
    | ReservationExpired
    | InventoryAlert
    | TrendingUpdated
    | AnalyticsUpdated,
    Field(discriminator="event_type"),
]


def event_types(classes: Iterable[type[BaseEvent]]) -> tuple[str, ...]:
    """The `eventType` names of event classes, in their order."""
    return tuple(str(cls.model_fields["event_type"].default) for cls in classes)


EVENT_CLASSES: Final[tuple[type[BaseEvent], ...]] = get_args(get_args(Event)[0])
EVENT_TYPES: Final = event_types(EVENT_CLASSES)

# --- event groups: the sets the shop, the processors and the store select by ------------------

TRACKING_EVENTS: Final = (PageView, ProductView, ProductClick, Search)
CART_EVENTS: Final = (AddToCart, RemoveFromCart, CartQuantityChanged, CartCleared, CartMerged)
"""The events that change a cart (folded by `domain.cart.evolve_cart`)."""
CHECKOUT_EVENTS: Final = (CheckoutStarted, CheckoutFailed, OrderPlaced)
ORDER_EVENTS: Final = (
    OrderPlaced,
    OrderStatusChanged,
    PaymentCaptured,
    PaymentDeclined,
    RefundRecorded,
    CouponRedeemed,
)
"""The events that change an order (folded by `domain.orders.evolve_order`)."""
COUPON_EVENTS: Final = (CouponCreated, CouponRedeemed, CouponReleased)
"""The events that change a coupon (folded by `domain.coupons.evolve_coupon`)."""
CATALOG_EVENTS: Final = (
    ProductLaunched,
    PriceChanged,
    FlashSaleStarted,
    FlashSaleEnded,
    ProductImageChanged,
    ProductEdited,
    ProductRetired,
)
"""The events published on `product_updates`, each carrying the whole product after the change."""
WISHLIST_EVENTS: Final = (WishlistItemAdded, WishlistItemRemoved)
"""The events that change a shopper's wishlist (folded by `domain.wishlist.evolve_wishlist`)."""
SHOPPER_EVENTS: Final = (*TRACKING_EVENTS, *CART_EVENTS, *CHECKOUT_EVENTS)
"""The events a shopper causes; processor outputs on the same key (abandonment, expiry) are not."""

CATALOG_TYPES: Final = event_types(CATALOG_EVENTS)
TRACKING_TYPES: Final = frozenset(event_types(TRACKING_EVENTS))
"""Event types a client may post to `POST /events`; everything else is decided by the server."""

DEFERRED: Final = ConfigDict(defer_build=True)
"""For a `TypeAdapter` of a union of models: built on its first use."""
_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event, config=DEFERRED)


class EventValidationError(ValueError):
    """Raised for an event that does not fit the contract; `errors` names each bad field."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    errors = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        # the discriminated union puts the event type first in the location; it is not a field
        if loc and loc[0] in EVENT_TYPES:
            loc = loc[1:]
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ["eventType"]
        errors.append({"field": ".".join(loc) or "event", "message": err["msg"]})
    return errors


def parse_event(data: Any) -> Event:
    """Validate a decoded JSON object (or raw JSON bytes/str) as an event."""
    try:
        if isinstance(data, bytes | str):
            return _ADAPTER.validate_json(data)
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise EventValidationError(_field_errors(exc)) from exc


def event_to_dict(event: BaseEvent) -> dict[str, Any]:
    """The JSON-ready wire form: camelCase names, absent optionals left out."""
    return event.model_dump(mode="json", by_alias=True, exclude_none=True)


def encode_event(event: BaseEvent) -> bytes:
    return orjson.dumps(event_to_dict(event))


def decode_event(raw: bytes | str) -> Event:
    return parse_event(raw)


def event_key(event: BaseEvent) -> str | None:
    """The partition key of an event on `ecommerce_events`: its owner (`owner_key`)."""
    return owner_key(event.user_id, event.session_id)


# --- accounts: a contract of their own, kept out of `Event` --------------------------------
# Each account event carries the whole account after the change, so the compacted topic's
# last record per e-mail is the account.


class AccountEvent(BaseEvent):
    user_id: Id
    email: Email
    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Role
    password_hash: Annotated[str, Field(min_length=1, max_length=512)]
    """argon2id, in its PHC string form."""


class AccountRegistered(AccountEvent):
    event_type: Literal["ACCOUNT_REGISTERED"] = "ACCOUNT_REGISTERED"


class PasswordChanged(AccountEvent):
    event_type: Literal["ACCOUNT_PASSWORD_CHANGED"] = "ACCOUNT_PASSWORD_CHANGED"


class RoleChanged(AccountEvent):
    event_type: Literal["ACCOUNT_ROLE_CHANGED"] = "ACCOUNT_ROLE_CHANGED"


class PasswordResetAsked(AccountEvent):
    """Someone asked for a link that sets a new password; the account itself is unchanged.
    The link is made where the e-mail is queued and never written to the log."""

    event_type: Literal["ACCOUNT_PASSWORD_RESET_ASKED"] = "ACCOUNT_PASSWORD_RESET_ASKED"


AccountChange = Annotated[
    AccountRegistered | PasswordChanged | RoleChanged | PasswordResetAsked,
    Field(discriminator="event_type"),
]
ACCOUNT_EVENTS: Final = (AccountRegistered, PasswordChanged, RoleChanged, PasswordResetAsked)
_ACCOUNT_ADAPTER: Final[TypeAdapter[AccountChange]] = TypeAdapter(AccountChange, config=DEFERRED)


def decode_account_event(raw: bytes | str) -> AccountChange:
    try:
        return _ACCOUNT_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise EventValidationError(_field_errors(exc)) from exc


def json_schema() -> dict[str, Any]:
    """JSON Schema of every event, for generating the frontend's TypeScript types."""
    return _ADAPTER.json_schema(by_alias=True, mode="serialization")
