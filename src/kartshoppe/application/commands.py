"""Commands: every write of the shop as a message keyed by the aggregate that decides it.

A command names its kind, its key (`cart:<id>`, `product:<id>`, `order:<id>`, `coupon:<CODE>`,
`wishlist:<user id>`, `catalog`) and
its arguments. Whoever owns the key decides it against the fold with the domain's `decide_*`
rules (`Decider`); `step` turns the decision into effects: the events to append, the next
command of a saga, compensations, and the outcome the caller awaits. Both transports run the
same `step`: `LocalCommandBus` in process (embedded mode: one process owns every key) and
`log.kafka_commands` on Kafka (the consumer-group member owning the key's partition).

Sagas: a command may carry the steps that follow it (`then`) and the compensations of the
steps done so far (`undo`). A checkout is decided by the cart's owner, which prices the cart
and plans one `reserve` step per product (in product-id order) and a final `place` step; each
`reserve` is decided by the product's owner; a refused line runs the `undo` steps (release what
was reserved) and answers the caller. Order ids derive from the idempotency key, and `reserve`
and `place` are idempotent, so a retried checkout never places or reserves twice. A checkout
with a coupon adds a `redeem` step before `place`, decided by the coupon's owner (`coupon:<CODE>`)
against its limits, with an `unredeem` compensation. Paying (`order.pay`) and moving an order
(`order.status`) are decided by the order's owner; each line's stock follows as a `settle` step
with its product's owner, a cancelled order's coupon as an `unredeem` step with the coupon's.
"""

from __future__ import annotations

import asyncio
import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Final

import orjson
from pydantic import ValidationError

from kartshoppe.application.locks import KeyedLocks
from kartshoppe.application.projection import Projection
from kartshoppe.domain import accounts, catalog, coupons, inventory, orders, reviews, wishlist
from kartshoppe.domain import cart as carts
from kartshoppe.domain.accounts import Account, AccountBook
from kartshoppe.domain.checkout import (
    CheckoutDetails,
    Quote,
    ShopRules,
    check_expected_total,
    make_quote,
    validate_address,
)
from kartshoppe.domain.errors import DomainError, NotFoundError
from kartshoppe.domain.inventory import StockLevel, inventory_event
from kartshoppe.domain.meta import Meta
from kartshoppe.domain.orders import Order
from kartshoppe.domain.payment import Card
from kartshoppe.domain.payment import Outcome as Payment
from kartshoppe.domain.pricing import PricedLine, price_lines, require_sold
from kartshoppe.domain.reservations import ReservationBook, decide_release, decide_reserve
from kartshoppe.domain.state import ShopState
from kartshoppe.eventlog.port import EventLog, LogUnavailableError, Record
from kartshoppe.events import (
    Address,
    BaseEvent,
    Coupon,
    CouponRedeemed,
    CouponReleased,
    Event,
    InventoryChanged,
    OrderLine,
    OrderPlaced,
    OrderStatus,
    OrderStatusChanged,
    PaymentCaptured,
    PaymentDeclined,
    Product,
    RefundRecorded,
    ReviewPosted,
    Role,
    StockReleased,
    StockReserved,
    decode_event,
    encode_event,
    new_id,
    now_ms,
)

COMMAND_WAIT_S: Final = 10.0
"""Longest a caller waits for its command's outcome before it gets 503 with `Retry-After`."""

Position = tuple[str, int, int]
"""(topic, partition, offset) of an appended event."""


class MalformedCommandError(ValueError):
    """A command that cannot be decided as written (from the log: it goes to the DLQ)."""


class CommandTimeoutError(LogUnavailableError):
    """No outcome within the bounded wait; the command may still be decided (retry with the
    same idempotency key: a retry never has a second effect)."""


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    key: str
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Command:
    kind: str
    key: str
    args: Mapping[str, Any]
    command_id: str = field(default_factory=lambda: new_id("cmd"))
    reply_to: str | None = None
    """The command id whose caller awaits the outcome; None for compensations."""
    origin: str | None = None
    """The instance that awaits the outcome."""
    then: tuple[Step, ...] = ()
    undo: tuple[Step, ...] = ()
    positions: tuple[Position, ...] = ()
    value: Mapping[str, Any] = field(default_factory=dict)

    @staticmethod
    def of(step: Step, **fields: Any) -> Command:
        return Command(step.kind, step.key, step.args, **fields)

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "commandId": self.command_id,
                "kind": self.kind,
                "key": self.key,
                "args": self.args,
                "replyTo": self.reply_to,
                "origin": self.origin,
                "then": [_step_json(s) for s in self.then],
                "undo": [_step_json(s) for s in self.undo],
                "positions": self.positions,
                "value": self.value,
            }
        )

    @staticmethod
    def decode(raw: bytes) -> Command:
        try:
            data = orjson.loads(raw)
            return Command(
                kind=_text(data["kind"]),
                key=_text(data["key"]),
                args=_mapping(data["args"]),
                command_id=_text(data["commandId"]),
                reply_to=_optional_text(data.get("replyTo")),
                origin=_optional_text(data.get("origin")),
                then=tuple(_step(s) for s in data.get("then", ())),
                undo=tuple(_step(s) for s in data.get("undo", ())),
                positions=tuple(
                    (_text(t), int(p), int(o)) for t, p, o in data.get("positions", ())
                ),
                value=_mapping(data.get("value", {})),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedCommandError(f"not a command: {exc}") from exc


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"expected a non-empty string, got {value!r}")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _step_json(step: Step) -> dict[str, Any]:
    return {"kind": step.kind, "key": step.key, "args": step.args}


