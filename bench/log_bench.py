"""Benchmark of the embedded SQLite event log: append throughput, group commit, consume rate,
and tail latency.

Run `.venv/bin/python bench/log_bench.py`; it prints a table and writes it, with the command and
the date, to bench/results/log.md. The log lives in a fresh temporary directory (on the same disk
as the system temp dir unless `--dir` says otherwise), and every append is fsynced.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import pathlib
import platform
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

from report import record

from kartshoppe.eventlog.port import EventLog, Message
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import Topic

TOPIC = Topic.EVENTS.value
RESULTS = pathlib.Path(__file__).parent / "results" / "log.md"
PAYLOAD = (
    b'{"eventId":"evt_0123456789abcdef0123456789abcdef","schemaVersion":1,'
    b'"eventType":"ADD_TO_CART","sessionId":"sess_0123456789","userId":"user_42",'
    b'"productId":"prod_electronics_007","quantity":2,"price":129.99,'
    b'"timestamp":1764072000000,"source":"web"}'
)


@dataclass(frozen=True)
class Row:
    scenario: str
    operations: int
    seconds: float
    unit: str
    note: str = ""

    @property
    def rate(self) -> float:
        return self.operations / self.seconds


def message(n: int) -> Message:
    return Message(TOPIC, f"sess_{n % 1000}", PAYLOAD)


async def sequential(log: EventLog, count: int) -> Row:
    start = time.perf_counter()
    for n in range(count):
        await log.append([message(n)])
    return Row(
        "1 writer, sequential appends of 1 message", count, time.perf_counter() - start, "appends/s"
    )


async def concurrent(log: SqliteEventLog, writers: int, per_writer: int) -> Row:
    async def writer(w: int) -> None:
        for n in range(per_writer):
            await log.append([message(w * per_writer + n)])

    transactions = log.transaction_count
    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    seconds = time.perf_counter() - start
    count = writers * per_writer
    batch = count / (log.transaction_count - transactions)
    note = f"{batch:.1f} appends per transaction"
    return Row(f"{writers} concurrent writers (group commit)", count, seconds, "appends/s", note)


async def batched(log: EventLog, appends: int, size: int) -> Row:
    start = time.perf_counter()
    for a in range(appends):
        await log.append([message(a * size + i) for i in range(size)])
    seconds = time.perf_counter() - start
    return Row(f"1 writer, appends of {size} messages", appends * size, seconds, "messages/s")


async def consume(log: EventLog) -> Row:
    total = sum((await log.end_offsets(TOPIC)).values())
    async with log.consumer([TOPIC]) as consumer:
        start = time.perf_counter()
        seen = 0
        while seen < total:
            seen += len(await consumer.poll(max_records=1000, timeout=1.0))
        seconds = time.perf_counter() - start
    return Row("1 consumer, poll(max_records=1000)", total, seconds, "records/s")


Latencies = tuple[list[float], list[float]]


async def tail_latency(log: SqliteEventLog, samples: int) -> Latencies:
    """Time from the start of `append`, and from its return, to a waiting poll returning it."""
    from_start: list[float] = []
    from_ack: list[float] = []
    async with log.consumer([TOPIC]) as consumer:
        while await consumer.poll(max_records=10_000, timeout=0):
            pass
        for n in range(samples):
            waiting = asyncio.create_task(consumer.poll(timeout=5))
            await asyncio.sleep(0.002)
            started = time.perf_counter()
            await log.append([message(n)])
            acked = time.perf_counter()
            assert await waiting
            received = time.perf_counter()
            from_start.append(received - started)
            from_ack.append(received - acked)
    return from_start, from_ack


def quantiles_ms(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=100)
    return f"p50 {cuts[49] * 1000:.2f} ms, p99 {cuts[98] * 1000:.2f} ms"


def table(runs: list[list[Row]]) -> str:
    """One line a scenario: the median run's figures and the range over all runs."""
    lines = [
        "| scenario | operations | median rate | range over runs | note (median run) |",
        "|---|---:|---:|---:|---|",
    ]
    for results in zip(*runs, strict=True):
        ordered = sorted(results, key=lambda r: r.rate)
        mid = ordered[len(ordered) // 2]
        spread = f"{ordered[0].rate:,.0f} - {ordered[-1].rate:,.0f}"
        lines.append(
            f"| {mid.scenario} | {mid.operations} | {mid.rate:,.0f} {mid.unit} | {spread} "
            f"| {mid.note} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace, directory: pathlib.Path) -> tuple[list[Row], Latencies]:
    async with SqliteEventLog(directory / "bench.db") as log:
        rows = [
            await sequential(log, args.sequential),
            await concurrent(log, args.writers, args.per_writer),
            await batched(log, args.batches, args.batch_size),
            await consume(log),
        ]
        latency = await tail_latency(log, args.latency_samples)
    return rows, latency


def report(command: str, runs: list[list[Row]], latency: Latencies, directory: pathlib.Path) -> str:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores (shared with other work), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"log file under {directory.parent}"
    )
    return "\n".join(
        [
            "# Embedded event log (SQLite WAL) benchmark",
            "",
            f"Command: `{command}`  ",
            f"Date: {today}  ",
            f"Machine: {machine}",
            "",
            "Every append is durable on return (WAL, `synchronous=FULL`, fsync per transaction);",
            f"messages carry a {len(PAYLOAD)}-byte JSON value. A sequential writer pays one fsync",
            "per append; group commit shares one fsync among all appends waiting at that moment.",
            "",
            f"{len(runs)} runs, each on a fresh log file.",
            "",
            table(runs),
            "",
            "Tail latency, all runs (an in-process consumer waits in `poll` while one append",
            "commits):",
            "",
            f"- append starts -> poll returns: {quantiles_ms(latency[0])}",
            f"- append returns -> poll returns: {quantiles_ms(latency[1])}",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=pathlib.Path, help="where to create the log file")
    parser.add_argument("--sequential", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--per-writer", type=int, default=200)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--results", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args()

    runs: list[list[Row]] = []
    latency: Latencies = ([], [])
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(dir=args.dir, prefix="log-bench-") as tmp:
            directory = pathlib.Path(tmp)
            rows, (from_start, from_ack) = asyncio.run(run(args, directory))
        runs.append(rows)
        latency[0].extend(from_start)
        latency[1].extend(from_ack)
    command = shlex.join([".venv/bin/python", "bench/log_bench.py", *sys.argv[1:]])
    text = report(command, runs, latency, directory)
    print(text)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    record(args.results, text)


if __name__ == "__main__":
    main()
