"""Start-up and footprint of `kartshoppe serve` (embedded mode): seconds from the process start
to `/ready` on a fresh data directory, the resident memory once idle, and the CPU an idle server
uses (over the last 10 s of the idle wait).

The code is compiled to bytecode first (`compileall`, the packages and each `src`), as an
installed deployment has it: with `PYTHONDONTWRITEBYTECODE` set and no `.pyc` files, every
start would compile every module again, which is not what a deployment pays.

`.venv/bin/python bench/startup_bench.py [--runs 3] [--idle 30] [--compare-src DIR]`

With `--compare-src` (the `src` folder of another checkout, e.g. the commit before a change,
unpacked with `git archive`), that code is started in turn with this one, run after run, so
both see the same machine load; the medians are printed side by side. Results go to
bench/results/startup.md with the command, the date and the machine's load.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import os
import pathlib
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

import httpx
from api_bench import HOST, free_port

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "startup.md"
GOAL_READY_S = 2.0
GOAL_RSS_MB = 150.0
CPU_WINDOW_S = 10.0
"""The idle CPU is measured over the last this many seconds of the idle wait."""


def rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def compile_bytecode(sources: list[pathlib.Path]) -> None:
    """Compile the installed packages and the given source trees (up-to-date files are skipped)."""
    for tree in [pathlib.Path(sysconfig.get_paths()["purelib"]), *sources]:
        compileall.compile_dir(tree, quiet=2, workers=0)


def one_start(
    src: pathlib.Path | None, idle_s: float, bytecode: bool = True
) -> tuple[float, float, float]:
    """(seconds to ready, idle RSS in MB, idle CPU in % of a core) of one fresh start;
    without `bytecode`, every module is compiled from source (an empty pycache prefix)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="startup-bench-nopyc-")
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
            window = min(CPU_WINDOW_S, idle_s)
            time.sleep(idle_s - window)
            cpu_before = cpu_seconds(proc.pid)
            time.sleep(window)
            idle_cpu = (cpu_seconds(proc.pid) - cpu_before) / window * 100
            return ready, rss_mb(proc.pid), idle_cpu
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
    parser.add_argument(
        "--also-without-bytecode",
        action="store_true",
        help="also start this checkout with no .pyc files (every module compiled at start)",
    )
    args = parser.parse_args()
    command = shlex.join([".venv/bin/python", "bench/startup_bench.py", *sys.argv[1:]])
    load_before = os.getloadavg()
    codes: dict[str, pathlib.Path | None] = {"this checkout": None}
    if args.compare_src is not None:
        codes = {"before (--compare-src)": args.compare_src.resolve(), **codes}
    compile_bytecode([src or ROOT / "src" for src in codes.values()])
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in codes}
    if args.also_without_bytecode:
        results["this checkout, no bytecode"] = []
    for _ in range(args.runs):
        for name, src in codes.items():
            results[name].append(one_start(src, args.idle))
        if args.also_without_bytecode:
            results["this checkout, no bytecode"].append(one_start(None, args.idle, False))
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
        "event store and its sink, opened after `/ready`, loaded by then); idle CPU over the "
        f"last {min(CPU_WINDOW_S, args.idle):.0f} s of that wait. Bytecode compiled first.",
        "",
        "| code | start -> /ready | vs goal 2 s | idle RSS | vs goal 150 MB | idle CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        ready = statistics.median(r for r, _, _ in runs)
        rss = statistics.median(m for _, m, _ in runs)
        cpu = statistics.median(c for _, _, c in runs)
        lines.append(
            f"| {name} | {ready:.2f} s | {ready / GOAL_READY_S:.2f}x | {rss:.0f} MB "
            f"| {rss / GOAL_RSS_MB:.2f}x | {cpu:.1f} % of a core |"
        )
    text = "\n".join([*lines, ""])
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
