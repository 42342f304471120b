"""The Flink job on the session's standalone cluster (two TaskManagers) and Kafka broker, at
parallelism 2: it runs the very processors of the embedded runner and gives the same outputs
for the same recorded stream, writes the Paimon event table the store's time travel reads, and
survives a crash by restarting from its checkpoint without losing or double-counting anything.

One job run serves the equivalence and store tests; the restart scenario has two."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import (
    BaseEvent,
    CartMerged,
    InventoryChanged,
    OrderPlaced,
    PageView,
    ProductLaunched,
    ProductView,
    Topic,
    encode_event,
    now_ms,
)
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.table import EventStore, StoreConfig
from kartshoppe.eventstore.timetravel import product_at
from kartshoppe.flink.cluster import FlinkCluster
from kartshoppe.processors import ProcessorConfig, default_processors
from kartshoppe.processors.runner import EmbeddedRunner
from tests.flink.flink_support import (
    HOUR,
    ShopStream,
    cluster_job,
    create_topics,
    produce,
    read_topic,
    wait_on_cluster,
)

pytestmark = pytest.mark.timeout(1200)

CONFIG = {
    "cart_abandon_timeout_ms": 10 * 60_000,
    "reservation_ttl_ms": 15 * 60_000,
    # a shopper's views are 1-30 s apart: past 20 s idle the recommender forgets the shopper
    "shopper_state_ttl_ms": 20_000,
}
OUTPUT_TOPICS = (Topic.EVENTS, Topic.FANOUT, Topic.RECOMMENDATIONS, Topic.INVENTORY_UPDATES)
TOTALS = ("orders", "revenue", "funnel")
JOB_TIMEOUT_S = 420.0

Outputs = dict[str, dict[str, dict[str, Any]]]
"""topic -> eventId -> event JSON, processor outputs only"""


def recorded_stream(sessions: int) -> list[BaseEvent]:
    """A shop stream in the past, ending with sentinel events an hour later that move event
    time past every timer of the stream (neither runner fires timers on wall-clock time here).

    Stock never reaches zero in it: the embedded runner reads its topics in turns (a batch of
    one, then of the next), so a sell-out on `inventory_updates` reaches its recommender a batch
    early or late, whereas Flink applies it at its event time. With stock left everywhere, the
    catalog a recommendation sees is the same on both runners."""
    events = ShopStream(products=60, sessions=sessions, start_ms=now_ms() - 8 * HOUR).generate()
    events = [e for e in events if not (isinstance(e, InventoryChanged) and e.available == 0)]
    events = sorted([*events, *sign_ins(events, 6)], key=lambda e: e.timestamp)
    end = events[-1].timestamp + HOUR
    # one per partition, near enough: Flink's watermark is the minimum over the partitions
    # (idle ones aside), so a single sentinel could leave the last timers of others unfired
    sentinels = [PageView(page="/", session_id=f"sentinel{i}", timestamp=end) for i in range(64)]
    return [*events, *sentinels]


def sign_ins(events: Sequence[BaseEvent], count: int) -> list[BaseEvent]:
    """`count` anonymous sessions sign in (`CART_MERGED`) a second after their last view and
    view its product again as the user: the user stage joins the session's history."""
    last: dict[str, ProductView] = {}
    for event in events:
        if isinstance(event, ProductView) and event.session_id and event.user_id is None:
            last[event.session_id] = event
    out: list[BaseEvent] = []
    for n, view in enumerate(list(last.values())[:count]):
        who = {"session_id": view.session_id, "user_id": f"signed{n}"}
        at = view.timestamp + 1000
        out.append(CartMerged(from_session_id=view.session_id, lines=(), timestamp=at, **who))
        out.append(ProductView(product_id=view.product_id, timestamp=at + 1000, **who))
    return out


def outputs_of(records: dict[str, list[bytes]], inputs: set[str]) -> Outputs:
    found: Outputs = {}
    for topic, values in records.items():
        for value in values:
            event = orjson.loads(value)
            if event["eventId"] not in inputs:
                found.setdefault(topic, {})[event["eventId"]] = event
    return found