def _step(data: Any) -> Step:
    return Step(_text(data["kind"]), _text(data["key"]), _mapping(data["args"]))


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str
    field: str | None = None
    not_found: bool = False

    @staticmethod
    def of(exc: DomainError) -> Refusal:
        return Refusal(exc.code, exc.message, exc.field, isinstance(exc, NotFoundError))

    def error(self) -> DomainError:
        kind = NotFoundError if self.not_found else DomainError
        return kind(self.code, self.message, self.field)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the caller of a command learns: its value or refusal, and where its events are."""

    command_id: str
    value: Mapping[str, Any]
    refusal: Refusal | None = None
    positions: tuple[Position, ...] = ()

    def encode(self) -> bytes:
        refusal = self.refusal
        return orjson.dumps(
            {
                "commandId": self.command_id,
                "value": self.value,
                "refusal": None
                if refusal is None
                else {
                    "code": refusal.code,
                    "message": refusal.message,
                    "field": refusal.field,
                    "notFound": refusal.not_found,
                },
                "positions": self.positions,
            }
        )

    @staticmethod
    def decode(raw: bytes) -> Outcome:
        data = orjson.loads(raw)
        refusal = data.get("refusal")
        return Outcome(
            command_id=data["commandId"],
            value=data.get("value") or {},
            refusal=None
            if refusal is None
            else Refusal(
                refusal["code"], refusal["message"], refusal.get("field"), refusal["notFound"]
            ),
            positions=tuple((t, p, o) for t, p, o in data.get("positions", ())),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    events: Sequence[BaseEvent] = ()
    value: Mapping[str, Any] = field(default_factory=dict)
    then: tuple[Step, ...] = ()
    """Steps to run next, before the ones the command already carried."""
    undo: Step | None = None
    """How to take this step back if a later step is refused."""
    compensate: bool = False
    """Answer with `value` but take back the steps done so far (a duplicate of a done saga)."""


@dataclass(frozen=True, slots=True)
class Effects:
    """What deciding one command produces; positions of `events` are added by the transport."""

    command: Command
    events: Sequence[BaseEvent]
    follow_ups: Sequence[Command]
    outcome: Outcome | None

    def placed(self, positions: Sequence[Position]) -> Effects:
        """The same effects with the positions of this step's events carried on."""
        if not positions:
            return self
        follow_ups = [
            replace(c, positions=(*c.positions, *positions)) if c.reply_to else c
            for c in self.follow_ups
        ]
        outcome = self.outcome
        if outcome is not None:
            outcome = replace(outcome, positions=(*outcome.positions, *positions))
        return replace(self, follow_ups=follow_ups, outcome=outcome)


def order_id_for(idempotency_key: str) -> str:
    """The order a checkout with this key places, whichever attempt or instance decides it."""
    return "order_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


Handler = Callable[["Decider", Mapping[str, Any]], Decision]


class Decider:
    """Decides commands against the fold with the domain's rules: one place for each rule."""

    def __init__(
        self,
        state: ShopState,
        book: ReservationBook,
        rules: ShopRules | None = None,
        accounts: AccountBook | None = None,
    ) -> None:
        self.state = state
        self.book = book
        self.rules = rules or ShopRules()
        self.accounts = accounts or AccountBook()

    def decide(self, command: Command) -> Decision:
        handler = HANDLERS.get(command.kind)
        if handler is None:
            raise MalformedCommandError(f"unknown command kind {command.kind!r}")
        try:
            return handler(self, command.args)
        except (KeyError, TypeError, ValidationError) as exc:
            raise MalformedCommandError(f"bad arguments for {command.kind}: {exc}") from exc

    def product(self, product_id: str) -> Product:
        product = self.state.products.get(product_id)
        if product is None:
            raise NotFoundError("unknown_product", f"no product '{product_id}'", "productId")
        return product

    def level(self, product_id: str) -> StockLevel:
        return self.state.stock.get(product_id) or StockLevel(product_id, 0)

    def order(self, order_id: str) -> Order:
        order = self.state.orders.get(order_id)
        if order is None:
            raise NotFoundError("not_found", f"no order '{order_id}'", "orderId")
        return order


