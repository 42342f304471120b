"""Events per second through every processor: the Flink job beside the embedded runner.

The same recorded shop stream (tests/processors/shop_stream.py) goes through
- the embedded runner over the SQLite log (appended first, then timed until caught up), and
- the Flink job (`kartshoppe flink-job`, local MiniCluster, thread mode) over a real local Kafka
  broker: the stream is produced first, the job started, and its rate is measured between its
  first and last output record (Kafka append times), so JVM and Python start-up are excluded
  and reported on their own.

    .venv/bin/python bench/flink_bench.py --sessions 1500 [--parallelism 1] [--no-store]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "flink"))
from flink_support import (
    HOUR,
    ShopStream,
    create_topics,
    produce,
    read_topic,
    route,
    running,
)

from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import BaseEvent, PageView, Topic, now_ms
from kartshoppe.flink import launcher
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


def flink(events: list[BaseEvent], directory: Path, args: argparse.Namespace) -> dict[str, Any]:
    launcher.ensure_installed()
    with KafkaBroker(directory / "kafka") as broker:
        create_topics(broker.bootstrap)
        produce(broker.bootstrap, events)
        job_args = [
            "--bootstrap", broker.bootstrap,
            "--parallelism", str(args.parallelism),
            "--checkpoint-dir", str(directory / "checkpoints"),
            "--processor-config", json.dumps(CONFIG),
            "--restart-attempts", "0",
        ]  # fmt: skip
        if not args.no_store:
            job_args += ["--warehouse", str(directory / "warehouse")]
        started = time.time()
        with running(job_args, directory / "job.log") as job:
            last_count, stable_since = -1, time.monotonic()
            while time.monotonic() - stable_since < args.settle_s:
                if not job.alive():
                    raise SystemExit(f"the job exited:\n{job.log_tail()}")
                time.sleep(2)
                stamps = [ts for t in OUTPUTS for _, _, ts in read_topic(broker.bootstrap, t)]
                # settled: outputs came, then stopped coming (start-up can take a minute)
                if not stamps or len(stamps) != last_count:
                    last_count, stable_since = len(stamps), time.monotonic()
    first, last = min(stamps) / 1000, max(stamps) / 1000
    return {
        "startup_s": first - started,
        "processing_s": last - first,
        "outputs": len(stamps),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=1500)
    parser.add_argument("--parallelism", type=int, default=1)
    parser.add_argument("--no-store", action="store_true", help="without the Paimon sink")
    parser.add_argument("--settle-s", type=float, default=20.0)
    args = parser.parse_args()
    events = stream(args.sessions)
    print(f"{len(events)} events, {args.sessions} sessions", flush=True)
    with tempfile.TemporaryDirectory(prefix="flink-bench-") as tmp:
        seconds = embedded(events, Path(tmp))
        print(f"embedded runner (SQLite log): {seconds:.1f} s, {len(events) / seconds:,.0f} ev/s")
        result = flink(events, Path(tmp), args)
    rate = len(events) / max(result["processing_s"], 1e-3)
    print(
        f"flink job (parallelism {args.parallelism}, store {'off' if args.no_store else 'on'}): "
        f"start-up {result['startup_s']:.1f} s, processing {result['processing_s']:.1f} s, "
        f"{rate:,.0f} ev/s ({result['outputs']} output records)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
