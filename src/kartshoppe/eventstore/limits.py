"""Limits of store queries that the HTTP layer states in its schema without loading the store."""

from typing import Final, Literal

MAX_PAGE_SIZE = 1000
"""The most audit entries one page answers."""

SeriesWindow = Literal["15m", "1h", "6h", "24h", "7d"]
"""The time windows of the dashboard's history (`eventstore.series`)."""

MINUTE_MS: Final = 60_000
WINDOWS: Final[dict[str, tuple[int, int]]] = {
    "15m": (15 * MINUTE_MS, 15_000),
    "1h": (60 * MINUTE_MS, MINUTE_MS),
    "6h": (6 * 60 * MINUTE_MS, 5 * MINUTE_MS),
    "24h": (24 * 60 * MINUTE_MS, 30 * MINUTE_MS),
    "7d": (7 * 24 * 60 * MINUTE_MS, 3 * 60 * MINUTE_MS),
}
"""Window -> (its length, one bucket), both in ms: 60 or fewer buckets per chart."""

INT64_MAX: Final = 2**63 - 1
"""The largest time or snapshot id the store's 64-bit columns hold."""

SERIES_END_MAX: Final = INT64_MAX - max(step for _, step in WINDOWS.values())
"""The latest end a series may be asked for: its last bucket must still end within 64 bits."""