def step(decider: Decider, command: Command) -> Effects:
    """Decide `command` and say what follows: the next saga step, compensations, the answer."""
    reply_to = command.reply_to
    try:
        decision = decider.decide(command)
    except DomainError as exc:
        return Effects(
            command, [], _compensations(command), _answer(command, reply_to, {}, Refusal.of(exc))
        )
    value = {**command.value, **decision.value}
    if decision.compensate:
        return Effects(
            command, decision.events, _compensations(command), _answer(command, reply_to, value)
        )
    steps = (*decision.then, *command.then)
    undo = (*command.undo, decision.undo) if decision.undo else command.undo
    if steps:
        after = Command.of(
            steps[0],
            reply_to=reply_to,
            origin=command.origin,
            then=steps[1:],
            undo=undo,
            positions=command.positions,
            value=value,
        )
        return Effects(command, decision.events, [after], None)
    return Effects(command, decision.events, [], _answer(command, reply_to, value))


def _answer(
    command: Command, reply_to: str | None, value: Mapping[str, Any], refusal: Refusal | None = None
) -> Outcome | None:
    if reply_to is None:
        return None
    return Outcome(reply_to, value, refusal, command.positions)


def _compensations(command: Command) -> list[Command]:
    return [Command.of(s, origin=command.origin) for s in reversed(command.undo)]


# --- handlers: the domain's rules, one per command kind ------------------------------------


def _meta(args: Mapping[str, Any]) -> Meta:
    return Meta(now_ms(), args.get("sessionId"), args.get("userId"))


def _order_meta(order: Order) -> Meta:
    """An order's consequences carry the shopper who placed it, whoever moves it."""
    return Meta(now_ms(), order.session_id, order.user_id)


def _cart_id(args: Mapping[str, Any]) -> str:
    return carts.cart_id_for(args["sessionId"], args.get("userId"))


def _cart_add(d: Decider, args: Mapping[str, Any]) -> Decision:
    cart_id, product_id = _cart_id(args), args["productId"]
    events = carts.decide_add(
        d.state.cart(cart_id),
        d.state.products.get(product_id),
        d.state.stock.get(product_id),
        int(args["quantity"]),
        _meta(args),
    )
    return Decision(events)


def _cart_remove(d: Decider, args: Mapping[str, Any]) -> Decision:
    cart = d.state.cart(_cart_id(args))
    return Decision(carts.decide_remove(cart, args["productId"], _meta(args)))


def _cart_quantity(d: Decider, args: Mapping[str, Any]) -> Decision:
    cart, product_id = d.state.cart(_cart_id(args)), args["productId"]
    level = d.state.stock.get(product_id)
    quantity = int(args["quantity"])
    return Decision(carts.decide_change_quantity(cart, product_id, level, quantity, _meta(args)))


def _cart_clear(d: Decider, args: Mapping[str, Any]) -> Decision:
    return Decision(carts.decide_clear(d.state.cart(_cart_id(args)), _meta(args)))


def _cart_merge(d: Decider, args: Mapping[str, Any]) -> Decision:
    """Signing in: the guest's cart merges into the user's and the guest's orders follow."""
    session_id = args["sessionId"]
    session_cart = d.state.cart(session_id)
    user_cart = d.state.cart(args["userId"])
    meta = _meta(args)
    events = carts.decide_merge(session_cart, user_cart, d.state.stock, meta)
    guest = [d.state.orders[i] for i in d.state.orders_by_owner.get(session_id, [])]
    return Decision([*events, *orders.decide_claim(guest, session_id, meta)])


def _existing_order(d: Decider, idempotency_key: str) -> Decision | None:
    order_id = d.state.order_by_key.get(idempotency_key)
    if order_id is None or order_id not in d.state.orders:
        return None
    return Decision(value={"orderId": order_id, "created": False})


