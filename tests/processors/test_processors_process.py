"""The server's side of the processors' processes: what the children report becomes the stats
and the lag `/metrics` shows, and an append a child reports makes the server's readers look;
the processors are spread over the processes by their cost."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from kartshoppe.child_process import hold_lock
from kartshoppe.config import Settings
from kartshoppe.eventlog import sqlite
from kartshoppe.eventlog.port import Message
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import Event, Topic
from kartshoppe.processors import default_processors
from kartshoppe.processors.model import Context, Processor
from kartshoppe.processors_process import (
    ALL_PROCESSORS_LOCK,
    ProcessorsProcess,
    hold_locks,
    spread,
)

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
        async with server_log.consumer([Topic.EVENTS.value]) as consumer:
            assert await consumer.poll(timeout=0.05) == []
            await child_log.append(messages(1))
            process.on_report(orjson.dumps(["appended"]))
            assert len(await consumer.poll(timeout=5)) == 1


async def test_the_processed_reports_reach_the_latency_metric(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    async with SqliteEventLog(tmp_path / "log.sqlite") as log:
        process = ProcessorsProcess(Settings(data_dir=tmp_path), log, lambda *p: seen.append(p))
        process.on_report(orjson.dumps(["processed", "trending", 0.25]))
    assert seen == [("trending", 0.25)]


def test_two_children_report_their_own_processors_and_the_server_shows_them_all(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, processor_processes=2)
    process = ProcessorsProcess(settings, SqliteEventLog(tmp_path / "log.sqlite"), print)
    assert [child.name for child in process.children] == [
        "processors process 1 of 2",
        "processors process 2 of 2",
    ]
    assert [child.command[-1] for child in process.children] == ["0", "1"]
    for name, processed in (("recommendations", 7), ("analytics", 9)):
        stats = {name: {"processed": processed, "failed": 0, "watermark": 1}}
        committed = {name: [TOPICS, [[Topic.EVENTS.value, 0, processed]]]}
        process.on_report(orjson.dumps(["status", {"stats": stats, "committed": committed}]))
    assert {name: s["processed"] for name, s in process.stats().items()} == {
        "recommendations": 7,
        "analytics": 9,
    }


class Costly(Processor[None]):
    input_topics = (Topic.EVENTS.value,)

    def __init__(self, name: str, cost: int) -> None:
        self.name = name
        self.cost = cost

    def initial_state(self) -> None:
        return None

    def key(self, event: Event) -> str | None:
        return None

    def on_event(self, state: None, event: Event, ctx: Context) -> None:
        return None


def names(groups: list[list[Processor[Any]]]) -> list[list[str]]:
    return [[p.name for p in group] for group in groups]


def test_the_processors_are_spread_over_processes_in_about_equal_shares_of_their_cost() -> None:
    processors: list[Processor[Any]] = [
        Costly("a", 3),
        Costly("b", 1),
        Costly("recommender", 14),
        Costly("c", 4),
        Costly("d", 1),
    ]
    assert names(spread(processors, 1)) == [["a", "b", "recommender", "c", "d"]]
    # the costliest alone; the others together, in their order
    assert names(spread(processors, 2)) == [["recommender"], ["a", "b", "c", "d"]]
    assert names(spread(processors, 3)) == [["recommender"], ["c", "d"], ["a", "b"]]
    # never an empty process
    assert names(spread(processors[:2], 4)) == [["a"], ["b"]]


def test_every_processor_runs_in_exactly_one_process() -> None:
    processors = default_processors()
    for processes in range(1, 5):
        groups = spread(processors, processes)
        assert sorted(p.name for g in groups for p in g) == sorted(p.name for p in processors)
        assert all(groups)


def locked_in_thread(
    settings: Settings, processors: list[Processor[Any]]
) -> tuple[threading.Thread, list[contextlib.ExitStack]]:
    """`hold_locks` in a thread of its own (it waits for a lock held elsewhere)."""
    held: list[contextlib.ExitStack] = []
    thread = threading.Thread(
        target=lambda: held.append(hold_locks(settings, processors, "test")), daemon=True
    )
    thread.start()
    return thread, held


def waits(thread: threading.Thread) -> bool:
    thread.join(timeout=0.3)
    return thread.is_alive()


def test_children_with_other_processors_run_at_once_and_one_with_the_same_waits(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    a, b = Costly("a", 1), Costly("b", 1)
    with hold_locks(settings, [a], "first"):
        other, held = locked_in_thread(settings, [b])
        assert not waits(other)
        same, _ = locked_in_thread(settings, [b, a])
        assert waits(same)
        held[0].close()
        assert waits(same)  # a is still held
    assert not waits(same)


def test_a_child_waits_for_one_of_a_version_before_the_per_processor_locks(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    # what the children before the per-processor locks held: the one lock, exclusively
    older = hold_lock(tmp_path / ALL_PROCESSORS_LOCK, "an older child")
    newer, held = locked_in_thread(settings, [Costly("a", 1)])
    assert waits(newer)
    older.close()
    assert not waits(newer)
    held[0].close()
