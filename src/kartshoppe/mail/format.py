"""How figures read in the shop's e-mails."""

from __future__ import annotations

from decimal import Decimal


def money(value: Decimal) -> str:
    """An amount of exact cents as a shopper reads it: "$1,052.96", "-$5.00", "$0.00"."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"
