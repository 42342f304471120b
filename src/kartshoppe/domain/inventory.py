"""Inventory rules: available = stock - reserved, and a reservation never exceeds what is available.

The level of a product is decided by one writer (the shop service, under a per-product lock)
and published as an `INVENTORY_CHANGED` snapshot on `inventory_updates`; that snapshot is what
every fold reads, so a level is never counted twice. `STOCK_RESERVED` / `STOCK_RELEASED` on
`ecommerce_events` record which order holds what, for the audit trail and the processors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.meta import Meta
from kartshoppe.events import Event, InventoryChanged, InventoryReason, ProductLaunched

LOW_STOCK_THRESHOLD = 10
MAX_RESTOCK = 100_000
MAX_STOCK = 10_000_000
"""The contract's upper bound of a level (`events.Stock`)."""


@dataclass(frozen=True, slots=True)
class StockLevel:
    product_id: str
    stock: int
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.stock - self.reserved


def inventory_event(level: StockLevel, reason: InventoryReason, meta: Meta) -> InventoryChanged:
    available = level.available
    return InventoryChanged(
        product_id=level.product_id,
        stock=level.stock,
        reserved=level.reserved,
        available=available,
        reason=reason,
        low_stock=0 < available <= LOW_STOCK_THRESHOLD,
        sold_out=available == 0,
        **meta.fields(),
    )


def decide_restock(level: StockLevel, quantity: int, meta: Meta) -> list[Event]:
    if not 0 < quantity <= MAX_RESTOCK:
        raise DomainError(
            "invalid_quantity", f"restock quantity must be 1 to {MAX_RESTOCK}", "quantity"
        )
    restocked = StockLevel(level.product_id, level.stock + quantity, level.reserved)
    return [inventory_event(restocked, "RESTOCK", meta)]


def decide_set_stock(level: StockLevel, stock: int, meta: Meta) -> list[Event]:
    """The operator's count of what is on the shelf; units held by open orders stay held."""
    if not 0 <= stock <= MAX_STOCK:
        raise DomainError("invalid_quantity", f"stock must be 0 to {MAX_STOCK}", "stock")
    if stock < level.reserved:
        raise DomainError(
            "stock_below_reserved",
            f"{level.reserved} units are held by open orders; stock cannot go below that",
            "stock",
        )
    if stock == level.stock:
        return []
    counted = StockLevel(level.product_id, stock, level.reserved)
    return [inventory_event(counted, "ADJUSTMENT", meta)]


def shortage_message(name: str, available: int, quantity: int) -> str:
    """The refusal a shopper reads, naming the product as the shop shows it."""
    if available <= 0:
        return f"{name} is sold out"
    verb = "is" if available == 1 else "are"
    return f"Only {available} of {name} {verb} left; you asked for {quantity}"


def check_available(level: StockLevel | None, product_id: str, quantity: int, name: str) -> None:
    """Refuse a quantity above what is available now (`name` is the product's, for people)."""
    available = level.available if level is not None else 0
    if quantity > available:
        raise DomainError(
            "insufficient_stock",
            shortage_message(name or product_id, available, quantity),
            "quantity",
        )


def reserve(
    levels: Mapping[str, StockLevel], wanted: Mapping[str, int], names: Mapping[str, str]
) -> dict[str, StockLevel]:
    """New levels with `wanted` units reserved, or `insufficient_stock` if any line cannot be."""
    reserved: dict[str, StockLevel] = {}
    for product_id, quantity in wanted.items():
        level = levels.get(product_id)
        check_available(level, product_id, quantity, names.get(product_id, ""))
        assert level is not None
        reserved[product_id] = StockLevel(product_id, level.stock, level.reserved + quantity)
    return reserved


def release(level: StockLevel, quantity: int) -> StockLevel:
    return StockLevel(level.product_id, level.stock, max(0, level.reserved - quantity))


def sell(level: StockLevel, quantity: int) -> StockLevel:
    """Reserved units leave the warehouse: they go from both stock and reserved."""
    return StockLevel(
        level.product_id, max(0, level.stock - quantity), max(0, level.reserved - quantity)
    )


def evolve_stock(level: StockLevel | None, event: Event) -> StockLevel | None:
    match event:
        case InventoryChanged():
            return StockLevel(event.product_id, event.stock, event.reserved)
        case ProductLaunched() if level is None:
            return StockLevel(event.product_id, event.product.stock)
        case _:
            return level
