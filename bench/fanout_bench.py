"""WebSocket fan-out: N open sockets on one `kartshoppe serve` process (embedded mode), the
server's resident memory with them open, and how long a price change takes to reach every one.

`.venv/bin/python bench/fanout_bench.py [--sockets 10000] [--clients 4] [--rounds 3]
[--compare-src DIR]`

It starts the server itself on a free loopback port (rate limits off, log level warning: the
load comes from one address), raises the open-file limit to the hard limit (children inherit
it), and opens the sockets from `--clients` separate client processes. A client is a minimal
WebSocket speaker on uvloop (handshake offering permessage-deflate as a browser does, frame
parsing, pongs), so the client side costs a few microseconds a message and reports its CPU. For
each round the operator changes a product's price through `POST /admin/products/{id}/price`;
the time from just before that request to each socket's `PRODUCT_UPDATED` frame carrying the
new price is one sample (wall clock, one machine). Goals (issue 17, goal 2): RSS at most 400
MB with 10,000 sockets, p99 at most 500 ms. With `--compare-src` (the `src` folder of another
checkout, e.g. `git archive main src`) that code is measured first, the same way, in the same
run. Results go to bench/results/fanout.md with the command, the date and the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime
import json
import os
import pathlib
import platform
import resource
import shlex
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, cast

import httpx
from api_bench import API, HOST
from report import record

from kartshoppe.eventstore.sink_process import MODULE as SINK_MODULE
from kartshoppe.infra.ports import free_port
from kartshoppe.processors_process import MODULE as PROCESSORS_MODULE

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "fanout.md"
GOAL_RSS_MB = 400.0
GOAL_P99_MS = 500.0
OPERATOR = {"email": "operator@kartshoppe.dev", "password": "operator-demo-pass"}
SERVER_ENV = {
    **{f"KARTSHOPPE_RATE_{name}": "off" for name in ("BROWSE", "CART", "WS")},
    "KARTSHOPPE_LOG_LEVEL": "warning",
}
BROWSER_EXTENSIONS = "permessage-deflate; client_max_window_bits"
"""What Chromium offers in `Sec-WebSocket-Extensions`: the server decides whether to compress."""
OPENING_AT_ONCE = 64
"""Handshakes in flight per client process."""
DELIVERY_TIMEOUT_S = 60.0


# ---------------------------------------------------------------- client process


@dataclass(eq=False)
class Socket(asyncio.Protocol):
    """One WebSocket of the load client: the handshake, then server frames, pongs answered."""

    request: bytes
    opened: asyncio.Future[bool]
    marker: list[bytes]
    arrived: dict[int, float]
    index: int
    transport: asyncio.Transport | None = None
    buffer: bytearray = field(default_factory=bytearray)
    upgraded: bool = False
    inflater: zlib._Decompress | None = None
    closed: bool = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_result(False)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            del self.buffer[: end + 4]
            self.upgraded = head.startswith(b"http/1.1 101")
            if b"permessage-deflate" in head:
                self.inflater = zlib.decompressobj(-15)
            self.opened.set_result(self.upgraded)
        self._frames()

    def _frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            first, second = buf[0], buf[1] & 0x7F
            start = 2
            if second == 126:
                if len(buf) < 4:
                    return
                second, start = struct.unpack_from("!H", buf, 2)[0], 4
            elif second == 127:
                if len(buf) < 10:
                    return
                second, start = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < start + second:
                return
            payload = bytes(buf[start : start + second])
            del buf[: start + second]
            self._frame(first, payload)

    def _frame(self, first: int, payload: bytes) -> None:
        opcode = first & 0x0F
        if opcode == 0x9:  # ping
            self.send(0xA, payload)
            return
        if opcode == 0x8:
            self.closed = True
            return
        if first & 0x40 and self.inflater is not None:
            payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
        if self.marker and all(m in payload for m in self.marker):
            self.arrived.setdefault(self.index, time.time())

    def send(self, opcode: int, payload: bytes) -> None:
        """A masked frame (clients must mask); payloads here are pongs, under 126 bytes."""
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        if self.transport is not None:
            self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)


def _request(port: int, path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Extensions: {BROWSER_EXTENSIONS}\r\n\r\n"
    ).encode()


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def client(port: int, count: int, name: str) -> None:
    """Open `count` sockets, then follow the parent's lines on stdin: `EXPECT <marker>...`
    arms every socket for a frame holding all markers and answers `DONE <json>` once all have
    it (or after the timeout); `QUIT` ends."""
    loop = asyncio.get_running_loop()
    marker: list[bytes] = []
    arrived: dict[int, float] = {}
    sockets: list[Socket] = []
    gate = asyncio.Semaphore(OPENING_AT_ONCE)

    async def open_one(i: int) -> None:
        async with gate:
            opened: asyncio.Future[bool] = loop.create_future()
            request = _request(port, f"/ecommerce/{name}-{i}/anonymous")
            sock = Socket(request, opened, marker, arrived, i)
            with contextlib.suppress(OSError):
                await loop.create_connection(lambda: sock, HOST, port)
                if await opened:
                    sockets.append(sock)

    started = time.monotonic()
    await asyncio.gather(*(open_one(i) for i in range(count)))
    compressed = sum(s.inflater is not None for s in sockets)
    _say(
        "READY",
        {"open": len(sockets), "asked": count, "deflate": compressed, "cpu_s": _cpu_s()}
        | {"seconds": time.monotonic() - started},
    )
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().split():
        if line[0] == "QUIT":
            break
        marker[:] = [m.encode() for m in line[1:]]
        arrived.clear()
        cpu = _cpu_s()
        _say("ARMED", {})
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        while time.monotonic() < deadline and any(
            not s.closed and s.index not in arrived for s in sockets
        ):
            await asyncio.sleep(0.02)
        closed = sum(s.closed for s in sockets)
        _say(
            "DONE",
            {"arrivals": list(arrived.values()), "open": len(sockets) - closed}
            | {"closed": closed, "cpu_s": _cpu_s() - cpu, "cpu_total_s": _cpu_s()},
        )
    for sock in sockets:
        if sock.transport is not None:
            sock.transport.close()


def _say(kind: str, body: Mapping[str, object]) -> None:
    sys.stdout.write(f"{kind} {json.dumps(body)}\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- parent


def raise_fd_limit() -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def group_stats(group: int) -> Iterator[tuple[pathlib.Path, list[str]]]:
    """The /proc folder and stat fields of each process in a process group (the server and,
    on granian, its worker)."""
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:
                yield stat.parent, fields


BACKGROUND: Final = (PROCESSORS_MODULE, SINK_MODULE)
"""The server's children that serve no socket: their memory is not the fan-out's."""


def background(folder: pathlib.Path) -> bool:
    with contextlib.suppress(OSError):
        argv = (folder / "cmdline").read_bytes().split(b"\0")
        return any(module.encode() in argv for module in BACKGROUND)
    return False


def rss_mb(group: int, serving: bool = True) -> float:
    """The resident memory of the processes that serve sockets (`serving`: the server, and
    granian's worker), or of the server's background children (the event-store sink, the
    processors)."""
    total = 0
    for folder, _ in group_stats(group):
        if background(folder) == serving:
            continue
        with contextlib.suppress(OSError):
            for line in (folder / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def cpu_s(group: int) -> float:
    ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in group_stats(group))
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Client:
    proc: subprocess.Popen[str]

    def expect(self, kind: str) -> dict[str, object]:
        assert self.proc.stdout is not None
        while line := self.proc.stdout.readline():
            head, _, body = line.partition(" ")
            if head == kind:
                parsed: dict[str, object] = json.loads(body)
                return parsed
        raise RuntimeError(f"load client exited before {kind}")

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()


@dataclass
class Run:
    code: str
    sockets_open: int
    open_seconds: float
    deflate: int
    rss_idle: float
    rss_open: float
    rss_after: float
    rss_background: float
    latencies_ms: list[float]
    missing: int
    server_cpu_s: float
    client_cpu_s: list[float]
    rounds: int

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("inf")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def new_price(price: Decimal, round_no: int) -> Decimal:
    """A price unlike the last, whose cents end in a non-zero digit, so its text is the same
    whether the JSON carries it as a number (`12.3` would drop a zero) or a string."""
    price += Decimal("0.37") + round_no
    return price + Decimal("0.01") if price % Decimal("0.1") == 0 else price


@contextlib.contextmanager
def server(
    src: pathlib.Path | None, tmp: pathlib.Path, http_server: str
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    env = {**os.environ, **SERVER_ENV}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    port = free_port()
    data = pathlib.Path(tempfile.mkdtemp(prefix="fanout-", dir=tmp))
    command = [sys.executable, "-m", "kartshoppe", "serve", "--host", HOST]
    command += ["--port", str(port), "--data-dir", str(data), "--server", http_server]
    with (data / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 300
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://{HOST}:{port}/ready", timeout=5).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start; see {data}/server.log")
            time.sleep(0.1)
        yield proc, port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def measure(
    code: str, src: pathlib.Path | None, tmp: pathlib.Path, args: argparse.Namespace
) -> Run:
    with server(src, tmp, args.server) as (proc, port):
        base = f"http://{HOST}:{port}{API}"
        token = httpx.post(f"{base}/auth/login", json=OPERATOR, timeout=30).json()["token"]
        operator = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        product = operator.get("/products").json()["items"][0]
        time.sleep(args.idle)
        rss_idle = rss_mb(proc.pid)
        per_client = [args.sockets // args.clients] * args.clients
        per_client[0] += args.sockets - sum(per_client)
        started = time.monotonic()
        clients = [
            Client(
                subprocess.Popen(
                    [sys.executable, __file__, "--client", str(port), str(n), f"c{k}"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
            for k, n in enumerate(per_client)
        ]
        try:
            ready = [c.expect("READY") for c in clients]
            open_seconds = time.monotonic() - started
            time.sleep(3)
            rss_open = rss_mb(proc.pid)
            rss_background = rss_mb(proc.pid, serving=False)
            latencies: list[float] = []
            missing = 0
            client_cpu = [0.0] * len(clients)
            server_cpu = 0.0
            price = Decimal(str(product["price"]))
            for r in range(args.rounds):
                price = new_price(price, r)
                for c in clients:
                    c.tell(f"EXPECT PRODUCT_UPDATED {product['id']} {price}")
                for c in clients:
                    c.expect("ARMED")
                cpu_before = cpu_s(proc.pid)
                sent = time.time()
                changed = operator.post(
                    f"/admin/products/{product['id']}/price", json={"price": str(price)}
                )
                changed.raise_for_status()
                for k, c in enumerate(clients):
                    done = c.expect("DONE")
                    arrivals = done["arrivals"]
                    assert isinstance(arrivals, list)
                    latencies += [(t - sent) * 1000 for t in arrivals]
                    missing += int(str(done["open"])) - len(arrivals)
                    client_cpu[k] += float(str(done["cpu_s"]))
                server_cpu += cpu_s(proc.pid) - cpu_before
                time.sleep(1)
            rss_after = rss_mb(proc.pid)
        finally:
            for c in clients:
                with contextlib.suppress(BrokenPipeError):
                    c.tell("QUIT")
            for c in clients:
                try:
                    c.proc.wait(30)
                except subprocess.TimeoutExpired:
                    c.proc.kill()
        operator.close()
    return Run(
        code=code,
        sockets_open=sum(int(str(r["open"])) for r in ready),
        open_seconds=open_seconds,
        deflate=sum(int(str(r["deflate"])) for r in ready),
        rss_idle=rss_idle,
        rss_open=rss_open,
        rss_after=rss_after,
        rss_background=rss_background,
        latencies_ms=latencies,
        missing=missing,
        server_cpu_s=server_cpu,
        client_cpu_s=client_cpu,
        rounds=args.rounds,
    )


def report(command: str, runs: list[Run], args: argparse.Namespace, load: str) -> str:
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    after = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "# WebSocket fan-out: one `kartshoppe serve` process (embedded), a price change to all",
        "",
        f"Command: `{command}`  ",
        f"Date: {date}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work; load "
        f"average before: {load}, after: {after}. Python {platform.python_version()}.",
        "",
        f"HTTP server: {args.server}. "
        f"{args.sockets:,} sockets asked for from {args.clients} client processes (minimal "
        "WebSocket clients on uvloop, offering permessage-deflate as browsers do); "
        f"{args.rounds} price changes, each timed from just before the operator's request to "
        "every socket's `PRODUCT_UPDATED` frame. RSS idle after "
        f"{args.idle:.0f} s, then with the sockets open, then after the rounds: of the "
        "processes that serve the sockets; the server's background children (the event-store "
        "sink, the processors) in a column of their own, with the sockets open. Server CPU: "
        "all of them.",
        "",
        "| code | sockets open | compressed | opened in | RSS idle | RSS open | RSS after | "
        "background RSS | per socket | p50 | p99 | max | not delivered | server CPU / round | "
        "client CPU / round (each) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        per_socket = (run.rss_open - run.rss_idle) * 1024 / max(1, run.sockets_open)
        clients = ", ".join(f"{c / run.rounds:.2f} s" for c in run.client_cpu_s)
        lines.append(
            f"| {run.code} | {run.sockets_open:,} | {run.deflate:,} | {run.open_seconds:.0f} s "
            f"| {run.rss_idle:.0f} MB | {run.rss_open:.0f} MB | {run.rss_after:.0f} MB "
            f"| {run.rss_background:.0f} MB | {per_socket:.1f} KB | {run.percentile(0.5):.0f} ms "
            f"| {run.percentile(0.99):.0f} ms | {run.percentile(1.0):.0f} ms | {run.missing} "
            f"| {run.server_cpu_s / run.rounds:.2f} s | {clients} |"
        )
    lines += ["", "| code | RSS / goal 400 MB | p99 / goal 500 ms |", "|---|---:|---:|"]
    for run in runs:
        rss = max(run.rss_open, run.rss_after)
        lines.append(
            f"| {run.code} | {rss / GOAL_RSS_MB:.2f}x | {run.percentile(0.99) / GOAL_P99_MS:.2f}x |"
        )
    return "\n".join([*lines, ""])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        import uvloop

        port, count, name = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        uvloop.run(client(port, count, name))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=15.0, help="seconds before the idle RSS")
    parser.add_argument("--compare-src", type=pathlib.Path, help="src folder of the 'before'")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--server", default="uvicorn", help="kartshoppe serve --server")
    args = parser.parse_args()
    # stopped from outside, still stop the server and the clients (the `finally` blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    command = shlex.join([".venv/bin/python", "bench/fanout_bench.py", *sys.argv[1:]])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    limit = raise_fd_limit()
    if args.sockets + 100 > limit:
        raise SystemExit(f"the open-file limit is {limit}: too low for {args.sockets} sockets")
    codes: dict[str, pathlib.Path | None] = {"this checkout": None}
    if args.compare_src is not None:
        codes = {"before (--compare-src)": args.compare_src.resolve(), **codes}
    runs = []
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        for name, src in codes.items():
            runs.append(measure(name, src, pathlib.Path(tmp), args))
    text = report(command, runs, args, load)
    print(text)
    if not args.no_write:
        record(RESULTS, text)


if __name__ == "__main__":
    main()
