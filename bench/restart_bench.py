"""Restart of `kartshoppe serve` (embedded mode) with a large log: seconds and CPU seconds from
the process start to `/ready`, folding the whole log (no snapshot) and from the views' snapshot
(written by the clean stop before), in the same run, and their ratio.

The log is built fast and realistic:
1. a base stream is recorded in-process: the demo catalog and its reviews seeded as a server
   does, then `--sessions` shoppers of the simulator's shopper model (`simulate.shoppers`) go
   through the shop service (views tracked, carts, checkouts, payments; a third signed in),
   with the embedded processors running, so the fan-out topic holds their real outputs;
2. the base's shopper records (events, inventory, fan-out) are repeated with new ids (session,
   user, order, event, idempotency and transaction ids get a suffix per copy) until the log
   holds `--events` records, written straight into the log's SQLite file in one transaction.

The server runs with the processors and the event-store sink off: their state (the processors'
file, the Paimon store) cannot be made to match a copied log without processing all of it, and
what is measured here is the views' rebuild. (The processors keep their own state and positions
and do not refold on a restart either.)

`.venv/bin/python bench/restart_bench.py [--events 1000000] [--sessions 300] [--runs 1]
[--restarts 1] [--seeding] [--idle 5] [--compare-src DIR]`

`--restarts N` starts from the snapshot N times per run (each code in turn), `--seeding` with the
demo seed on, as `kartshoppe serve` starts by default (the log holds the seed, so a start seeds
nothing; it may still draw it to find that out). Each start's RSS is taken at `/ready` and again
after `--idle` seconds without requests (the goal's idle RSS).

With `--compare-src` (the `src` folder of another checkout, unpacked with `git archive`), that
code is also started from the same log, in turn with this one: once folding it whole, which
writes that code's own snapshot (its format may differ from this checkout's), then from that
snapshot in each run.

Results go to bench/results/startup.md with the command, the date and the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import pathlib
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator
from typing import Any

import httpx
import orjson
from api_bench import HOST
from startup_bench import compile_bytecode, cpu_seconds, rss_mb

from kartshoppe.api.app import assemble, restore_views, snapshot_committer
from kartshoppe.config import Settings
from kartshoppe.demo import seed_products, seed_reviews
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.payment import Card
from kartshoppe.eventlog.sqlite import PARTITION, SqliteEventLog
from kartshoppe.events import Topic, now_ms
from kartshoppe.infra.ports import free_port
from kartshoppe.processors import default_processors
from kartshoppe.processors.runner import EmbeddedRunner
from kartshoppe.processors_process import processor_config
from kartshoppe.simulate.shoppers import ShopperModel, catalog_items

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "startup.md"
GOAL_READY_S = 2.0
GOAL_IDLE_RSS_MB = 150.0
CARD = Card("4242424242424242", "12/40", "123")
REPEATED = (Topic.EVENTS, Topic.INVENTORY_UPDATES, Topic.FANOUT)
"""The shoppers' topics, repeated with new ids; the catalog and accounts are recorded once."""
SEEDED = "seeded.json"
"""In the base's directory: per repeated topic, the offset where the shoppers' records begin."""
KEPT_IDS = frozenset({"productId", "productIds"})
MARK = "\x00"
ENCODED_MARK = b"\\u0000"
"""How JSON writes `MARK`: where a copy's suffix goes."""


# --- 1. the base stream ----------------------------------------------------------------------


async def record_base(data_dir: pathlib.Path, sessions: int, seed: int) -> None:
    settings = Settings(data_dir=data_dir, processors="embedded", seed=False, sink=False)
    log = SqliteEventLog(settings.log_path)
    await log.start()
    platform = assemble(log, settings)
    await platform.projection.start()
    await platform.fanout.start()
    await platform.projection.ready.wait()
    await platform.bus.start()  # the data directory's decider (its leader lock)
    service = platform.service
    products = seed_products()
    await service.seed_catalog(products)
    await service.seed_reviews(seed_reviews(now_ms()))
    # the shoppers' records begin here: only they are repeated (the seeded reviews are the
    # shop's, once)
    seeded = {t.value: (await log.end_offsets(t))[PARTITION] for t in REPEATED}
    (data_dir / SEEDED).write_bytes(orjson.dumps(seeded))
    # in this process (the server runs them in a child): `_until_processed` reads their state
    runner = EmbeddedRunner(
        log, settings.state_path, default_processors(processor_config(settings))
    )
    await runner.start()
    model = ShopperModel(catalog_items(products), seed)
    for n in range(sessions):
        session, user = f"bench-s{n}", f"bench-u{n % 97}" if n % 3 == 0 else None
        order_id: str | None = None
        for action in model.session(model.persona()):
            # out of stock and such: the shop refuses, the shopper goes on
            with contextlib.suppress(DomainError):
                order_id = await _act(service, action, session, user, order_id)
    await _until_processed(runner, log)
    await runner.stop()
    await platform.bus.close()
    await platform.fanout.stop()
    await platform.projection.stop()
    await log.close()


