"""The Kafka adapter's consumer against a reference checkout's, side by side in one run.

One real broker; `ecommerce_events` filled once with `--records` records (keys over 1000
sessions, 247-byte values); then, alternating for `--rounds` rounds, a fresh interpreter of each
source tree reads them all from the beginning in a new group with `poll(max_records=1000)`. Each
reports records per second of wall time and per CPU second of its process (librdkafka's threads
included). The medians and their ratio go to `bench/results/kafka.md`.

    .venv/bin/python bench/kafka_consume_bench.py --reference /tmp/ref/src

(`git archive <rev> src | tar -x -C /tmp/ref` makes a reference tree.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from report import record, stamp

from kartshoppe.eventlog.kafka import KafkaEventLog
from kartshoppe.eventlog.port import Message
from kartshoppe.events import Topic
from kartshoppe.infra.kafka_broker import KafkaBroker

EVENTS = Topic.EVENTS.value
RESULTS = pathlib.Path(__file__).parent / "results" / "kafka.md"
SRC = pathlib.Path(__file__).resolve().parent.parent / "src"


async def fill(bootstrap: str, records: int) -> None:
    body = b'{"eventType":"PRODUCT_VIEW","pad":"' + b"x" * 212 + b'"}'
    async with KafkaEventLog(bootstrap) as log:
        for start in range(0, records, 1000):
            count = min(1000, records - start)
            await log.append([Message(EVENTS, f"s{i % 1000}", body) for i in range(count)])


async def read_all(bootstrap: str, records: int) -> tuple[float, float]:
    """Records per second of wall time and per CPU second, reading `records` from the start."""
    async with (
        KafkaEventLog(bootstrap) as log,
        log.consumer([EVENTS], f"bench-{uuid.uuid4().hex}") as consumer,
    ):
        read, began, cpu = 0, time.perf_counter(), time.process_time()
        while read < records:
            read += len(await consumer.poll(max_records=1000, timeout=1.0))
        return read / (time.perf_counter() - began), read / (time.process_time() - cpu)


def one_read(bootstrap: str, records: int, src: pathlib.Path) -> tuple[float, float]:
    """`read_all` in a fresh interpreter importing the platform from `src`."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    argv = [sys.executable, __file__, "--read", bootstrap, "--records", str(records)]
    wall, cpu = subprocess.run(
        argv, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=pathlib.Path, required=False, help="a src/ tree")
    parser.add_argument("--records", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--read", metavar="BOOTSTRAP", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        print(*asyncio.run(read_all(args.read, args.records)))
        return
    if args.reference is None:
        parser.error("--reference is required")
    load = os.getloadavg()
    trees = {"this checkout": SRC, f"reference ({args.reference})": args.reference}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    with KafkaBroker(pathlib.Path(tempfile.mkdtemp(prefix="consume-bench-"))) as broker:
        asyncio.run(fill(broker.bootstrap, args.records))
        for round_ in range(args.rounds):
            for name, src in trees.items():
                runs[name].append(one_read(broker.bootstrap, args.records, src))
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    medians = {
        name: (statistics.median(w for w, _ in rows), statistics.median(c for _, c in rows))
        for name, rows in runs.items()
    }
    (this_wall, this_cpu), (ref_wall, ref_cpu) = medians.values()
    command = " ".join(["bench/kafka_consume_bench.py", *sys.argv[1:]])
    lines = [
        "## The consumer against a reference, in one run",
        "",
        f"Command: `.venv/bin/python {command}`  ",
        *stamp(load),
        "",
        f"{args.records:,} records read from the beginning of `{EVENTS}` (6 partitions) by a "
        f"new group, {args.rounds} alternating rounds, each in a fresh interpreter; medians.",
        "",
        "| consumer | records/s (wall) | records per CPU second |",
        "|---|---:|---:|",
        *(f"| {name} | {wall:,.0f} | {cpu:,.0f} |" for name, (wall, cpu) in medians.items()),
        "",
        f"This checkout against the reference: {this_wall / ref_wall:.2f}x wall, "
        f"{this_cpu / ref_cpu:.2f}x per CPU second.",
        "",
    ]
    print("\n".join(lines))
    if not args.no_write:
        record(RESULTS, "\n".join(lines))


if __name__ == "__main__":
    main()
