"""Limits of store queries that the HTTP layer states in its schema without loading the store."""

from typing import Literal

MAX_PAGE_SIZE = 1000
"""The most audit entries one page answers."""

SeriesWindow = Literal["15m", "1h", "6h", "24h", "7d"]
"""The time windows of the dashboard's history (`eventstore.series`)."""
