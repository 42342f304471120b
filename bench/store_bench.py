"""Benchmark of the Paimon event store: sustained events/s through the sink, and the latency of
time-travel and audit queries over the stored events.

Run `.venv/bin/python bench/store_bench.py --events 1000000`; it prints the numbers and writes
them, with the command and the date, to bench/results/store.md. Synthetic events (a realistic mix
of views, carts, checkouts, orders, catalog and stock changes over seven days, 20,000 shoppers,
500 products) are appended to a fresh SQLite event log first; the sink then moves them into a
fresh Paimon table, one snapshot per `--batch` events, exactly as in the running platform.
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
from typing import Any

import orjson
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from kartshoppe.events import Topic
from kartshoppe.log.port import Message
from kartshoppe.log.sqlite import SqliteEventLog
from kartshoppe.store.audit import AuditQuery, history
from kartshoppe.store.sink import PaimonSink, SinkConfig
from kartshoppe.store.table import EventStore, StoreConfig
from kartshoppe.store.timetravel import analytics_at, cart_at, order_at, product_at

RESULTS = pathlib.Path(__file__).parent / "results" / "store.md"
START = 1_764_028_800_000  # 2025-11-25T00:00:00Z
DAYS = 7
PRODUCTS = 500
SHOPPERS = 20_000
CATEGORIES = ("games", "audio", "books", "garden", "kitchen", "toys", "sports", "beauty")


NOTES = """
Notes. The sink rate is bounded by pypaimon's Python primary-key writer (per-row bucket hashing
and in-batch merge, about 1 s per 10,000 rows on one core); the SQLite log and the row
conversion are a fraction of it. Every query reads through pypaimon's merge reader: pypaimon
writes level-0 files only and never compacts, so each bucket's sorted runs are merged row by row
in Python on every read, and the latency grows with the table. Predicates on the subject columns
cannot skip files (event ids are random, so files overlap on every column); the `dt` partition
filter of a time-ranged audit does prune, hence the one-day audit is 7x faster than a full
user history. Levers, not applied here: Paimon compaction by the Flink writer (files move to
higher levels and reads take the raw path), `EventStore.compact(day)`, and pypaimon's optional
native (Rust) reader/writer (`pypaimon-rust`, `write.native.enabled`).
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


async def run_sink(store: EventStore, log: SqliteEventLog, total: int, batch: int) -> float:
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
    return time.perf_counter() - start


def timed(label: str, runs: int, query: Callable[[int], object]) -> tuple[str, list[float]]:
    latencies = []
    with bar() as progress:
        task = progress.add_task(label, total=runs)
        for n in range(runs):
            start = time.perf_counter()
            query(n)
            latencies.append((time.perf_counter() - start) * 1000)
            progress.advance(task)
    return label, latencies


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000, help="events per snapshot")
    parser.add_argument("--runs", type=int, default=5, help="queries per latency scenario")
    parser.add_argument("--dir", help="working directory (default: a fresh temporary one)")
    parser.add_argument("--no-write", action="store_true", help="do not update the results file")
    args = parser.parse_args()
    workdir = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="store-bench-"))
    rng = random.Random(11)

    generated = time.perf_counter()
    messages = synthetic(args.events)
    generated = time.perf_counter() - generated
    print(f"generated {len(messages):,} events in {generated:.1f} s")
    store = EventStore(StoreConfig(str(workdir / "warehouse")))

    async def load() -> tuple[float, float]:
        async with SqliteEventLog(workdir / "log.sqlite") as log:
            appended = await fill_log(log, messages)
            sunk = await run_sink(store, log, len(messages), args.batch)
        return appended, sunk

    appended, sunk = asyncio.run(load())
    snapshots = store.snapshots()
    ids = [s.snapshot_id for s in snapshots]
    middle = ids[len(ids) // 2]
    orders = sum(1 for m in messages if b'"ORDER_PLACED"' in m.value)

    scenarios = [
        timed(
            "time travel: product price+stock",
            args.runs,
            lambda n: product_at(store, f"p{rng.randrange(PRODUCTS)}", rng.choice(ids)),
        ),
        timed(
            "time travel: cart",
            args.runs,
            lambda n: cart_at(store, f"u{2 * rng.randrange(SHOPPERS // 2)}", rng.choice(ids)),
        ),
        timed(
            "time travel: order",
            args.runs,
            lambda n: order_at(store, f"o{rng.randrange(max(1, orders))}", middle),
        ),
        timed(
            "time travel: analytics totals",
            max(3, args.runs // 3),
            lambda n: analytics_at(store, rng.choice(ids)),
        ),
        timed(
            "audit: user history, page 1",
            args.runs,
            lambda n: history(store, AuditQuery(user_id=f"u{2 * rng.randrange(SHOPPERS // 2)}")),
        ),
        timed(
            "audit: product, 1 day, by type",
            args.runs,
            lambda n: history(
                store,
                AuditQuery(
                    product_id=f"p{rng.randrange(PRODUCTS)}",
                    types=("ADD_TO_CART", "ORDER_PLACED"),
                    start=START + 86_400_000 * 3,
                    end=START + 86_400_000 * 4 - 1,
                ),
            ),
        ),
    ]

    lines = [
        "# Event store benchmark (Apache Paimon via pypaimon)",
        "",
        f"Command: `{shlex.join(['.venv/bin/python', 'bench/store_bench.py', *sys.argv[1:]])}`  ",
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs (shared with other work).  ",
        f"Events: {len(messages):,} over {DAYS} days ({DAYS} partitions, 4 buckets each), "
        f"{len(snapshots)} snapshots of up to {args.batch:,} events.",
        "",
        "| stage | events | seconds | events/s |",
        "|---|---:|---:|---:|",
        f"| generate (JSON) | {len(messages):,} | {generated:.1f} | "
        f"{len(messages) / generated:,.0f} |",
        f"| append to SQLite log | {len(messages):,} | {appended:.1f} | "
        f"{len(messages) / appended:,.0f} |",
        f"| **sink: log -> Paimon snapshots** | {len(messages):,} | {sunk:.1f} | "
        f"**{len(messages) / sunk:,.0f}** |",
        "",
        "| query (over all events, random subjects and snapshots) | runs | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
    ]
    for label, latencies in scenarios:
        lines.append(
            f"| {label} | {len(latencies)} | {statistics.median(latencies):,.0f} | "
            f"{percentile(latencies, 99):,.0f} |"
        )
    text = "\n".join(lines) + "\n" + NOTES
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
    if not args.dir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
