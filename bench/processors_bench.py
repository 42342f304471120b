"""Benchmark of the processors: events per second through all of them in the embedded runner.

Run `.venv/bin/python bench/processors_bench.py`; it prints a table and writes it, with the
command, the date and the machine's load, to bench/results/processors.md.

The input is the synthetic shop stream of the runner tests (tests/processors/shop_stream.py):
products with skewed popularity, shoppers who browse, search, add, remove, check out, pay or
not, abandon and return, with consistent stock levels; its event times lie in the past. It is
appended to a fresh SQLite event log first; then the timer starts, an `EmbeddedRunner` with
`default_processors()` (recommendations included when present) starts on an empty state file,
and the timer stops when every processor has committed the whole log. That end-to-end figure
includes reading the log, decoding, processing, appending outputs and the fsynced state commits.
Each processor is also run alone, in-process without the log, to show where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import pathlib
import platform
import shlex
import sys
import tempfile
import time
from typing import Any

from report import record

from kartshoppe.eventlog.port import Record
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import BaseEvent, now_ms
from kartshoppe.processors import ProcessorConfig, default_processors
from kartshoppe.processors.model import Processor
from kartshoppe.processors.runner import EmbeddedRunner, ProcessorInstance, ProcessorStateDb

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "processors"))
from shop_stream import ShopStream, route  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "processors.md"
HOUR_MS = 3_600_000
OUTPUT_TOPICS = ("ecommerce_processing_fanout", "recommendations")


def chosen(config: ProcessorConfig, excluded: list[str]) -> list[Processor[Any]]:
    return [p for p in default_processors(config) if p.name not in excluded]


def make_stream(sessions: int, products: int, hours: int) -> list[BaseEvent]:
    start = now_ms() - (hours + 3) * HOUR_MS
    shop = ShopStream(products=products, sessions=sessions, span_ms=hours * HOUR_MS, start_ms=start)
    return shop.generate()


async def end_to_end(
    events: list[BaseEvent],
    processors: list[Processor[Any]],
    batch_size: int,
    workdir: pathlib.Path,
) -> tuple[float, float, dict[str, dict[str, int]], int]:
    log = SqliteEventLog(workdir / "log.db")
    await log.start()
    try:
        for i in range(0, len(events), 1000):
            await log.append([route(e) for e in events[i : i + 1000]])
        runner = EmbeddedRunner(
            log,
            workdir / "state.db",
            processors,
            idle_after_s=None,
            batch_size=batch_size,
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        await runner.start()
        await runner.wait_caught_up(timeout=3600)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        stats = runner.stats()
        await runner.stop()
        outputs = 0
        for topic in OUTPUT_TOPICS:
            outputs += sum((await log.end_offsets(topic)).values())
    finally:
        await log.close()
    return elapsed, cpu, stats, outputs


def alone(
    processor: Processor[Any], records: list[Record], batch_size: int, workdir: pathlib.Path
) -> tuple[float, int]:
    store = ProcessorStateDb(workdir / f"alone-{processor.name}.db")
    instance = ProcessorInstance(processor, store, lateness_ms=1000)
    outputs = 0
    started = time.process_time()
    for i in range(0, len(records), batch_size):
        instance.process(records[i : i + batch_size])
        checkpoint, emitted = instance.take_checkpoint()
        instance.commit(checkpoint)
        outputs += len(emitted)
    elapsed = time.process_time() - started
    store.close()
    return elapsed, outputs


def as_records(events: list[BaseEvent]) -> list[Record]:
    offsets: dict[str, int] = {}
    records = []
    for event in events:
        message = route(event)
        offset = offsets.get(message.topic, 0)
        offsets[message.topic] = offset + 1
        records.append(Record(message.topic, 0, offset, message.key, message.value, now_ms()))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--hours", type=int, default=4, help="event-time span of the sessions")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="NAME", help="leave a processor out"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    config = ProcessorConfig()
    events = make_stream(args.sessions, args.products, args.hours)
    names = [p.name for p in chosen(config, args.exclude)]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = pathlib.Path(tmp)
        elapsed, cpu, stats, outputs = asyncio.run(
            end_to_end(events, chosen(config, args.exclude), args.batch_size, workdir)
        )
        records = as_records(events)
        singles = {
            p.name: alone(p, records, args.batch_size, workdir)
            for p in chosen(config, args.exclude)
        }

    load = os.getloadavg()
    command = shlex.join([".venv/bin/python", "bench/processors_bench.py", *sys.argv[1:]])
    lines = [
        "# Processor benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
        f"Python {platform.python_version()}; "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        "(the machine is shared with other engineers' work, so figures vary run to run).",
        "",
        f"Stream: {len(events)} events ({args.sessions} sessions, {args.products} products, "
        f"{args.hours} h of event time); processors: {', '.join(names)}; "
        f"batch size {args.batch_size}.",
        "",
        "## All processors in the embedded runner (SQLite log, fsynced state commits)",
        "",
        "| input events | wall time | input events/s | CPU time (all threads) | outputs appended |",
        "|---:|---:|---:|---:|---:|",
        f"| {len(events)} | {elapsed:.2f} s | {len(events) / elapsed:,.0f} | {cpu:.2f} s "
        f"| {outputs} |",
        "",
        "Records each processor consumed (its keyed topics plus its broadcast topics):",
        "",
        "| processor | records | failed |",
        "|---|---:|---:|",
        *(f"| {n} | {s['processed']} | {s['failed']} |" for n, s in stats.items()),
        "",
        "## Each processor alone (in-process, no log; decode, process, encode, commit)",
        "",
        "CPU time of the one thread, so less sensitive to the machine's load than wall time.",
        "",
        "| processor | CPU time | records per CPU second | outputs |",
        "|---|---:|---:|---:|",
        *(f"| {n} | {t:.2f} s | {len(events) / t:,.0f} | {o} |" for n, (t, o) in singles.items()),
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_write:
        record(RESULTS, report)
        print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
