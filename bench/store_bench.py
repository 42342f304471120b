"""Benchmark of the Paimon event store: sustained events/s through the sink, and the latency of
time-travel and audit queries over the stored events.

Run `.venv/bin/python bench/store_bench.py --events 1000000`; it prints the numbers and writes
them, with the command and the date, to bench/results/store.md. Synthetic events (a realistic mix
of views, carts, checkouts, orders, catalog and stock changes over seven days, 20,000 shoppers,
500 products) are appended to a fresh SQLite event log first; the sink then moves them into a
fresh Paimon table, one snapshot per `--batch` events, exactly as in the running platform, and
maintains the secondary index (`kartshoppe.eventstore.index`) in the same cycle. The index is then
deleted and rebuilt from the table alone, to time a recovery. Each query runs `--runs` times
against the index and `--reference-runs` times straight against the Paimon table (the reference
path); every reference answer must equal the index's answer to the same question.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import pathlib
import platform
import random
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from report import record
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from kartshoppe.eventlog.port import Message
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import Topic
from kartshoppe.eventstore import timetravel as tt
from kartshoppe.eventstore.audit import AuditQuery, history, history_from_table
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.sink import PaimonSink, SinkConfig
from kartshoppe.eventstore.table import StoreConfig

RESULTS = pathlib.Path(__file__).parent / "results" / "store.md"
START = 1_764_028_800_000  # 2025-11-25T00:00:00Z
DAYS = 7
PRODUCTS = 500
SHOPPERS = 20_000
CATEGORIES = ("games", "audio", "books", "garden", "kitchen", "toys", "sports", "beauty")


NOTES = """
Design. Paimon stays the source of truth; a derived SQLite index beside the warehouse
(`<warehouse>.index/`) maps session, user, product and order (each with the event time) to the
snapshot at which each row became visible, its log position and its payload, and keeps running
analytics totals per snapshot. The sink writes it right after each snapshot commit; a missing
or lagging index catches up from the snapshots' delta files. "As of snapshot S" is an index
range scan with `snapshot_id <= S`; a time-travel fold reads only the event types the domain
fold turns into that state; analytics as of S is one row.

