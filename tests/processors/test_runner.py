"""The embedded runner on a real SQLite event log and a real SQLite state file: outputs land on
the right topics, timers fire in a quiet shop, and a stop or a crash mid-stream followed by a
restart gives the same totals as an uninterrupted run."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import threading
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from kartshoppe.eventlog.port import EventLog
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import (
    AddToCart,
    BaseEvent,
    Event,
    OrderPlaced,
    PageView,
    Topic,
    decode_event,
    in_cents,
    now_ms,
)
from kartshoppe.processors import ProcessorConfig, default_processors
from kartshoppe.processors.abandoned_carts import AbandonedCarts
from kartshoppe.processors.model import GLOBAL_KEY, Context, Processor
from kartshoppe.processors.runner import Checkpoint, EmbeddedRunner, ProcessorStateDb
from tests.processors.shop_stream import ShopStream, route

HOUR = 3_600_000
CONFIG = ProcessorConfig(cart_abandon_timeout_ms=10 * 60_000, reservation_ttl_ms=15 * 60_000)
SIGNALS = ("CART_ABANDONED", "CART_RECOVERED", "RESERVATION_EXPIRED", "INVENTORY_ALERT")


def stream() -> list[BaseEvent]:
    # in the past, so that event time (never later than the append time) is the events' own
    events = ShopStream(products=120, sessions=300, start_ms=now_ms() - 6 * HOUR).generate()
    # 45 minutes later: event time passes every cart, reservation and session timer, so every
    # total is merged by the end (totals are as of the watermark, which otherwise depends on
    # how the topics interleave), yet not the hour for which cart signal ids are remembered
    end = events[-1].timestamp + 45 * 60_000
    return [*events, PageView(page="/", session_id="sentinel", timestamp=end)]


@pytest.fixture
async def open_log(tmp_path: Path) -> AsyncIterator[Any]:
    logs: list[EventLog] = []

    async def open_(name: str) -> EventLog:
        log = SqliteEventLog(tmp_path / f"{name}.db")
        await log.start()
        logs.append(log)
        return log

    yield open_
    for log in logs:
        await log.close()


async def append(log: EventLog, events: Sequence[BaseEvent]) -> None:
    for i in range(0, len(events), 500):
        await log.append([route(e) for e in events[i : i + 500]])


async def read_topic(log: EventLog, topic: str) -> list[Event]:
    async with log.consumer([topic]) as consumer:
        records = []
        while batch := await consumer.poll(10_000, timeout=0):
            records += batch
    return [decode_event(r.value) for r in records]


def runner(log: EventLog, state: Path, **options: Any) -> EmbeddedRunner:
    options.setdefault("idle_after_s", None)
    return EmbeddedRunner(log, state, default_processors(CONFIG), **options)


async def run_to_end(log: EventLog, state: Path, **options: Any) -> dict[str, Any]:
    r = runner(log, state, **options)
    await r.start()
    try:
        await r.wait_caught_up(timeout=60)
        totals: dict[str, Any] = r.query("analytics.merge", GLOBAL_KEY)
    finally:
        await r.stop()
    return totals


def totals_of(analytics: dict[str, Any]) -> dict[str, Any]:
    """The analytics totals; the rest of the state (who is live, what is pruned) is a function
    of the watermark, which depends on how the log's topics interleave in the polls."""
    return {k: v for k, v in analytics["counts"].items() if k != "live"}


async def signal_ids(log: EventLog) -> dict[str, Counter[str]]:
    """Per topic, how often each processor signal (by event id) was appended."""
    found: dict[str, Counter[str]] = {}
    for topic in (Topic.EVENTS, Topic.FANOUT, Topic.INVENTORY_UPDATES):
        events = await read_topic(log, topic.value)
        found[topic.value] = Counter(e.event_id for e in events if e.event_type in SIGNALS)
    return found


