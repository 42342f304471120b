"""Benchmark of checkout with the command path: checkouts per second and checkout latency
p50/p99 through 1, 2 and 3 `kartshoppe serve --bus kafka` instances on one broker, beside the
embedded mode (one process, in-process command path) measured in the same run.

Each virtual shopper loops: a new session, add one unit of one of the bench's products (many
products, so reservations spread over the command partitions), check out with a new
idempotency key; only the checkout is timed. Requests go round-robin over the instances.
Processors and the event-store sink are off everywhere, so the figures are the write path's.

Run `.venv/bin/python bench/scale_out_bench.py`; it starts a fresh single-node Kafka broker per
configuration (`kartshoppe.infra.kafka_broker`), prints a table and writes it, with the command,
the date and the machine load, to bench/results/scale_out.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import itertools
import os
import pathlib
import platform
import shlex
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
from api_bench import percentile, server
from report import record

from kartshoppe.infra.kafka_broker import KafkaBroker

RESULTS = pathlib.Path(__file__).parent / "results" / "scale_out.md"
API = "/api/ecommerce"
OPERATOR = {"email": "operator@kartshoppe.dev", "password": "operator-demo-pass"}
QUIET = {
    "KARTSHOPPE_PROCESSORS": "off",
    "KARTSHOPPE_SINK": "0",
    "KARTSHOPPE_RATE_CHECKOUT": "off",
    "KARTSHOPPE_RATE_SIGNIN": "off",
    "KARTSHOPPE_JWT_SECRET": "scale-out-bench-secret-shared-by-every-instance-0123",
}
PRODUCTS = 24


@dataclass(frozen=True)
class Run:
    name: str
    checkouts: int
    refused: int
    failed: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.checkouts / self.seconds


async def launch_products(base: str) -> list[str]:
    async with httpx.AsyncClient(base_url=base + API, timeout=60, trust_env=False) as client:
        token = (await client.post("/auth/login", json=OPERATOR)).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        ids = []
        for index in range(PRODUCTS):
            product_id = f"bench-{uuid.uuid4().hex[:8]}-{index}"
            body = {
                "id": product_id,
                "name": f"Bench product {index}",
                "category": "Bench",
                "price": 10.0,
                "stock": 1_000_000,
            }
            answer = await client.post("/admin/products", json=body)
            answer.raise_for_status()
            ids.append(product_id)
        return ids


async def shoppers(name: str, bases: list[str], seconds: float, concurrency: int) -> Run:
    products = await launch_products(bases[0])
    targets = itertools.cycle(bases)
    latencies: list[float] = []
    counts = {"placed": 0, "refused": 0, "failed": 0}
    deadline = time.monotonic() + seconds

    async def shopper(client: httpx.AsyncClient, index: int) -> None:
        for turn in itertools.count():
            if time.monotonic() >= deadline:
                return
            base = next(targets)
            session = f"bench-{index}-{turn}-{uuid.uuid4().hex[:6]}"
            product = products[(index + turn) % len(products)]
            body = {"productId": product, "quantity": 1}
            added = await client.post(f"{base}{API}/cart/{session}/add", json=body)
            if added.status_code != 200:
                counts["failed"] += 1
                continue
            started = time.perf_counter()
            answer = await client.post(
                f"{next(targets)}{API}/checkout",
                json={"sessionId": session, "idempotencyKey": session},
            )
            elapsed = (time.perf_counter() - started) * 1000
            if answer.status_code == 201:
                counts["placed"] += 1
                latencies.append(elapsed)
            elif answer.status_code == 409:
                counts["refused"] += 1
            else:
                counts["failed"] += 1

    started = time.monotonic()
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as client:
        await asyncio.gather(*(shopper(client, i) for i in range(concurrency)))
    took = time.monotonic() - started
    return Run(name, counts["placed"], counts["refused"], counts["failed"], took, latencies)


@contextlib.contextmanager
def instances(directory: pathlib.Path, count: int, bootstrap: str | None) -> Iterator[list[str]]:
    with contextlib.ExitStack() as stack:
        bases = []
        for index in range(count):
            data = directory / f"instance-{index}"
            data.mkdir(parents=True)
            bus = (
                ("--bus", "kafka", "--bootstrap", bootstrap) if bootstrap else ("--bus", "embedded")
            )
            bases.append(stack.enter_context(server(data, *bus, env=QUIET, ready_timeout=300)))
        yield bases


def measure(
    name: str, directory: pathlib.Path, count: int, kafka: bool, args: argparse.Namespace
) -> Run:
    broker = KafkaBroker(directory / "kafka", jvm_options=()) if kafka else None
    if broker is not None:
        broker.start()
    try:
        bootstrap = broker.bootstrap if broker is not None else None
        with instances(directory, count, bootstrap) as bases:
            # a short warm-up: the deciders' group settles, first transactions open
            asyncio.run(shoppers(name, bases, 3, 2))
            return asyncio.run(shoppers(name, bases, args.seconds, args.concurrency))
    finally:
        if broker is not None:
            broker.stop()


def report(command: str, runs: list[Run], args: argparse.Namespace) -> str:
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    reference = runs[0].rate or 1.0
    lines = [
        "# Scale-out checkout benchmark",
        "",
        f"Command: `{command}`  ",
        f"Date: {date}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work "
        f"(load average at the end: {load}), Python {platform.python_version()}.",
        "",
        f"{args.concurrency} virtual shoppers for {args.seconds:g} s per configuration, each "
        "add-then-checkout on a new session, round-robin over the instances; every server, "
        "the broker and the load generator share the machine. Only placed checkouts (201) "
        "are timed.",
        "",
        "| configuration | checkouts | checkouts/s | vs embedded | p50 | p99 | 409 | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        p50 = percentile(run.latencies_ms, 50) if len(run.latencies_ms) > 1 else 0.0
        p99 = percentile(run.latencies_ms, 99) if len(run.latencies_ms) > 1 else 0.0
        lines.append(
            f"| {run.name} | {run.checkouts} | {run.rate:,.1f} | {run.rate / reference:.2f}x "
            f"| {p50:.1f} ms | {p99:.1f} ms | {run.refused} | {run.failed} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--instances", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    command = shlex.join([".venv/bin/python", "bench/scale_out_bench.py", *sys.argv[1:]])
    runs = []
    with tempfile.TemporaryDirectory(prefix="scale-out-bench-") as tmp:
        root = pathlib.Path(tmp)
        runs.append(measure("embedded (1 process)", root / "embedded", 1, False, args))
        print(runs[-1].name, runs[-1].rate, flush=True)
        for count in args.instances:
            name = f"kafka, {count} instance{'s' if count > 1 else ''}"
            runs.append(measure(name, root / f"kafka-{count}", count, True, args))
            print(runs[-1].name, runs[-1].rate, flush=True)
    text = report(command, runs, args)
    print(text)
    if not args.no_write:
        record(RESULTS, text)


if __name__ == "__main__":
    main()
