"""What a shopper is charged: the lowest-of-snapshot-and-current price rule, and a cart priced
line by line with it.

A cart line keeps the price seen when it was added. The price charged is the lower of that
snapshot and the product's price at the moment of pricing (flash sale included), so a shopper is
never surprised upwards and always gets a sale that started while the cart was open. The cart,
the checkout quote and the order all price through `price_lines`, so what is shown is charged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from kartshoppe.domain.catalog import check_on_sale, effective_price
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.money import line_total, total
from kartshoppe.events import CartLine, Product


def charged_unit_price(snapshot: Decimal, product: Product | None, at_ms: int) -> Decimal:
    """The lower of the price seen when adding and the price now."""
    if product is None:
        return snapshot
    return min(snapshot, effective_price(product, at_ms))


@dataclass(frozen=True, slots=True)
class PricedLine:
    product_id: str
    name: str
    category: str
    quantity: int
    unit_price: Decimal
    """The unit price that will be charged."""
    snapshot_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return line_total(self.unit_price, self.quantity)


def price_lines(
    lines: Sequence[CartLine], products: Mapping[str, Product], at_ms: int
) -> tuple[PricedLine, ...]:
    """Every line at the price that will be charged at `at_ms`."""
    priced = []
    for line in lines:
        product = products.get(line.product_id)
        priced.append(
            PricedLine(
                product_id=line.product_id,
                name=line.name or (product.name if product else ""),
                category=product.category if product else "",
                quantity=line.quantity,
                unit_price=charged_unit_price(line.unit_price, product, at_ms),
                snapshot_price=line.unit_price,
            )
        )
    return tuple(priced)


def require_sold(lines: Sequence[CartLine], products: Mapping[str, Product]) -> None:
    for line in lines:
        if line.product_id not in products:
            name = line.name or line.product_id
            raise DomainError("unknown_product", f"{name} is no longer sold", "productId")
        check_on_sale(products[line.product_id])


def subtotal(lines: Sequence[PricedLine]) -> Decimal:
    return total(line.line_total for line in lines)
