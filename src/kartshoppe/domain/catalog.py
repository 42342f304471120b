"""Catalog rules: launches, prices, images and flash sales, and what a product costs right now.

Every catalog event carries the whole product after the change, so the compacted
`product_updates` topic holds the current catalog and a fold only has to keep the latest.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeGuard

from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.meta import Meta
from kartshoppe.domain.money import HUNDRED, apply_rate, percent
from kartshoppe.domain.reference_price import History, recorded, was_price
from kartshoppe.events import (
    CATALOG_EVENTS,
    Event,
    FlashSale,
    FlashSaleEnded,
    FlashSaleStarted,
    PriceChanged,
    Product,
    ProductEdited,
    ProductImageChanged,
    ProductLaunched,
    ProductRetired,
    to_cents,
)

MAX_FLASH_SALE_MS = 7 * 24 * 3600 * 1000


def sale_active(product: Product, at_ms: int) -> bool:
    sale = product.flash_sale
    return sale is not None and sale.starts_at <= at_ms < sale.ends_at


def effective_price(product: Product, at_ms: int) -> Decimal:
    """The price a shopper pays at `at_ms`: the flash-sale price while a sale runs."""
    if product.flash_sale is not None and sale_active(product, at_ms):
        return product.flash_sale.sale_price
    return product.price


def decide_launch(existing: Product | None, product: Product, meta: Meta) -> list[Event]:
    if existing is not None:
        raise DomainError("product_exists", f"product '{product.id}' already exists", "id")
    if product.original_price != product.price:
        # a new product has no earlier price, so no reduction can be announced
        product = product.model_copy(update={"original_price": product.price})
    return [ProductLaunched(product_id=product.id, product=product, **meta.fields())]


EDITABLE_FIELDS = ("name", "description", "brand")
"""The details an operator edits with `PRODUCT_EDITED` (price and stock have their own events)."""


def is_on_sale(product: Product | None) -> TypeGuard[Product]:
    """A product shoppers can see and buy: launched and not retired."""
    return product is not None and product.retired_at is None


def check_on_sale(product: Product) -> None:
    """Refuse anything that would sell or change a retired product."""
    if not is_on_sale(product):
        raise DomainError("product_retired", f"'{product.name}' is no longer sold", "productId")


def decide_edit(product: Product, changes: dict[str, str], meta: Meta) -> list[ProductEdited]:
    """Apply the operator's new details; unchanged values are not an edit."""
    check_on_sale(product)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise DomainError("not_editable", f"cannot edit {', '.join(unknown)}", unknown[0])
    changed = {k: v for k, v in changes.items() if getattr(product, k) != v}
    if not changed:
        return []
    updated = product.model_copy(update=changed)
    fields = tuple(f for f in EDITABLE_FIELDS if f in changed)
    return [ProductEdited(product_id=product.id, fields=fields, product=updated, **meta.fields())]


def decide_retire(product: Product, meta: Meta) -> list[Event]:
    """Take a product out of the catalog; retiring it again changes nothing."""
    if product.retired_at is not None:
        return []
    retired = product.model_copy(update={"retired_at": meta.timestamp, "flash_sale": None})
    return [ProductRetired(product_id=product.id, product=retired, **meta.fields())]


def decide_price_change(
    product: Product, new_price: Decimal, meta: Meta, history: History = ()
) -> list[Event]:
    """A new list price; `history` is the product's price history before it (the "was" rule)."""
    check_on_sale(product)
    price = to_cents(new_price)
    if price <= 0:
        raise DomainError("invalid_price", "a price must be greater than zero", "price")
    if price == product.price:
        return []
    updated = product.model_copy(update={"price": price})
    if updated.flash_sale is not None:
        sale = updated.flash_sale
        updated = updated.model_copy(
            update={"flash_sale": _sale(price, sale.discount_percent, sale.starts_at, sale.ends_at)}
        )
    was = was_price(recorded(history, updated, meta.timestamp), meta.timestamp)
    updated = updated.model_copy(update={"original_price": price if was is None else was})
    return [
        PriceChanged(
            product_id=product.id,
            old_price=product.price,
            new_price=price,
            product=updated,
            **meta.fields(),
        )
    ]


def generated_image_url(product_id: str) -> str:
    """Where a product's illustration is served: its picture when it has no uploaded image."""
    return f"/images/products/{product_id}.svg"


def decide_image_change(product: Product, image_url: str | None, meta: Meta) -> list[Event]:
    """Show `image_url` for the product, or its generated illustration again for None."""
    check_on_sale(product)
    url = image_url or generated_image_url(product.id)
    if url == product.image_url:
        return []
    updated = product.model_copy(update={"image_url": url})
    return [
        ProductImageChanged(product_id=product.id, image_url=url, product=updated, **meta.fields())
    ]


def _sale(price: Decimal, discount_percent: float, starts_at: int, ends_at: int) -> FlashSale:
    return FlashSale(
        discount_percent=discount_percent,
        starts_at=starts_at,
        ends_at=ends_at,
        sale_price=apply_rate(price, HUNDRED - percent(discount_percent)),
    )


def decide_flash_sale(
    product: Product, discount_percent: float, duration_ms: int, meta: Meta
) -> list[Event]:
    check_on_sale(product)
    if not 0 < discount_percent < 100:
        raise DomainError(
            "invalid_discount", "discountPercent must be between 0 and 100", "discountPercent"
        )
    if not 0 < duration_ms <= MAX_FLASH_SALE_MS:
        raise DomainError(
            "invalid_duration", "a flash sale lasts from 1 second to 7 days", "durationSeconds"
        )
    sale = _sale(product.price, discount_percent, meta.timestamp, meta.timestamp + duration_ms)
    updated = product.model_copy(update={"flash_sale": sale})
    return [
        FlashSaleStarted(product_id=product.id, flash_sale=sale, product=updated, **meta.fields())
    ]


def decide_end_flash_sale(product: Product, meta: Meta) -> list[Event]:
    check_on_sale(product)
    if product.flash_sale is None:
        return []
    updated = product.model_copy(update={"flash_sale": None})
    return [FlashSaleEnded(product_id=product.id, product=updated, **meta.fields())]


def evolve_product(product: Product | None, event: Event) -> Product | None:
    match event:
        case _ if isinstance(event, CATALOG_EVENTS):
            return event.product
        case _:
            return product
