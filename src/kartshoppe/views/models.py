"""The JSON shapes of the shop's resources (product, cart, order), built from the domain's state
by each model's `of` wherever they are sent: REST answers and WebSocket pushes (`api.schemas`
re-exports them), the catalog's pre-encoded bytes (`views.catalog`), time travel
(`eventstore.timetravel`). `to_json()` gives the camelCase JSON that orjson encodes; a cart's
comes straight from `CartOut.json_of`, in the model's shape.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import Field

from kartshoppe.domain.cart import Cart
from kartshoppe.domain.catalog import effective_price, sale_active
from kartshoppe.domain.checkout import address_lines
from kartshoppe.domain.inventory import LOW_STOCK_THRESHOLD, StockLevel
from kartshoppe.domain.money import line_total
from kartshoppe.domain.orders import Order, lapsed
from kartshoppe.domain.pricing import PricedLine, price_lines, subtotal
from kartshoppe.domain.reference_price import History, reduction_percent, was_price
from kartshoppe.events import (
    MAX_QUANTITY,
    Address,
    Delivery,
    FlashSale,
    LazyModel,
    OrderLine,
    OrderStatus,
    Product,
    Spec,
    json_number,
)


class Out(LazyModel):
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


class LineOut(LazyModel):
    """A line of a cart, a quote or an order: the unit price charged and the line's total."""

    product_id: str
    name: str
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
    unit_price: float
    line_total: float

    @classmethod
    def of(cls, line: PricedLine) -> LineOut:
        return cls.model_validate(_line_json(line))

    @classmethod
    def of_order(cls, line: OrderLine) -> LineOut:
        return cls(
            product_id=line.product_id,
            name=line.name,
            quantity=line.quantity,
            unit_price=json_number(line.unit_price),
            line_total=json_number(line_total(line.unit_price, line.quantity)),
        )


class CartOut(Out):
    """The cart at the prices that will be charged at `at_ms` (lowest of snapshot and now)."""

    cart_id: str
    session_id: str | None
    user_id: str | None
    lines: list[LineOut]
    item_count: int
    subtotal: float
    updated_at: int

    @staticmethod
    def json_of(cart: Cart, products: Mapping[str, Product], at_ms: int) -> dict[str, Any]:
        """The cart's JSON form, built directly rather than through a validated model (whose
        shape it has, which a test checks): a cart is pushed and answered on every write to
        it, and validating a model per line costs more than pricing the cart. The push and
        the answer of one write price the same cart: the second takes the first's JSON
        (`_RenderedCarts`); callers only serialize it."""
        return _RENDERED.json_of(cart, products, at_ms)


def _priced_json(cart: Cart, products: Mapping[str, Product], at_ms: int) -> dict[str, Any]:
    lines = price_lines(cart.lines, products, at_ms)
    return {
        "cartId": cart.cart_id,
        "sessionId": cart.session_id,
        "userId": cart.user_id,
        "lines": [_line_json(line) for line in lines],
        "itemCount": cart.item_count,
        "subtotal": json_number(subtotal(lines)),
        "updatedAt": cart.updated_at,
    }


NEVER: Final = 2**63
"""Later than any event time."""


@dataclass(frozen=True, slots=True)
class _Rendered:
    cart: Cart
    products: tuple[Product | None, ...]
    """Each line's product, as priced (the objects: a product change replaces its object)."""
    priced_at: int
    until: int
    """The first flash-sale start or end of those products after `priced_at`: the only way
    time changes a price, so the JSON holds from `priced_at` until then."""
    json: dict[str, Any]


def _next_sale_change(products: tuple[Product | None, ...], at_ms: int) -> int:
    """The first time after `at_ms` a flash sale of one of `products` starts or ends."""
    changes = [
        moment
        for product in products
        if product is not None and (sale := product.flash_sale) is not None
        for moment in (sale.starts_at, sale.ends_at)
        if moment > at_ms
    ]
    return min(changes, default=NEVER)


class _RenderedCarts:
    """The JSON of the carts last priced, by cart id: given again while the cart and its
    lines' products are the same objects (all of them immutable) and no flash sale of them
    has started or ended since, since it then is the same JSON."""

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._kept: dict[str, _Rendered] = {}
        self._lock = threading.Lock()
        """The time-travel reads price carts in worker threads."""

    def json_of(self, cart: Cart, products: Mapping[str, Product], at_ms: int) -> dict[str, Any]:
        found = tuple(products.get(line.product_id) for line in cart.lines)
        kept = self._kept.get(cart.cart_id)
        if (
            kept is not None
            and kept.cart is cart
            and kept.priced_at <= at_ms < kept.until
            and all(a is b for a, b in zip(kept.products, found, strict=True))
        ):
            return kept.json
        until = _next_sale_change(found, at_ms)
        rendered = _Rendered(cart, found, at_ms, until, _priced_json(cart, products, at_ms))
        with self._lock:
            self._kept.pop(cart.cart_id, None)
            if len(self._kept) >= self._capacity:
                # dicts keep insertion order: the first is the one priced longest ago
                del self._kept[next(iter(self._kept))]
            self._kept[cart.cart_id] = rendered
        return rendered.json


_RENDERED: Final = _RenderedCarts()


def _line_json(line: PricedLine) -> dict[str, Any]:
    """A priced line in `LineOut`'s JSON form."""
    return {
        "productId": line.product_id,
        "name": line.name,
        "quantity": line.quantity,
        "unitPrice": json_number(line.unit_price),
        "lineTotal": json_number(line.line_total),
    }


class StatusChange(LazyModel):
    status: OrderStatus
    timestamp: int


class PaymentOut(LazyModel):
    kind: Literal["CAPTURED", "DECLINED", "REFUNDED"]
    transaction_id: str
    amount: float
    card_last4: str
    reason: str
    timestamp: int


class OrderOut(Out):
    order_id: str
    reference: str
    """What the shopper reads and quotes (`domain.orders.order_reference`)."""
    session_id: str | None
    user_id: str | None
    idempotency_key: str
    lines: list[LineOut]
    subtotal: float
    discount: float
    shipping: float
    tax: float
    total: float
    coupon_code: str | None
    email: str | None
    address: Address | None
    ship_to: list[str] | None
    """The address as the destination's post writes it (`domain.checkout.address_lines`)."""
    delivery: Delivery | None
    payments: list[PaymentOut]
    status: OrderStatus
    pay_by: int | None
    """While it awaits payment: until when (epoch ms) it holds its items; then it is cancelled."""
    tracking_number: str | None
    """The parcel's number at the carrier, once shipped with one."""
    lapsed: bool
    """Cancelled for not being paid by its `payBy` (`domain.orders.lapsed`)."""
    created_at: int
    updated_at: int
    history: list[StatusChange]

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            order_id=order.order_id,
            reference=order.reference,
            session_id=order.session_id,
            user_id=order.user_id,
            idempotency_key=order.idempotency_key,
            lines=[LineOut.of_order(line) for line in order.lines],
            subtotal=json_number(order.subtotal),
            discount=json_number(order.discount),
            shipping=json_number(order.shipping),
            tax=json_number(order.tax),
            total=json_number(order.total),
            coupon_code=order.coupon_code,
            email=order.email,
            address=order.address,
            ship_to=None if order.address is None else address_lines(order.address),
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
            pay_by=order.pay_by if order.status == OrderStatus.PLACED else None,
            tracking_number=order.tracking_number,
            lapsed=lapsed(order),
            created_at=order.created_at,
            updated_at=order.updated_at,
            history=[StatusChange(status=status, timestamp=ts) for status, ts in order.history],
        )
