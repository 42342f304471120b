"""A restart after retention removed most of the embedded log answers what the shop answered
before: the views read the removed part back from the event store."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx

from kartshoppe.eventlog.port import COMPACTED_TOPICS
from kartshoppe.eventlog.retention import LogRetention, RetentionPolicy
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import Topic
from kartshoppe.eventstore.schema import SINK_GROUP, STORED_TOPICS
from tests.integration.test_replay_bootstrap import catalog, operator, shop, shoppers_view
from tests.support.server import running_server
from tests.support.sink import wait_stored

HOUR_MS = 3_600_000


async def sweep_as_if_later(log_path: Path, later_ms: int) -> None:
    """Run the server's retention on its stopped log, with the clock `later_ms` ahead."""
    async with SqliteEventLog(log_path) as log:
        policy = RetentionPolicy(HOUR_MS, dict.fromkeys(STORED_TOPICS, SINK_GROUP))
        swept = LogRetention(log, policy, clock=lambda: time.time_ns() // 1_000_000 + later_ms)
        await asyncio.to_thread(swept.sweep)


def held(log_path: Path) -> dict[str, tuple[int, int]]:
    """Per topic: (log start, records held)."""
    with sqlite3.connect(log_path) as conn:
        starts = dict(conn.execute("SELECT topic, start_offset FROM log_starts"))
        counts = dict(conn.execute("SELECT topic, COUNT(*) FROM records GROUP BY topic"))
    return {topic: (starts[topic], counts.get(topic, 0)) for topic in starts}


def test_a_restart_after_retention_shows_the_same_shop(tmp_path: Path) -> None:
    log_path = tmp_path / "data" / "log.sqlite"
    with running_server(tmp_path) as live:
        base = live.url("/api/ecommerce")
        with httpx.Client(base_url=base, timeout=10) as client, operator(base) as admin:
            shop(client, admin)
            expected_catalog = catalog(client)
            expected_shoppers = shoppers_view(client)
            wait_stored(log_path)
    before = held(log_path)

    asyncio.run(sweep_as_if_later(log_path, 2 * HOUR_MS))

    after = held(log_path)
    events = Topic.EVENTS.value
    assert after[events] == (before[events][1], 0), "everything stored and passed has gone"
    for topic in COMPACTED_TOPICS:
        assert 0 < after[topic][1] <= before[topic][1]
    # without the views' snapshot of the clean stop (which would hold all of it): the removed
    # part can only come from the event store
    (tmp_path / "data" / "views.snapshot").unlink()
    with running_server(tmp_path) as restarted:
        base = restarted.url("/api/ecommerce")
        with httpx.Client(base_url=base, timeout=10) as client:
            assert catalog(client) == expected_catalog
            assert shoppers_view(client) == expected_shoppers