Baseline (before the index, same command and data, 2026-11-25 12:20 UTC, every query through
pypaimon's merge reader): product 8,265 / 10,055 ms (p50 / p99), cart 2,740 / 8,140, order
6,992 / 8,105, analytics 36,259 / 51,153, user history 12,766 / 17,038, product-day audit
1,286 / 1,726; sink 13,362 events/s. pypaimon 2.1 writes level-0 files only and never
compacts, so every read merges each bucket's sorted runs row by row in Python, and subject
filters cannot skip files (random event ids: every file spans every subject).

Other levers, measured on 200,000 events (same generator, loaded machine): rewriting every day
with `EventStore.compact(day)` (pypaimon 2.1 has no compaction of its own; the Flink writer
compacts) took 37.5 s and brought table reads from 4.0-5.8 s to 0.35-0.6 s, still hundreds of
ms and growing with the table. The table path already pushes projection, subject predicates
and `dt` partition pruning down; only the time-ranged audit profits (about 1.3 s against 5-13 s).
The index answers the same questions in about 1-7 ms at the median over a million events, so it is
the query path; the table path remains as the reference (tests and this benchmark compare the
two) and the fallback when no index is configured.

Costs. The index writes are part of the sink's cycle (the "of which" row: mostly
Arrow-to-Python conversion and the six B-tree indexes); the index file holds about 430 bytes per
event, payload included (the Paimon parquet files are about 8x smaller). A missing index is
rebuilt from the table's snapshot deltas alone (the "rebuilt" row). The p99 column is the
slowest of 50 runs on a shared machine: cold pages and other work.
"""


def bar() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )


def synthetic(count: int, seed: int = 7) -> list[Message]:
    """`count` events as log messages, built as JSON directly (fast), in event-time order."""
    rng = random.Random(seed)
    step = DAYS * 86_400_000 // count
    messages: list[Message] = []
    for n in range(PRODUCTS):
        product = {
            "id": f"p{n}",
            "name": f"Product {n}",
            "category": CATEGORIES[n % len(CATEGORIES)],
            "price": 5.0 + n % 97,
            "originalPrice": 5.0 + n % 97,
            "stock": 1000,
        }
        launched = {
            "eventId": f"launch_{n}",
            "schemaVersion": 1,
            "timestamp": START + n,
            "eventType": "PRODUCT_LAUNCHED",
            "productId": f"p{n}",
            "product": product,
        }
        messages.append(Message(Topic.PRODUCT_UPDATES.value, f"p{n}", orjson.dumps(launched)))
    orders = 0
    for n in range(count - PRODUCTS):
        shopper = rng.randrange(SHOPPERS)
        pid = f"p{rng.randrange(PRODUCTS)}"
        base: dict[str, Any] = {
            "eventId": f"e{n}",
            "schemaVersion": 1,
            "timestamp": START + 1000 + n * step,
            "sessionId": f"s{shopper}",
        }
        if shopper % 2 == 0:
            base["userId"] = f"u{shopper}"
        roll = rng.random()
        topic = Topic.EVENTS.value
        key = base.get("userId", base["sessionId"])
        if roll < 0.6:
            event = {**base, "eventType": "PRODUCT_VIEW", "productId": pid}
        elif roll < 0.8:
            event = {
                **base,
                "eventType": "ADD_TO_CART",
                "productId": pid,
                "quantity": 1,
                "price": 9.5,
            }
        elif roll < 0.85:
            event = {**base, "eventType": "REMOVE_FROM_CART", "productId": pid}
        elif roll < 0.9:
            event = {
                **base,
                "eventType": "CHECKOUT_STARTED",
                "orderId": f"o{orders}",
                "idempotencyKey": f"k{orders}",
            }
        elif roll < 0.95:
            lines = [{"productId": pid, "quantity": 1, "unitPrice": 9.5, "name": ""}]
            event = {
                **base,
                "eventType": "ORDER_PLACED",
                "orderId": f"o{orders}",
                "idempotencyKey": f"k{orders}",
                "lines": lines,
                "total": 9.5,
            }
            orders += 1
        else:
            topic, key = Topic.INVENTORY_UPDATES.value, pid
            event = {
                "eventId": f"e{n}",
                "schemaVersion": 1,
                "timestamp": base["timestamp"],
                "eventType": "INVENTORY_CHANGED",
                "productId": pid,
                "stock": 1000 - n % 900,
                "reserved": 0,
                "available": 1000 - n % 900,
                "reason": "ADJUSTMENT",
            }
        messages.append(Message(topic, key, orjson.dumps(event)))
    return messages


async def fill_log(log: SqliteEventLog, messages: list[Message]) -> float:
    start = time.perf_counter()
    with bar() as progress:
        task = progress.add_task("appending to the log", total=len(messages))
        for first in range(0, len(messages), 5_000):
            chunk = messages[first : first + 5_000]
            await log.append(chunk)
            progress.advance(task, len(chunk))
    return time.perf_counter() - start


async def run_sink(
    store: IndexedStore, log: SqliteEventLog, total: int, batch: int
) -> tuple[float, float]:
    """Seconds the sink took to store everything, and of those the seconds writing the index."""
    sink = PaimonSink(
        store, log, SinkConfig(max_events=batch, max_delay_ms=2_000, poll_records=batch)
    )
    start = time.perf_counter()
    with bar() as progress:
        task = progress.add_task("sink -> Paimon", total=total)
        drain = asyncio.create_task(sink.drain())
        while not drain.done():
            progress.update(task, completed=sink.events_stored)
            await asyncio.sleep(0.2)
        await drain
        progress.update(task, completed=sink.events_stored)
    return time.perf_counter() - start, sink.index_seconds


Question = Callable[[bool], object]
"""Asks one fixed question; True: straight from the table (the reference), False: the index."""


@dataclass
class Scenario:
    label: str
    latencies: list[float]
    reference: list[float]
    same: bool


def timed(label: str, runs: int, reference_runs: int, ask: Callable[[], Question]) -> Scenario:
    """`runs` questions from `ask` against the index, `reference_runs` of them also the table."""
    latencies: list[float] = []
    reference: list[float] = []
    same = True
    with bar() as progress:
        task = progress.add_task(label, total=runs + reference_runs)
        for n in range(runs):
            question = ask()
            start = time.perf_counter()
            answer = question(False)
            latencies.append((time.perf_counter() - start) * 1000)
            progress.advance(task)
            if n < reference_runs:
                start = time.perf_counter()
                expected = question(True)
                reference.append((time.perf_counter() - start) * 1000)
                same = same and answer == expected
                progress.advance(task)
    return Scenario(label, latencies, reference, same)


def rebuild_index(store: IndexedStore) -> float:
    """Delete the index file and rebuild it from the table; the seconds it took."""
    path = store.events.config.index_file()
    assert path is not None
    store.close_index()
    shutil.rmtree(path.parent)
    start = time.perf_counter()
    store.sync_index()
    return time.perf_counter() - start


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000, help="events per snapshot")
    parser.add_argument("--runs", type=int, default=50, help="queries per latency scenario")
    parser.add_argument(
        "--reference-runs",
        type=int,
        default=1,
        help="of those, how many also run straight against the table and must agree",
    )
    parser.add_argument("--dir", help="working directory (default: a fresh temporary one)")
    parser.add_argument("--no-write", action="store_true", help="do not update the results file")
    args = parser.parse_args()
    workdir = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="store-bench-"))
    load_before = os.getloadavg()[0]
    rng = random.Random(11)

    generated = time.perf_counter()
    messages = synthetic(args.events)
    generated = time.perf_counter() - generated
    print(f"generated {len(messages):,} events in {generated:.1f} s")
    store = IndexedStore.open(StoreConfig(str(workdir / "warehouse")))
    table = store.events

    async def load() -> tuple[float, tuple[float, float]]:
        async with SqliteEventLog(workdir / "log.sqlite") as log:
            appended = await fill_log(log, messages)
            sunk = await run_sink(store, log, len(messages), args.batch)
        return appended, sunk

    appended, (sunk, indexing) = asyncio.run(load())
    snapshots = table.snapshots()
    ids = [s.snapshot_id for s in snapshots]
    middle = ids[len(ids) // 2]
    orders = sum(1 for m in messages if b'"ORDER_PLACED"' in m.value)

    rebuilt = rebuild_index(store)
    print(f"index rebuilt from the table in {rebuilt:.1f} s")
    index_path = table.config.index_file()
    index_mb = (
        sum(f.stat().st_size for f in index_path.parent.iterdir()) / 2**20 if index_path else 0
    )
    refs = args.reference_runs
    day3 = (START + 86_400_000 * 3, START + 86_400_000 * 4 - 1)

    def product() -> Question:
        pid, sid = f"p{rng.randrange(PRODUCTS)}", rng.choice(ids)
        return lambda ref: (
            tt.product_at_from_table(table, pid, sid) if ref else tt.product_at(store, pid, sid)
        )

    def cart() -> Question:
        uid, sid = f"u{2 * rng.randrange(SHOPPERS // 2)}", rng.choice(ids)
        return lambda ref: (
            tt.cart_at_from_table(table, uid, sid) if ref else tt.cart_at(store, uid, sid)
        )

    def order() -> Question:
        oid = f"o{rng.randrange(max(1, orders))}"
        return lambda ref: (
            tt.order_at_from_table(table, oid, middle) if ref else tt.order_at(store, oid, middle)
        )

    def analytics() -> Question:
        sid = rng.choice(ids)
        return lambda ref: (
            tt.analytics_at_from_table(table, sid) if ref else tt.analytics_at(store, sid)
        )

    def audit(query: AuditQuery) -> Question:
        return lambda ref: (
            history_from_table(table, query) if ref else history(store, query)
        ).to_json()

    def user_history() -> Question:
        return audit(AuditQuery(user_id=f"u{2 * rng.randrange(SHOPPERS // 2)}"))

    def product_day() -> Question:
        pid = f"p{rng.randrange(PRODUCTS)}"
        types = ("ADD_TO_CART", "ORDER_PLACED")
        return audit(AuditQuery(product_id=pid, types=types, start=day3[0], end=day3[1]))

    scenarios = [
        timed("time travel: product price+stock", args.runs, refs, product),
        timed("time travel: cart", args.runs, refs, cart),
        timed("time travel: order", args.runs, refs, order),
        timed("time travel: analytics totals", args.runs, refs, analytics),
        timed("audit: user history, page 1", args.runs, refs, user_history),
        timed("audit: product, 1 day, by type", args.runs, refs, product_day),
    ]

    lines = [
        "# Event store benchmark (Apache Paimon via pypaimon)",
        "",
        f"Command: `{shlex.join(['.venv/bin/python', 'bench/store_bench.py', *sys.argv[1:]])}`  ",
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs shared with other work (1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end).  ",
        f"Events: {len(messages):,} over {DAYS} days ({DAYS} partitions, 4 buckets each), "
        f"{len(snapshots)} snapshots of up to {args.batch:,} events.",
        "",
        "| stage | events | seconds | events/s |",
        "|---|---:|---:|---:|",
        f"| generate (JSON) | {len(messages):,} | {generated:.1f} | "
        f"{len(messages) / generated:,.0f} |",
        f"| append to SQLite log | {len(messages):,} | {appended:.1f} | "
        f"{len(messages) / appended:,.0f} |",
        f"| **sink: log -> Paimon snapshots + index** | {len(messages):,} | {sunk:.1f} | "
        f"**{len(messages) / sunk:,.0f}** |",
        f"| of which: index writes after each commit | {len(messages):,} | {indexing:.1f} | "
        f"{len(messages) / indexing:,.0f} |",
        f"| index rebuilt from the table alone | {len(messages):,} | {rebuilt:.1f} | "
        f"{len(messages) / rebuilt:,.0f} |",
        "",
        f"Index file: {index_mb:,.0f} MiB.",
        "",
        "| query (over all events, random subjects and snapshots) | runs | p50 ms | p99 ms "
        "| table path ms (runs) | same answer |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for scenario in scenarios:
        lat, ref = scenario.latencies, scenario.reference
        reference = f"{statistics.median(ref):,.0f} ({len(ref)})" if ref else "-"
        lines.append(
            f"| {scenario.label} | {len(lat)} | {statistics.median(lat):,.1f} | "
            f"{percentile(lat, 99):,.1f} | {reference} | {'yes' if scenario.same else 'NO'} |"
        )
    text = "\n".join(lines) + "\n" + NOTES
    print(text)
    if not args.no_write:
        record(RESULTS, text)
    if not args.dir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(s.same for s in scenarios) else 1


if __name__ == "__main__":
    sys.exit(main())