async def _act(service: Any, action: Any, session: str, user: str | None, order: str | None) -> Any:
    if action.kind == "view":
        view = {"eventType": "PRODUCT_VIEW", "sessionId": session, "productId": action.product_id}
        await service.track([{**view, **({"userId": user} if user else {})}])
    elif action.kind == "search":
        search = {"eventType": "SEARCH", "sessionId": session, "query": action.query}
        await service.track([search])
    elif action.kind == "add":
        await service.add_to_cart(session, user, action.product_id, action.quantity)
    elif action.kind == "remove":
        await service.remove_from_cart(session, user, action.product_id)
    elif action.kind == "checkout":
        placed, _ = await service.checkout(session, user, f"{session}-checkout")
        return placed.order_id
    elif action.kind == "pay" and order is not None:
        await service.pay(order, CARD, service.order(order).total)
    return order


async def _until_processed(runner: Any, log: SqliteEventLog) -> None:
    """Wait until every processor has committed positions at the log's end."""
    while True:
        behind = []
        for instance in runner._instances.values():
            for (topic, partition), offset in instance.committed_positions.items():
                if offset < (await log.end_offsets(topic))[partition]:
                    behind.append(instance.name)
        if not behind:
            return
        await asyncio.sleep(0.5)


# --- 2. the large log ------------------------------------------------------------------------


def _rewrite(value: Any, suffix: str) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                _suffixed(v, suffix)
                if (k.endswith(("Id", "Ids")) or k == "idempotencyKey") and k not in KEPT_IDS
                else _rewrite(v, suffix)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(v, suffix) for v in value]
    return value


def _suffixed(value: Any, suffix: str) -> Any:
    if isinstance(value, str):
        return value + suffix
    if isinstance(value, list):
        return [v + suffix if isinstance(v, str) else v for v in value]
    return value


def build_log(base: pathlib.Path, target: pathlib.Path, events: int) -> int:
    """The log at `target` with `events` records: the base, then its shoppers' records again
    with new ids; how many records."""
    seeded = orjson.loads((base.parent / SEEDED).read_bytes())
    source = sqlite3.connect(base)
    rows = source.execute(
        'SELECT topic, "offset", key, value, timestamp FROM records ORDER BY id'
    ).fetchall()
    source.close()
    # the schema as the log makes it
    asyncio.run(_create(target))
    # each record once as a template: its ids end in a marker that a copy replaces by its suffix
    repeated = [
        (t, k, orjson.dumps(_rewrite(orjson.loads(v), MARK)), ts)
        for t, offset, k, v, ts in rows
        if t in REPEATED and offset >= seeded[t]
    ]
    if not repeated:
        raise RuntimeError("the base stream has no shopper records")
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    offsets: dict[str, int] = {}

    def insert(batch: list[tuple[str, str | None, bytes, int]]) -> None:
        rows_out = []
        for topic, key, value, ts in batch:
            offset = offsets.get(topic, 0)
            offsets[topic] = offset + 1
            rows_out.append((topic, PARTITION, offset, key, value, ts))
        conn.executemany(
            'INSERT INTO records (topic, partition, "offset", key, value, timestamp) '
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows_out,
        )

    insert([(t, k, v, ts) for t, _, k, v, ts in rows])
    total = len(rows)
    copy = 0
    while total < events:
        copy += 1
        suffix = f"-c{copy}"
        marked = suffix.encode()
        batch = []
        for topic, key, template, ts in repeated[: events - total]:
            new_key = key + suffix if key and topic == Topic.EVENTS else key
            batch.append((topic, new_key, template.replace(ENCODED_MARK, marked), ts))
        insert(batch)
        total += len(batch)
    conn.executemany(
        "UPDATE partitions SET next_offset = ? WHERE topic = ? AND partition = ?",
        [(offset, topic, PARTITION) for topic, offset in offsets.items()],
    )
    conn.execute("COMMIT")
    conn.close()
    return total


async def _create(path: pathlib.Path) -> None:
    log = SqliteEventLog(path)
    await log.start()
    await log.close()


# --- 3. the restarts -------------------------------------------------------------------------


