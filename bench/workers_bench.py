"""The write path across the workers of `kartshoppe serve --workers 2`, in one run: a write
(add to cart) answered by the leader, which decides it in process (the reference), against the
same write answered by the other worker, which forwards it to the leader over the Unix socket
and waits for its own fold; a read of that write on the other worker with its `X-Log-Position`;
and, last, how long after the leader's SIGKILL the other worker decides a write.

`.venv/bin/python bench/workers_bench.py [--writes 60] [--rounds 2] [--server uvicorn]`

Writes are sequential (latency, not throughput), rounds alternate leader and follower so a
burst of other work on this shared machine falls on both. Processors and the event-store sink
are off, as in bench/scale_out_bench.py, so the figures are the write path's. Results go to
bench/results/workers.md with the command, the date and the machine's load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import shlex
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator

from api_bench import API, HOST, percentile, server
from report import record, stamp

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.workers import Worker, leader_pid, on, worker_pids  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "workers.md"
ENV = {"KARTSHOPPE_PROCESSORS": "off", "KARTSHOPPE_SINK": "0"}
OPERATOR = {"email": "operator@kartshoppe.dev", "password": "operator-demo-pass"}
SETTLE_S = 20.0
"""After ready: the workers open the event store in the background (pyarrow), start-up work."""


def launch(host: str, port: int, pid: int) -> str:
    login = Worker(host, port).call("POST", f"{API}/auth/login", OPERATOR).body
    admin = on(host, port, pid, login["token"])
    product_id = f"bench-{uuid.uuid4().hex[:8]}"
    body = {"id": product_id, "name": product_id, "category": "Bench", "price": 10.0}
    answer = admin.call("POST", f"{API}/admin/products", {**body, "stock": 100_000})
    assert answer.status == 201, answer.body
    admin.close()
    return product_id


def writes_and_reads(
    host: str, port: int, writing_on: int, reading_on: int, product_id: str, count: int
) -> tuple[list[float], list[float]]:
    """Milliseconds of each write on one worker and of each read of it on the other."""
    # the writer is used at once: an idle keep-alive connection is closed after 5 s
    reader = on(host, port, reading_on)
    writer = on(host, port, writing_on)
    session = f"bench-{uuid.uuid4().hex[:8]}"
    writes, reads = [], []
    for n in range(1, count + 1):
        started = time.perf_counter()
        written = writer.call("POST", f"{API}/cart/{session}/add", {"productId": product_id})
        writes.append((time.perf_counter() - started) * 1000)
        assert written.status == 200, written.body
        position = {"X-Log-Position": written.headers["x-log-position"]}
        started = time.perf_counter()
        cart = reader.call("GET", f"{API}/cart/{session}", headers=position)
        reads.append((time.perf_counter() - started) * 1000)
        assert cart.body["lines"][0]["quantity"] == n, cart.body
    writer.close()
    reader.close()
    return writes, reads


def failover_ms(host: str, port: int, leader: int, survivor: int, product_id: str) -> float:
    """From the leader's SIGKILL to the first write the survivor answers 200."""
    worker = on(host, port, survivor)
    started = time.perf_counter()
    os.kill(leader, signal.SIGKILL)
    while True:
        session = f"bench-{uuid.uuid4().hex[:8]}"
        answer = worker.call("POST", f"{API}/cart/{session}/add", {"productId": product_id})
        if answer.status == 200:
            worker.close()
            return (time.perf_counter() - started) * 1000


@contextlib.contextmanager
def _log_on_failure(log: pathlib.Path) -> Iterator[None]:
    """The server's log is in a temporary directory: shown here if the run fails."""
    try:
        yield
    except BaseException:
        print(log.read_text(errors="replace")[-6000:], file=sys.stderr)
        raise


def row(name: str, values: list[float], reference: list[float] | None = None) -> str:
    p50, p90, p99 = (percentile(values, q) for q in (50, 90, 99))
    ratio = "" if reference is None else f"{p50 / statistics.median(reference):.2f}x"
    return f"| {name} | {len(values)} | {p50:.1f} | {p90:.1f} | {p99:.1f} | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=60, help="sequential writes per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--server", default="uvicorn", choices=["uvicorn", "granian"])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    command = shlex.join([".venv/bin/python", "bench/workers_bench.py", *sys.argv[1:]])
    load_before = os.getloadavg()
    timings: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="workers-bench-") as name:
        data = pathlib.Path(name)
        serve = ("--workers", "2", "--server", args.server)
        with server(data, *serve, env=ENV) as base, _log_on_failure(data / "server.log"):
            port = int(base.rsplit(":", 1)[1])
            pids = worker_pids(HOST, port, 2, 300.0)
            time.sleep(SETTLE_S)
            leader = leader_pid(data)
            follower = next(pid for pid in pids if pid != leader)
            product_id = launch(HOST, port, leader)
            for _ in range(args.rounds):
                for label, writing, reading in (
                    ("leader", leader, follower),
                    ("follower", follower, leader),
                ):
                    writes, reads = writes_and_reads(
                        HOST, port, writing, reading, product_id, args.writes
                    )
                    timings.setdefault(f"write on the {label}", []).extend(writes)
                    read = f"read on the other worker after a write on the {label}"
                    timings.setdefault(read, []).extend(reads)
            failover = failover_ms(HOST, port, leader, follower, product_id)
    reference = timings["write on the leader"]
    lines = [
        "# Workers: the write path across `serve --workers 2`, one run",
        "",
        f"Command: `{command}`  ",
        *stamp(load_before),
        "",
        f"`serve --workers 2 --server {args.server}`, processors and sink off; sequential",
        "requests on keep-alive connections chosen by worker; an add to cart each write.",
        "",
        "| measured | n | p50 ms | p90 ms | p99 ms | write p50 / on the leader |",
        "|---|---:|---:|---:|---:|---:|",
        row("write on the leader (decided in process)", reference),
        *(
            row(name, times, reference if name.startswith("write") else None)
            for name, times in timings.items()
            if times is not reference
        ),
        "",
        f"From the leader's SIGKILL to the first write the other worker answered: "
        f"{failover:.0f} ms (it tries the lock every 100 ms, folds the log to its end, then "
        "serves the socket).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        record(RESULTS, text)


if __name__ == "__main__":
    main()
