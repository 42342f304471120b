"""A synthetic but realistic shop event stream for runner tests and the processor benchmark.

Products with a skewed popularity, shoppers who browse, search, view, add and remove, check out
(reserving stock), pay or leave the order unpaid, abandon carts and sometimes come back. Stock
levels are tracked so `INVENTORY_CHANGED` is consistent with reservations and sales. The same
seed gives the same stream; every event time lies in [start_ms, start_ms + span_ms + a tail].
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from kartshoppe.eventlog.port import Message
from kartshoppe.events import (
    AddToCart,
    BaseEvent,
    CartCleared,
    CheckoutStarted,
    InventoryChanged,
    OrderLine,
    OrderPlaced,
    OrderStatus,
    OrderStatusChanged,
    PageView,
    Product,
    ProductClick,
    ProductLaunched,
    ProductView,
    RemoveFromCart,
    Search,
    StockReserved,
    Topic,
    encode_event,
    event_key,
)

CATEGORIES = ("kitchen", "garden", "books", "toys", "audio", "sports", "beauty", "office")


@dataclass
class _Stock:
    stock: int
    reserved: int = 0

    def event(self, product_id: str, reason: str, ts: int) -> InventoryChanged:
        available = self.stock - self.reserved
        return InventoryChanged(
            product_id=product_id,
            stock=self.stock,
            reserved=self.reserved,
            available=available,
            reason=reason,
            sold_out=available == 0,
            timestamp=ts,
        )


@dataclass
class ShopStream:
    products: int = 200
    sessions: int = 500
    span_ms: int = 2 * 3600 * 1000
    start_ms: int = 1_700_000_000_000
    seed: int = 7
    events: list[BaseEvent] = field(default_factory=list)
    _held: dict[str, dict[str, int]] = field(default_factory=dict)

    def generate(self) -> list[BaseEvent]:
        rng = random.Random(self.seed)
        ids = [f"p{i:04d}" for i in range(self.products)]
        weights = [1.0 / (rank + 1) for rank in range(self.products)]
        stock = {p: _Stock(rng.randint(3, 40)) for p in ids}
        prices = {p: round(rng.uniform(2, 200), 2) for p in ids}
        out: list[BaseEvent] = []
        for p in ids:
            product = Product(
                id=p,
                name=f"Product {p}",
                category=CATEGORIES[int(p[1:]) % len(CATEGORIES)],
                price=prices[p],
                original_price=prices[p],
                stock=stock[p].stock,
            )
            out.append(ProductLaunched(product_id=p, product=product, timestamp=self.start_ms))
            out.append(stock[p].event(p, "INITIAL", self.start_ms))
        visits = []
        for n in range(self.sessions):
            begin = self.start_ms + 1 + rng.randrange(self.span_ms)
            visits.append((begin, n))
        visits.sort()
        # sessions interleave in time; stock decisions are taken in event-time order below
        pending: list[tuple[int, int, BaseEvent]] = []
        for begin, n in visits:
            self._visit(rng, n, begin, ids, weights, prices, pending)
        pending.sort(key=lambda item: (item[0], item[1]))
        for ts, _, event in pending:
            out.extend(self._with_stock(event, stock, ts))
        self.events = out
        return out

    def _visit(
        self,
        rng: random.Random,
        n: int,
        ts: int,
        ids: list[str],
        weights: list[float],
        prices: dict[str, float],
        pending: list[tuple[int, int, BaseEvent]],
    ) -> None:
        session = f"s{n:05d}"
        user = f"u{n % 300:04d}" if rng.random() < 0.4 else None
        who = {"session_id": session, "user_id": user}
        seq = len(pending)

        def at(event: BaseEvent) -> None:
            pending.append((event.timestamp, seq + len(pending), event))

        at(PageView(page="/", timestamp=ts, **who))
        if rng.random() < 0.3:
            ts += rng.randint(500, 5_000)
            at(Search(query=rng.choice(CATEGORIES), result_count=12, timestamp=ts, **who))
        cart: dict[str, int] = {}
        for _ in range(rng.randint(1, 12)):
            ts += rng.randint(1_000, 30_000)
            product = rng.choices(ids, weights)[0]
            at(ProductView(product_id=product, timestamp=ts, **who))
            if rng.random() < 0.3:
                at(ProductClick(product_id=product, source="grid", timestamp=ts + 10, **who))
            if rng.random() < 0.25:
                quantity = rng.randint(1, 3)
                cart[product] = cart.get(product, 0) + quantity
                at(
                    AddToCart(
                        product_id=product,
                        quantity=quantity,
                        price=prices[product],
                        timestamp=ts + 20,
                        **who,
                    )
                )
            if cart and rng.random() < 0.05:
                gone = rng.choice(sorted(cart))
                del cart[gone]
                at(RemoveFromCart(product_id=gone, timestamp=ts + 30, **who))
        if not cart:
            return
        roll = rng.random()
        if roll < 0.45:
            ts += rng.randint(5_000, 60_000)
            order_id = f"o{n:05d}"
            lines = tuple(
                OrderLine(product_id=p, quantity=q, unit_price=prices[p])
                for p, q in sorted(cart.items())
            )
            total = round(sum(line.unit_price * line.quantity for line in lines), 2)
            at(CheckoutStarted(order_id=order_id, idempotency_key=order_id, timestamp=ts, **who))
            at(
                OrderPlaced(
                    order_id=order_id,
                    idempotency_key=order_id,
                    lines=lines,
                    total=total,
                    timestamp=ts,
                    **who,
                )
            )
            at(CartCleared(timestamp=ts, **who))
            if rng.random() < 0.8:
                paid = OrderStatusChanged(
                    order_id=order_id,
                    status=OrderStatus.PAID,
                    previous_status=OrderStatus.PLACED,
                    timestamp=ts + rng.randint(5_000, 120_000),
                    **who,
                )
                at(paid)
        elif roll < 0.75 and rng.random() < 0.33:
            # leaves the cart, and comes back after it was reported abandoned
            at(PageView(page="/cart", timestamp=ts + rng.randint(40, 90) * 60_000, **who))

    def _with_stock(self, event: BaseEvent, stock: dict[str, _Stock], ts: int) -> list[BaseEvent]:
        """The event with its inventory consequences (reservations, sales), as the shop would."""
        if isinstance(event, OrderStatusChanged):
            sold = []
            for product_id, quantity in self._held.pop(event.order_id, {}).items():
                level = stock[product_id]
                level.stock -= quantity
                level.reserved -= quantity
                sold.append(level.event(product_id, "SOLD", ts))
            return [event, *sold]
        if isinstance(event, OrderPlaced):
            out: list[BaseEvent] = []
            for line in event.lines:
                level = stock[line.product_id]
                quantity = min(line.quantity, level.stock - level.reserved)
                if quantity <= 0:
                    continue
                level.reserved += quantity
                self._held.setdefault(event.order_id, {})[line.product_id] = quantity
                out.append(
                    StockReserved(
                        product_id=line.product_id,
                        order_id=event.order_id,
                        quantity=quantity,
                        session_id=event.session_id,
                        user_id=event.user_id,
                        timestamp=ts,
                    )
                )
                out.append(level.event(line.product_id, "RESERVED", ts))
            return [*out, event]
        return [event]


def route(event: BaseEvent) -> Message:
    """The topic and key the shop appends an event under."""
    if isinstance(event, ProductLaunched):
        return Message(Topic.PRODUCT_UPDATES.value, event.product_id, encode_event(event))
    if isinstance(event, InventoryChanged):
        return Message(Topic.INVENTORY_UPDATES.value, event.product_id, encode_event(event))
    return Message(Topic.EVENTS.value, event_key(event), encode_event(event))