def one_start(
    data_dir: pathlib.Path,
    src: pathlib.Path | None = None,
    seeding: bool = False,
    idle_s: float = 0.0,
) -> tuple[float, float, float, float]:
    """(seconds to ready, CPU seconds to ready, RSS in MB at ready, RSS in MB after `idle_s`
    seconds more) of one start (of the code in `src`, else this checkout's); stopped cleanly
    afterwards (which writes the views' snapshot if the views folded anything since the
    last)."""
    env = {
        **os.environ,
        **({"PYTHONPATH": str(src)} if src is not None else {}),
        "KARTSHOPPE_PROCESSORS": "off",
        "KARTSHOPPE_SINK": "0",
        "KARTSHOPPE_SEED": "1" if seeding else "0",
        "KARTSHOPPE_LOG_LEVEL": "warning",
    }
    port = free_port()
    command = [sys.executable, "-m", "kartshoppe", "serve", "--host", HOST, "--port", str(port)]
    command += ["--data-dir", str(data_dir)]
    log = (data_dir / "server.log").open("ab")
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: see {data_dir / 'server.log'}")
            try:
                if httpx.get(f"http://{HOST}:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        ready = time.perf_counter() - started
        cpu, rss = cpu_seconds(process.pid), rss_mb(process.pid)
        time.sleep(idle_s)
        return ready, cpu, rss, rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=600)
        log.close()


def _runs(
    data_dir: pathlib.Path,
    runs: int,
    restarts: int,
    before: pathlib.Path | None,
    seeding: bool,
    idle_s: float,
) -> Iterator[tuple[str, tuple[float, float, float, float]]]:
    snapshot = data_dir / "views.snapshot"
    # each code's own snapshot, put in place before its start: the two may write different
    # formats (one ignores the other's and folds the whole log)
    this, earlier = data_dir / "this.snapshot", data_dir / "before.snapshot"
    for _ in range(runs):
        snapshot.unlink(missing_ok=True)
        yield "full fold", one_start(data_dir, seeding=seeding)
        if not snapshot.exists():
            raise RuntimeError("the clean stop wrote no snapshot")
        shutil.copyfile(snapshot, this)
        if before is not None and not earlier.exists():
            snapshot.unlink()
            yield "full fold, before (--compare-src)", one_start(data_dir, before, seeding)
            shutil.copyfile(snapshot, earlier)
        for _ in range(restarts):
            if before is not None:
                shutil.copyfile(earlier, snapshot)
                yield (
                    "snapshot, before (--compare-src)",
                    one_start(data_dir, before, seeding, idle_s),
                )
            shutil.copyfile(this, snapshot)
            yield "snapshot", one_start(data_dir, seeding=seeding, idle_s=idle_s)


async def _fold_in_process(data_dir: pathlib.Path) -> tuple[float, float, float]:
    """(wall, CPU) seconds of this process to restore the views (snapshot or full fold) and
    reach the log's end: the restart alone, without the server's imports and start-up; and the
    event loop's longest stall while a snapshot of the views so restored is taken and written
    (the periodic one's cost)."""
    settings = Settings(data_dir=data_dir, processors="off", seed=False, sink=False)
    log = SqliteEventLog(settings.log_path)
    await log.start()
    platform = assemble(log, settings)
    assert platform.snapshots is not None
    wall, cpu = time.perf_counter(), time.process_time()
    await restore_views(platform.snapshots, log)
    await platform.projection.start()
    await platform.fanout.start()
    await platform.projection.ready.wait()
    await platform.fanout.ready.wait()
    figures = time.perf_counter() - wall, time.process_time() - cpu
    stall = await _longest_stall(platform.snapshots.save(log.record_at, snapshot_committer(log)))
    await platform.fanout.stop()
    await platform.projection.stop()
    await log.close()
    return (*figures, stall)


async def _longest_stall(work: Awaitable[Any]) -> float:
    """Seconds of the event loop's longest stall while `work` runs: how late a 1 ms ticker
    wakes up, at worst."""
    worst, done = 0.0, False

    async def ticker() -> None:
        nonlocal worst
        while not done:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - started - 0.001)

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    await work
    done = True
    await ticking
    return worst


def in_process(data_dir: pathlib.Path) -> dict[str, tuple[float, float, float]]:
    """The restart from the snapshot in this process (the full fold's CPU is the server's,
    nearly all of it folding)."""
    return {"snapshot": asyncio.run(_fold_in_process(data_dir))}


def _compared(medians: dict[str, tuple[float, ...]]) -> list[str]:
    """The line comparing this checkout's start from the snapshot with the `--compare-src` one."""
    before = medians.get("snapshot, before (--compare-src)")
    if before is None:
        return []
    snap = medians["snapshot"]
    return [
        "",
        f"From the same snapshot, this checkout / before: ready **{snap[0] / before[0]:.2f}x**,"
        f" CPU **{snap[1] / before[1]:.2f}x**, idle RSS **{snap[3] / before[3]:.2f}x**.",
    ]


