"""The struck-through "was" price: the EU price-indication rule, read from the price history.

Rule (Directive 98/6/EC art. 6a, as amended by Directive 2019/2161): a shop announcing a price
reduction must show as the prior price the lowest price it applied during the 30 days before
the reduction. Here:

- The applied price over time is the list price, or the flash-sale price while a sale runs, as
  recorded by the catalog events in the log (`PricePoint`s, one per change).
- The current price took effect when the applied price last changed (`start`). The reference
  price is the lowest applied price in [start - 30 days, start).
- The reference is shown ("was") only when the current price is lower than it; otherwise, and
  for a product with no price before the current one, nothing is struck through. Setting a
  price back to what it was therefore removes the "was": the lower price is then inside the
  30-day window of the restored one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from kartshoppe.events import FlashSale, Product

WINDOW_MS: Final = 30 * 24 * 3600 * 1000
KEEP_MS: Final = 2 * WINDOW_MS
"""How far back from the latest change points are kept: a reduction looks back 30 days from
when the current price took effect, which is at or shortly before the latest change."""


@dataclass(frozen=True, slots=True)
class PricePoint:
    """From `at_ms` on (until the next point): the product's list price and its flash sale."""

    at_ms: int
    price: Decimal
    sale: FlashSale | None = None


History = tuple[PricePoint, ...]
Span = tuple[int, int, Decimal]
"""[start, end) during which one price applied."""


def recorded(history: History, product: Product, at_ms: int) -> History:
    """`history` after the catalog event that left `product` as it is at `at_ms`."""
    point = PricePoint(at_ms, product.price, product.flash_sale)
    if history and (history[-1].price, history[-1].sale) == (point.price, point.sale):
        return history
    kept = [*history, point]
    horizon = at_ms - KEEP_MS
    first = 0
    while first + 1 < len(kept) and kept[first + 1].at_ms <= horizon:
        first += 1
    return tuple(kept[first:])


def _point_spans(point: PricePoint, end: int) -> list[Span]:
    sale = point.sale
    if sale is None:
        return [(point.at_ms, end, point.price)]
    sale_start = max(point.at_ms, min(sale.starts_at, end))
    sale_end = max(sale_start, min(sale.ends_at, end))
    return [
        (point.at_ms, sale_start, point.price),
        (sale_start, sale_end, sale.sale_price),
        (sale_end, end, point.price),
    ]


def applied_spans(history: History, until_ms: int) -> list[Span]:
    """The applied price up to `until_ms` (exclusive), as maximal spans of one price."""
    spans: list[Span] = []
    for index, point in enumerate(history):
        end = history[index + 1].at_ms if index + 1 < len(history) else until_ms
        for start, stop, price in _point_spans(point, min(end, until_ms)):
            if start >= stop:
                continue
            if spans and spans[-1][2] == price and spans[-1][1] == start:
                spans[-1] = (spans[-1][0], stop, price)
            else:
                spans.append((start, stop, price))
    return spans


def was_price(history: History, at_ms: int) -> Decimal | None:
    """The price to strike through at `at_ms`, or None when no reduction may be announced."""
    spans = applied_spans(history, at_ms + 1)
    if len(spans) < 2:
        return None
    start, _, current = spans[-1]
    lowest = min(price for _, end, price in spans[:-1] if end > start - WINDOW_MS)
    return lowest if current < lowest else None


def reduction_percent(price: Decimal, was: Decimal) -> int:
    """The whole-percent reduction a "-20 %" badge shows, never rounded up past the truth."""
    return int((was - price) * 100 // was)