def quote_cart(
    state: ShopState,
    rules: ShopRules,
    session_id: str,
    user_id: str | None,
    details: CheckoutDetails,
    at_ms: int,
) -> Quote:
    """The bill the cart would be placed at now (the domain's pricing, coupon and tax rules)."""
    cart = state.cart(carts.cart_id_for(session_id, user_id))
    require_sold(cart.lines, state.products)
    lines = price_lines(cart.lines, state.products, at_ms)
    code = coupons.normalise_code(details.coupon_code) if details.coupon_code else None
    off = Decimal(0)
    if code:
        customer = coupons.customer_of(details.email, user_id, session_id)
        off = coupons.discount(state.coupons.get(code), code, lines, customer, at_ms)
    address = validate_address(details.address) if details.address else None
    return make_quote(lines, off, code or None, address, details.delivery, rules, at_ms)


def checkout_args(
    session_id: str, user_id: str | None, idempotency_key: str, details: CheckoutDetails
) -> dict[str, Any]:
    """A checkout command's arguments: what the shopper filled in, amounts as exact strings."""
    address = details.address
    expected = details.expected_total
    return {
        "sessionId": session_id,
        "userId": user_id,
        "idempotencyKey": idempotency_key,
        "email": details.email,
        "address": None if address is None else address.model_dump(by_alias=True, mode="json"),
        "delivery": details.delivery,
        "couponCode": details.coupon_code,
        "expectedTotal": None if expected is None else str(expected),
    }


def _details(args: Mapping[str, Any]) -> CheckoutDetails:
    address, expected = args.get("address"), args.get("expectedTotal")
    return CheckoutDetails(
        email=args.get("email"),
        address=None if address is None else Address.model_validate(address),
        delivery=args.get("delivery"),
        coupon_code=args.get("couponCode"),
        expected_total=None if expected is None else Decimal(expected),
    )


def _checkout(d: Decider, args: Mapping[str, Any]) -> Decision:
    """Quote and validate the cart (the domain's checkout rules) and plan the saga; the stock
    of each line is decided by that product's owner (so the levels given here, exactly the
    cart's quantities, never refuse) and the coupon's limits by the coupon's owner."""
    key = args["idempotencyKey"]
    existing = _existing_order(d, key)
    if existing is not None:
        return existing
    session_id, user_id = args["sessionId"], args.get("userId")
    details = _details(args)
    meta = _meta(args)
    cart = d.state.cart(_cart_id(args))
    if not cart.lines:
        raise DomainError("empty_cart", "the cart is empty", "sessionId")
    quote = quote_cart(d.state, d.rules, session_id, user_id, details, meta.timestamp)
    check_expected_total(quote, details.expected_total)
    customer = coupons.customer_of(details.email, user_id, session_id)
    order_id = order_id_for(key)
    enough = {line.product_id: StockLevel(line.product_id, line.quantity) for line in cart.lines}
    events = orders.decide_checkout(
        cart,
        quote,
        enough,
        order_id,
        key,
        meta,
        email=details.email,
        customer=customer,
        hold_ms=d.rules.hold_ms,
    )
    final = [e for e in events if not isinstance(e, InventoryChanged | StockReserved)]
    placed = next(e for e in events if isinstance(e, OrderPlaced))
    owner = {"sessionId": session_id, "userId": user_id, "orderId": order_id}
    reserves = tuple(
        Step("reserve", f"product:{line.product_id}", {**owner, **_line_args(line)})
        for line in sorted(placed.lines, key=lambda line: line.product_id)
    )
    redeem: tuple[Step, ...] = ()
    redeemed = next((e for e in final if isinstance(e, CouponRedeemed)), None)
    if redeemed is not None:
        final.remove(redeemed)
        redeem_args = {
            **owner,
            "code": redeemed.code,
            "customer": customer,
            "discount": str(quote.discount),
            "lines": [_priced_json(line) for line in quote.lines],
            "event": encode_event(redeemed).decode(),
        }
        redeem = (Step("redeem", f"coupon:{redeemed.code}", redeem_args),)
    place = Step(
        "place",
        f"cart:{cart.cart_id}",
        {**owner, "idempotencyKey": key, "events": [encode_event(e).decode() for e in final]},
    )
    return Decision(then=(*reserves, *redeem, place))


def _priced_json(line: PricedLine) -> dict[str, Any]:
    return {
        "productId": line.product_id,
        "name": line.name,
        "category": line.category,
        "quantity": line.quantity,
        "unitPrice": str(line.unit_price),
        "snapshotPrice": str(line.snapshot_price),
    }


def _priced(data: Mapping[str, Any]) -> PricedLine:
    return PricedLine(
        product_id=data["productId"],
        name=data["name"],
        category=data["category"],
        quantity=int(data["quantity"]),
        unit_price=Decimal(data["unitPrice"]),
        snapshot_price=Decimal(data["snapshotPrice"]),
    )


