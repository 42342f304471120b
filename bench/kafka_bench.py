"""Benchmark of the Kafka event-log adapter on a real local broker, beside the embedded SQLite log:
append throughput (sequential, concurrent, batched), consume rate and append-to-poll latency;
then the whole platform on each: add to cart -> `CART_UPDATED` on the user's second WebSocket.

Run `.venv/bin/python bench/kafka_bench.py`; it starts a single-node Apache Kafka broker (KRaft,
fetched by `kartshoppe.infra.kafka_broker`, full JIT) on a free loopback port with a fresh data
directory, runs every scenario against it and against a fresh SQLite log, prints a table and
writes it, with the command and the date, to bench/results/kafka.md. The platform scenario
starts `kartshoppe serve` once per bus (Kafka on a second, empty broker) and times it with
bench/api_bench.py's `cart_push_latency`.
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
from collections.abc import Callable, Coroutine

import confluent_kafka
from api_bench import PushLatency, cart_push_latency, percentile, server
from log_bench import (
    PAYLOAD,
    TOPIC,
    Row,
    batched,
    consume,
    message,
    quantiles_ms,
    sequential,
)
from report import record

from kartshoppe.eventlog.kafka import LINGER_MS, KafkaEventLog
from kartshoppe.eventlog.port import EventLog
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.infra.kafka_broker import KafkaBroker

RESULTS = pathlib.Path(__file__).parent / "results" / "kafka.md"
Measured = tuple[list[Row], list[float], PushLatency | None]
"""The scenarios' rows, the append-to-poll latencies and the platform's cart-push latencies
(None when not asked for) of one adapter."""


async def concurrent(log: EventLog, writers: int, per_writer: int) -> Row:
    async def writer(w: int) -> None:
        for n in range(per_writer):
            await log.append([message(w * per_writer + n)])

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    seconds = time.perf_counter() - start
    return Row(
        f"{writers} concurrent writers, 1 message each", writers * per_writer, seconds, "appends/s"
    )


async def tail_latency(log: EventLog, samples: int) -> list[float]:
    """Time from the start of an append to a consumer already waiting in `poll` returning it."""
    latencies: list[float] = []
    async with log.consumer([TOPIC]) as consumer:
        while await consumer.poll(max_records=10_000, timeout=0):
            pass
        for n in range(samples):
            waiting = asyncio.create_task(consumer.poll(timeout=5))
            await asyncio.sleep(0.005)
            started = time.perf_counter()
            await log.append([message(n)])
            assert await waiting
            latencies.append(time.perf_counter() - started)
    return latencies


async def warm_up(log: EventLog) -> None:
    """Let the broker's JIT compile its hot paths before anything is timed."""
    for a in range(50):
        await log.append([message(a * 100 + i) for i in range(100)])
    for n in range(200):
        await log.append([message(n)])


async def measure(log: EventLog, args: argparse.Namespace) -> tuple[list[Row], list[float]]:
    async with log:
        await warm_up(log)
        rows = [
            await sequential(log, args.sequential),
            await concurrent(log, args.writers, args.per_writer),
            await batched(log, args.batches, args.batch_size),
            await consume(log),
        ]
        return rows, await tail_latency(log, args.latency_samples)


def table(kafka: list[Row], sqlite: list[Row]) -> str:
    lines = [
        "| scenario | operations | Kafka | embedded SQLite |",
        "|---|---:|---:|---:|",
    ]
    for k, s in zip(kafka, sqlite, strict=True):
        lines.append(
            f"| {k.scenario} | {k.operations} | {k.rate:,.0f} {k.unit} | {s.rate:,.0f} {s.unit} |"
        )
    return "\n".join(lines)


def report(
    command: str,
    results: dict[str, Measured],
    linger_ms: float,
    load: float,
) -> str:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores (shared with other work), "
        f"Python {platform.python_version()}, confluent-kafka {confluent_kafka.version()} "
        f"(librdkafka {confluent_kafka.libversion()[0]}), Apache Kafka broker from "
        "deploy/kafka/pom.xml, broker and client on the same machine; load average "
        f"{load:.1f} when the run ended"
    )
    kafka_rows, kafka_latency, kafka_push = results["kafka"]
    sqlite_rows, sqlite_latency, sqlite_push = results["sqlite"]
    lines = [
        "# Kafka event log benchmark (beside the embedded SQLite log)",
        "",
        f"Command: `{command}`  ",
        f"Date: {today}  ",
        f"Machine: {machine}",
        "",
        "Kafka: one broker (KRaft, 512 MB heap), the adapter's idempotent producer",
        f"(`acks=all`, `linger.ms={linger_ms:g}`), `ecommerce_events` with 6 partitions, keys",
        "over 1000 sessions. An append returns once the broker has acknowledged it; with one",
        "replica that means written to the broker's page cache, not fsynced (Kafka relies on",
        "replication for durability). SQLite: every append fsynced before it returns.",
        f"Messages carry a {len(PAYLOAD)}-byte JSON value. Each log is warmed up with 5,200",
        "messages first. One run each; this machine is shared with other work, so expect",
        "run-to-run spread of tens of percent.",
        "",
        table(kafka_rows, sqlite_rows),
        "",
        "Append-to-poll latency (a consumer waits in `poll` while one 1-message append runs):",
        "",
        f"- Kafka: {quantiles_ms(kafka_latency)}",
        f"- embedded SQLite: {quantiles_ms(sqlite_latency)}",
        "",
    ]
    if kafka_push is not None and sqlite_push is not None:
        lines += push_section(kafka_push, sqlite_push)
    return "\n".join(lines)


