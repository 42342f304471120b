"""The WebSocket messages of `/ecommerce/{sessionId}/{userId}` (docs/API.md), both directions.

Commands are validated with these models (`parse_command`); the frontend's TypeScript types of
both directions are generated from `json_schema()` (scripts/gen_types.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, get_args

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from kartshoppe.api.schemas import BodyQuantity, FieldError
from kartshoppe.domain.errors import DomainError
from kartshoppe.events import (
    DEFERRED,
    Analytics,
    Event,
    Id,
    InventoryAlert,
    LazyModel,
    Recommendation,
    WishlistAlert,
)
from kartshoppe.views.models import CartOut, OrderOut, ProductOut

Channel = Literal["analytics", "events", "inventory"]
CHANNELS: Final = frozenset(get_args(Channel))


class Command(LazyModel):
    """A client-to-server message; fields it does not know are ignored, as they always were."""

    model_config = LazyModel.model_config | ConfigDict(extra="ignore")


class Ping(Command):
    type: Literal["PING"]


class AddToCartCommand(Command):
    type: Literal["ADD_TO_CART"]
    product_id: Id
    quantity: BodyQuantity = 1


class RemoveFromCartCommand(Command):
    type: Literal["REMOVE_FROM_CART"]
    product_id: Id


class UpdateQuantityCommand(Command):
    type: Literal["UPDATE_QUANTITY"]
    product_id: Id
    quantity: BodyQuantity = 1


class TrackCommand(Command):
    """One tracking event; validated by the tracking service like `POST /events`."""

    type: Literal["TRACK"]
    event: Any = None


class SubscribeCommand(Command):
    type: Literal["SUBSCRIBE", "UNSUBSCRIBE"]
    channel: Channel


ClientMessage = Annotated[
    Ping
    | AddToCartCommand
    | RemoveFromCartCommand
    | UpdateQuantityCommand
    | TrackCommand
    | SubscribeCommand,
    Field(discriminator="type"),
]
_COMMANDS: Final[TypeAdapter[ClientMessage]] = TypeAdapter(ClientMessage, config=DEFERRED)
_OUT_OF_RANGE: Final = frozenset({"greater_than_equal", "less_than_equal"})


def parse_command(data: dict[str, Any]) -> ClientMessage:
    """The command a decoded message is; a `DomainError` naming the first bad field if none."""
    try:
        return _COMMANDS.validate_python(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            kind = data.get("type")
            raise DomainError("unknown_message", f"unknown message type {kind!r}", "type") from exc
        # the location starts with the message type (the union's tag); the field follows
        field = ".".join(str(part) for part in error["loc"][1:]) or None
        code = "validation_error"
        if field == "quantity" and error["type"] in _OUT_OF_RANGE:
            code = "line_limit"  # what the cart's rules call a quantity out of range
        text = f"{field}: {error['msg']}" if field else str(error["msg"])
        raise DomainError(code, text, field) from exc


# --- server to client: what the hub pushes (built in `api.hub` and `api.ws`) ------------------


class Push(LazyModel):
    pass


class Connected(Push):
    type: Literal["CONNECTED"]
    session_id: str
    user_id: str | None


class CartUpdated(Push):
    type: Literal["CART_UPDATED"]
    cart: CartOut


class ProductUpdated(Push):
    type: Literal["PRODUCT_UPDATED"]
    product: ProductOut
    change: str
    """The catalog event's type."""


class InventoryUpdated(Push):
    type: Literal["INVENTORY_UPDATED"]
    product_id: str
    stock: int
    reserved: int
    available: int
    low_stock: bool
    sold_out: bool


class ProductRetiredPushed(Push):
    """The operator retired a product: it leaves every page showing it."""

    type: Literal["PRODUCT_RETIRED"]
    product_id: str


class InventoryAlertPushed(Push):
    """An `INVENTORY_ALERT` of the inventory processor, to the `inventory` channel."""

    type: Literal["INVENTORY_ALERT"]
    alert: InventoryAlert


class OrderUpdated(Push):
    type: Literal["ORDER_UPDATED"]
    order: OrderOut


class RecommendationPushed(Push):
    type: Literal["RECOMMENDATION"]
    recommendation: Recommendation


class AnalyticsPushed(Push):
    type: Literal["ANALYTICS"]
    analytics: Analytics


class EventPushed(Push):
    """Every applied event, to the `events` channel."""

    type: Literal["EVENT"]
    event: Event


class CartReminder(Push):
    type: Literal["CART_REMINDER"]
    cart: CartOut
    offer: str
    coupon_code: str
    """The reminder's one-time code, named in `offer`."""


class WishlistAlertPushed(Push):
    """To the shopper whose wishlist holds the product: it got cheaper or is back in stock."""

    type: Literal["WISHLIST_ALERT"]
    alert: WishlistAlert
    product: ProductOut


class ErrorPushed(Push):
    """A refused message; `message` and `field`, or the tracking rejection's `details`."""

    type: Literal["ERROR"]
    error: str
    message: str | None = None
    field: str | None = None
    details: list[FieldError] | None = None


class Pong(Push):
    type: Literal["PONG"]


ServerMessage = Annotated[
    Connected
    | CartUpdated
    | ProductUpdated
    | InventoryUpdated
    | ProductRetiredPushed
    | InventoryAlertPushed
    | OrderUpdated
    | RecommendationPushed
    | AnalyticsPushed
    | EventPushed
    | CartReminder
    | WishlistAlertPushed
    | ErrorPushed
    | Pong,
    Field(discriminator="type"),
]


class SocketMessages(LazyModel):
    """Both directions in one schema, for generating the frontend's TypeScript types."""

    client: ClientMessage
    server: ServerMessage


def json_schema() -> dict[str, Any]:
    return SocketMessages.model_json_schema(by_alias=True, mode="serialization")
