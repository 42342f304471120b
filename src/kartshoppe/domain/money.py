"""Money arithmetic: exact Decimal amounts at cent precision (docs/ARCHITECTURE.md, Money).

Amounts are `Decimal`s quantized to cents; arithmetic on them is exact. Rounding happens only
where a rate is applied (a percentage, a tax rate), once, half away from zero (ROUND_HALF_UP),
through `apply_rate`; everything else is sums and products of exact amounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from kartshoppe.events import to_cents

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def amount(value: Decimal | int | str) -> Decimal:
    """An amount from exact input (never a float): `amount("19.99")`."""
    return to_cents(Decimal(value))


def percent(value: float | Decimal) -> Decimal:
    """A percentage given as a number; a float goes through its shortest repr (`12.5` → 12.5)."""
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def total(amounts: Iterable[Decimal]) -> Decimal:
    return to_cents(sum(amounts, ZERO))


def line_total(unit_price: Decimal, quantity: int) -> Decimal:
    return to_cents(unit_price * quantity)


def apply_rate(base: Decimal, rate_percent: Decimal) -> Decimal:
    """`rate_percent` % of `base`, rounded once to the cent, half away from zero."""
    return to_cents(base * rate_percent / HUNDRED)


def clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))