def _redeem(d: Decider, args: Mapping[str, Any]) -> Decision:
    """The coupon's owner decides its limits (total and per customer) for this checkout."""
    code, order_id = args["code"], args["orderId"]
    if order_id in d.state.orders:
        return Decision()  # a duplicate of a checkout already placed: it holds its redemption
    back = {"code": code, "orderId": order_id, "sessionId": args["sessionId"]}
    undo = Step("unredeem", f"coupon:{code}", {**back, "userId": args.get("userId"), "undo": True})
    state = d.state.coupons.get(code)
    if state is not None and order_id in state.redemptions:
        return Decision(undo=undo)  # an earlier attempt of this checkout redeemed it
    lines = [_priced(line) for line in args["lines"]]
    off = coupons.discount(state, code, lines, args["customer"], now_ms())
    if off != Decimal(args["discount"]):
        raise DomainError(
            "total_mismatch",
            f"the coupon {code} now takes off {off}: please review the order",
            coupons.FIELD,
        )
    return Decision([decode_event(args["event"])], undo=undo)


def _unredeem(d: Decider, args: Mapping[str, Any]) -> Decision:
    """Give a redemption back: a refused checkout's (unless another attempt placed the order)
    or a cancelled order's."""
    code, order_id = args["code"], args["orderId"]
    if args.get("undo") and order_id in d.state.orders:
        return Decision()
    state = d.state.coupons.get(code)
    if state is None or order_id not in state.redemptions:
        return Decision()
    customer = state.redemptions[order_id]
    released = CouponReleased(
        code=code, order_id=order_id, customer=customer, **_meta(args).fields()
    )
    return Decision([released])


def _line_args(line: OrderLine) -> dict[str, Any]:
    return {"productId": line.product_id, "quantity": line.quantity}


def _reserve(d: Decider, args: Mapping[str, Any]) -> Decision:
    order_id, product_id = args["orderId"], args["productId"]
    release = Step("release", f"product:{product_id}", dict(args))
    if order_id in d.state.orders:
        return Decision()  # a duplicate of a checkout already placed: it holds its units
    held = d.book.held(order_id, product_id)
    level = d.state.stock.get(product_id)
    product = d.state.products.get(product_id)
    quantity = int(args["quantity"])
    name = product.name if product is not None else ""
    events = decide_reserve(level, product_id, held, order_id, quantity, _meta(args), name)
    return Decision(events, undo=release)


def _release(d: Decider, args: Mapping[str, Any]) -> Decision:
    order_id, product_id = args["orderId"], args["productId"]
    if order_id in d.state.orders:
        return Decision()  # placed meanwhile by another attempt: the units are the order's
    held = d.book.held(order_id, product_id)
    return Decision(decide_release(d.state.stock.get(product_id), held, order_id, _meta(args)))


def _place(d: Decider, args: Mapping[str, Any]) -> Decision:
    existing = _existing_order(d, args["idempotencyKey"])
    if existing is not None:
        # another attempt placed it first; this attempt's reservations were skipped or go back
        return replace(existing, compensate=True)
    events = [decode_event(raw) for raw in args["events"]]
    return Decision(events, value={"orderId": args["orderId"], "created": True})


def _order_status(d: Decider, args: Mapping[str, Any]) -> Decision:
    """The order's owner moves the order; each line's stock follows with its product's owner
    and a released coupon with the coupon's owner."""
    order = d.order(args["orderId"])
    status = OrderStatus(args["status"])
    value = {"orderId": order.order_id}
    if args.get("onlyIfPlaced") and order.status != OrderStatus.PLACED:
        return Decision(value=value)
    meta = _order_meta(order)
    events = orders.decide_status(order, status, d.state.stock, meta, args.get("trackingNumber"))
    moved = [e for e in events if isinstance(e, OrderStatusChanged | RefundRecorded)]
    if not moved:
        return Decision(value=value)
    steps = _settle_steps(order, status)
    released = next((e for e in events if isinstance(e, CouponReleased)), None)
    if released is not None:
        owner = {"sessionId": order.session_id, "userId": order.user_id}
        back = {**owner, "code": released.code, "orderId": order.order_id}
        steps = (*steps, Step("unredeem", f"coupon:{released.code}", back))
    return Decision(moved, value=value, then=steps)


def _settle_steps(order: Order, status: OrderStatus) -> tuple[Step, ...]:
    return tuple(
        Step(
            "settle",
            f"product:{line.product_id}",
            {
                "orderId": order.order_id,
                "from": order.status.value,
                "to": status.value,
                "line": line.model_dump(by_alias=True, mode="json"),
            },
        )
        for line in sorted(order.lines, key=lambda line: line.product_id)
    )


