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
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, get_args

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
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

AlertLevel = Literal["LOW_STOCK", "SOLD_OUT", "BACK_IN_STOCK"]
"""What an `INVENTORY_ALERT` warns of."""

RecommendationKind = Literal["PERSONAL", "BOUGHT_TOGETHER", "NEXT_BEST_OFFER", "TRENDING"]
"""Which list a `RECOMMENDATION` comes from."""


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


Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")]
Price = Annotated[float, Field(ge=0, le=1_000_000)]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
Stock = Annotated[int, Field(ge=0, le=10_000_000)]


class FlashSale(Model):
    discount_percent: Annotated[float, Field(gt=0, lt=100)]
    starts_at: int
    ends_at: int
    sale_price: Price


class Product(Model):
    """A catalog entry as materialised from `product_updates` (the seed's `products-cache`)."""

    id: Id
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=4000)] = ""
    category: Annotated[str, Field(min_length=1, max_length=80)]
    price: Price
    original_price: Price
    stock: Stock = 0
    rating: Annotated[float, Field(ge=0, le=5)] = 0.0
    review_count: Annotated[int, Field(ge=0)] = 0
    tags: tuple[Annotated[str, Field(max_length=40)], ...] = ()
    featured: bool = False
    image_url: Annotated[str, Field(max_length=300)] = ""
    flash_sale: FlashSale | None = None


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
    cart_value: Price = 0.0
    item_count: Annotated[int, Field(ge=0)] = 0


class CartRecovered(BaseEvent):
    event_type: Literal["CART_RECOVERED"] = "CART_RECOVERED"
    offer: Annotated[str, Field(max_length=200)] = ""


# --- checkout and orders ----------------------------------------------------------------------


class CheckoutStarted(BaseEvent):
    event_type: Literal["CHECKOUT_STARTED"] = "CHECKOUT_STARTED"
    order_id: Id
    idempotency_key: Id


class CheckoutFailed(BaseEvent):
    event_type: Literal["CHECKOUT_FAILED"] = "CHECKOUT_FAILED"
    order_id: Id
    reason: Annotated[str, Field(max_length=500)]


class OrderPlaced(BaseEvent):
    event_type: Literal["ORDER_PLACED"] = "ORDER_PLACED"
    order_id: Id
    idempotency_key: Id
    lines: tuple[OrderLine, ...]
    total: Price


class OrderStatusChanged(BaseEvent):
    event_type: Literal["ORDER_STATUS_CHANGED"] = "ORDER_STATUS_CHANGED"
    order_id: Id
    status: OrderStatus
    previous_status: OrderStatus


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


class FlashSaleStarted(BaseEvent):
    event_type: Literal["FLASH_SALE_STARTED"] = "FLASH_SALE_STARTED"
    product_id: Id
    flash_sale: FlashSale
    product: Product


class FlashSaleEnded(BaseEvent):
    event_type: Literal["FLASH_SALE_ENDED"] = "FLASH_SALE_ENDED"
    product_id: Id
    product: Product


# --- processor outputs ------------------------------------------------------------------------


class Recommendation(BaseEvent):
    """Products suggested to a shopper. `confidence` is in [0, 1] (see docs/ARCHITECTURE.md)."""

    event_type: Literal["RECOMMENDATION"] = "RECOMMENDATION"
    product_ids: tuple[Id, ...]
    confidence: Annotated[float, Field(ge=0, le=1)]
    reason: Annotated[str, Field(max_length=300)]
    kind: RecommendationKind = "PERSONAL"


class ReservationExpired(BaseEvent):
    """A checkout's reservation outlived its time to pay; the shop cancels the order."""

    event_type: Literal["RESERVATION_EXPIRED"] = "RESERVATION_EXPIRED"
    order_id: Id


class InventoryAlert(BaseEvent):
    event_type: Literal["INVENTORY_ALERT"] = "INVENTORY_ALERT"
    product_id: Id
    level: AlertLevel
    available: Stock


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
    | StockReserved
    | StockReleased
    | InventoryChanged
    | ProductLaunched
    | PriceChanged
    | FlashSaleStarted
    | FlashSaleEnded
    | Recommendation
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
ORDER_EVENTS: Final = (OrderPlaced, OrderStatusChanged)
"""The events that change an order (folded by `domain.orders.evolve_order`)."""
CATALOG_EVENTS: Final = (ProductLaunched, PriceChanged, FlashSaleStarted, FlashSaleEnded)
"""The events published on `product_updates`, each carrying the whole product after the change."""
SHOPPER_EVENTS: Final = (*TRACKING_EVENTS, *CART_EVENTS, *CHECKOUT_EVENTS)
"""The events a shopper causes; processor outputs on the same key (abandonment, expiry) are not."""

CATALOG_TYPES: Final = event_types(CATALOG_EVENTS)
TRACKING_TYPES: Final = frozenset(event_types(TRACKING_EVENTS))
"""Event types a client may post to `POST /events`; everything else is decided by the server."""

_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event)


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


def json_schema() -> dict[str, Any]:
    """JSON Schema of every event, for generating the frontend's TypeScript types."""
    return _ADAPTER.json_schema(by_alias=True, mode="serialization")
