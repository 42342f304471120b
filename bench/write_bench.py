"""Write path (issue 17, goal 3): add to cart -> `CART_UPDATED` on the user's other device, with
the floor under it measured in the same run.

`.venv/bin/python bench/write_bench.py [--adds 400] [--block 50] [--compare-src DIR]`

Each target is timed in blocks of `--block` sequential writes, the targets in turn, so all see
the same machine load:
- **disk**: a bare durable SQLite commit loop (WAL, `synchronous=FULL`, one row a transaction)
  on the disk the servers' data directories are on;
- **bare ASGI**: `bench/bare_push.py`, POST -> a push on the user's other socket, no disk;
- **floor**: `bench/bare_push.py --db`, the same with one durable commit through a writer
  thread first: the least a durable write and its push cost on this server stack;
- **KartShoppe**: `kartshoppe serve` (embedded, fresh data directory, free port, rate limits
  off): one signed-in user on two devices, each with its WebSocket open (`api_bench.TwoDevices`);
  the phone adds over HTTP, the laptop's socket times the `CART_UPDATED`;
- with `--compare-src` (another checkout's `src`, e.g. `git archive main src`), KartShoppe of
  that code as well, started and timed in turn with this one;
- with `--variant NAME=VALUE[,NAME=VALUE]` (repeatable), this checkout once more with those
  settings (e.g. `KARTSHOPPE_BACKGROUND_NICE=0`), timed in turn with the others.

Printed: p50/p90/p99/max of request sent -> push received, the ratio of each to the floor, and
each server's CPU per write (its CPU from the timed phase's start until it and its children
have settled after it, less its idle rate, the lower of those taken before and after, divided
by the writes: less sensitive to the machine's load than the latency), and likewise its child
processes' (the event-store sink, the processors). Written to
bench/results/write.md with the command, the date and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import pathlib
import pstats
import shlex
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import orjson
from api_bench import HOST, KEEP_ALIVE, Served, TwoDevices, drain, running, served
from catalog_bench import SETTLE_LIMIT_S, SETTLE_WINDOW_S, SETTLED_SHARE
from report import record, stamp
from startup_bench import compile_bytecode, cpu_seconds
from websockets.asyncio.client import ClientConnection, connect

from kartshoppe.infra.ports import free_port

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "write.md"
GOAL_P99_MS = 10.0
FLOOR = "floor: bare ASGI + durable commit"
THIS_CHECKOUT = "KartShoppe, this checkout"
PROFILE_HOOK = ROOT / "bench" / "profile_hook"
PROFILE_VARIABLE = "KARTSHOPPE_BENCH_PROFILE"
PAUSE_HOOK = ROOT / "bench" / "pause_hook"
PAUSES_VARIABLE = "KARTSHOPPE_BENCH_PAUSES"


@dataclass
class Target:
    name: str
    write: Callable[[], Awaitable[float]]
    """One write; ms from sent to pushed (or committed, for the disk)."""
    pid: int | None = None
    """The server's process, whose CPU is counted; None for one in this process."""
    latencies: list[float] = field(default_factory=list)
    idle_cpu_per_s: float = 0.0
    cpu_s: float = 0.0
    children_cpu_s: float = 0.0
    """The same for the server's child processes (the event-store sink, the processors)."""
    profile: pathlib.Path | None = None
    """Where the server's cProfile of the timed phase goes (`bench/profile_hook`), if asked."""
    pauses: pathlib.Path | None = None
    """Where the server's processes record their GC pauses and commits (`bench/pause_hook`)."""


class DiskCommits:
    """One durable SQLite transaction a write, in this process: the disk's own commit latency."""

    def __init__(self, path: pathlib.Path) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, value BLOB)")

    async def write(self) -> float:
        started = time.perf_counter()
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.execute("INSERT INTO rows (value) VALUES (?)", (b"x" * 900,))
        self._conn.execute("COMMIT")
        return (time.perf_counter() - started) * 1000


