"""Benchmark of the API: catalog GET throughput under a concurrent load generator on loopback,
and the latency from `POST /cart/{sessionId}/add` to the `CART_UPDATED` push arriving on a
second WebSocket of the same user.

Run `.venv/bin/python bench/api_bench.py`; it starts `kartshoppe serve` on a free loopback port
with a fresh data directory, prints the figures and writes them, with the command and the date,
to bench/results/api.md. The load generator is `wrk` (apt package `wrk`) when installed, else an
asyncio httpx client with as many connections; both run on the same machine as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import pathlib
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
from report import record
from websockets.asyncio.client import ClientConnection, connect

from kartshoppe.infra.ports import free_port

RESULTS = pathlib.Path(__file__).parent / "results" / "api.md"
UNLIMITED = {f"KARTSHOPPE_RATE_{name}": "off" for name in ("BROWSE", "CART", "WS")}
"""The load comes from one address on purpose: the per-client rate limits would measure
themselves, not the server."""
API = "/api/ecommerce"
HOST = "127.0.0.1"
KEEP_ALIVE = httpx.Limits(keepalive_expiry=2.0)
"""A client drops an idle connection before the server does (uvicorn: after 5 s), so that a
request after a pause never races the server's close (a `ReadError` with nothing answered)."""


@dataclass(frozen=True)
class Throughput:
    name: str
    path: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    generator: str

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@contextlib.contextmanager
def running(
    command: list[str],
    base: str,
    log_path: pathlib.Path,
    env: dict[str, str] | None = None,
    ready_timeout: float = 300.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """The process `command`, once `{base}/ready` answers 200; stopped (SIGTERM, then SIGKILL)
    after."""
    with log_path.open("ab") as log:
        environment = {**os.environ, **(env or {})}
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + "/ready", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[:4]} did not start; see {log_path}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Served:
    base: str
    pid: int


@contextlib.contextmanager
def served(
    data_dir: pathlib.Path,
    *serve_args: str,
    env: dict[str, str] | None = None,
    ready_timeout: float = 300.0,
) -> Iterator[Served]:
    """A `kartshoppe serve [serve_args]` process on a free port, ready; stopped after."""
    port = free_port()
    command = [sys.executable, "-m", "kartshoppe", "serve", "--host", HOST]
    command += ["--port", str(port), "--data-dir", str(data_dir), *serve_args]
    base = f"http://{HOST}:{port}"
    environment = {**UNLIMITED, **(env or {})}
    with running(command, base, data_dir / "server.log", environment, ready_timeout) as proc:
        yield Served(base, proc.pid)


@contextlib.contextmanager
def server(
    data_dir: pathlib.Path,
    *serve_args: str,
    env: dict[str, str] | None = None,
    ready_timeout: float = 300.0,
) -> Iterator[str]:
    """The base URL of a `served` `kartshoppe serve [serve_args]`."""
    with served(data_dir, *serve_args, env=env, ready_timeout=ready_timeout) as process:
        yield process.base


# --- (a) catalog GET throughput ---------------------------------------------------------------

WRK_SCRIPT = """
local paths = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
"""


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    name: str,
    paths: list[str],
    base: str,
    seconds: int,
    connections: int,
    threads: int = 2,
    headers: dict[str, str] | None = None,
) -> Throughput:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-s", script.name]
    for header, value in (headers or {}).items():
        command += ["-H", f"{header}: {value}"]
    out = subprocess.run(
        [*command, base + paths[0]], capture_output=True, text=True, check=True
    ).stdout
    os.unlink(script.name)
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    elapsed = re.search(r"requests in ([\d.]+)(\w+),", out)
    assert elapsed is not None
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50, p99 = (re.match(r"([\d.]+)(\w+)", latency[k]) for k in ("50", "99"))
    assert p50 is not None and p99 is not None
    return Throughput(
        name,
        paths[0] if len(paths) == 1 else f"{len(paths)} paths in turn",
        requests,
        _ms(*elapsed.groups()) / 1000,
        _ms(*p50.groups()),
        _ms(*p99.groups()),
        int(errors.group(1)) if errors else 0,
        f"wrk -t{threads} -c{connections} -d{seconds}s",
    )