def _pay(d: Decider, args: Mapping[str, Any]) -> Decision:
    """The order's owner charges the card; a refusal is an answer (a declined card is recorded),
    an approval moves the order to PAID and each line's stock is sold by its product's owner."""
    order = d.order(args["orderId"])
    card = Card(str(args["card"]["number"]), str(args["card"]["expiry"]), str(args["card"]["cvc"]))
    amount = None if args.get("amount") is None else Decimal(args["amount"])
    meta = _order_meta(order)
    txn = new_id("txn")
    outcome, reason, events = orders.decide_payment(order, card, amount, txn, d.state.stock, meta)
    value = {"orderId": order.order_id, "outcome": outcome.value, "reason": reason}
    kept = [
        e for e in events if isinstance(e, PaymentCaptured | PaymentDeclined | OrderStatusChanged)
    ]
    if outcome != Payment.APPROVED:
        return Decision(kept, value=value)
    return Decision(kept, value=value, then=_settle_steps(order, OrderStatus.PAID))


def _coupon_create(d: Decider, args: Mapping[str, Any]) -> Decision:
    coupon = Coupon.model_validate(args["coupon"])
    existing = d.state.coupons.get(coupon.code)
    value = {"code": coupon.code}
    if existing is not None and args.get("ifAbsent"):
        return Decision(value=value)
    return Decision(coupons.decide_create(existing, coupon, Meta(now_ms())), value=value)


def _settle(d: Decider, args: Mapping[str, Any]) -> Decision:
    """One line's stock consequence of an order's move, by the domain's status rule."""
    line = OrderLine.model_validate(args["line"])
    order_id = args["orderId"]
    order = d.state.orders.get(order_id)
    if order is None:
        raise MalformedCommandError(f"settle of unknown order {order_id!r}")
    previous = replace(order, status=OrderStatus(args["from"]), lines=(line,))
    levels = {line.product_id: d.level(line.product_id)}
    meta = _order_meta(order)
    events = orders.decide_status(previous, OrderStatus(args["to"]), levels, meta)
    return Decision([e for e in events if isinstance(e, InventoryChanged | StockReleased)])


def _launch(d: Decider, args: Mapping[str, Any]) -> Decision:
    product = Product.model_validate(args["product"])
    meta = Meta(now_ms())
    events = catalog.decide_launch(d.state.products.get(product.id), product, meta)
    initial = inventory_event(StockLevel(product.id, product.stock), "INITIAL", meta)
    return Decision([*events, initial], value={"productId": product.id})


def _price(d: Decider, args: Mapping[str, Any]) -> Decision:
    product = d.product(args["productId"])
    history = d.state.price_history.get(product.id, ())
    events = catalog.decide_price_change(product, Decimal(args["price"]), Meta(now_ms()), history)
    return Decision(events, value={"productId": product.id})


def _update(d: Decider, args: Mapping[str, Any]) -> Decision:
    """The operator's edit of one product, decided as one: its details, price and stock change
    together or not at all (each later rule sees the product after the earlier changes)."""
    product = d.product(args["productId"])
    catalog.check_on_sale(product)
    meta = Meta(now_ms())
    changes = {str(k): v for k, v in _mapping(args.get("changes", {})).items()}
    if not all(isinstance(v, str) for v in changes.values()):
        raise TypeError(f"product details are text, got {changes!r}")
    events: list[Event] = []
    if args.get("stock") is not None:
        events += inventory.decide_set_stock(d.level(product.id), int(args["stock"]), meta)
    edited = catalog.decide_edit(product, changes, meta)
    events += edited
    if edited:
        product = edited[-1].product
    if args.get("price") is not None:
        events += catalog.decide_price_change(
            product, Decimal(args["price"]), meta, d.state.price_history.get(product.id, ())
        )
    return Decision(events, value={"productId": product.id})


def _retire(d: Decider, args: Mapping[str, Any]) -> Decision:
    product = d.product(args["productId"])
    return Decision(catalog.decide_retire(product, Meta(now_ms())), value={"productId": product.id})


def _image(d: Decider, args: Mapping[str, Any]) -> Decision:
    product = d.product(args["productId"])
    events = catalog.decide_image_change(product, args.get("imageUrl"), Meta(now_ms()))
    return Decision(events, value={"productId": product.id})