def last_totals(outputs: Outputs) -> dict[str, Any]:
    """Orders, revenue and funnel of the newest `ANALYTICS_UPDATED`. (Its abandoned-cart counts
    lag: the ticks stop once nobody is live, before the last fed-back signals are counted;
    those signals are compared themselves, see `signals`.)"""
    updates = [e for e in outputs.get(Topic.FANOUT, {}).values()]
    updates = [e for e in updates if e["eventType"] == "ANALYTICS_UPDATED"]
    if not updates:
        return {}
    last = max(updates, key=lambda e: e["timestamp"])["analytics"]
    return {k: last[k] for k in TOTALS}


def signals(outputs: Outputs) -> dict[str, dict[str, Any]]:
    return of_type(outputs, Topic.EVENTS, "CART_ABANDONED", "CART_RECOVERED", "RESERVATION_EXPIRED")


def same_results(flink: Outputs, embedded: Outputs) -> bool:
    return (
        flink.get(Topic.RECOMMENDATIONS, {}) == embedded.get(Topic.RECOMMENDATIONS, {})
        and of_type(flink, Topic.INVENTORY_UPDATES, "INVENTORY_ALERT")
        == of_type(embedded, Topic.INVENTORY_UPDATES, "INVENTORY_ALERT")
        and same_totals(flink, embedded)
    )


def same_totals(flink: Outputs, embedded: Outputs) -> bool:
    return last_totals(flink) == last_totals(embedded) and signals(flink) == signals(embedded)


def of_type(outputs: Outputs, topic: Topic, *types: str) -> dict[str, dict[str, Any]]:
    return {i: e for i, e in outputs.get(topic, {}).items() if e["eventType"] in types}


def run_embedded(
    events: Sequence[BaseEvent], directory: Path, config: dict[str, Any] = CONFIG
) -> Outputs:
    from tests.flink.flink_support import route

    async def run() -> dict[str, list[bytes]]:
        log = SqliteEventLog(directory / "log.db")
        await log.start()
        try:
            runner = EmbeddedRunner(
                log,
                directory / "state.db",
                default_processors(ProcessorConfig(**config)),
                idle_after_s=None,
            )
            await runner.start()
            try:
                # the catalog first, complete, as Flink orders it by event time
                launch = [route(e) for e in events if e.timestamp == events[0].timestamp]
                await log.append(launch)
                await runner.wait_caught_up(timeout=120)
                rest = [route(e) for e in events[len(launch) :]]
                for i in range(0, len(rest), 500):
                    await log.append(rest[i : i + 500])
                await runner.wait_caught_up(timeout=300)
            finally:
                await runner.stop()
            records: dict[str, list[bytes]] = {}
            for topic in OUTPUT_TOPICS:
                async with log.consumer([topic.value]) as consumer:
                    while batch := await consumer.poll(10_000, timeout=0):
                        records.setdefault(topic.value, []).extend(r.value for r in batch)
            return records
        finally:
            await log.close()

    return outputs_of(asyncio.run(run()), {e.event_id for e in events})


def read_outputs(bootstrap: str, inputs: set[str]) -> Outputs:
    records = {t.value: [v for _, v, _ in read_topic(bootstrap, t.value)] for t in OUTPUT_TOPICS}
    return outputs_of(records, inputs)


def job_args(bootstrap: str, directory: Path, *extra: str) -> list[str]:
    return [
        "--bootstrap", bootstrap,
        "--checkpoint-dir", str(directory / "checkpoints"),
        "--checkpoint-interval-ms", "2000",
        "--processor-config", json.dumps(CONFIG),
        "--restart-attempts", "0",
        # On this loaded 2-core machine a split can wait more than the default second behind
        # another one's backlog; marked idle, it would let the watermark pass its records.
        "--idle-timeout-ms", "30000",
        *extra,
    ]  # fmt: skip


