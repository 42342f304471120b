"""The shop service: the write side. A command is decided against the fold, its events appended
to the log in one atomic, durable write, and the call returns once the fold has applied them.

This is the application layer between the API and the domain: it chooses the locks, the topics
and the keys; the rules themselves are the domain's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from kartshoppe.application.locks import KeyedLocks
from kartshoppe.application.projection import Projection
from kartshoppe.domain import cart as carts
from kartshoppe.domain import catalog, coupons, inventory, orders
from kartshoppe.domain.checkout import (
    CheckoutDetails,
    Quote,
    ShopRules,
    check_expected_total,
    delivery_options,
    make_quote,
    validate_address,
)
from kartshoppe.domain.errors import DomainError, NotFoundError
from kartshoppe.domain.inventory import StockLevel, inventory_event
from kartshoppe.domain.meta import Meta
from kartshoppe.domain.orders import Order
from kartshoppe.domain.payment import Card, Outcome
from kartshoppe.domain.pricing import price_lines, require_sold
from kartshoppe.domain.state import ShopState
from kartshoppe.eventlog.port import EventLog, Message
from kartshoppe.events import (
    CATALOG_EVENTS,
    TRACKING_TYPES,
    BaseEvent,
    Coupon,
    Delivery,
    Event,
    EventValidationError,
    InventoryAlert,
    InventoryChanged,
    OrderStatus,
    Product,
    Topic,
    encode_event,
    event_key,
    new_id,
    now_ms,
    parse_event,
)


def route(event: BaseEvent) -> Message:
    """The topic and key an event is appended under (docs/ARCHITECTURE.md, Topics)."""
    if isinstance(event, CATALOG_EVENTS):
        return Message(Topic.PRODUCT_UPDATES, event.product_id, encode_event(event))
    if isinstance(event, InventoryChanged | InventoryAlert):
        return Message(Topic.INVENTORY_UPDATES, event.product_id, encode_event(event))
    return Message(Topic.EVENTS, event_key(event), encode_event(event))


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    reason: str
    details: list[dict[str, str]]
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class TrackResult:
    accepted: int
    rejections: list[Rejection]


class PaymentUnavailable(DomainError):
    """The payment processor failed transiently; nothing was charged, the order stays payable."""


class ShopService:
    def __init__(
        self, event_log: EventLog, projection: Projection, rules: ShopRules | None = None
    ) -> None:
        self._log = event_log
        self._projection = projection
        self._locks = KeyedLocks()
        self.rules = rules or ShopRules()

    @property
    def state(self) -> ShopState:
        return self._projection.state

    async def _commit(self, events: Sequence[Event]) -> None:
        if not events:
            return
        records = await self._log.append([route(event) for event in events])
        await self._projection.wait_applied(records)

    def _product(self, product_id: str) -> Product:
        product = self.state.products.get(product_id)
        if product is None:
            raise NotFoundError("unknown_product", f"no product '{product_id}'", "productId")
        return product

    def _level(self, product_id: str) -> StockLevel:
        return self.state.stock.get(product_id) or StockLevel(product_id, 0)

    # --- cart ---------------------------------------------------------------------------

    async def add_to_cart(
        self, session_id: str, user_id: str | None, product_id: str, quantity: int
    ) -> carts.Cart:
        cart_id = carts.cart_id_for(session_id, user_id)
        async with self._locks.hold([f"cart:{cart_id}"]):
            cart = self.state.cart(cart_id)
            product = self.state.products.get(product_id)
            meta = Meta(now_ms(), session_id, user_id)
            level = self.state.stock.get(product_id)
            await self._commit(carts.decide_add(cart, product, level, quantity, meta))
            return self.state.cart(cart_id)

    async def remove_from_cart(
        self, session_id: str, user_id: str | None, product_id: str
    ) -> carts.Cart:
        cart_id = carts.cart_id_for(session_id, user_id)
        async with self._locks.hold([f"cart:{cart_id}"]):
            meta = Meta(now_ms(), session_id, user_id)
            await self._commit(carts.decide_remove(self.state.cart(cart_id), product_id, meta))
            return self.state.cart(cart_id)

    async def change_quantity(
        self, session_id: str, user_id: str | None, product_id: str, quantity: int
    ) -> carts.Cart:
        cart_id = carts.cart_id_for(session_id, user_id)
        async with self._locks.hold([f"cart:{cart_id}"]):
            meta = Meta(now_ms(), session_id, user_id)
            cart = self.state.cart(cart_id)
            level = self.state.stock.get(product_id)
            await self._commit(
                carts.decide_change_quantity(cart, product_id, level, quantity, meta)
            )
            return self.state.cart(cart_id)

    async def clear_cart(self, session_id: str, user_id: str | None) -> carts.Cart:
        cart_id = carts.cart_id_for(session_id, user_id)
        async with self._locks.hold([f"cart:{cart_id}"]):
            meta = Meta(now_ms(), session_id, user_id)
            await self._commit(carts.decide_clear(self.state.cart(cart_id), meta))
            return self.state.cart(cart_id)

    async def merge_carts(self, session_id: str, user_id: str) -> carts.Cart:
        """Signing in: the guest's cart merges into the user's and the guest's orders follow."""
        async with self._locks.hold([f"cart:{session_id}", f"cart:{user_id}"]):
            meta = Meta(now_ms(), session_id, user_id)
            events = carts.decide_merge(
                self.state.cart(session_id), self.state.cart(user_id), self.state.stock, meta
            )
            guest = [self.state.orders[i] for i in self.state.orders_by_owner.get(session_id, [])]
            events += orders.decide_claim(guest, session_id, meta)
            await self._commit(events)
            return self.state.cart(user_id)

    # --- checkout and orders ------------------------------------------------------------

    def quote(
        self, session_id: str, user_id: str | None, details: CheckoutDetails, at_ms: int
    ) -> tuple[Quote, list[Delivery]]:
        """The bill the cart would be placed at now, and the delivery options with their cost."""
        cart = self.state.cart(carts.cart_id_for(session_id, user_id))
        require_sold(cart.lines, self.state.products)
        lines = price_lines(cart.lines, self.state.products, at_ms)
        code = coupons.normalise_code(details.coupon_code) if details.coupon_code else None
        off = Decimal(0)
        if code:
            customer = coupons.customer_of(details.email, user_id, session_id)
            off = coupons.discount(self.state.coupons.get(code), code, lines, customer, at_ms)
        address = validate_address(details.address) if details.address else None
        quote = make_quote(lines, off, code or None, address, details.delivery, self.rules, at_ms)
        return quote, delivery_options(self.rules, quote.subtotal - quote.discount, at_ms)

    async def checkout(
        self,
        session_id: str,
        user_id: str | None,
        idempotency_key: str,
        details: CheckoutDetails | None = None,
    ) -> tuple[Order, bool]:
        """Place the cart as an order; a retried key gives back the first order (`False`)."""
        details = details or CheckoutDetails()
        cart_id = carts.cart_id_for(session_id, user_id)
        async with self._locks.hold([f"cart:{cart_id}", f"checkout:{idempotency_key}"]):
            existing = self._order_for_key(idempotency_key)
            if existing is not None:
                return existing, False
            cart = self.state.cart(cart_id)
            # the coupon's limits are decided under its key, with the products' stock
            keys = [f"product:{line.product_id}" for line in cart.lines]
            if details.coupon_code:
                keys.append(f"coupon:{coupons.normalise_code(details.coupon_code)}")
            async with self._locks.hold(keys):
                order_id = new_id("order")
                meta = Meta(now_ms(), session_id, user_id)
                quote, _ = self.quote(session_id, user_id, details, meta.timestamp)
                check_expected_total(quote, details.expected_total)
                customer = coupons.customer_of(details.email, user_id, session_id)
                events = orders.decide_checkout(
                    cart,
                    quote,
                    self.state.stock,
                    order_id,
                    idempotency_key,
                    meta,
                    email=details.email,
                    customer=customer,
                )
                await self._commit(events)
            return self.state.orders[order_id], True

    async def pay(self, order_id: str, card: Card, amount: Decimal | None) -> Order:
        """Charge the order's total; a declined card is recorded and refused (402), the order
        stays payable until its reservation expires."""
        order = self.order(order_id)
        product_keys = [f"product:{line.product_id}" for line in order.lines]
        async with self._locks.hold([f"order:{order_id}", *product_keys]):
            order = self.order(order_id)
            meta = Meta(now_ms(), order.session_id, order.user_id)
            outcome, reason, events = orders.decide_payment(
                order, card, amount, new_id("txn"), self.state.stock, meta
            )
            await self._commit(events)
        if outcome == Outcome.UNAVAILABLE:
            raise PaymentUnavailable(
                "payment_unavailable", f"{reason}: nothing was charged, please try again", "card"
            )
        if outcome == Outcome.DECLINED:
            raise DomainError("card_declined", f"{reason}; try another card", "card.number")
        return self.order(order_id)

    async def issue_recovery_coupon(self, signal_event_id: str, percent_off: Decimal) -> str:
        """The abandoned-cart reminder's one-time code; issuing it again changes nothing."""
        coupon = coupons.recovery_coupon(signal_event_id, percent_off, now_ms())
        if coupon.code not in self.state.coupons:
            await self.create_coupon(coupon)
        return coupon.code

    async def create_coupon(self, coupon: Coupon) -> coupons.CouponState:
        async with self._locks.hold([f"coupon:{coupon.code}"]):
            existing = self.state.coupons.get(coupon.code)
            await self._commit(coupons.decide_create(existing, coupon, Meta(now_ms())))
            return self.state.coupons[coupon.code]

    def _order_for_key(self, idempotency_key: str) -> Order | None:
        order_id = self.state.order_by_key.get(idempotency_key)
        return self.state.orders.get(order_id) if order_id else None

    def order(self, order_id: str) -> Order:
        found = self.state.orders.get(order_id)
        if found is None:
            raise NotFoundError("not_found", f"no order '{order_id}'", "orderId")
        return found

    async def set_order_status(self, order_id: str, status: OrderStatus) -> Order:
        return await self._decide_order(
            order_id,
            lambda order, meta: orders.decide_status(order, status, self.state.stock, meta),
        )

    async def _decide_order(
        self, order_id: str, decide: Callable[[Order, Meta], list[Event]]
    ) -> Order:
        order = self.order(order_id)
        product_keys = [f"product:{line.product_id}" for line in order.lines]
        async with self._locks.hold([f"order:{order_id}", *product_keys]):
            order = self.order(order_id)
            await self._commit(decide(order, Meta(now_ms(), order.session_id, order.user_id)))
            return self.order(order_id)

    async def expire_reservation(self, order_id: str) -> None:
        """An unpaid order whose reservation expired is cancelled; any other order is left be."""
        order = self.state.orders.get(order_id)
        if order is not None and order.status == OrderStatus.PLACED:
            await self.set_order_status(order_id, OrderStatus.CANCELLED)

    # --- catalog and inventory (operator) -----------------------------------------------

    async def launch_product(self, product: Product) -> Product:
        async with self._locks.hold([f"product:{product.id}"]):
            meta = Meta(now_ms())
            events = catalog.decide_launch(self.state.products.get(product.id), product, meta)
            initial = StockLevel(product.id, product.stock)
            await self._commit([*events, inventory_event(initial, "INITIAL", meta)])
            return self._product(product.id)

    async def change_price(self, product_id: str, price: Decimal) -> Product:
        async with self._locks.hold([f"product:{product_id}"]):
            product = self._product(product_id)
            await self._commit(catalog.decide_price_change(product, price, Meta(now_ms())))
            return self._product(product_id)

    async def restock(self, product_id: str, quantity: int) -> Product:
        async with self._locks.hold([f"product:{product_id}"]):
            product = self._product(product_id)
            meta = Meta(now_ms())
            await self._commit(inventory.decide_restock(self._level(product_id), quantity, meta))
            return product

    async def start_flash_sale(
        self, product_id: str, discount_percent: float, duration_ms: int
    ) -> Product:
        async with self._locks.hold([f"product:{product_id}"]):
            product = self._product(product_id)
            meta = Meta(now_ms())
            await self._commit(
                catalog.decide_flash_sale(product, discount_percent, duration_ms, meta)
            )
            return self._product(product_id)

    async def end_flash_sale(self, product_id: str) -> Product:
        async with self._locks.hold([f"product:{product_id}"]):
            product = self._product(product_id)
            await self._commit(catalog.decide_end_flash_sale(product, Meta(now_ms())))
            return self._product(product_id)

    async def end_expired_flash_sales(self) -> int:
        """Close every sale whose end has passed, so open pages see the price return live."""
        now = now_ms()
        expired = [
            p.id
            for p in self.state.products.values()
            if p.flash_sale is not None and p.flash_sale.ends_at <= now
        ]
        for product_id in expired:
            await self.end_flash_sale(product_id)
        return len(expired)

    async def seed_catalog(self, products: Sequence[Product]) -> int:
        """Launch the products the catalog lacks; a seeded shop is not seeded twice."""
        missing = [p for p in products if p.id not in self.state.products]
        meta = Meta(now_ms())
        events: list[Event] = []
        for product in missing:
            events += catalog.decide_launch(None, product, meta)
            events.append(inventory_event(StockLevel(product.id, product.stock), "INITIAL", meta))
        await self._commit(events)
        return len(missing)

    # --- tracking -----------------------------------------------------------------------

    async def track(self, raw_events: Sequence[Any]) -> TrackResult:
        """Append valid tracking events; each invalid one goes to the DLQ with its reason."""
        accepted: list[Event] = []
        rejections: list[Rejection] = []
        dead: list[Message] = []
        for index, raw in enumerate(raw_events):
            rejection = self._check_tracking(index, raw)
            if isinstance(rejection, Rejection):
                rejections.append(rejection)
                dead.append(dead_letter(raw, rejection))
            else:
                accepted.append(rejection)
        messages = [route(event) for event in accepted] + dead
        if messages:
            records = await self._log.append(messages)
            await self._projection.wait_applied([r for r in records if r.topic != Topic.DLQ])
        return TrackResult(accepted=len(accepted), rejections=rejections)

    def _check_tracking(self, index: int, raw: Any) -> Event | Rejection:
        if not isinstance(raw, dict):
            details = [{"field": "event", "message": "an event is a JSON object"}]
            return Rejection(index, "invalid_event", details)
        event_id = raw.get("eventId")
        event_id = event_id if isinstance(event_id, str) else None
        try:
            event = parse_event(raw)
        except EventValidationError as exc:
            return Rejection(index, "invalid_event", exc.errors, event_id)
        if event.event_type not in TRACKING_TYPES:
            reason = f"{event.event_type} is decided by the server, not tracked by clients"
            details = [{"field": "eventType", "message": reason}]
            return Rejection(index, "not_a_tracking_event", details, event_id)
        if not (event.session_id or event.user_id):
            details = [{"field": "sessionId", "message": "a sessionId or userId is required"}]
            return Rejection(index, "invalid_event", details, event_id)
        product_id = getattr(event, "product_id", None)
        if product_id is not None and product_id not in self.state.products:
            details = [{"field": "productId", "message": f"no product '{product_id}'"}]
            return Rejection(index, "unknown_product", details, event_id)
        return event


def dead_letter(raw: Any, rejection: Rejection) -> Message:
    body = {
        "reason": rejection.reason,
        "details": rejection.details,
        "rejectedAt": now_ms(),
        "event": raw,
    }
    try:
        value = orjson.dumps(body, default=str)
    except TypeError:
        # integers past 64 bits or lone surrogates: keep the event as escaped JSON text
        body["event"] = json.dumps(raw, ensure_ascii=True, default=str)
        value = orjson.dumps(body, default=str)
    return Message(Topic.DLQ, rejection.event_id, value)