async def test_outputs_land_on_their_topics(open_log: Any, tmp_path: Path) -> None:
    log = await open_log("log")
    events = stream()
    await append(log, events)
    totals = await run_to_end(log, tmp_path / "state.db")

    types_on = {
        topic.value: Counter(e.event_type for e in await read_topic(log, topic.value))
        for topic in (Topic.EVENTS, Topic.FANOUT, Topic.INVENTORY_UPDATES)
    }
    for signal in ("CART_ABANDONED", "CART_RECOVERED", "RESERVATION_EXPIRED"):
        assert types_on[Topic.EVENTS][signal] > 0, signal
    for update in (
        "TRENDING_UPDATED",
        "ANALYTICS_UPDATED",
        "INVENTORY_ALERT",
        "CART_ABANDONED",
        "CART_RECOVERED",
    ):
        assert types_on[Topic.FANOUT][update] > 0, update
    assert types_on[Topic.INVENTORY_UPDATES]["INVENTORY_ALERT"] > 0
    assert "RESERVATION_EXPIRED" not in types_on[Topic.FANOUT]

    orders = [e for e in events if isinstance(e, OrderPlaced)]
    counts = totals["counts"]
    assert counts["orders"] == len(orders)
    assert counts["revenue"] == sum(in_cents(o.total) for o in orders)  # kept in cents
    assert counts["abandoned"] == types_on[Topic.EVENTS]["CART_ABANDONED"]