def push_section(kafka: PushLatency, sqlite: PushLatency) -> list[str]:
    def row(bus: str, push: PushLatency) -> str:
        cells = [
            f"{percentile(values, q):.2f} ms"
            for values in (push.push_ms, push.post_ms)
            for q in (50, 99)
        ]
        return f"| {bus} | {push.adds} | {' | '.join(cells)} |"

    return [
        "## Platform: add to cart -> CART_UPDATED on the user's other device",
        "",
        "One `kartshoppe serve` process per bus (`--bus kafka --bootstrap <a second, empty",
        "broker>`, and `--bus embedded`), fresh data directory, seeded catalog, embedded",
        "processors and event-store sink on, rate limits off. bench/api_bench.py's",
        "`cart_push_latency`: sequential `POST /cart/bench-phone/add` by a signed-in user; a",
        "WebSocket of the same user on another session times each `CART_UPDATED`. On Kafka the",
        "push comes from the instance's own fold of `ecommerce_events`, so it includes the",
        "broker round trip (produce, acknowledge, fetch) that a second instance would also see.",
        "",
        "| bus | adds | push p50 | push p99 | POST answered p50 | POST answered p99 |",
        "|---|---:|---:|---:|---:|---:|",
        row("Kafka", kafka),
        row("embedded SQLite", sqlite),
        "",
    ]


async def platform_push(directory: pathlib.Path, adds: int, *serve_args: str) -> PushLatency:
    directory.mkdir(parents=True)
    with server(directory, *serve_args) as base:
        return await cart_push_latency(base, adds)


async def on_kafka(args: argparse.Namespace, directory: pathlib.Path) -> Measured:
    broker = KafkaBroker(directory / "kafka", jvm_options=())
    await asyncio.to_thread(broker.start)
    try:
        log = KafkaEventLog(broker.bootstrap, client_id="bench", linger_ms=args.linger_ms)
        rows, latency = await measure(log, args)
    finally:
        await asyncio.to_thread(broker.stop)
    if not args.adds:
        return rows, latency, None
    # An empty broker: the server must not fold the scenarios' synthetic records first.
    broker = KafkaBroker(directory / "kafka-platform", jvm_options=())
    await asyncio.to_thread(broker.start)
    try:
        bootstrap = ("--bus", "kafka", "--bootstrap", broker.bootstrap)
        push = await platform_push(directory / "serve-kafka", args.adds, *bootstrap)
    finally:
        await asyncio.to_thread(broker.stop)
    return rows, latency, push


async def on_sqlite(args: argparse.Namespace, directory: pathlib.Path) -> Measured:
    rows, latency = await measure(SqliteEventLog(directory / "sqlite" / "bench.db"), args)
    if not args.adds:
        return rows, latency, None
    push = await platform_push(directory / "serve-embedded", args.adds, "--bus", "embedded")
    return rows, latency, push


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=500)
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--per-writer", type=int, default=200)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--linger-ms", type=float, default=LINGER_MS)
    parser.add_argument("--results", type=pathlib.Path, default=RESULTS)
    parser.add_argument(
        "--adds", type=int, default=300, help="adds timed per bus on the platform (0: skip)"
    )
    args = parser.parse_args()

    adapters: dict[
        str, Callable[[argparse.Namespace, pathlib.Path], Coroutine[None, None, Measured]]
    ] = {
        "kafka": on_kafka,
        "sqlite": on_sqlite,
    }
    results: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory(prefix="kafka-bench-") as tmp:
        for name, run in adapters.items():
            results[name] = asyncio.run(run(args, pathlib.Path(tmp)))
    command = shlex.join([".venv/bin/python", "bench/kafka_bench.py", *sys.argv[1:]])
    text = report(command, results, args.linger_ms, os.getloadavg()[0])
    print(text)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    record(args.results, text)


if __name__ == "__main__":
    main()