async def run_httpx(
    name: str, paths: list[str], base: str, seconds: int, connections: int
) -> Throughput:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        stop = time.perf_counter() + seconds

        async def worker(offset: int) -> None:
            nonlocal errors
            n = offset
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await client.get(paths[n % len(paths)])
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 200
                n += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(connections)))
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Throughput(
        name,
        paths[0] if len(paths) == 1 else f"{len(paths)} paths in turn",
        len(latencies),
        elapsed,
        cuts[49],
        cuts[98],
        errors,
        f"httpx asyncio, {connections} connections, {seconds}s",
    )


def catalog_throughput(base: str, seconds: int, connections: int) -> list[Throughput]:
    items = httpx.get(f"{base}{API}/products", params={"pageSize": 100}).json()["items"]
    scenarios = [
        ("GET /products (first page, 24 products)", [f"{API}/products"]),
        ("GET /product/{id} (100 ids in turn)", [f"{API}/product/{i['id']}" for i in items]),
    ]
    results = []
    for name, paths in scenarios:
        if shutil.which("wrk"):
            results.append(run_wrk(name, paths, base, seconds, connections))
        else:
            results.append(asyncio.run(run_httpx(name, paths, base, seconds, connections)))
    return results


# --- (b) add to cart -> CART_UPDATED on the user's other device -------------------------------


@dataclass(frozen=True)
class PushLatency:
    adds: int
    push_ms: list[float]
    post_ms: list[float]


async def drain(socket: ClientConnection) -> None:
    """Read and drop what a socket is sent (a device whose pushes are not timed)."""
    async for _ in socket:
        pass


class TwoDevices:
    """One signed-in user on two devices, each with its WebSocket open (two sessions): the
    phone adds to the cart over HTTP, the laptop's socket times the `CART_UPDATED` it is pushed.
    Use inside `async with`."""

    def __init__(self, base: str, adds: int) -> None:
        self.base = base
        self._stack = contextlib.AsyncExitStack()
        self._arrivals: dict[int, float] = {}
        self._arrived = asyncio.Event()
        self._adds = adds
        self._n = 0

    async def __aenter__(self) -> TwoDevices:
        base, api = self.base, self.base + API
        async with httpx.AsyncClient() as client:
            listing = await client.get(f"{api}/products", params={"pageSize": 100})
            items = listing.json()["items"]
            account = {"email": f"bench-{os.getpid()}-{id(self)}@bench.kartshoppe.dev"}
            account["password"] = "bench-password"
            signed_in = (await client.post(f"{api}/auth/register", json=account)).json()
        self._products = [i["id"] for i in items if i["available"] >= self._adds // 40 + 1][:40]
        self._user, token = signed_in["userId"], signed_in["token"]
        sockets = base.replace("http", "ws", 1) + "/ecommerce/{}/" + f"{self._user}?token={token}"
        laptop = await self._stack.enter_async_context(connect(sockets.format("bench-laptop")))
        # the phone's own socket is open too, as on a real device: it is pushed the same update
        phone_socket = await self._stack.enter_async_context(connect(sockets.format("bench-phone")))
        self._phone = await self._stack.enter_async_context(
            httpx.AsyncClient(
                base_url=api, headers={"Authorization": f"Bearer {token}"}, limits=KEEP_ALIVE
            )
        )
        self._tasks = [
            asyncio.create_task(self._listen(laptop)),
            asyncio.create_task(drain(phone_socket)),
        ]
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stack.aclose()

    async def _listen(self, socket: ClientConnection) -> None:
        async for raw in socket:
            message = orjson.loads(raw)
            if message["type"] == "CART_UPDATED":
                self._arrivals[message["cart"]["itemCount"]] = time.perf_counter()
                self._arrived.set()

    async def add(self) -> tuple[float, float]:
        """One add to cart: (ms to the laptop's `CART_UPDATED`, ms to the POST's answer)."""
        self._n += 1
        product = self._products[self._n % len(self._products)]
        body = {"productId": product, "quantity": 1, "userId": self._user}
        started = time.perf_counter()
        response = await self._phone.post("/cart/bench-phone/add", json=body)
        post_ms = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        expected = response.json()["itemCount"]
        while expected not in self._arrivals:
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), 10)
        return (self._arrivals.pop(expected) - started) * 1000, post_ms


