"""The shop service: the write side. A command is decided against the fold, its events appended
to the log in one atomic, durable write, and the call returns once the fold has applied them.

This is the application layer between the API and the domain: it chooses the locks, the topics
and the keys; the rules themselves are the domain's.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from kartshoppe.application.commands import (
    COMMAND_WAIT_S,
    Command,
    CommandBus,
    CommandTimeoutError,
    LocalCommandBus,
    checkout_args,
    quote_cart,
)
from kartshoppe.application.consistency import note_written
from kartshoppe.application.projection import Projection
from kartshoppe.domain import cart as carts
from kartshoppe.domain import coupons
from kartshoppe.domain.accounts import Account, account_key
from kartshoppe.domain.checkout import CheckoutDetails, Quote, ShopRules, delivery_options
from kartshoppe.domain.errors import DomainError, NotFoundError
from kartshoppe.domain.orders import Order
from kartshoppe.domain.payment import Card, Outcome
from kartshoppe.domain.reservations import ReservationBook
from kartshoppe.domain.reviews import Draft, ProductReviews, check_rating, has_reviewed
from kartshoppe.domain.state import ShopState
from kartshoppe.domain.wishlist import Wishlist
from kartshoppe.eventlog.port import EventLog, Message
from kartshoppe.events import (
    ACCOUNT_EVENTS,
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
    ReviewPosted,
    Role,
    Topic,
    encode_event,
    event_key,
    now_ms,
    parse_event,
)

SEED_REVIEWS_PER_COMMAND = 400
SEED_WAIT_S = 60.0
"""Seeding (the catalog, its reviews, the demo accounts) waits longer than a shopper's command:
on Kafka it may wait for the deciders' consumer group to form while instances start."""