class BarePair:
    """`bench/bare_push.py`'s two sockets of one user and the POST that pushes to them."""

    def __init__(self, base: str) -> None:
        self._base = base
        self._stack = contextlib.AsyncExitStack()
        self._arrived: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
        self._n = 0

    async def __aenter__(self) -> BarePair:
        url = self._base.replace("http", "ws", 1) + "/ws/bench-user"
        laptop = await self._stack.enter_async_context(connect(url))
        phone = await self._stack.enter_async_context(connect(url))
        self._client = await self._stack.enter_async_context(
            httpx.AsyncClient(base_url=self._base, limits=KEEP_ALIVE)
        )
        self._tasks = [asyncio.create_task(self._listen(laptop))]
        self._tasks.append(asyncio.create_task(drain(phone)))
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stack.aclose()

    async def _listen(self, socket: ClientConnection) -> None:
        async for raw in socket:
            self._arrived.put_nowait((orjson.loads(raw)["cart"]["itemCount"], time.perf_counter()))

    async def write(self) -> float:
        self._n += 1
        started = time.perf_counter()
        response = await self._client.post("/add/bench-user", json={"n": self._n})
        response.raise_for_status()
        while True:
            count, at = await asyncio.wait_for(self._arrived.get(), 10)
            if count == self._n:
                return (at - started) * 1000


async def pushed_ms(devices: TwoDevices) -> float:
    push_ms, _ = await devices.add()
    return push_ms


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def settle(pids: list[int]) -> None:
    """Wait until every server uses less than `SETTLED_SHARE` of a core over a window."""
    deadline = time.monotonic() + SETTLE_LIMIT_S
    while time.monotonic() < deadline:
        before = [cpu_seconds(pid) for pid in pids]
        await asyncio.sleep(SETTLE_WINDOW_S)
        used = [cpu_seconds(pid) - b for pid, b in zip(pids, before, strict=True)]
        if max(used) / SETTLE_WINDOW_S < SETTLED_SHARE:
            return


def children_of(pid: int) -> list[int]:
    """The server's child processes (not their own children: they have none)."""
    children: list[int] = []
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


