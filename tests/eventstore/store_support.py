"""A small shop's day as log messages, and helpers to fold a log, for the event-store tests."""

from __future__ import annotations

from collections.abc import Sequence

from kartshoppe.domain.state import ShopState
from kartshoppe.eventlog.port import EventLog, Message
from kartshoppe.events import (
    AddToCart,
    BaseEvent,
    CartCleared,
    CartQuantityChanged,
    CheckoutStarted,
    InventoryChanged,
    OrderLine,
    OrderPlaced,
    OrderStatus,
    OrderStatusChanged,
    PriceChanged,
    Product,
    ProductLaunched,
    ProductView,
    RemoveFromCart,
    StockReserved,
    Topic,
    encode_event,
    event_key,
    parse_event,
)
from kartshoppe.views.models import CartOut, OrderOut

DAY0 = 1_764_028_800_000
"""2025-11-25T00:00:00Z: the scenario spans this day and the next, so two partitions."""


def product(pid: str, price: float, category: str, stock: int = 100) -> Product:
    return Product(
        id=pid,
        name=f"Product {pid}",
        category=category,
        price=price,
        original_price=price,
        stock=stock,
    )


def message(event: BaseEvent) -> Message:
    if isinstance(event, ProductLaunched | PriceChanged):
        return Message(Topic.PRODUCT_UPDATES.value, event.product_id, encode_event(event))
    if isinstance(event, InventoryChanged):
        return Message(Topic.INVENTORY_UPDATES.value, event.product_id, encode_event(event))
    return Message(Topic.EVENTS.value, event_key(event), encode_event(event))


def shop_day(shoppers: int = 6) -> list[BaseEvent]:
    """Launches, browsing, carts, two orders, a price change, across two UTC days."""
    clock = iter(range(DAY0 + 3_600_000, DAY0 + 3 * 86_400_000, 997))

    def t() -> int:
        return next(clock)

    catalog = [
        product("p1", 10.0, "games"),
        product("p2", 25.5, "games"),
        product("p3", 99.0, "audio"),
    ]
    events: list[BaseEvent] = []
    for p in catalog:
        events.append(ProductLaunched(product_id=p.id, product=p, timestamp=t()))
        events.append(
            InventoryChanged(
                product_id=p.id, stock=100, available=100, reason="INITIAL", timestamp=t()
            )
        )
    for n in range(shoppers):
        session = f"s{n}"
        user = f"u{n}" if n % 2 == 0 else None
        for p in catalog:
            events.append(
                ProductView(session_id=session, user_id=user, product_id=p.id, timestamp=t())
            )
        events.append(
            AddToCart(
                session_id=session,
                user_id=user,
                product_id="p1",
                quantity=2,
                price=10.0,
                timestamp=t(),
            )
        )
        events.append(
            AddToCart(
                session_id=session,
                user_id=user,
                product_id="p3",
                quantity=1,
                price=99.0,
                timestamp=t(),
            )
        )
        if n % 3 == 1:
            events.append(
                RemoveFromCart(session_id=session, user_id=user, product_id="p3", timestamp=t())
            )
        if n % 3 == 2:
            events.append(
                CartQuantityChanged(
                    session_id=session, user_id=user, product_id="p1", quantity=5, timestamp=t()
                )
            )
    # the price of p1 changes on the second day
    clock = iter(range(DAY0 + 86_400_000 + 3_600_000, DAY0 + 3 * 86_400_000, 997))
    new_p1 = catalog[0].model_copy(update={"price": 12.0})
    events.append(
        PriceChanged(product_id="p1", old_price=10.0, new_price=12.0, product=new_p1, timestamp=t())
    )
    for n, (owner, total) in enumerate((("u0", 119.0), ("u2", 149.0))):
        order_id = f"o{n}"
        lines = (
            OrderLine(product_id="p1", quantity=2 if owner == "u0" else 5, unit_price=10.0),
            OrderLine(product_id="p3", quantity=1, unit_price=99.0),
        )
        session = f"s{int(owner[1:])}"
        common = {"session_id": session, "user_id": owner}
        events.append(
            CheckoutStarted(order_id=order_id, idempotency_key=f"k{n}", timestamp=t(), **common)
        )
        for line in lines:
            events.append(
                StockReserved(
                    product_id=line.product_id,
                    order_id=order_id,
                    quantity=line.quantity,
                    timestamp=t(),
                    **common,
                )
            )
        events.append(
            OrderPlaced(
                order_id=order_id,
                idempotency_key=f"k{n}",
                lines=lines,
                total=total,
                timestamp=t(),
                **common,
            )
        )
        events.append(CartCleared(timestamp=t(), **common))
        events.append(
            OrderStatusChanged(
                order_id=order_id,
                status=OrderStatus.PAID,
                previous_status=OrderStatus.PLACED,
                timestamp=t(),
                **common,
            )
        )
    events.append(
        InventoryChanged(
            product_id="p3", stock=98, reserved=0, available=98, reason="SOLD", timestamp=t()
        )
    )
    return events


async def append_all(log: EventLog, events: Sequence[BaseEvent], chunk: int = 7) -> None:
    """Append in small chunks, so a sink sees several batches."""
    for start in range(0, len(events), chunk):
        await log.append([message(e) for e in events[start : start + chunk]])


async def fold_log(log: EventLog) -> ShopState:
    """Fold every stored topic of a log, each topic in offset order, topics by append time."""
    records = []
    for topic in (Topic.PRODUCT_UPDATES.value, Topic.INVENTORY_UPDATES.value, Topic.EVENTS.value):
        async with log.consumer([topic]) as consumer:
            while batch := await consumer.poll(1000, timeout=0.05):
                records.extend(batch)
    order = {
        Topic.PRODUCT_UPDATES.value: 0,
        Topic.INVENTORY_UPDATES.value: 1,
        Topic.EVENTS.value: 2,
    }
    state = ShopState()
    for record in sorted(records, key=lambda r: (r.timestamp, order[r.topic], r.offset)):
        state.apply(parse_event(record.value))
    return state


def state_summary(state: ShopState) -> dict[str, object]:
    return {
        "carts": {
            k: CartOut.json_of(v, state.products, v.updated_at) for k, v in state.carts.items()
        },
        "orders": {k: OrderOut.of(v).to_json() for k, v in state.orders.items()},
        "products": {k: v.model_dump() for k, v in state.products.items()},
        "stock": {k: (v.stock, v.reserved, v.available) for k, v in state.stock.items()},
    }