def _restock(d: Decider, args: Mapping[str, Any]) -> Decision:
    product = d.product(args["productId"])
    catalog.check_on_sale(product)
    level = d.level(product.id)
    events = inventory.decide_restock(level, int(args["quantity"]), Meta(now_ms()))
    return Decision(events, value={"productId": product.id})


def _flash_sale(d: Decider, args: Mapping[str, Any]) -> Decision:
    product = d.product(args["productId"])
    discount, duration = float(args["discountPercent"]), int(args["durationMs"])
    events = catalog.decide_flash_sale(product, discount, duration, Meta(now_ms()))
    return Decision(events, value={"productId": product.id})


def _end_sale(d: Decider, args: Mapping[str, Any]) -> Decision:
    product = d.product(args["productId"])
    value = {"productId": product.id}
    now = now_ms()
    sale = product.flash_sale
    if args.get("onlyIfOver") and (sale is None or sale.ends_at > now):
        return Decision(value=value)
    return Decision(catalog.decide_end_flash_sale(product, Meta(now)), value=value)


def _seed(d: Decider, args: Mapping[str, Any]) -> Decision:
    """Launch the products the catalog lacks; a seeded shop is not seeded twice."""
    products = [Product.model_validate(p) for p in args["products"]]
    missing = [p for p in products if p.id not in d.state.products]
    meta = Meta(now_ms())
    events: list[Event] = []
    for product in missing:
        events += catalog.decide_launch(None, product, meta)
        events.append(inventory_event(StockLevel(product.id, product.stock), "INITIAL", meta))
    return Decision(events, value={"launched": len(missing)})


def _seed_reviews(d: Decider, args: Mapping[str, Any]) -> Decision:
    """The seeded reviews behind the demo catalog's ratings; a review already there (a shop
    seeded before) is not posted twice."""
    events: list[Event] = []
    for raw in args["reviews"]:
        review = ReviewPosted.model_validate(raw)
        if not reviews.has_reviewed(d.state.reviews.get(review.product_id), review.user_id):
            events.append(review)
    return Decision(events, value={"posted": len(events)})


def _review(d: Decider, args: Mapping[str, Any]) -> Decision:
    """The product's owner decides: a buyer's first review of it, with a valid rating."""
    product, user_id = d.product(args["productId"]), args["userId"]
    draft = reviews.Draft(args["rating"], args["title"], args["body"], args["author"])
    bought = d.state.bought(user_id, product.id)
    events = reviews.decide_review(
        d.state.reviews.get(product.id), product, user_id, bought, draft, _meta(args)
    )
    return Decision(events, value={"productId": product.id})


def _wish(d: Decider, args: Mapping[str, Any]) -> Decision:
    user_id, product_id = args["userId"], args["productId"]
    current = d.state.wishlists.get(user_id, {})
    meta = _meta(args)
    if args.get("remove"):
        return Decision(wishlist.decide_unwish(current, product_id, meta))
    product = d.state.products.get(product_id)
    return Decision(wishlist.decide_wish(current, product, product_id, meta))


def _account_register(d: Decider, args: Mapping[str, Any]) -> Decision:
    wanted = Account(
        args["userId"], args["email"], args["name"], Role(args["role"]), args["passwordHash"]
    )
    events = accounts.decide_register(d.accounts, wanted, Meta(now_ms()))
    return Decision(events, value={"userId": wanted.user_id})


def _account_password(d: Decider, args: Mapping[str, Any]) -> Decision:
    email = args["email"]
    events = accounts.decide_change_password(
        d.accounts, email, args["passwordHash"], Meta(now_ms()), args.get("replacing")
    )
    return Decision(events)


def _account_reset(d: Decider, args: Mapping[str, Any]) -> Decision:
    return Decision(accounts.decide_ask_reset(d.accounts, args["email"], Meta(now_ms())))


def _account_role(d: Decider, args: Mapping[str, Any]) -> Decision:
    return Decision(
        accounts.decide_set_role(d.accounts, args["email"], Role(args["role"]), Meta(now_ms()))
    )


HANDLERS: Final[Mapping[str, Handler]] = {
    "cart.add": _cart_add,
    "cart.remove": _cart_remove,
    "cart.quantity": _cart_quantity,
    "cart.clear": _cart_clear,
    "cart.merge": _cart_merge,
    "checkout": _checkout,
    "reserve": _reserve,
    "release": _release,
    "place": _place,
    "redeem": _redeem,
    "unredeem": _unredeem,
    "order.status": _order_status,
    "order.pay": _pay,
    "coupon.create": _coupon_create,
    "settle": _settle,
    "product.launch": _launch,
    "product.price": _price,
    "product.image": _image,
    "product.restock": _restock,
    "product.update": _update,
    "product.retire": _retire,
    "product.flash_sale": _flash_sale,
    "product.end_sale": _end_sale,
    "catalog.seed": _seed,
    "catalog.seed_reviews": _seed_reviews,
    "review.post": _review,
    "wishlist.change": _wish,
    "account.register": _account_register,
    "account.password": _account_password,
    "account.role": _account_role,
    "account.reset": _account_reset,
}


