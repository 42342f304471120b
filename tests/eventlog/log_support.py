"""Helpers shared by the event-log tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from kartshoppe.eventlog.port import Consumer, EventLog, Record

LogFactory = Callable[[], EventLog]
"""Makes a fresh, unstarted client of the same underlying log; calling it twice reopens it."""


async def drain(consumer: Consumer, count: int, *, within_s: float = 10.0) -> list[Record]:
    """Poll until `count` records have arrived or `within_s` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    records: list[Record] = []
    while len(records) < count and loop.time() < deadline:
        records += await consumer.poll(max_records=count - len(records), timeout=0.5)
    return records


async def skip_to_end(consumer: Consumer) -> None:
    """Consume whatever is already in the log, so that the next poll waits for new records."""
    while await consumer.poll(max_records=10_000, timeout=0):
        pass
