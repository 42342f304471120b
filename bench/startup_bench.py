"""Start-up and footprint of `kartshoppe serve` (embedded mode): seconds from the process start
to `/ready` on a fresh data directory, the CPU time the server process used to get there (which
load does not inflate as it does the seconds), the resident memory of the serving process once
idle and that of its children (the event-store sink, the processors), and the CPU an idle
server uses (over the last 10 s of the idle wait).

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
import contextlib
import os
import pathlib
import shlex
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass

import httpx
from api_bench import HOST
from report import record, stamp

from kartshoppe.infra.ports import free_port

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "startup.md"
GOAL_READY_S = 2.0
GOAL_RSS_MB = 150.0
STOP_S = 60.0
CPU_WINDOW_S = 10.0
"""The idle CPU is measured over the last this many seconds of the idle wait."""


def rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def children(pid: int) -> list[int]:
    return [
        int(child)
        for task in pathlib.Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def children_rss_mb(pid: int) -> float:
    """The resident memory of the process's children (the event-store sink, the processors)."""
    total = 0.0
    for child in children(pid):
        with contextlib.suppress(FileNotFoundError, RuntimeError):
            total += rss_mb(child)
    return total


def wait_gone(pids: list[int], within_s: float) -> None:
    """Wait for processes that are not ours to reap (the server's children) to end."""
    deadline = time.monotonic() + within_s
    while any(pathlib.Path(f"/proc/{pid}").exists() for pid in pids):
        if time.monotonic() > deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def compile_bytecode(sources: list[pathlib.Path]) -> None:
    """Compile the installed packages and the given source trees (up-to-date files are skipped)."""
    for tree in [pathlib.Path(sysconfig.get_paths()["purelib"]), *sources]:
        compileall.compile_dir(tree, quiet=2, workers=0)


@dataclass(frozen=True)
class Start:
    ready_s: float
    ready_cpu_s: float
    """CPU time of the server process from its start to `/ready`."""
    rss_mb: float
    children_rss_mb: float
    idle_cpu: float
    """% of a core."""


def one_start(src: pathlib.Path | None, idle_s: float, bytecode: bool = True) -> Start:
    """One fresh start; without `bytecode`, every module is compiled from source (an empty
    pycache prefix)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="startup-bench-nopyc-")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="startup-bench-", ignore_cleanup_errors=True) as data:
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
            ready_cpu = cpu_seconds(proc.pid)
            window = min(CPU_WINDOW_S, idle_s)
            time.sleep(idle_s - window)
            cpu_before = cpu_seconds(proc.pid)
            time.sleep(window)
            idle_cpu = (cpu_seconds(proc.pid) - cpu_before) / window * 100
            return Start(ready, ready_cpu, rss_mb(proc.pid), children_rss_mb(proc.pid), idle_cpu)
        finally:
            # the sink's last drain writes into the data directory: wait for it before removing
            sink = children(proc.pid)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            wait_gone(sink, STOP_S)
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
    results: dict[str, list[Start]] = {name: [] for name in codes}
    if args.also_without_bytecode:
        results["this checkout, no bytecode"] = []
    for _ in range(args.runs):
        for name, src in codes.items():
            results[name].append(one_start(src, args.idle))
        if args.also_without_bytecode:
            results["this checkout, no bytecode"].append(one_start(None, args.idle, False))
    lines = [
        "# Start-up and idle footprint of `kartshoppe serve` (embedded, fresh data directory)",
        "",
        f"Command: `{command}`  ",
        *stamp(load_before),
        "",
        f"Median of {args.runs} starts each, taken in turn; RSS after {args.idle:.0f} s idle, of "
        "the serving process and of its children (the event-store sink and the processors, "
        "when they run in processes of their own); CPU to ready: user and system time of the "
        "serving process up to `/ready`; idle CPU over the last "
        f"{min(CPU_WINDOW_S, args.idle):.0f} s of the wait. "
        "Bytecode compiled first.",
        "",
        "| code | start -> /ready | vs goal 2 s | CPU to ready | idle RSS | vs goal 150 MB "
        "| children's RSS | idle CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        ready = statistics.median(r.ready_s for r in runs)
        cpu_to_ready = statistics.median(r.ready_cpu_s for r in runs)
        rss = statistics.median(r.rss_mb for r in runs)
        children = statistics.median(r.children_rss_mb for r in runs)
        cpu = statistics.median(r.idle_cpu for r in runs)
        lines.append(
            f"| {name} | {ready:.2f} s | {ready / GOAL_READY_S:.2f}x | {cpu_to_ready:.2f} s "
            f"| {rss:.0f} MB | {rss / GOAL_RSS_MB:.2f}x | {children:.0f} MB "
            f"| {cpu:.1f} % of a core |"
        )
    text = "\n".join([*lines, ""])
    print(text)
    if not args.no_write:
        # newest first, the earlier records kept below
        record(RESULTS, text)


if __name__ == "__main__":
    main()
