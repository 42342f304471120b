"""Catalog reads against two references in the same run: nginx serving the same bytes from
files, and a bare ASGI app (`bench/bare_asgi.py`) answering them on the same HTTP server as
KartShoppe; a floor too, a bare asyncio protocol on uvloop writing the same bytes with no HTTP
server at all (`bench/floor_protocol.py`: what Python can do on this machine). Prints, per
path, KartShoppe / nginx (goal: at least 0.5) and the edge's cost, 1 - KartShoppe / bare on the
same server (goal: at most 25 %).

`.venv/bin/python bench/catalog_bench.py [--seconds 3] [--rounds 3] [--servers uvicorn,granian]
[--workers 2]`

With `--compare-src DIR` (a `src` folder of another commit, e.g. `git archive main src`
unpacked), that code also runs as `before/<server>` on each server, in the same rounds, for a
before/after from one run.

With `--workers N`, KartShoppe also runs as `serve --workers N` on each server, measured in the
same rounds, and the ratio N workers / 1 worker is printed (goal 6 of issue 17: the scaling
with cores; on a machine whose cores are busy with other work it is blunted).

It installs nginx and wrk when missing (scripts/install-bench-tools.sh), starts every server
itself on free loopback ports, one process each, and runs the same wrk (one thread, 32
connections) against each in turn, round after round, so that a burst of other work on this
shared machine falls on every target alike; the median round counts. KartShoppe runs with its
whole edge on: rate limits (a browse limit too high to refuse this load, so it is checked on
every request), metrics, access logs at info, request ids; it is measured once settled (its
event-store sink done with the seeded catalog, its CPU use idle), like the references. Results go to
bench/results/catalog.md with the command, the date and the machine's load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
from api_bench import API, HOST, run_wrk
from report import record, stamp

from kartshoppe.infra.ports import free_port

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "catalog.md"
EDGE_ON = {
    "KARTSHOPPE_RATE_BROWSE": "1000000/1000000",
    "KARTSHOPPE_LOG_LEVEL": "info",
}
"""One address sends all the load: a browse limit it cannot reach keeps the check in the path."""
NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  keepalive_requests 1000000;
  sendfile on;
  tcp_nopush on;
  server {{
    listen {host}:{port};
    root {root};
    default_type application/json;
    location / {{ try_files $uri =404; }}
  }}
}}
"""


@dataclass(frozen=True)
class Running:
    """A started server: its address and its process group (its CPU time is counted)."""

    base: str
    group: int


@dataclass(frozen=True)
class Target:
    name: str
    base: str
    group: int
    workers: int = 1


FLOOR = "floor/uvloop"
"""`bench/floor_protocol.py`: a bare asyncio protocol writing the same bytes, no HTTP server."""
SETTLED_SHARE = 0.15
"""A server counts as settled (its start-up work done) below this share of a core for
`SETTLE_WINDOW_S`."""
SETTLE_WINDOW_S = 3.0
SETTLE_LIMIT_S = 300.0


def group_cpu_seconds(group: int) -> float:
    """CPU time used so far by the processes of a process group (a server and its workers)."""
    ticks = 0
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[2]) == group:
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(group: int) -> float:
    """Wait until the server is idle: KartShoppe's event-store sink writes the seeded catalog
    to Paimon for a while after `/ready`, which is start-up work, not serving. Returns the share
    of a core it used in its last window."""
    deadline = time.monotonic() + SETTLE_LIMIT_S
    while True:
        before = group_cpu_seconds(group)
        time.sleep(SETTLE_WINDOW_S)
        share = (group_cpu_seconds(group) - before) / SETTLE_WINDOW_S
        if share < SETTLED_SHARE or time.monotonic() > deadline:
            return share


def _wait_ready(base: str, path: str, proc: subprocess.Popen[bytes], log: pathlib.Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base + path, timeout=2).status_code == 200:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{base} did not start; see {log}")
        time.sleep(0.1)


