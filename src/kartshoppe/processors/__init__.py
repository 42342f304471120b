"""Real-time processors, written once against `model.Processor` and run by either runner.

`default_processors(config)` is what the app (embedded runner) and the Flink job both run.
Each entry of `FACTORIES` builds one processor from the shared `ProcessorConfig`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kartshoppe.processors.abandoned_carts import AbandonedCarts
from kartshoppe.processors.analytics import LiveAnalytics
from kartshoppe.processors.inventory import InventoryLevels, ReservationExpiry
from kartshoppe.processors.model import Processor
from kartshoppe.processors.recommendations import RecommendationsProcessor
from kartshoppe.processors.recommender import RecommenderConfig
from kartshoppe.processors.trending import Trending
from kartshoppe.processors.wishlist import WishlistAlerts

MINUTE_MS = 60 * 1000


@dataclass(frozen=True, slots=True)
class ProcessorConfig:
    """The processors' knobs; durations in milliseconds of event time."""

    trending_half_life_ms: int = 10 * MINUTE_MS
    trending_top_products: int = 50
    low_stock_threshold: int = 5
    stock_unchanged_after_ms: int = 24 * 60 * MINUTE_MS
    reservation_ttl_ms: int = 15 * MINUTE_MS
    cart_abandon_timeout_ms: int = 30 * MINUTE_MS
    cart_recovery_offer: str = ""
    cart_recovery_window_ms: int = 7 * 24 * 60 * MINUTE_MS
    """How long an abandoned cart can still be recovered (then it is forgotten)."""
    live_window_ms: int = 5 * MINUTE_MS
    shopper_state_ttl_ms: int | None = 30 * 24 * 60 * MINUTE_MS
    """The recommender forgets a shopper idle this long (None: never)."""


def _trending(c: ProcessorConfig) -> Processor[Any]:
    return Trending(half_life_ms=c.trending_half_life_ms, top_products=c.trending_top_products)


def _inventory(c: ProcessorConfig) -> Processor[Any]:
    return InventoryLevels(
        low_stock_threshold=c.low_stock_threshold, unchanged_after_ms=c.stock_unchanged_after_ms
    )


def _reservations(c: ProcessorConfig) -> Processor[Any]:
    return ReservationExpiry(ttl_ms=c.reservation_ttl_ms)


def _analytics(c: ProcessorConfig) -> Processor[Any]:
    return LiveAnalytics(live_window_ms=c.live_window_ms, half_life_ms=c.trending_half_life_ms)


def _abandoned_carts(c: ProcessorConfig) -> Processor[Any]:
    return AbandonedCarts(
        timeout_ms=c.cart_abandon_timeout_ms,
        offer=c.cart_recovery_offer,
        recovery_window_ms=c.cart_recovery_window_ms,
    )


def _recommendations(c: ProcessorConfig) -> Processor[Any]:
    return RecommendationsProcessor(RecommenderConfig(shopper_state_ttl_ms=c.shopper_state_ttl_ms))


def _wishlist_alerts(c: ProcessorConfig) -> Processor[Any]:
    return WishlistAlerts()


FACTORIES: list[Callable[[ProcessorConfig], Processor[Any]]] = [
    _trending,
    _inventory,
    _reservations,
    _analytics,
    _abandoned_carts,
    _recommendations,
    _wishlist_alerts,
]


def default_processors(config: ProcessorConfig | None = None) -> list[Processor[Any]]:
    """One instance of every processor, configured by `config` (defaults if None)."""
    config = config or ProcessorConfig()
    return [factory(config) for factory in FACTORIES]
