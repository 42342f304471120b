"""In-process CPU a catalog read costs, KartShoppe's ASGI app against the bare ASGI app of
`bench/bare_asgi.py` answering the same bytes: the edge's own cost per request in microseconds,
without a server, a socket or a load generator (CPU time, so it hardly moves with the machine's
load, unlike the requests a second of `bench/catalog_bench.py`).

`.venv/bin/python bench/edge_cpu.py [--requests 20000] [--rounds 5] [--profile]`

KartShoppe runs with its whole edge on, as in the catalog bench: rate limits (a browse limit
too high to refuse, so it is checked on every request), metrics, access log at info (written to
/dev/null), request ids, security headers, ETag. Each request gets a fresh scope as a server
would build it; both apps are driven by the same loop, so what differs is the app.

A second table drives both through uvicorn's HTTP protocol with an in-memory transport (raw
request bytes in, response bytes out, no socket): the bare app behind uvicorn's httptools
protocol, KartShoppe behind `HotReadsProtocol` (`api/hot_protocol.py`), as `kartshoppe serve`
runs them; what a socket write and the kernel cost is left out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pathlib
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import bare_asgi
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from kartshoppe.api.app import create_app
from kartshoppe.api.hot_protocol import HotReadsProtocol
from kartshoppe.config import Settings

API = "/api/ecommerce"
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def scope_of(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The scope uvicorn builds for a wrk request."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8080"), *headers],
        "state": {},
    }


class Sink:
    """The server's side of `send`: the answer's status, header count and body size."""

    def __init__(self) -> None:
        self.status = 0
        self.headers = 0
        self.bytes = 0

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = len(message["headers"])
        else:
            self.bytes = len(message.get("body", b""))


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def drive(app: App, paths: list[str], count: int, sink: Sink) -> float:
    """CPU microseconds a request over `count` requests, paths taken in turn."""
    templates = [scope_of(path, []) for path in paths]
    turns = len(templates)
    started = time.process_time()
    for n in range(count):
        template = templates[n % turns]
        await app({**template, "headers": list(template["headers"])}, _receive, sink)
    return (time.process_time() - started) / count * 1e6


class Wire(asyncio.Transport):
    """A connection's transport that keeps no bytes, only counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        peers = {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}
        return peers.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent += len(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        # uvloop's writes them in one writev, without joining them first
        for data in list_of_data:
            self.sent += len(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def drive_protocol(
    app: App, protocol_class: type[HttpToolsProtocol], paths: list[str], count: int
) -> float:
    """CPU microseconds a request through uvicorn's protocol, one keep-alive connection."""
    config = Config(app=app, http=protocol_class, lifespan="off", log_level="warning")
    config.load()
    protocol = protocol_class(config, ServerState(), {}, asyncio.get_running_loop())
    protocol.connection_made(Wire())
    raw = [f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n".encode() for path in paths]
    turns = len(raw)
    started = time.process_time()
    for n in range(count):
        protocol.data_received(raw[n % turns])
        # one turn of the loop a request for both, as a server's loop reads each request in
        # one; an ASGI task takes more turns (the loop runs it, as a server's would)
        await asyncio.sleep(0)
        while protocol.tasks:
            await asyncio.sleep(0)
    cost = (time.process_time() - started) / count * 1e6
    protocol.connection_lost(None)
    return cost


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="edge-cpu-") as name:
        tmp = pathlib.Path(name)
        settings = Settings(
            data_dir=tmp / "data", rate_browse="1000000/1000000", log_level=args.log_level
        )
        app = create_app(settings)
        devnull = open(os.devnull, "w")  # noqa: SIM115 - the access log's stdout for the run
        async with app.router.lifespan_context(app):
            platform = app.state.platform
            ids = sorted(p.id for p in platform.catalog.on_sale())[:100]
            scenarios = {
                "GET /products": [f"{API}/products"],
                "GET /product/{id}": [f"{API}/product/{pid}" for pid in ids],
            }
            root = tmp / "root"
            for paths in scenarios.values():
                for path in paths:
                    sink = Sink()
                    body: list[bytes] = []

                    async def keep(
                        message: MutableMapping[str, Any], body: list[bytes] = body
                    ) -> None:
                        if message["type"] == "http.response.body":
                            body.append(message.get("body", b""))

                    await app(scope_of(path, []), _receive, keep)
                    file = root / path.lstrip("/")
                    file.parent.mkdir(parents=True, exist_ok=True)
                    file.write_bytes(b"".join(body))
            os.environ[bare_asgi.ROOT_VARIABLE] = str(root)
            apps: dict[str, App] = {"bare": bare_asgi.create_app(), "kartshoppe": app}
            results: dict[tuple[str, str], list[float]] = {}
            shapes: dict[tuple[str, str], Sink] = {}
            with contextlib.redirect_stdout(devnull):
                for _ in range(args.rounds):
                    for scenario, paths in scenarios.items():
                        for label, target in apps.items():
                            sink = Sink()
                            cost = await drive(target, paths, args.requests, sink)
                            results.setdefault((label, scenario), []).append(cost)
                            shapes[(label, scenario)] = sink
                        for label, target, protocol_class in (
                            ("bare on uvicorn", apps["bare"], HttpToolsProtocol),
                            ("kartshoppe on uvicorn", app, HotReadsProtocol),
                        ):
                            cost = await drive_protocol(
                                target, protocol_class, paths, args.requests
                            )
                            results.setdefault((label, scenario), []).append(cost)
                if args.profile:
                    profiler = cProfile.Profile()
                    for scenario, paths in scenarios.items():
                        profiler.enable()
                        await drive(app, paths, args.requests, Sink())
                        profiler.disable()
                        out = io.StringIO()
                        stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
                        stats.print_stats(25)
                        print(f"## {scenario}\n{out.getvalue()}", file=sys.stderr)
                        profiler = cProfile.Profile()
                app.state.edge.access_log.flush()
            devnull.close()
    print(f"in-process CPU a request, median of {args.rounds} x {args.requests:,} requests")
    print("| scenario | bare | kartshoppe | edge | headers bare / kartshoppe |")
    print("|---|---:|---:|---:|---:|")
    for scenario in scenarios:
        bare = statistics.median(results[("bare", scenario)])
        ks = statistics.median(results[("kartshoppe", scenario)])
        heads = f"{shapes[('bare', scenario)].headers} / {shapes[('kartshoppe', scenario)].headers}"
        print(f"| {scenario} | {bare:.1f} us | {ks:.1f} us | {ks - bare:+.1f} us | {heads} |")
    print()
    print("through uvicorn's protocol (in-memory transport), median of the same rounds")
    print("| scenario | bare, httptools protocol | kartshoppe, HotReadsProtocol | difference |")
    print("|---|---:|---:|---:|")
    for scenario in scenarios:
        bare = statistics.median(results[("bare on uvicorn", scenario)])
        ks = statistics.median(results[("kartshoppe on uvicorn", scenario)])
        print(f"| {scenario} | {bare:.1f} us | {ks:.1f} us | {ks - bare:+.1f} us |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile KartShoppe's reads")
    parser.add_argument("--log-level", default="info", help="warning: no access log")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