@contextlib.contextmanager
def process(
    command: Callable[[int], list[str]],
    log: pathlib.Path,
    ready_path: str,
    env: dict[str, str] | None = None,
    settled: bool = False,
) -> Iterator[Running]:
    """The `command` for a free port, until it answers `ready_path`; stopped after."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command(port),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    base = f"http://{HOST}:{port}"
    try:
        _wait_ready(base, ready_path, proc, log)
        if settled:
            share = settle(proc.pid)
            print(f"{log.parent.name} settled at {share:.0%} of a core", file=sys.stderr)
        yield Running(base, proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


Server = contextlib.AbstractContextManager[Running]


def kartshoppe(
    tmp: pathlib.Path, server: str, workers: int = 1, src: pathlib.Path | None = None
) -> Server:
    """KartShoppe as installed, or from the source folder `src` (`--compare-src`)."""
    data = tmp / f"kartshoppe-{server}-x{workers}{'-before' if src else ''}"
    data.mkdir()
    env = EDGE_ON | ({"PYTHONPATH": str(src)} if src else {})

    def command(port: int) -> list[str]:
        return [
            *(sys.executable, "-m", "kartshoppe", "serve", "--host", HOST, "--port", str(port)),
            *("--data-dir", str(data), "--server", server, "--workers", str(workers)),
        ]

    return process(command, data / "server.log", "/ready", env, settled=True)


def bare(tmp: pathlib.Path, root: pathlib.Path, server: str) -> Server:
    script = str(ROOT / "bench" / "bare_asgi.py")

    def command(port: int) -> list[str]:
        return [
            sys.executable,
            script,
            "--root",
            str(root),
            "--port",
            str(port),
            "--server",
            server,
        ]

    return process(command, tmp / f"bare-{server}.log", f"{API}/products")


def floor(tmp: pathlib.Path, root: pathlib.Path) -> Server:
    script = str(ROOT / "bench" / "floor_protocol.py")

    def command(port: int) -> list[str]:
        return [sys.executable, script, "--root", str(root), "--port", str(port)]

    return process(command, tmp / "floor.log", f"{API}/products")


def nginx(tmp: pathlib.Path, root: pathlib.Path) -> Server:
    conf = tmp / "nginx.conf"

    def command(port: int) -> list[str]:
        conf.write_text(NGINX_CONF.format(tmp=tmp, host=HOST, port=port, root=root))
        return ["nginx", "-c", str(conf)]

    return process(command, tmp / "nginx.log", f"{API}/products")


def raw_size(url: str, coding: str) -> int:
    """Bytes on the wire for one response in `coding`."""
    with httpx.stream("GET", url, headers={"Accept-Encoding": coding}) as response:
        return sum(len(chunk) for chunk in response.iter_raw())


def catalog_files(base: str, root: pathlib.Path) -> list[str]:
    """The catalog's bytes as KartShoppe answers them, written where nginx finds them; the
    product paths, in turn."""
    items = httpx.get(f"{base}{API}/products", params={"pageSize": 100}).json()["items"]
    paths = [f"{API}/products", *(f"{API}/product/{item['id']}" for item in items)]
    for path in paths:
        file = root / path.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(httpx.get(base + path).content)
    return paths[1:]


@dataclass(frozen=True)
class Scenario:
    name: str
    paths: list[str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Measured:
    rate: float
    """Requests a second, median of the rounds."""
    cpu_us: float
    """The server's CPU time a request (all its threads and processes), median of the rounds:
    unlike the rate, hardly moved by what else runs on the machine."""
    cores: float
    """The CPU the server's processes used while measured, in cores (CPU s / wall s), median
    of the rounds: several workers can only scale as far as the machine had cores to spare."""


def measure(
    targets: list[Target], scenarios: list[Scenario], seconds: int, rounds: int, connections: int
) -> dict[tuple[str, str], Measured]:
    """Each (target, scenario) over `rounds` interleaved rounds."""
    rates: dict[tuple[str, str], list[float]] = {}
    costs: dict[tuple[str, str], list[float]] = {}
    used: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for scenario in scenarios:
            for target in targets:
                cpu_before, wall = group_cpu_seconds(target.group), time.monotonic()
                result = run_wrk(
                    scenario.name,
                    scenario.paths,
                    target.base,
                    seconds,
                    connections,
                    threads=1,
                    headers=scenario.headers,
                )
                cpu = group_cpu_seconds(target.group) - cpu_before
                wall = time.monotonic() - wall
                if result.errors:
                    raise RuntimeError(f"{target.name}: {result.errors} errors on {scenario.name}")
                key = (target.name, scenario.name)
                rates.setdefault(key, []).append(result.rate)
                costs.setdefault(key, []).append(cpu / result.requests * 1e6)
                used.setdefault(key, []).append(cpu / wall)
    return {
        key: Measured(
            statistics.median(values),
            statistics.median(costs[key]),
            statistics.median(used[key]),
        )
        for key, values in rates.items()
    }


def report(
    command: str,
    targets: list[Target],
    scenarios: list[Scenario],
    compressed: list[Scenario],
    measured: dict[tuple[str, str], Measured],
    load_before: tuple[float, float, float],
    servers: list[str],
    sizes: dict[str, int],
) -> str:
    rates = {key: m.rate for key, m in measured.items()}
    lines = [
        "# Catalog reads: KartShoppe against nginx and a bare ASGI app, one run",
        "",
        f"Command: `{command}`  ",
        *stamp(load_before),
        "",
        "Every server is one process on loopback (but the `xN` targets: `serve --workers N`);",
        "the load generator is the same `wrk -t1 -c32` for all, targets taken in turn, round",
        "after round (median of the rounds).",
        "",
        "| target | " + " | ".join(s.name for s in scenarios) + " |",
        "|---|" + "---:|" * len(scenarios),
    ]
    for target in targets:
        cells = [f"{rates[(target.name, s.name)]:,.0f} req/s" for s in scenarios]
        lines.append(f"| {target.name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Server CPU time a request (all the server's threads and processes over the wrk run,",
        "median of the rounds; hardly moved by the machine's load, unlike the rates):",
        "",
        "| target | " + " | ".join(s.name for s in scenarios) + " |",
        "|---|" + "---:|" * len(scenarios),
    ]
    for target in targets:
        cells = [f"{measured[(target.name, s.name)].cpu_us:,.0f} us" for s in scenarios]
        lines.append(f"| {target.name} | " + " | ".join(cells) + " |")
    lines += ["", "| ratio | " + " | ".join(s.name for s in scenarios) + " | goal |"]
    lines.append("|---|" + "---:|" * (len(scenarios) + 1))
    named = {t.name for t in targets}
    for server, ks in [
        (each, name)
        for each in servers
        for name in (f"before/{each}", f"kartshoppe/{each}")
        if name in named
    ]:
        ref = f"bare/{server}"
        vs_nginx = [rates[(ks, s.name)] / rates[("nginx", s.name)] for s in scenarios]
        edge = [1 - rates[(ks, s.name)] / rates[(ref, s.name)] for s in scenarios]
        lines.append(
            f"| {ks} / nginx | " + " | ".join(f"{r:.2f}x" for r in vs_nginx) + " | >= 0.50x |"
        )
        lines.append(
            f"| edge cost on {server} (1 - {ks} / {ref}) | "
            + " | ".join(f"{e:.0%}" for e in edge)
            + " | <= 25 % |"
        )
    for target in (t for t in targets if t.workers > 1):
        single = target.name.rsplit(" ", 1)[0]
        scaling = [rates[(target.name, s.name)] / rates[(single, s.name)] for s in scenarios]
        lines.append(
            f"| {target.name} / {single} (workers) | "
            + " | ".join(f"{r:.2f}x" for r in scaling)
            + f" | up to {target.workers}.00x |"
        )
    if FLOOR in named:
        least = [rates[(FLOOR, s.name)] / rates[("nginx", s.name)] for s in scenarios]
        lines.append(
            f"| {FLOOR} / nginx (the least Python does) | "
            + " | ".join(f"{r:.2f}x" for r in least)
            + " | |"
        )
    if len(servers) > 1:
        first, second = servers[0], servers[1]
        choice = [
            rates[(f"bare/{second}", s.name)] / rates[(f"bare/{first}", s.name)] for s in scenarios
        ]
        lines.append(
            f"| bare/{second} / bare/{first} | " + " | ".join(f"{r:.2f}x" for r in choice) + " | |"
        )
    if any(t.workers > 1 for t in targets):
        lines += [
            "",
            "## Several workers: the cores each target got while measured",
            "",
            "CPU seconds of the server's processes over the wall seconds of its runs (median of",
            "the rounds): the scaling can only follow the cores the machine had to spare.",
            "",
            "| target | " + " | ".join(f"{s.name}: cores, req/s a core" for s in scenarios) + " |",
            "|---|" + "---:|" * len(scenarios),
        ]
        for target in [t for t in targets if t.name.startswith("kartshoppe")]:
            got = [measured[(target.name, s.name)] for s in scenarios]
            cells = [f"{m.cores:.2f}, {m.rate / max(m.cores, 0.01):,.0f}" for m in got]
            lines.append(f"| {target.name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Compression of `GET /products` (cost and gain)",
        "",
        "| target | coding | bytes a response | req/s | vs identity |",
        "|---|---|---:|---:|---:|",
    ]
    for target in (t for t in targets if t.name.startswith("kartshoppe") and t.workers == 1):
        plain = rates[(target.name, scenarios[0].name)]
        lines.append(f"| {target.name} | identity | {sizes['identity']:,} | {plain:,.0f} | 1.00x |")
        for scenario in compressed:
            coding = scenario.headers["Accept-Encoding"]
            rate = rates[(target.name, scenario.name)]
            lines.append(
                f"| {target.name} | {coding} | {sizes[coding]:,} | {rate:,.0f} "
                f"| {rate / plain:.2f}x |"
            )
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--servers", default="uvicorn,granian", help="HTTP servers to compare")
    parser.add_argument(
        "--workers", type=int, default=1, help="also serve --workers N (N > 1) on each server"
    )
    parser.add_argument(
        "--compare-src",
        type=pathlib.Path,
        help="also serve the code of this src folder (before/<server>), in the same rounds",
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    # settings given to the servers through the environment (KARTSHOPPE_PROCESSORS=off, ...)
    given = [f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("KARTSHOPPE_")]
    command = shlex.join([*given, ".venv/bin/python", "bench/catalog_bench.py", *sys.argv[1:]])
    subprocess.run(["bash", str(ROOT / "scripts" / "install-bench-tools.sh")], check=True)
    servers = args.servers.split(",")
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="catalog-bench-") as name,
        contextlib.ExitStack() as stack,
    ):
        tmp = pathlib.Path(name)
        root = tmp / "root"

        def started(name: str, server: Server, workers: int = 1) -> Target:
            running = stack.enter_context(server)
            return Target(name, running.base, running.group, workers)

        targets = [started(f"kartshoppe/{s}", kartshoppe(tmp, s)) for s in servers]
        product_paths = catalog_files(targets[0].base, root)
        if args.compare_src:
            src = args.compare_src.resolve()
            targets += [started(f"before/{s}", kartshoppe(tmp, s, src=src)) for s in servers]
        targets.insert(0, started("nginx", nginx(tmp, root)))
        targets.insert(1, started(FLOOR, floor(tmp, root)))
        targets[1:1] = [started(f"bare/{s}", bare(tmp, root, s)) for s in servers]
        if args.workers > 1:
            targets += [
                started(
                    f"kartshoppe/{s} x{args.workers}",
                    kartshoppe(tmp, s, args.workers),
                    args.workers,
                )
                for s in servers
            ]
        scenarios = [
            Scenario("GET /products", [f"{API}/products"], {}),
            Scenario("GET /product/{id}", product_paths, {}),
        ]
        rates = measure(targets, scenarios, args.seconds, args.rounds, args.connections)
        compressed = [
            Scenario(
                f"GET /products, Accept-Encoding: {coding}",
                [f"{API}/products"],
                {"Accept-Encoding": coding},
            )
            for coding in ("gzip", "zstd")
        ]
        ks = [t for t in targets if t.name.startswith("kartshoppe") and t.workers == 1]
        rates |= measure(ks, compressed, args.seconds, args.rounds, args.connections)
        url = f"{ks[0].base}{API}/products"
        sizes = {coding: raw_size(url, coding) for coding in ("identity", "gzip", "zstd")}
    text = report(command, targets, scenarios, compressed, rates, load_before, servers, sizes)
    print(text)
    if not args.no_write:
        record(RESULTS, text)


if __name__ == "__main__":
    main()