async def cart_push_latency(base: str, adds: int) -> PushLatency:
    push_ms: list[float] = []
    post_ms: list[float] = []
    async with TwoDevices(base, adds) as devices:
        for _ in range(adds):
            push, post = await devices.add()
            push_ms.append(push)
            post_ms.append(post)
    return PushLatency(adds, push_ms, post_ms)


# --- report -----------------------------------------------------------------------------------


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def report(command: str, throughput: list[Throughput], push: PushLatency) -> str:
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores shared with other work "
        f"(load average at the end: {load})"
    )
    lines = [
        "# API benchmark",
        "",
        f"Command: `{command}`  ",
        f"Date: {date}  ",
        f"Machine: {machine}, Python {platform.python_version()}.",
        "",
        "Server, load generator and clients share the machine over loopback: one `kartshoppe",
        "serve` process (embedded SQLite log, uvicorn with uvloop and httptools), a fresh data",
        "directory, the seeded catalog, per-client rate limits off",
        "(`KARTSHOPPE_RATE_BROWSE/CART/WS=off`: the load comes from one address). With other",
        "work on the same two cores the figures move by up to 2x from run to run; the load",
        "average above says how busy the machine was.",
        "",
        "## Catalog GET throughput",
        "",
        "| request | generator | requests | requests/s | p50 | p99 | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {t.name} | {t.generator} | {t.requests} | {t.rate:,.0f} | {t.p50_ms:.2f} ms "
        f"| {t.p99_ms:.2f} ms | {t.errors} |"
        for t in throughput
    ]
    lines += [
        "",
        "## Add to cart -> CART_UPDATED on the user's other device",
        "",
        f"{push.adds} sequential `POST /cart/bench-phone/add` by a signed-in user (Bearer",
        "token, `userId` in the body) with the phone's WebSocket open; a WebSocket of the same",
        "user on another session (`/ecommerce/bench-laptop/{userId}?token=`) times the arrival",
        "of each `CART_UPDATED`. `bench/write_bench.py` measures this path against its floor.",
        "Each add is fsynced to the log before it is answered.",
        "",
        "| measure | p50 | p99 | max |",
        "|---|---:|---:|---:|",
        f"| POST sent -> CART_UPDATED received on the other socket "
        f"| {percentile(push.push_ms, 50):.2f} ms | {percentile(push.push_ms, 99):.2f} ms "
        f"| {max(push.push_ms):.2f} ms |",
        f"| POST sent -> POST answered | {percentile(push.post_ms, 50):.2f} ms "
        f"| {percentile(push.post_ms, 99):.2f} ms | {max(push.post_ms):.2f} ms |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each GET run")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections")
    parser.add_argument("--adds", type=int, default=500, help="adds timed for the push latency")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    command = shlex.join([".venv/bin/python", "bench/api_bench.py", *sys.argv[1:]])
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp, server(pathlib.Path(tmp)) as base:
        throughput = catalog_throughput(base, args.seconds, args.connections)
        push = asyncio.run(cart_push_latency(base, args.adds))
    text = report(command, throughput, push)
    print(text)
    if not args.no_write:
        record(RESULTS, text)


if __name__ == "__main__":
    main()