def children_cpu(pid: int) -> dict[int, float]:
    found = {}
    for child in children_of(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            found[child] = cpu_seconds(child)
    return found


def cpu_now(target: Target) -> tuple[float, dict[int, float]]:
    """The server's CPU so far, and each of its children's."""
    assert target.pid is not None
    return cpu_seconds(target.pid), children_cpu(target.pid)


def used_since(before: dict[int, float], now: dict[int, float]) -> float:
    """CPU the children used between two readings (one started in between counts from 0)."""
    return sum(cpu - before.get(child, 0.0) for child, cpu in now.items())


async def idle_rates(servers: list[Target], idle_s: float) -> dict[str, tuple[float, float]]:
    """Per server, once every server and child has settled: its own and its children's CPU
    per second over `idle_s` of nothing to do."""
    await settle([p for t in servers if t.pid for p in (t.pid, *children_of(t.pid))])
    idle_from = {t.name: cpu_now(t) for t in servers}
    await asyncio.sleep(idle_s)
    rates = {}
    for target in servers:
        assert target.pid is not None
        own, children = idle_from[target.name]
        rates[target.name] = (
            (cpu_seconds(target.pid) - own) / idle_s,
            used_since(children, children_cpu(target.pid)) / idle_s,
        )
    return rates


async def measure(
    targets: list[Target], adds: int, block: int, warmup: int, idle_s: float
) -> float:
    """Warm every target up, take each server's idle CPU rate, then time `adds` writes of each
    target in turn in blocks; the timed phase's seconds. The CPU counted runs on until every
    process has settled again (the children, at a lower priority, may finish the writes' work
    after the last one), less the idle rate over that time: the lower of the rates taken
    before and after (the one before may still hold the tail of the warm-up's work)."""
    for target in targets:
        for _ in range(warmup):
            await target.write()
    # start-up work (the event store opening, the sink storing the seeded catalog) and the
    # warm-up's follow-up work (processors, sink) are done before the idle rate is taken
    servers = [t for t in targets if t.pid is not None]
    idle_before = await idle_rates(servers, idle_s)
    cpu_from = {t.name: cpu_now(t) for t in servers}
    profiled = [t for t in targets if t.profile is not None and t.pid is not None]
    for target in profiled:
        os.kill(target.pid, signal.SIGUSR1)  # type: ignore[arg-type]
    started = time.perf_counter()
    window = [time.monotonic()]
    for done in range(0, adds, block):
        for target in targets:
            for _ in range(min(block, adds - done)):
                target.latencies.append(await target.write())
    phase_s = time.perf_counter() - started
    window.append(time.monotonic())
    await asyncio.sleep(0.5)  # the last writes' follow-up work is counted too
    for target in profiled:
        os.kill(target.pid, signal.SIGUSR2)  # type: ignore[arg-type]
    await settle([p for t in servers if t.pid for p in (t.pid, *children_of(t.pid))])
    counted_s = time.perf_counter() - started
    used = {}
    for target in servers:
        assert target.pid is not None
        own, children = cpu_from[target.name]
        used[target.name] = (
            cpu_seconds(target.pid) - own,
            used_since(children, children_cpu(target.pid)),
        )
    idle_after = await idle_rates(servers, idle_s)
    for target in servers:
        before, after = idle_before[target.name], idle_after[target.name]
        own_rate, children_rate = min(before[0], after[0]), min(before[1], after[1])
        target.idle_cpu_per_s = own_rate
        target.cpu_s = used[target.name][0] - own_rate * counted_s
        target.children_cpu_s = used[target.name][1] - children_rate * counted_s
    PHASE[:] = window
    return phase_s


def wait_gone(pids: list[int], within_s: float = 120.0) -> None:
    """Wait until these processes have exited (or `within_s` has passed)."""
    deadline = time.monotonic() + within_s
    for pid in pids:
        while time.monotonic() < deadline and running_pid(pid):
            time.sleep(0.1)


def running_pid(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


PHASE: list[float] = []
"""The timed phase's start and end, `time.monotonic()`: the pauses recorded in it count."""


def pause_lines(target: Target) -> list[str]:
    """What `bench/pause_hook` recorded in the server's processes during the timed phase:
    GC collections, COMMITs (and the WAL checkpoints in them), waits for the writers' lock."""
    assert target.pauses is not None and target.pid is not None
    roles: dict[int, str] = {}
    events: list[tuple[int, dict[str, object]]] = []
    for file in sorted(target.pauses.glob("*.jsonl")):
        pid = int(file.stem)
        for line in file.read_text().splitlines():
            event = orjson.loads(line)
            if event["kind"] == "start":
                own = pid == target.pid
                orig = event["orig"]
                module = orig[orig.index("-m") + 1] if "-m" in orig[:-1] else orig[-1]
                roles[pid] = "server" if own else f"child {module}"
            elif PHASE[0] <= event["at"] <= PHASE[1]:
                events.append((pid, event))
    lines = [f"{target.name}: pauses in the timed phase ({PHASE[1] - PHASE[0]:.1f} s)"]
    for pid, role in sorted(roles.items(), key=lambda r: r[0] != target.pid):
        mine = [e for p, e in events if p == pid]
        gcs = [e for e in mine if e["kind"] == "gc"]
        by_gen = [[float(e["ms"]) for e in gcs if e["gen"] == g] for g in range(3)]  # type: ignore[arg-type]
        gc_text = ", ".join(
            f"gen{g} {len(ms)}x max {max(ms, default=0):.2f} ms sum {sum(ms):.1f} ms"
            for g, ms in enumerate(by_gen)
        )
        lines.append(f"  {role} ({pid}): GC {gc_text}")
        for db in sorted({str(e["db"]) for e in mine if e["kind"] == "commit"}):
            commits = [e for e in mine if e["kind"] == "commit" and e["db"] == db]
            ms = sorted(float(e["ms"]) for e in commits)  # type: ignore[arg-type]
            ckpt = sorted(float(e["ms"]) for e in commits if e["ckpt"])  # type: ignore[arg-type]
            lines.append(
                f"    {db}: {len(ms)} COMMITs, p50 {percentile(ms, 50):.2f} ms, p99 "
                f"{percentile(ms, 99):.2f} ms, max {ms[-1]:.2f} ms; {len(ckpt)} with a checkpoint"
                + (
                    f" (median {statistics.median(ckpt):.2f} ms, max {ckpt[-1]:.2f} ms)"
                    if ckpt
                    else ""
                )
                if len(ms) > 1
                else f"    {db}: {len(ms)} COMMITs"
            )
        explicit = sorted(float(e["ms"]) for e in mine if e["kind"] == "checkpoint")  # type: ignore[arg-type]
        busy = [ms for ms in explicit if ms > 0.5]
        if explicit:
            lines.append(
                f"    explicit checkpoints: {len(explicit)}, {len(busy)} of them over 0.5 ms "
                f"(median {statistics.median(busy or [0]):.2f} ms, max {explicit[-1]:.2f} ms)"
            )
        waits = sorted(float(e["ms"]) for e in mine if e["kind"] == "flock")  # type: ignore[arg-type]
        if waits:
            lines.append(
                f"    waits > 1 ms for the writers' lock: {len(waits)}, max {waits[-1]:.2f} ms, "
                f"sum {sum(waits):.1f} ms"
            )
    return lines


def hooked(env: dict[str, str], hook: pathlib.Path) -> dict[str, str]:
    """`env` with `hook` first on its PYTHONPATH."""
    path = env.get("PYTHONPATH")
    return env | {"PYTHONPATH": str(hook) + (os.pathsep + path if path else "")}


def settings(assignments: list[str]) -> dict[str, str]:
    """`NAME=VALUE` settings as an environment."""
    return dict(setting.split("=", 1) for setting in assignments)


async def run(args: argparse.Namespace, tmp: pathlib.Path) -> tuple[list[Target], float]:
    codes: dict[str, pathlib.Path | None] = {THIS_CHECKOUT: None}
    if args.compare_src is not None:
        codes = {"KartShoppe, before (--compare-src)": args.compare_src.resolve(), **codes}
    variants = {f"{THIS_CHECKOUT}, {v}": settings(v.split(",")) for v in args.variant}
    compile_bytecode([src or ROOT / "src" for src in codes.values()])
    with contextlib.ExitStack() as processes:
        # a server stopped by force leaves its children finishing their last work in its data
        # directory: the temporary directory is removed once they are gone
        children: list[int] = []
        processes.callback(wait_gone, children)
        bare: dict[str, Served] = {}
        for name, db in (("bare ASGI: POST -> push", None), (FLOOR, tmp / "floor.db")):
            port = free_port()
            command = [sys.executable, str(ROOT / "bench" / "bare_push.py"), "--port", str(port)]
            command += [] if db is None else ["--db", str(db)]
            base = f"http://{HOST}:{port}"
            proc = processes.enter_context(running(command, base, tmp / f"bare-{port}.log"))
            bare[name] = Served(base, proc.pid)
        servers: dict[str, Served] = {}
        pauses: dict[str, pathlib.Path] = {}
        for name, src, variant in [
            *((name, src, {}) for name, src in codes.items()),
            *((name, None, variant) for name, variant in variants.items()),
        ]:
            data = tmp / f"data-{len(servers)}"
            data.mkdir()
            env = settings(args.env) | variant
            if src is not None:
                env["PYTHONPATH"] = str(src)
            elif args.profile is not None and name == THIS_CHECKOUT:
                env = hooked(env, PROFILE_HOOK) | {PROFILE_VARIABLE: str(args.profile)}
            if args.pauses:
                pauses[name] = tmp / f"pauses-{len(servers)}"
                pauses[name].mkdir()
                env = hooked(env, PAUSE_HOOK) | {PAUSES_VARIABLE: str(pauses[name])}
            servers[name] = processes.enter_context(served(data, env=env))
        processes.callback(
            lambda: children.extend(c for s in servers.values() for c in children_of(s.pid))
        )
        async with contextlib.AsyncExitStack() as clients:
            disk = DiskCommits(tmp / "disk.db")
            targets = [Target("disk: durable SQLite commit", disk.write)]
            for name, process in bare.items():
                pair = await clients.enter_async_context(BarePair(process.base))
                targets.append(Target(name, pair.write, process.pid))
            for name, process in servers.items():
                devices = TwoDevices(process.base, args.adds + args.warmup)
                await clients.enter_async_context(devices)
                target = Target(name, functools.partial(pushed_ms, devices), process.pid)
                if name == THIS_CHECKOUT and args.profile is not None:
                    target.profile = args.profile
                target.pauses = pauses.get(name)
                targets.append(target)
            phase_s = await measure(targets, args.adds, args.block, args.warmup, args.idle)
            for target in targets:
                if target.pauses is not None:
                    print("\n".join(pause_lines(target)))
    return targets, phase_s


def report(
    command: str, targets: list[Target], phase_s: float, load_before: tuple[float, float, float]
) -> str:
    floor = next(t for t in targets if t.name == FLOOR)
    adds = len(targets[0].latencies)
    lines = [
        "# Write path: add to cart -> `CART_UPDATED` on the user's other device",
        "",
        f"Command: `{command}`  ",
        *stamp(load_before),
        "",
        f"{adds} sequential writes per target, the targets timed in turn in blocks (timed phase "
        f"{phase_s:.0f} s). Latency: request sent -> push received on the user's other socket "
        "(the disk: one commit). Ratio: to the floor's figure at the same percentile. CPU per "
        "write: the server process's CPU from the timed phase's start until every process has "
        "settled after it, less its idle rate (the lower of those before and after), per write; "
        "its children's (the event-store sink, the processors) likewise. "
        f"Goal: p99 at most {GOAL_P99_MS:g} ms on a quiet machine.",
        "",
        "| target | p50 | p90 | p99 | max | p50 / floor | p99 / floor | server CPU per write "
        "| children's CPU per write |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in targets:
        cuts = [percentile(t.latencies, q) for q in (50, 90, 99)]
        floor_cuts = [percentile(floor.latencies, q) for q in (50, 99)]
        cpu = "" if t.pid is None else f"{t.cpu_s / adds * 1000:.2f} ms"
        children = "" if t.pid is None else f"{t.children_cpu_s / adds * 1000:.2f} ms"
        lines.append(
            f"| {t.name} | {cuts[0]:.2f} ms | {cuts[1]:.2f} ms | {cuts[2]:.2f} ms "
            f"| {max(t.latencies):.2f} ms | {cuts[0] / floor_cuts[0]:.2f}x "
            f"| {cuts[2] / floor_cuts[1]:.2f}x | {cpu} | {children} |"
        )
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adds", type=int, default=400, help="timed writes per target")
    parser.add_argument("--block", type=int, default=50, help="writes per target in a turn")
    parser.add_argument("--warmup", type=int, default=20, help="untimed writes per target first")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle CPU measured")
    parser.add_argument("--compare-src", type=pathlib.Path, help="src folder of the 'before'")
    parser.add_argument(
        "--profile",
        type=pathlib.Path,
        help="cProfile this checkout's server over the timed phase into this file (and print it)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the KartShoppe servers (e.g. KARTSHOPPE_PROCESSORS=off), repeatable",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=VALUE[,NAME=VALUE]",
        help="also time this checkout with these settings, repeatable",
    )
    parser.add_argument(
        "--pauses",
        action="store_true",
        help="record and print the servers' GC pauses, COMMITs and WAL checkpoints",
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    command = shlex.join([".venv/bin/python", "bench/write_bench.py", *sys.argv[1:]])
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="write-bench-") as tmp:
        targets, phase_s = asyncio.run(run(args, pathlib.Path(tmp)))
    text = report(command, targets, phase_s, load_before)
    if args.profile is not None:
        stats = pstats.Stats(str(args.profile))
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
    print(text)
    if not args.no_write:
        record(RESULTS, text)


if __name__ == "__main__":
    main()
