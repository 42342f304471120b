"""How soon a processor's output reaches the shopper: a `PRODUCT_VIEW` posted to `/events` ->
the `RECOMMENDATION` the recommendations processor makes of it, pushed on the shopper's socket.

`.venv/bin/python bench/processors_delay_bench.py [--views 200] [--block 25] [--compare-src DIR]`

The path: the view appended by the server, read by the processors (in their own process since
the processors left the server; in threads of the server before), processed, the output
appended, read by the server's fan-out follower and pushed. With `--compare-src` (another
checkout's `src`), KartShoppe of that code is started and timed in turn with this one, in
blocks of `--block` views, so both see the same machine load. Each view is of the next of 40
products in turn; a view whose recommendation does not come within `TIMEOUT_S` counts as
missing. Written to bench/results/processors_delay.md with the command, date and load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pathlib
import shlex
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field

import httpx
import orjson
from api_bench import API, KEEP_ALIVE, served
from report import record, stamp
from startup_bench import compile_bytecode
from websockets.asyncio.client import ClientConnection, connect
from write_bench import percentile

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "processors_delay.md"
TIMEOUT_S = 5.0


@dataclass
class Shopper:
    """One anonymous shopper with its socket open, viewing products in turn."""

    base: str
    name: str
    delays: list[float] = field(default_factory=list)
    missing: int = 0

    async def __aenter__(self) -> Shopper:
        self._stack = contextlib.AsyncExitStack()
        self._client = await self._stack.enter_async_context(
            httpx.AsyncClient(base_url=self.base + API, limits=KEEP_ALIVE)
        )
        listing = await self._client.get("/products", params={"pageSize": 40})
        self._products = [p["id"] for p in listing.json()["items"]]
        self._session = f"delay-{uuid.uuid4().hex[:8]}"
        url = self.base.replace("http", "ws", 1) + f"/ecommerce/{self._session}/anonymous"
        self._socket: ClientConnection = await self._stack.enter_async_context(connect(url))
        self._arrived: asyncio.Queue[float] = asyncio.Queue()
        self._listener = asyncio.create_task(self._listen())
        self._n = 0
        return self

    async def __aexit__(self, *_: object) -> None:
        self._listener.cancel()
        await asyncio.gather(self._listener, return_exceptions=True)
        await self._stack.aclose()

    async def _listen(self) -> None:
        async for raw in self._socket:
            if orjson.loads(raw)["type"] == "RECOMMENDATION":
                self._arrived.put_nowait(time.perf_counter())

    async def view(self, timed: bool) -> None:
        product = self._products[self._n % len(self._products)]
        self._n += 1
        while not self._arrived.empty():  # a late one of the view before
            self._arrived.get_nowait()
        view = {"eventType": "PRODUCT_VIEW", "sessionId": self._session, "productId": product}
        started = time.perf_counter()
        response = await self._client.post("/events", json=[view])
        response.raise_for_status()
        try:
            arrived = await asyncio.wait_for(self._arrived.get(), TIMEOUT_S)
        except TimeoutError:
            self.missing += timed
            return
        if timed:
            self.delays.append((arrived - started) * 1000)


async def run(args: argparse.Namespace, tmp: pathlib.Path) -> list[Shopper]:
    codes: dict[str, pathlib.Path | None] = {"KartShoppe, this checkout": None}
    if args.compare_src is not None:
        codes = {"KartShoppe, before (--compare-src)": args.compare_src.resolve(), **codes}
    compile_bytecode([src or ROOT / "src" for src in codes.values()])
    with contextlib.ExitStack() as processes:
        bases: dict[str, str] = {}
        for name, src in codes.items():
            data = tmp / f"data-{len(bases)}"
            data.mkdir()
            env = {} if src is None else {"PYTHONPATH": str(src)}
            bases[name] = processes.enter_context(served(data, env=env)).base
        async with contextlib.AsyncExitStack() as clients:
            shoppers = [
                await clients.enter_async_context(Shopper(base, name))
                for name, base in bases.items()
            ]
            for shopper in shoppers:
                for _ in range(args.warmup):
                    await shopper.view(timed=False)
            for done in range(0, args.views, args.block):
                for shopper in shoppers:
                    for _ in range(min(args.block, args.views - done)):
                        await shopper.view(timed=True)
    return shoppers


def report(command: str, shoppers: list[Shopper], load: tuple[float, float, float]) -> str:
    lines = [
        "# Processor output delay: `PRODUCT_VIEW` -> `RECOMMENDATION` on the shopper's socket",
        "",
        f"Command: `{command}`  ",
        *stamp(load),
        "",
        "Sequential views, the targets timed in turn in blocks. Delay: the view's POST sent -> "
        f"its recommendation pushed; missing: none within {TIMEOUT_S:g} s.",
        "",
        "| target | views | p50 | p90 | p99 | max | missing |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in shoppers:
        cuts = [percentile(s.delays, q) for q in (50, 90, 99)]
        lines.append(
            f"| {s.name} | {len(s.delays) + s.missing} | {cuts[0]:.2f} ms | {cuts[1]:.2f} ms "
            f"| {cuts[2]:.2f} ms | {max(s.delays):.2f} ms | {s.missing} |"
        )
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=200, help="timed views per target")
    parser.add_argument("--block", type=int, default=25, help="views per target in a turn")
    parser.add_argument("--warmup", type=int, default=10, help="untimed views per target first")
    parser.add_argument("--compare-src", type=pathlib.Path, help="src folder of the 'before'")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    command = shlex.join([".venv/bin/python", "bench/processors_delay_bench.py", *sys.argv[1:]])
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="delay-bench-") as tmp:
        shoppers = asyncio.run(run(args, pathlib.Path(tmp)))
    text = report(command, shoppers, load)
    print(text)
    if not args.no_write:
        record(RESULTS, text)


if __name__ == "__main__":
    main()
