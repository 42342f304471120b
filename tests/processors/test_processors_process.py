"""The server's side of the processors' process: what the child reports becomes the stats and
the lag `/metrics` shows, and an append the child reports makes the server's readers look."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from kartshoppe.config import Settings
from kartshoppe.eventlog import sqlite
from kartshoppe.eventlog.port import Message
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import Topic
from kartshoppe.processors_process import ProcessorsProcess

TOPICS = [Topic.EVENTS.value, Topic.PRODUCT_UPDATES.value]


def status(events_at: int) -> bytes:
    committed = {"analytics": [TOPICS, [[Topic.EVENTS.value, 0, events_at]]]}
    stats = {"analytics": {"processed": events_at, "failed": 0, "watermark": 1}}
    return orjson.dumps(["status", {"stats": stats, "committed": committed}])


def messages(n: int) -> list[Message]:
    return [Message(Topic.EVENTS.value, "k", b"{}") for _ in range(n)]


async def test_a_processor_that_stops_reporting_shows_a_growing_lag(tmp_path: Path) -> None:
    async with SqliteEventLog(tmp_path / "log.sqlite") as log:
        process = ProcessorsProcess(Settings(data_dir=tmp_path), log, lambda _, __: None)
        await log.append(messages(5))
        assert process.on_report is not None
        process.on_report(status(events_at=5))
        assert await process.lag() == {"analytics": 0}
        assert process.stats()["analytics"]["processed"] == 5

        # nothing reported since (the child is behind, or down): the lag counts on
        await log.append(messages(3))
        assert await process.lag() == {"analytics": 3}

        process.on_report(status(events_at=8))
        assert await process.lag() == {"analytics": 0}


async def test_an_append_the_child_reports_is_read_by_the_server_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the log's own looks for another process's commits, made rare: only the report is left
    monkeypatch.setattr(sqlite, "FOREIGN_WRITE_POLL_S", 600.0)
    monkeypatch.setattr(sqlite, "FALLBACK_READ_S", 600.0)
    path = tmp_path / "log.sqlite"
    async with SqliteEventLog(path) as server_log, SqliteEventLog(path) as child_log:
        process = ProcessorsProcess(Settings(data_dir=tmp_path), server_log, lambda _, __: None)
        assert process.on_report is not None
        async with server_log.consumer([Topic.EVENTS.value]) as consumer:
            assert await consumer.poll(timeout=0.05) == []
            await child_log.append(messages(1))
            process.on_report(orjson.dumps(["appended"]))
            assert len(await consumer.poll(timeout=5)) == 1


async def test_the_processed_reports_reach_the_latency_metric(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    async with SqliteEventLog(tmp_path / "log.sqlite") as log:
        process = ProcessorsProcess(Settings(data_dir=tmp_path), log, lambda *p: seen.append(p))
        assert process.on_report is not None
        process.on_report(orjson.dumps(["processed", "trending", 0.25]))
    assert seen == [("trending", 0.25)]