def route(event: BaseEvent) -> Message:
    """The topic and key an event is appended under (docs/ARCHITECTURE.md, Topics), with the
    event itself for this process's readers (`Message.event`)."""
    key: str | None
    if isinstance(event, CATALOG_EVENTS):
        topic, key = Topic.PRODUCT_UPDATES, event.product_id
    elif isinstance(event, InventoryChanged | InventoryAlert):
        topic, key = Topic.INVENTORY_UPDATES, event.product_id
    elif isinstance(event, ACCOUNT_EVENTS):
        topic, key = Topic.ACCOUNTS, event.email
    else:
        topic, key = Topic.EVENTS, event_key(event)
    return Message(topic, key, encode_event(event), event)


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
    """The API's entry to the write side: each write is a command for the owner of its key
    (`application/commands.py`); the call returns once this process's fold has applied the
    command's events, so the caller reads its own write."""

    def __init__(
        self,
        event_log: EventLog,
        projection: Projection,
        bus: CommandBus | None = None,
        rules: ShopRules | None = None,
    ) -> None:
        self._log = event_log
        self._projection = projection
        self.rules = rules or ShopRules()
        if bus is None:
            book = ReservationBook()
            projection.subscribe(lambda _, event: book.apply(event))
            bus = LocalCommandBus(event_log, projection, book, route, self.rules)
        self._bus = bus

    @property
    def state(self) -> ShopState:
        return self._projection.state

    async def _submit(
        self, kind: str, key: str, args: dict[str, Any], timeout: float = COMMAND_WAIT_S
    ) -> Mapping[str, Any]:
        outcome = await self._bus.submit(Command(kind, key, args), timeout)
        try:
            await asyncio.wait_for(self._projection.wait_positions(outcome.positions), timeout)
        except TimeoutError:
            raise CommandTimeoutError("decided, but not yet applied here; read again") from None
        note_written(outcome.positions)
        if outcome.refusal is not None:
            raise outcome.refusal.error()
        return outcome.value

    def _product(self, product_id: str) -> Product:
        product = self.state.products.get(product_id)
        if product is None:
            raise NotFoundError("unknown_product", f"no product '{product_id}'", "productId")
        return product

    # --- cart ---------------------------------------------------------------------------

    async def _cart_command(
        self, kind: str, session_id: str, user_id: str | None, **args: Any
    ) -> carts.Cart:
        cart_id = carts.cart_id_for(session_id, user_id)
        owner = {"sessionId": session_id, "userId": user_id}
        await self._submit(kind, f"cart:{cart_id}", {**owner, **args})
        return self.state.cart(cart_id)

    async def add_to_cart(
        self, session_id: str, user_id: str | None, product_id: str, quantity: int
    ) -> carts.Cart:
        return await self._cart_command(
            "cart.add", session_id, user_id, productId=product_id, quantity=quantity
        )

    async def remove_from_cart(
        self, session_id: str, user_id: str | None, product_id: str
    ) -> carts.Cart:
        return await self._cart_command("cart.remove", session_id, user_id, productId=product_id)

    async def change_quantity(
        self, session_id: str, user_id: str | None, product_id: str, quantity: int
    ) -> carts.Cart:
        return await self._cart_command(
            "cart.quantity", session_id, user_id, productId=product_id, quantity=quantity
        )

    async def clear_cart(self, session_id: str, user_id: str | None) -> carts.Cart:
        return await self._cart_command("cart.clear", session_id, user_id)

    async def merge_carts(self, session_id: str, user_id: str) -> carts.Cart:
        """Signing in: the guest's cart merges into the user's and the guest's orders follow."""
        return await self._cart_command("cart.merge", session_id, user_id)

    # --- checkout and orders ------------------------------------------------------------

    def quote(
        self, session_id: str, user_id: str | None, details: CheckoutDetails, at_ms: int
    ) -> tuple[Quote, list[Delivery]]:
        """The bill the cart would be placed at now, and the delivery options with their cost."""
        quote = quote_cart(self.state, self.rules, session_id, user_id, details, at_ms)
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
        args = checkout_args(session_id, user_id, idempotency_key, details)
        value = await self._submit("checkout", f"cart:{cart_id}", args)
        return self.state.orders[value["orderId"]], bool(value["created"])

    async def pay(self, order_id: str, card: Card, amount: Decimal | None) -> Order:
        """Charge the order's total; a declined card is recorded and refused (402), the order
        stays payable until its reservation expires. Decided by the order's owner."""
        args = {
            "orderId": order_id,
            "card": {"number": card.number, "expiry": card.expiry, "cvc": card.cvc},
            "amount": None if amount is None else str(amount),
        }
        value = await self._submit("order.pay", f"order:{order_id}", args)
        reason = str(value.get("reason", ""))
        if value.get("outcome") == Outcome.UNAVAILABLE:
            raise PaymentUnavailable(
                "payment_unavailable", f"{reason}: nothing was charged, please try again", "card"
            )
        if value.get("outcome") == Outcome.DECLINED:
            raise DomainError("card_declined", f"{reason}; try another card", "card.number")
        return self.order(order_id)

    async def issue_recovery_coupon(self, signal_event_id: str, percent_off: Decimal) -> str:
        """The abandoned-cart reminder's one-time code; issuing it again changes nothing."""
        coupon = coupons.recovery_coupon(signal_event_id, percent_off, now_ms())
        await self._coupon_command(coupon, if_absent=True)
        return coupon.code

    async def create_coupon(self, coupon: Coupon) -> coupons.CouponState:
        return await self._coupon_command(coupon, if_absent=False)

    async def _coupon_command(self, coupon: Coupon, if_absent: bool) -> coupons.CouponState:
        args = {"coupon": coupon.model_dump(by_alias=True, mode="json"), "ifAbsent": if_absent}
        await self._submit("coupon.create", f"coupon:{coupon.code}", args)
        return self.state.coupons[coupon.code]

    def order(self, order_id: str) -> Order:
        found = self.state.orders.get(order_id)
        if found is None:
            raise NotFoundError("not_found", f"no order '{order_id}'", "orderId")
        return found

    async def set_order_status(
        self, order_id: str, status: OrderStatus, tracking_number: str | None = None
    ) -> Order:
        args = {"orderId": order_id, "status": status.value, "trackingNumber": tracking_number}
        await self._submit("order.status", f"order:{order_id}", args)
        return self.order(order_id)

    async def expire_reservation(self, order_id: str) -> None:
        """An unpaid order whose reservation expired is cancelled; any other order is left be."""
        args = {"orderId": order_id, "status": OrderStatus.CANCELLED.value, "onlyIfPlaced": True}
        await self._submit("order.status", f"order:{order_id}", args)

    # --- catalog and inventory (operator) -----------------------------------------------

    async def _product_command(self, kind: str, product_id: str, **args: Any) -> Product:
        await self._submit(kind, f"product:{product_id}", {"productId": product_id, **args})
        return self._product(product_id)

    async def launch_product(self, product: Product) -> Product:
        as_json = product.model_dump(by_alias=True, mode="json")
        return await self._product_command("product.launch", product.id, product=as_json)

    async def change_price(self, product_id: str, price: Decimal) -> Product:
        return await self._product_command("product.price", product_id, price=str(price))

    async def change_image(self, product_id: str, image_url: str | None) -> Product:
        """Show an uploaded image for the product; None goes back to its illustration."""
        return await self._product_command("product.image", product_id, imageUrl=image_url)

    async def restock(self, product_id: str, quantity: int) -> Product:
        return await self._product_command("product.restock", product_id, quantity=quantity)

    async def update_product(
        self,
        product_id: str,
        changes: dict[str, str],
        price: Decimal | None = None,
        stock: int | None = None,
    ) -> Product:
        """Details, price and stock of one product, decided as one command by its owner."""
        return await self._product_command(
            "product.update",
            product_id,
            changes=changes,
            price=None if price is None else str(price),
            stock=stock,
        )

    async def retire_product(self, product_id: str) -> Product:
        return await self._product_command("product.retire", product_id)

    async def start_flash_sale(
        self, product_id: str, discount_percent: float, duration_ms: int
    ) -> Product:
        return await self._product_command(
            "product.flash_sale",
            product_id,
            discountPercent=discount_percent,
            durationMs=duration_ms,
        )

    async def end_flash_sale(self, product_id: str) -> Product:
        return await self._product_command("product.end_sale", product_id)

    async def end_expired_flash_sales(self) -> int:
        """Close every sale whose end has passed, so open pages see the price return live."""
        now = now_ms()
        expired = [
            p.id
            for p in self.state.products.values()
            if p.flash_sale is not None and p.flash_sale.ends_at <= now
        ]
        for product_id in expired:
            await self._product_command("product.end_sale", product_id, onlyIfOver=True)
        return len(expired)

    async def seed_catalog(self, products: Sequence[Product], timeout: float = SEED_WAIT_S) -> int:
        """Launch the products the catalog lacks; a seeded shop is not seeded twice."""
        if all(p.id in self.state.products for p in products):
            return 0
        as_json = [p.model_dump(by_alias=True, mode="json") for p in products]
        value = await self._submit("catalog.seed", "catalog", {"products": as_json}, timeout)
        return int(value["launched"])

    async def seed_reviews(
        self, reviews: Sequence[ReviewPosted], timeout: float = SEED_WAIT_S
    ) -> int:
        """Post the seeded reviews the shop lacks, in commands of `SEED_REVIEWS_PER_COMMAND`
        (a command is one Kafka record, which has a size limit)."""
        known = self.state.reviews
        missing = [r for r in reviews if not has_reviewed(known.get(r.product_id), r.user_id)]
        posted = 0
        for start in range(0, len(missing), SEED_REVIEWS_PER_COMMAND):
            chunk = missing[start : start + SEED_REVIEWS_PER_COMMAND]
            as_json = [r.model_dump(by_alias=True, mode="json") for r in chunk]
            value = await self._submit(
                "catalog.seed_reviews", "catalog", {"reviews": as_json}, timeout
            )
            posted += int(value["posted"])
        return posted

    # --- reviews and wishlists ------------------------------------------------------------

    async def post_review(self, user_id: str, product_id: str, draft: Draft) -> ProductReviews:
        """A buyer's one review of a product, decided by the product's owner."""
        check_rating(draft.rating)  # refused before it becomes a command
        args = {
            "productId": product_id,
            "userId": user_id,
            "rating": draft.rating,
            "title": draft.title,
            "body": draft.body,
            "author": draft.author,
        }
        await self._submit("review.post", f"product:{product_id}", args)
        return self.state.reviews[product_id]

    async def change_wishlist(self, user_id: str, product_id: str, add: bool) -> Wishlist:
        """Add a product to the user's wishlist or take it off, decided by the list's owner."""
        args = {"userId": user_id, "productId": product_id, "remove": not add}
        await self._submit("wishlist.change", f"wishlist:{user_id}", args)
        return self.state.wishlists.get(user_id, {})

    # --- accounts: decided per e-mail like any other command --------------------------

    async def register_account(self, account: Account, timeout: float = COMMAND_WAIT_S) -> None:
        """A new account (`account_exists`, 409, for a taken e-mail or user id)."""
        args = {
            "userId": account.user_id,
            "email": account.email,
            "name": account.name,
            "role": account.role.value,
            "passwordHash": account.password_hash,
        }
        await self._submit("account.register", account_key(account.email), args, timeout)

    async def change_password(
        self, email: str, password_hash: str, replacing: str | None = None
    ) -> None:
        """A new password; with `replacing`, only while that (`password_fingerprint`) is still
        the password (`password_changed` otherwise)."""
        args = {"email": email, "passwordHash": password_hash, "replacing": replacing}
        await self._submit("account.password", account_key(email), args)

    async def ask_password_reset(self, email: str) -> None:
        """A reset link for the account at `email`, mailed by whichever instance sends mail
        once it folds the request; nothing for an e-mail without an account."""
        await self._submit("account.reset", account_key(email), {"email": email})

    async def set_role(self, email: str, role: Role) -> None:
        await self._submit("account.role", account_key(email), {"email": email, "role": role.value})

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
