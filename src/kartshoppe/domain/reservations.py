"""Per-product reservation rules: the steps of a checkout that one product's owner decides.

A checkout of several products reserves each line with the owner of that product (a saga):
`decide_reserve` holds one line's units or refuses with `insufficient_stock`, and
`decide_release` gives back a line reserved earlier (the compensation of a refused checkout).
`ReservationBook` remembers what each order holds, so a checkout retried with the same
idempotency key while the first attempt is under way reserves nothing twice.
"""

from __future__ import annotations

from kartshoppe.domain.inventory import StockLevel, check_available, inventory_event, release
from kartshoppe.domain.meta import Meta
from kartshoppe.events import Event, StockReleased, StockReserved

Holding = tuple[str, str, int]
"""(order id, product id, units held)"""


class ReservationBook:
    """Units held per (order, product), folded from `STOCK_RESERVED` and `STOCK_RELEASED`."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], int] = {}

    def held(self, order_id: str, product_id: str) -> int:
        return self._held.get((order_id, product_id), 0)

    def holdings(self) -> list[Holding]:
        return [(order, product, units) for (order, product), units in self._held.items()]

    def restore(self, holdings: list[Holding]) -> None:
        """The book as `holdings` (a snapshot's) left it."""
        self._held = {(order, product): units for order, product, units in holdings}

    def apply(self, event: Event) -> None:
        if isinstance(event, StockReserved):
            key = (event.order_id, event.product_id)
            self._held[key] = self._held.get(key, 0) + event.quantity
        elif isinstance(event, StockReleased):
            key = (event.order_id, event.product_id)
            left = self._held.get(key, 0) - event.quantity
            if left > 0:
                self._held[key] = left
            else:
                self._held.pop(key, None)


def decide_reserve(
    level: StockLevel | None,
    product_id: str,
    held: int,
    order_id: str,
    quantity: int,
    meta: Meta,
    name: str,
) -> list[Event]:
    """Hold `quantity` units for the order, unless it already holds them (a retried step);
    `name` is the product's, for the refusal."""
    if held >= quantity:
        return []
    check_available(level, product_id, quantity, name)
    assert level is not None
    reserved = StockLevel(level.product_id, level.stock, level.reserved + quantity)
    return [
        StockReserved(
            product_id=level.product_id, order_id=order_id, quantity=quantity, **meta.fields()
        ),
        inventory_event(reserved, "RESERVED", meta),
    ]


def decide_release(level: StockLevel | None, held: int, order_id: str, meta: Meta) -> list[Event]:
    """Give back what the order holds of this product; nothing if it holds nothing."""
    if level is None or held <= 0:
        return []
    return [
        StockReleased(
            product_id=level.product_id, order_id=order_id, quantity=held, **meta.fields()
        ),
        inventory_event(release(level, held), "RELEASED", meta),
    ]