def load_average() -> str:
    return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--restarts", type=int, default=1, help="starts from the snapshot per run and code"
    )
    parser.add_argument(
        "--seeding",
        action="store_true",
        help="start as `kartshoppe serve` does by default, with the demo seed on (the log holds"
        " it, so nothing is seeded)",
    )
    parser.add_argument(
        "--idle", type=float, default=5.0, help="seconds after ready before the idle RSS"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tmp", help="where the temporary data directory goes")
    parser.add_argument("--no-record", action="store_true", help="print, do not write results")
    parser.add_argument("--compare-src", type=pathlib.Path, help="src folder of the 'before'")
    args = parser.parse_args()
    before = args.compare_src.resolve() if args.compare_src is not None else None
    compile_bytecode([ROOT / "src", *([before] if before is not None else [])])
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="restart-bench-", dir=args.tmp) as tmp:
        base_dir, data_dir = pathlib.Path(tmp) / "base", pathlib.Path(tmp) / "data"
        data_dir.mkdir()
        clock = time.perf_counter()
        asyncio.run(record_base(base_dir, args.sessions, args.seed))
        recorded = time.perf_counter() - clock
        clock = time.perf_counter()
        total = build_log(base_dir / "log.sqlite", data_dir / "log.sqlite", args.events)
        built = time.perf_counter() - clock
        size_mb = (data_dir / "log.sqlite").stat().st_size / 2**20
        print(f"base recorded in {recorded:.1f} s; {total:,} records written in {built:.1f} s")
        results: dict[str, list[tuple[float, float, float, float]]] = {}
        starts = _runs(data_dir, args.runs, args.restarts, before, args.seeding, args.idle)
        for name, figures in starts:
            results.setdefault(name, []).append(figures)
            print(
                f"{name}: ready {figures[0]:.2f} s, CPU {figures[1]:.2f} s,"
                f" {figures[2]:.0f} MB, idle {figures[3]:.0f} MB"
            )
        snapshot_mb = (data_dir / "views.snapshot").stat().st_size / 2**20
        alone = in_process(data_dir)
        for name, (wall, cpu, _) in alone.items():
            print(f"in process, {name}: {wall:.2f} s, CPU {cpu:.2f} s")
    medians = {
        name: tuple(statistics.median(f[i] for f in runs) for i in range(4))
        for name, runs in results.items()
    }
    full, snap = medians["full fold"], medians["snapshot"]
    lines = [
        f"| from | ready (s) | CPU to ready (s) | RSS at ready (MB) | RSS after {args.idle:.0f} s"
        " idle (MB) |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {n} | {m[0]:.2f} | {m[1]:.2f} | {m[2]:.0f} | {m[3]:.0f} |"
            for n, m in medians.items()
        ),
        "",
        f"Snapshot / full fold: ready **{snap[0] / full[0]:.3f}x**,"
        f" CPU **{snap[1] / full[1]:.3f}x**"
        f" ({full[0] / snap[0]:.0f}x faster). Goal: ready in at most {GOAL_READY_S:.0f} s"
        f" after a restart with 1,000,000 events: "
        f"{'met' if snap[0] <= GOAL_READY_S else 'not met'} in this run ({snap[0]:.2f} s)."
        f" Idle RSS at most {GOAL_IDLE_RSS_MB:.0f} MB after it:"
        f" {'met' if snap[3] <= GOAL_IDLE_RSS_MB else 'not met'} ({snap[3]:.0f} MB).",
        *_compared(medians),
        "",
        "The restart from the snapshot alone, in the bench's own process (no imports, no server"
        f" start-up): {alone['snapshot'][0]:.2f} s, CPU {alone['snapshot'][1]:.2f} s."
        " While a snapshot of these views was taken and written, the event loop's longest"
        f" stall was {alone['snapshot'][2] * 1000:.0f} ms (a 1 ms ticker's lateness; the"
        " encoding and the writing are in a thread).",
        "",
        f"Log: {total:,} records, {size_mb:.0f} MB; snapshot file {snapshot_mb:.1f} MB;"
        f" base stream: {args.sessions} sessions recorded in {recorded:.0f} s, log built in"
        f" {built:.0f} s.",
    ]
    print("\n".join(lines))
    if not args.no_record:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        command = "bench/restart_bench.py " + shlex.join(sys.argv[1:])
        header = [
            "",
            f"## Restart with a large log ({stamp})",
            "",
            f"`.venv/bin/python {command.strip()}`; load average before {load_before}, after"
            f" {load_average()}; medians of {args.runs} run(s) of {args.restarts} start(s) from"
            f" the snapshot each; processors and sink off, seeding"
            f" {'on' if args.seeding else 'off'}.",
            "",
        ]
        with RESULTS.open("a") as out:
            out.write("\n".join(header + lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