async def test_a_stop_and_a_crash_mid_stream_give_the_totals_of_an_uninterrupted_run(
    open_log: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = stream()
    reference_log = await open_log("reference")
    await append(reference_log, events)
    reference = await run_to_end(reference_log, tmp_path / "reference-state.db")

    log = await open_log("interrupted")
    state = tmp_path / "interrupted-state.db"
    half = len(events) // 2
    await append(log, events[:half])

    # 1. a clean stop while the first half is still being processed
    first = runner(log, state, batch_size=100)
    await first.start()
    async with asyncio.timeout(30):
        while first.stats()["analytics"]["processed"] < half // 3:
            await asyncio.sleep(0.005)
    await first.stop()
    assert first.errors == {}

    # 2. a crash between appending outputs and committing state: the round of commits with
    # the third of analytics or of abandoned_carts fails, for every processor in it
    await append(log, events[half:])
    commit_all = ProcessorStateDb.commit_all
    commits: Counter[str] = Counter()

    class SimulatedCrash(Exception):
        pass

    def crashing_commit(
        store: ProcessorStateDb, checkpoints: Sequence[Checkpoint]
    ) -> dict[str, list[str]]:
        commits.update(c.processor for c in checkpoints)
        if any(
            c.processor in ("analytics", "abandoned_carts") and commits[c.processor] == 3
            for c in checkpoints
        ):
            raise SimulatedCrash([c.processor for c in checkpoints])
        return commit_all(store, checkpoints)

    monkeypatch.setattr(ProcessorStateDb, "commit_all", crashing_commit)
    # committing often: the half is processed in well under the default second
    second = runner(log, state, batch_size=100, commit_interval_s=0.02)
    await second.start()
    try:
        async with asyncio.timeout(30):
            while len(second.errors) < 2:
                await asyncio.sleep(0.005)
    finally:
        await second.stop()
    assert {type(e) for e in second.errors.values()} == {SimulatedCrash}
    monkeypatch.setattr(ProcessorStateDb, "commit_all", commit_all)

    # 3. a restart runs to the end
    resumed = await run_to_end(log, state, batch_size=100)

    assert totals_of(resumed) == totals_of(reference)
    # outputs are at-least-once: the crashed batches were appended twice, with the same ids
    expected, actual = await signal_ids(reference_log), await signal_ids(log)
    for topic, ids in expected.items():
        assert set(actual[topic]) == set(ids), topic
    fanout = Counter(e.event_id for e in await read_topic(log, Topic.FANOUT.value))
    assert any(n > 1 for n in fanout.values())


async def test_processors_at_a_checkpoint_together_commit_in_one_transaction(
    open_log: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = await open_log("log")
    await append(log, stream())
    commit_all = ProcessorStateDb.commit_all
    rounds: list[list[str]] = []

    def counted(store: ProcessorStateDb, checkpoints: Sequence[Checkpoint]) -> dict[str, list[str]]:
        rounds.append([c.processor for c in checkpoints])
        return commit_all(store, checkpoints)

    monkeypatch.setattr(ProcessorStateDb, "commit_all", counted)
    # a round waits up to a second for the others: catching up, processors reach their
    # checkpoints further apart than the default's 50 ms
    r = runner(log, tmp_path / "state.db", commit_linger_s=1.0)
    await r.start()
    try:
        await r.wait_caught_up(timeout=60)
    finally:
        await r.stop()
    assert max(len(names) for names in rounds) > 1
    assert len(rounds) < sum(len(names) for names in rounds)
    assert all(len(set(names)) == len(names) for names in rounds)
    # each group's position is its processor's committed state position
    assert isinstance(log, SqliteEventLog)
    with sqlite3.connect(log.path) as conn:
        groups = conn.execute("SELECT group_id, topic, next_offset FROM group_offsets").fetchall()
    store = ProcessorStateDb(tmp_path / "state.db")
    try:
        for processor in default_processors(CONFIG):
            stated = {t: o for (t, _), o in store.positions(processor.name).items()}
            grouped = {t: o for g, t, o in groups if g.startswith(f"{processor.name}.")}
            assert grouped == stated, processor.name
    finally:
        store.close()


async def test_a_fresh_state_file_processes_the_log_from_the_beginning(
    open_log: Any, tmp_path: Path
) -> None:
    log = await open_log("log")
    await append(log, stream())
    before = await run_to_end(log, tmp_path / "first.db")
    again = await run_to_end(log, tmp_path / "second.db")
    assert totals_of(again) == totals_of(before)


async def test_state_is_readable_after_stop_and_resumes_without_recounting(
    open_log: Any, tmp_path: Path
) -> None:
    log = await open_log("log")
    events = stream()
    await append(log, events)
    state = tmp_path / "state.db"
    totals = await run_to_end(log, state)
    resumed = await run_to_end(log, state)
    assert totals_of(resumed) == totals_of(totals)
    stopped = runner(log, state)
    assert stopped.query("analytics.merge", GLOBAL_KEY)["counts"] == totals["counts"]
    assert stopped.query("analytics", "no-such-key") is None


async def test_an_idle_input_lets_the_wall_clock_fire_timers(open_log: Any, tmp_path: Path) -> None:
    log = await open_log("log")
    r = EmbeddedRunner(
        log,
        tmp_path / "state.db",
        [AbandonedCarts(timeout_ms=300)],
        idle_after_s=0.2,
        poll_timeout_s=0.05,
    )
    await r.start()
    try:
        await log.append(
            [route(AddToCart(product_id="p1", quantity=1, price=3.0, session_id="s1"))]
        )
        async with asyncio.timeout(10):
            while not [
                e
                for e in await read_topic(log, Topic.EVENTS.value)
                if e.event_type == "CART_ABANDONED"
            ]:
                await asyncio.sleep(0.05)
        await log.append([route(PageView(page="/", session_id="s1"))])
        async with asyncio.timeout(10):
            while not [
                e
                for e in await read_topic(log, Topic.FANOUT.value)
                if e.event_type == "CART_RECOVERED"
            ]:
                await asyncio.sleep(0.05)
    finally:
        await r.stop()


class Fragile(Processor[int]):
    """Counts page views, but fails on the page '/boom'."""

    name = "fragile"
    input_topics = (Topic.EVENTS.value,)

    def key(self, event: Event) -> str | None:
        return "count" if isinstance(event, PageView) else None

    def initial_state(self) -> int:
        return 0

    def on_event(self, state: int, event: Event, ctx: Context) -> int:
        if isinstance(event, PageView) and event.page == "/boom":
            raise ValueError("boom")
        return state + 1


async def test_a_failing_event_is_skipped_and_the_processor_carries_on(
    open_log: Any, tmp_path: Path
) -> None:
    log = await open_log("log")
    await log.append([route(PageView(page=p, session_id="s")) for p in ("/a", "/boom", "/b")])
    r = EmbeddedRunner(log, tmp_path / "state.db", [Fragile()], idle_after_s=None)
    await r.start()
    try:
        await r.wait_caught_up()
        assert r.query("fragile", "count") == 2
        assert r.stats()["fragile"]["failed"] == 1
    finally:
        await r.stop()


def test_processor_names_must_be_unique(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unique"):
        EmbeddedRunner(
            SqliteEventLog(tmp_path / "log.db"), tmp_path / "s.db", [Fragile(), Fragile()]
        )


class Stuck(Processor[int]):
    """Counts page views, but only once released: a processor that falls behind."""

    name = "stuck"
    input_topics = (Topic.EVENTS.value,)

    def __init__(self) -> None:
        self.release = threading.Event()

    def key(self, event: Event) -> str | None:
        return "count" if isinstance(event, PageView) else None

    def initial_state(self) -> int:
        return 0

    def on_event(self, state: int, event: Event, ctx: Context) -> int:
        self.release.wait(30)
        return state + 1


async def test_a_processor_that_falls_behind_shows_its_consumer_lag(
    open_log: Any, tmp_path: Path
) -> None:
    log = await open_log("log")
    await log.append([route(PageView(page=f"/{i}", session_id="s")) for i in range(5)])
    stuck = Stuck()
    r = EmbeddedRunner(log, tmp_path / "state.db", [stuck, Fragile()], idle_after_s=None)
    await r.start()
    try:
        async with asyncio.timeout(30):
            while (await r.lag())["fragile"]:
                await asyncio.sleep(0.01)
        assert (await r.lag())["stuck"] == 5
        stuck.release.set()
        await r.wait_caught_up(timeout=30)
        assert await r.lag() == {"stuck": 0, "fragile": 0}
    finally:
        stuck.release.set()
        await r.stop()


class Alarms(Processor[int]):
    """Page `/set/<ts>` sets a timer at ts, `/del/<ts>` deletes it; a firing timer at ts sets
    one at ts + 5 and counts."""

    name = "alarms"
    input_topics = (Topic.EVENTS.value,)

    def key(self, event: Event) -> str | None:
        return "k" if isinstance(event, PageView) else None

    def initial_state(self) -> int:
        return 0

    def on_event(self, state: int, event: Event, ctx: Context) -> int:
        assert isinstance(event, PageView)
        _, verb, ts = event.page.split("/")
        (ctx.set_timer if verb == "set" else ctx.delete_timer)(int(ts))
        return state

    def on_timer(self, state: int, timestamp: int, ctx: Context) -> int:
        ctx.set_timer(timestamp + 5)
        return state + 1


def test_stored_timers_are_the_active_ones_after_every_commit(make_driver: Any) -> None:
    # timers set and deleted, set and fired, deleted and set again within one checkpoint:
    # the store holds exactly the active timers after each commit, and a restart carries on
    driver = make_driver(Alarms())

    def page(path: str, at: int) -> PageView:
        return PageView(page=path, session_id="s", timestamp=at)

    def stored() -> set[tuple[int, str]]:
        return set(driver.store.timers("alarms"))

    driver.feed(page("/set/100", 10), page("/set/50", 20), page("/del/50", 30))
    assert stored() == driver.instance.active_timers == {(100, "k")}
    # 100 (stored) deleted and set again; 60 fires and sets 65; 70 set, deleted, and set
    # again by 65 firing
    driver.feed(
        page("/del/100", 40),
        page("/set/100", 41),
        page("/set/60", 42),
        page("/set/70", 61),
        page("/del/70", 66),
    )
    assert stored() == driver.instance.active_timers == {(70, "k"), (100, "k")}
    assert driver.state("k") == 2
    driver.restart()
    driver.advance(1000)
    assert stored() == driver.instance.active_timers == {(1005, "k")}
    assert driver.state("k") == 2 + len(range(70, 1001, 5))


@pytest.mark.timeout(60)
async def test_a_log_closed_under_running_processors_ends_them_rather_than_spinning(
    open_log: Any, tmp_path: Path
) -> None:
    log = await open_log("closing")
    await append(log, stream()[:500])
    running = runner(log, tmp_path / "state.db")
    await running.start()
    await running.wait_caught_up(timeout=30)

    await log.close()  # its consumers' polls now return at once: a loop of them never waits

    async with asyncio.timeout(10):
        await running.stop()


def _open_state_file(path: Path) -> str:
    store = ProcessorStateDb(path)
    try:
        return store.store_id()
    finally:
        store.close()


def test_processes_opening_a_new_state_file_at_once_all_open_it_with_one_store_id(
    tmp_path: Path,
) -> None:
    # the processors' processes (KARTSHOPPE_PROCESSOR_PROCESSES) on a new data directory
    openers = 6
    with multiprocessing.get_context("fork").Pool(openers) as pool:
        for n in range(10):
            ids = pool.map(_open_state_file, [tmp_path / f"state-{n}.sqlite"] * openers)
            assert len(set(ids)) == 1
