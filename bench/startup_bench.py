"""Start-up and footprint of `kartshoppe serve` (embedded mode): seconds from the process start
to `/ready` on a fresh data directory, and the resident memory once idle.

`.venv/bin/python bench/startup_bench.py [--runs 3] [--idle 30] [--compare-src DIR]`

With `--compare-src` (the `src` folder of another checkout, e.g. the commit before a change,
unpacked with `git archive`), that code is started in turn with this one, run after run, so
both see the same machine load; the medians are printed side by side. Results go to
bench/results/startup.md with the command, the date and the machine's load.
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
from api_bench import HOST, free_port

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "startup.md"
GOAL_READY_S = 2.0
GOAL_RSS_MB = 150.0


def rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def one_start(src: pathlib.Path | None, idle_s: float) -> tuple[float, float]:
    """(seconds to ready, idle RSS in MB) of one fresh start."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as data:
        command = [sys.executable, "-m", "kartshoppe", "serve", "--host", HOST]
        command += ["--port", str(port), "--data-dir", data]
        started = time.perf_counter()
        log = (pathlib.Path(data) / "server.log").open("wb")
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            while True:
                try:
                    if httpx.get(f"http://{HOST}:{port}/ready", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited; see {data}/server.log")
                time.sleep(0.02)
            ready = time.perf_counter() - started
            time.sleep(idle_s)
            return ready, rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--idle", type=float, default=30.0, help="seconds idle before the RSS (store open by then)"
    )
    parser.add_argument("--compare-src", type=pathlib.Path, help="src folder of the 'before'")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    command = shlex.join([".venv/bin/python", "bench/startup_bench.py", *sys.argv[1:]])
    load_before = os.getloadavg()
    codes: dict[str, pathlib.Path | None] = {"this checkout": None}
    if args.compare_src is not None:
        codes = {"before (--compare-src)": args.compare_src.resolve(), **codes}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in codes}
    for _ in range(args.runs):
        for name, src in codes.items():
            results[name].append(one_start(src, args.idle))
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    loads = [", ".join(f"{x:.1f}" for x in load) for load in (load_before, os.getloadavg())]
    lines = [
        "# Start-up and idle footprint of `kartshoppe serve` (embedded, fresh data directory)",
        "",
        f"Command: `{command}`  ",
        f"Date: {date}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work; load "
        f"average before: {loads[0]}, after: {loads[1]}. Python {platform.python_version()}.",
        "",
        f"Median of {args.runs} starts each, taken in turn; RSS after {args.idle:.0f} s idle (the "
        "event store and its sink, opened after `/ready`, loaded by then).",
        "",
        "| code | start -> /ready | vs goal 2 s | idle RSS | vs goal 150 MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        ready = statistics.median(r for r, _ in runs)
        rss = statistics.median(m for _, m in runs)
        lines.append(
            f"| {name} | {ready:.2f} s | {ready / GOAL_READY_S:.2f}x | {rss:.0f} MB "
            f"| {rss / GOAL_RSS_MB:.2f}x |"
        )
    text = "\n".join([*lines, ""])
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
