"""Events per second through every processor: the Flink job beside the embedded runner.

The same recorded shop stream (tests/processors/shop_stream.py) goes through
- the embedded runner over the SQLite log (appended first, then timed until caught up), and
- the Flink job on a standalone cluster of two one-slot TaskManagers (`kartshoppe.flink.cluster`,
  thread mode), submitted with `flink run -py` at parallelism 1, then 2, over a real local Kafka
  broker: the stream is produced first (topics recreated for each run), the job submitted, and
  its rate is measured between its first and last output record (Kafka append times); the time
  from `flink run` to the first output is reported on its own.

    .venv/bin/python bench/flink_bench.py --sessions 600 [--no-store]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# flink_support imports `tests.processors`, so the repository root is on the path as well
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "flink"))
from confluent_kafka.admin import AdminClient
from flink_support import HOUR, ShopStream, create_topics, produce, read_topic, route

from kartshoppe.eventlog.port import ALL_TOPICS
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import BaseEvent, PageView, Topic, now_ms
from kartshoppe.flink.cluster import FlinkCluster
from kartshoppe.infra.kafka_broker import KafkaBroker
from kartshoppe.processors import ProcessorConfig, default_processors
from kartshoppe.processors.runner import EmbeddedRunner

CONFIG = {"cart_abandon_timeout_ms": 10 * 60_000, "reservation_ttl_ms": 15 * 60_000}
OUTPUTS = (Topic.FANOUT.value, Topic.RECOMMENDATIONS.value)


def stream(sessions: int) -> list[BaseEvent]:
    events = ShopStream(products=200, sessions=sessions, start_ms=now_ms() - 12 * HOUR).generate()
    end = events[-1].timestamp + HOUR
    return [*events, PageView(page="/", session_id="sentinel", timestamp=end)]


def embedded(events: list[BaseEvent], directory: Path) -> float:
    async def run() -> float:
        log = SqliteEventLog(directory / "log.db")
        await log.start()
        try:
            messages = [route(e) for e in events]
            for i in range(0, len(messages), 1000):
                await log.append(messages[i : i + 1000])
            processors = default_processors(ProcessorConfig(**CONFIG))
            runner = EmbeddedRunner(log, directory / "state.db", processors, idle_after_s=None)
            started = time.perf_counter()
            await runner.start()
            try:
                await runner.wait_caught_up(timeout=3600)
            finally:
                await runner.stop()
            return time.perf_counter() - started
        finally:
            await log.close()

    return asyncio.run(run())


def fresh_topics(bootstrap: str) -> None:
    """Delete and recreate the platform's topics, so that each run reads the stream alone."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    doomed = [t for t in ALL_TOPICS if t in admin.list_topics(timeout=30).topics]
    for future in admin.delete_topics(doomed, operation_timeout=30).values() if doomed else []:
        future.result()
    while set(doomed) & set(admin.list_topics(timeout=30).topics):
        time.sleep(0.1)
    create_topics(bootstrap)


def flink_run(
    cluster: FlinkCluster,
    bootstrap: str,
    events: list[BaseEvent],
    directory: Path,
    parallelism: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One job over the stream, already in Kafka: submit to first output, first to last output."""
    fresh_topics(bootstrap)
    produce(bootstrap, events)
    job_args = [
        "--bootstrap", bootstrap,
        "--checkpoint-dir", str(directory / f"checkpoints-{parallelism}"),
        "--processor-config", json.dumps(CONFIG),
        "--restart-attempts", "0",
        "--group-id", f"bench-{parallelism}-{time.time_ns()}",
    ]  # fmt: skip
    if not args.no_store:
        job_args += ["--warehouse", str(directory / f"warehouse-{parallelism}")]
    started = time.time()
    job = cluster.submit(job_args, parallelism, log_file=directory / "submit.log")
    try:
        last_count, stable_since = -1, time.monotonic()
        stamps: list[int] = []
        while time.monotonic() - stable_since < args.settle_s:
            if cluster.job(job)["state"] not in ("RUNNING", "CREATED", "INITIALIZING"):
                raise SystemExit(f"the job ended:\n{cluster.logs()}")
            time.sleep(2)
            stamps = [ts for t in OUTPUTS for _, _, ts in read_topic(bootstrap, t)]
            # settled: outputs came, then stopped coming
            if not stamps or len(stamps) != last_count:
                last_count, stable_since = len(stamps), time.monotonic()
    finally:
        cluster.cancel_all()
    first, last = min(stamps) / 1000, max(stamps) / 1000
    return {
        "startup_s": first - started,
        "processing_s": last - first,
        "outputs": len(stamps),
        "rate": len(events) / max(last - first, 1e-3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=600)
    parser.add_argument("--no-store", action="store_true", help="without the Paimon sink")
    parser.add_argument("--settle-s", type=float, default=20.0)
    args = parser.parse_args()
    events = stream(args.sessions)
    print(f"{len(events)} events, {args.sessions} sessions; load {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="flink-bench-") as tmp:
        directory = Path(tmp)
        seconds = embedded(events, directory)
        reference = len(events) / seconds
        print(f"embedded runner (SQLite log): {seconds:.1f} s, {reference:,.0f} ev/s", flush=True)
        cluster = FlinkCluster(directory / "cluster", taskmanagers=2)
        cluster.start()
        try:
            with KafkaBroker(directory / "kafka") as broker:
                runs = {
                    p: flink_run(cluster, broker.bootstrap, events, directory, p, args)
                    for p in (1, 2)
                }
        finally:
            cluster.stop()
    for p, r in runs.items():
        print(
            f"flink job, parallelism {p} (two-TaskManager cluster, store "
            f"{'off' if args.no_store else 'on'}): submit to first output {r['startup_s']:.1f} s,"
            f" processing {r['processing_s']:.1f} s, {r['rate']:,.0f} ev/s"
            f" = {r['rate'] / reference:.2f}x embedded ({r['outputs']} output records)"
        )
    print(f"parallelism 2 / parallelism 1: {runs[2]['rate'] / runs[1]['rate']:.2f}x")
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