def wait_until(cluster: FlinkCluster, job: str, done: Callable[[], bool], what: str) -> None:
    """Like `wait_on_cluster`, but a time-out is left to the assertions that follow, which say
    what differs."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while not done():
        state = cluster.job(job)["state"]
        if state in ("FAILED", "CANCELED", "FINISHED"):
            raise AssertionError(f"job {state} while waiting for {what}:\n{cluster.logs()}")
        if time.monotonic() > deadline:
            return
        time.sleep(1)


@dataclass
class Equivalence:
    events: list[BaseEvent]
    embedded: Outputs
    flink: Outputs
    warehouse: Path
    topic_ids: set[str]


@pytest.fixture(scope="module")
def equivalence(
    flink_cluster: FlinkCluster,
    fresh_kafka: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Equivalence:
    directory = tmp_path_factory.mktemp("flink-equivalence")
    events = recorded_stream(sessions=60)
    inputs = {e.event_id for e in events}
    embedded = run_embedded(events, directory)
    warehouse = directory / "warehouse"
    bootstrap = fresh_kafka()
    # one partition per topic: records tied in event time keep the recorded order
    create_topics(bootstrap, partitions=1)
    produce(bootstrap, events)
    args = job_args(bootstrap, directory, "--warehouse", str(warehouse))
    with cluster_job(flink_cluster, args, directory / "submit.log", parallelism=2) as job:
        state: dict[str, Any] = {}

        def done() -> bool:
            state["flink"] = read_outputs(bootstrap, inputs)
            return same_results(state["flink"], embedded) and _stored_ids(warehouse) >= inputs

        wait_until(flink_cluster, job, done, "the outputs of the embedded runner")
    topic_ids = {
        orjson.loads(v)["eventId"]
        for t in (Topic.EVENTS, Topic.PRODUCT_UPDATES, Topic.INVENTORY_UPDATES)
        for _, v, _ in read_topic(bootstrap, t.value)
    }
    return Equivalence(events, embedded, state["flink"], warehouse, topic_ids)


def _stored_ids(warehouse: Path) -> set[str]:
    if not (warehouse / "kartshoppe.db" / "ecommerce_events" / "snapshot").is_dir():
        return set()
    store = EventStore(StoreConfig(warehouse=str(warehouse)))
    return set(store.read(columns=["event_id"]).column("event_id").to_pylist())


def test_flink_gives_the_same_recommendations_as_the_embedded_runner(
    equivalence: Equivalence,
) -> None:
    embedded = equivalence.embedded.get(Topic.RECOMMENDATIONS, {})
    assert len(embedded) > 50
    assert any(str(r.get("userId")).startswith("signed") for r in embedded.values())
    assert equivalence.flink.get(Topic.RECOMMENDATIONS, {}) == embedded


def test_flink_forgets_the_shoppers_the_embedded_runner_forgets_after_the_state_ttl(
    equivalence: Equivalence, tmp_path: Path
) -> None:
    remembering = run_embedded(
        equivalence.events, tmp_path, {**CONFIG, "shopper_state_ttl_ms": None}
    )[Topic.RECOMMENDATIONS]
    forgetting = equivalence.embedded[Topic.RECOMMENDATIONS]
    # forgotten shoppers' lists are assembled afresh, from what they did since
    assert forgetting != remembering
    assert equivalence.flink.get(Topic.RECOMMENDATIONS, {}) == forgetting


def test_flink_gives_the_same_inventory_signals_as_the_embedded_runner(
    equivalence: Equivalence,
) -> None:
    embedded = of_type(equivalence.embedded, Topic.INVENTORY_UPDATES, "INVENTORY_ALERT")
    assert embedded
    assert of_type(equivalence.flink, Topic.INVENTORY_UPDATES, "INVENTORY_ALERT") == embedded
    expired = of_type(equivalence.embedded, Topic.EVENTS, "RESERVATION_EXPIRED")
    assert of_type(equivalence.flink, Topic.EVENTS, "RESERVATION_EXPIRED") == expired


def test_flink_gives_the_same_analytics_totals_and_cart_signals_as_the_embedded_runner(
    equivalence: Equivalence,
) -> None:
    embedded = last_totals(equivalence.embedded)
    orders = [e for e in equivalence.events if isinstance(e, OrderPlaced)]
    assert embedded["orders"] == len(orders) > 0
    assert last_totals(equivalence.flink) == embedded
    assert signals(equivalence.embedded)
    assert signals(equivalence.flink) == signals(equivalence.embedded)


def test_the_event_table_written_by_flink_holds_every_logged_event_once(
    equivalence: Equivalence,
) -> None:
    store = EventStore(StoreConfig(warehouse=str(equivalence.warehouse)))
    rows = store.read(columns=["event_id", "topic", "payload"])
    ids = rows.column("event_id").to_pylist()
    assert len(ids) == len(set(ids))
    assert set(ids) == equivalence.topic_ids
    by_id = dict(zip(ids, rows.column("payload").to_pylist(), strict=True))
    first = equivalence.events[0]
    assert orjson.loads(by_id[first.event_id]) == orjson.loads(encode_event(first))


def test_the_event_table_written_by_flink_is_read_by_time_travel(
    equivalence: Equivalence,
) -> None:
    store = EventStore(StoreConfig(warehouse=str(equivalence.warehouse)))
    snapshots = store.snapshots()
    assert snapshots and snapshots[-1].record_count >= len(equivalence.events)
    product = next(e for e in equivalence.events if isinstance(e, ProductLaunched))
    now = product_at(IndexedStore(store), product.product_id, snapshot_id=snapshots[-1].snapshot_id)
    assert now is not None
    assert now["snapshotId"] == snapshots[-1].snapshot_id
    earliest = store.read(snapshot_id=snapshots[0].snapshot_id, columns=["event_id"])
    assert earliest.num_rows <= snapshots[-1].record_count


def test_a_parallel_job_restarted_from_its_checkpoint_counts_every_event_once(
    flink_cluster: FlinkCluster, fresh_kafka: Callable[[], str], tmp_path: Path
) -> None:
    events = recorded_stream(sessions=60)
    inputs = {e.event_id for e in events}
    reference = run_embedded(events, tmp_path)
    half = len(events) // 2
    bootstrap = fresh_kafka()
    args = job_args(bootstrap, tmp_path)
    create_topics(bootstrap)
    produce(bootstrap, events[:half])
    with cluster_job(flink_cluster, args, tmp_path / "submit.log") as job:

        def first_half_processed() -> bool:
            # well inside the first half: how far the watermark gets at the end of what
            # was produced depends on which partition goes idle last
            outputs = read_outputs(bootstrap, inputs)
            updates = of_type(outputs, Topic.FANOUT, "ANALYTICS_UPDATED").values()
            newest = max((e["timestamp"] for e in updates), default=0)
            return newest >= events[half // 2].timestamp

        wait_on_cluster(flink_cluster, job, first_half_processed, JOB_TIMEOUT_S, "the first half")
        processed_at = time.time()

        def checkpointed() -> Path | None:
            found = [
                m.parent
                for m in (tmp_path / "checkpoints").glob("*/chk-*/_metadata")
                if m.stat().st_mtime > processed_at
            ]
            return max(found, key=lambda p: p.stat().st_mtime, default=None)

        wait_on_cluster(flink_cluster, job, checkpointed, 120, "a checkpoint after the first half")
    # cancelled without a savepoint, as in a crash; the rest arrives while it is down. The
    # newest checkpoint is taken after the cancel: the running job subsumes (deletes) older ones
    checkpoint = checkpointed()
    assert checkpoint is not None
    produce(bootstrap, events[half:])
    with cluster_job(
        flink_cluster, args, tmp_path / "submit.log", from_savepoint=checkpoint
    ) as job:
        state: dict[str, Any] = {}

        def caught_up() -> bool:
            state["outputs"] = read_outputs(bootstrap, inputs)
            return same_totals(state["outputs"], reference)

        wait_until(flink_cluster, job, caught_up, "the end of the stream")
    assert last_totals(state["outputs"]) == last_totals(reference)
    assert signals(state["outputs"]) == signals(reference)