# --- transports -----------------------------------------------------------------------------


class CommandBus(ABC):
    """Carries a command to the owner of its key and brings back the outcome."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def submit(self, command: Command, timeout: float = COMMAND_WAIT_S) -> Outcome:
        """The outcome of `command` and of the saga it starts; `CommandTimeoutError` past
        `timeout` seconds."""

    @property
    def lag(self) -> Mapping[int, int]:
        """Commands waiting to be decided, per command partition this instance owns."""
        return {}

    @property
    def leading(self) -> bool:
        """Whether this process does the shop's once-only work (processors, the event store's
        sink, retention, timed commands, mail). Every process does, as its settings say, but
        a worker of `serve --workers` that is not the leader (`eventlog/worker_commands.py`)."""
        return True

    async def wait_leading(self) -> None:
        """Return once this process leads (at once where `leading` is always true)."""
        return None


def positions_of(records: Sequence[Record]) -> tuple[Position, ...]:
    return tuple((r.topic, r.partition, r.offset) for r in records)


class LocalCommandBus(CommandBus):
    """Embedded mode: this process owns every key. A command and the saga it starts run here
    under per-key locks, taken as the steps reach their keys (carts and orders before products,
    products in id order, so chains never wait on each other in a cycle). Events are appended
    in one atomic write at the end, or before a step whose key an earlier step already changed
    (it must decide against the fold with those events applied)."""

    def __init__(
        self,
        event_log: EventLog,
        projection: Projection,
        book: ReservationBook,
        route: Callable[[BaseEvent], Any],
        rules: ShopRules | None = None,
    ) -> None:
        self._log = event_log
        self._projection = projection
        self._decider = Decider(projection.state, book, rules, projection.accounts)
        self._route = route
        self._locks = KeyedLocks()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def submit(self, command: Command, timeout: float = COMMAND_WAIT_S) -> Outcome:
        command = replace(command, reply_to=command.command_id)
        outcome: Outcome | None = None
        async with self._chain() as hold:
            queue = [command]
            pending: list[Effects] = []
            changed: set[str] = set()
            while queue:
                current = queue.pop(0)
                await hold(current.key)
                if current.key in changed:
                    placed = await self._append(pending)
                    outcome = _outcome_in(placed) or outcome
                    queue = _carried(placed, queue)
                    pending, changed = [], set()
                effects = step(self._decider, current)
                if effects.events:
                    changed.add(current.key)
                pending.append(effects)
                queue += effects.follow_ups
            outcome = _outcome_in(await self._append(pending)) or outcome
        assert outcome is not None, f"command {command.kind} ended without an outcome"
        return outcome

    async def _append(self, pending: list[Effects]) -> list[Effects]:
        messages = [self._route(e) for effects in pending for e in effects.events]
        if not messages:
            return pending
        records = await self._log.append(messages)
        await self._projection.wait_applied(records)
        placed: list[Effects] = []
        start = 0
        for effects in pending:
            count = len(effects.events)
            placed.append(effects.placed(positions_of(records[start : start + count])))
            start += count
        return placed

    @asynccontextmanager
    async def _chain(self) -> AsyncIterator[Callable[[str], Any]]:
        async with AsyncExitStack() as stack:
            held: set[str] = set()

            async def hold(key: str) -> None:
                if key not in held:
                    held.add(key)
                    await stack.enter_async_context(self._locks.hold([key]))

            yield hold


def _outcome_in(effects: Sequence[Effects]) -> Outcome | None:
    found = [e.outcome for e in effects if e.outcome is not None]
    return found[-1] if found else None


def _carried(placed: Sequence[Effects], queue: list[Command]) -> list[Command]:
    """The queued steps with the positions their predecessors' appended events reached."""
    by_id = {c.command_id: c for e in placed for c in e.follow_ups}
    return [by_id.get(c.command_id, c) for c in queue]


async def bounded(future: asyncio.Future[Outcome], timeout: float, kind: str) -> Outcome:
    try:
        return await asyncio.wait_for(asyncio.shield(future), timeout)
    except TimeoutError:
        raise CommandTimeoutError(
            f"command {kind} not decided within {timeout:g}s; retry with the same key"
        ) from None
