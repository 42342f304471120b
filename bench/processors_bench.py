"""Benchmark of the processors: events per second through all of them in the embedded runner.

Run `.venv/bin/python bench/processors_bench.py`; it prints a table and writes it, with the
command, the date and the machine's load, to bench/results/processors.md.

The input is the synthetic shop stream of the runner tests (tests/processors/shop_stream.py):
products with skewed popularity, shoppers who browse, search, add, remove, check out, pay or
not, abandon and return, with consistent stock levels; its event times lie in the past. It is
appended to a fresh SQLite event log first; then the timer starts, an `EmbeddedRunner` with
`default_processors()` (recommendations included when present) starts on an empty state file,
and the timer stops when every processor has committed the whole log. That end-to-end figure
includes reading the log, decoding, processing, appending outputs and the fsynced state commits.
Each processor is also run alone, in-process without the log, to show where the time goes.

`--reference DIR` compares against other sources of the processors in the same run, e.g. main's
(`git archive main src | tar -x -C DIR`): the stream is generated once, and each round runs
the end-to-end figure and all processors in-process (one shared decode, a commit per batch, as
the runner's instances do) in a fresh interpreter, once with DIR/src and once with this
checkout's src first on the path, alternating; the figures of the two and their ratio are
printed and recorded, and whether the in-process outputs (every output's topic, key and bytes,
ids included) were byte-identical in every round: a speed-up that changes no output says so.

`--processes N` (repeatable) adds rounds of this checkout's runner spread over N processes as
the server spreads it with `KARTSHOPPE_PROCESSOR_PROCESSES=N` (`processors_process.spread`):
N children on the one log and state file, each with its share, timed from the moment all have
loaded to the last one's catch-up; CPU is theirs together.

`--hollow MODE` (repeatable; bench/hollow.py) adds rounds of this checkout with every processor
hollowed, in the same alternation: the runner's own cost with processors that do nothing, the
floor no processor-side optimisation passes (issue 13 item 4); `decode`, `route` and `state`
split it. Without `--reference` the real processors of this checkout are the reference.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import json
import os
import pathlib
import pickle
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from hollow import MODES, hollow
from report import record, stamp

from kartshoppe.eventlog.port import Message, Record
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import BaseEvent, now_ms
from kartshoppe.processors import ProcessorConfig, default_processors
from kartshoppe.processors.model import Processor
from kartshoppe.processors.runner import (
    DecodedEvents,
    EmbeddedRunner,
    ProcessorInstance,
    ProcessorStateDb,
)
from kartshoppe.processors_process import spread

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.processors.shop_stream import ShopStream, route  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "processors.md"
LOAD_BEFORE = os.getloadavg()
HOUR_MS = 3_600_000
OUTPUT_TOPICS = ("ecommerce_processing_fanout", "recommendations")


def chosen(config: ProcessorConfig, excluded: list[str]) -> list[Processor[Any]]:
    return [p for p in default_processors(config) if p.name not in excluded]


def make_stream(sessions: int, products: int, hours: int) -> list[BaseEvent]:
    start = now_ms() - (hours + 3) * HOUR_MS
    shop = ShopStream(products=products, sessions=sessions, span_ms=hours * HOUR_MS, start_ms=start)
    return shop.generate()


async def end_to_end(
    messages: list[Message],
    processors: list[Processor[Any]],
    batch_size: int,
    workdir: pathlib.Path,
) -> tuple[float, float, dict[str, dict[str, int]], int]:
    await fill_log(workdir / "log.db", messages)
    log = SqliteEventLog(workdir / "log.db")
    await log.start()
    try:
        runner = EmbeddedRunner(
            log,
            workdir / "state.db",
            processors,
            idle_after_s=None,
            batch_size=batch_size,
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        await runner.start()
        await runner.wait_caught_up(timeout=3600)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        stats = runner.stats()
        await runner.stop()
    finally:
        await log.close()
    return elapsed, cpu, stats, await outputs_in(workdir / "log.db")


async def fill_log(path: pathlib.Path, messages: list[Message]) -> None:
    async with SqliteEventLog(path) as log:
        for i in range(0, len(messages), 1000):
            await log.append(messages[i : i + 1000])


async def outputs_in(path: pathlib.Path) -> int:
    async with SqliteEventLog(path) as log:
        return sum([sum((await log.end_offsets(t)).values()) for t in OUTPUT_TOPICS])


def spread_end_to_end(
    messages: list[Message], processes: int, batch_size: int, workdir: pathlib.Path
) -> tuple[float, float, int]:
    """`end_to_end` with the processors spread over `processes` children (`--share`): the
    wall time from the moment every child has loaded to the last one's catch-up, and their CPU
    time together."""
    log, state = workdir / "log.db", workdir / "state.db"
    asyncio.run(fill_log(log, messages))
    command = [sys.executable, __file__, "--batch-size", str(batch_size), "--share"]
    children = [
        subprocess.Popen(
            [*command, f"{share}/{processes}", str(log), str(state)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in range(processes)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    ends = [json.loads(child.communicate()[0].strip().splitlines()[-1]) for child in children]
    if any(child.returncode for child in children):
        raise RuntimeError("a share's runner failed")
    wall = max(end["done"] for end in ends) - started
    return wall, sum(end["cpu"] for end in ends), asyncio.run(outputs_in(log))


async def run_share(share: str, log_path: pathlib.Path, state: pathlib.Path, batch: int) -> None:
    """One child of `spread_end_to_end`: loads, says ready, waits for go, runs its share."""
    index, processes = map(int, share.split("/"))
    processors = spread(measured(None), processes)[index]
    async with SqliteEventLog(log_path) as log:
        runner = EmbeddedRunner(log, state, processors, idle_after_s=None, batch_size=batch)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        cpu_started = time.process_time()
        await runner.start()
        await runner.wait_caught_up(timeout=3600)
        done, cpu = time.perf_counter(), time.process_time() - cpu_started
        await runner.stop()
    print(json.dumps({"done": done, "cpu": cpu}), flush=True)


def alone(
    processor: Processor[Any], records: list[Record], batch_size: int, workdir: pathlib.Path
) -> tuple[float, int]:
    store = ProcessorStateDb(workdir / f"alone-{processor.name}.db")
    instance = ProcessorInstance(processor, store, lateness_ms=1000)
    outputs = 0
    started = time.process_time()
    for i in range(0, len(records), batch_size):
        instance.process(records[i : i + batch_size])
        checkpoint, emitted = instance.take_checkpoint()
        instance.commit(checkpoint)
        outputs += len(emitted)
    elapsed = time.process_time() - started
    store.close()
    return elapsed, outputs


def as_records(messages: list[Message]) -> list[Record]:
    offsets: dict[str, int] = {}
    records = []
    for message in messages:
        offset = offsets.get(message.topic, 0)
        offsets[message.topic] = offset + 1
        records.append(Record(message.topic, 0, offset, message.key, message.value, now_ms()))
    return records


def all_in_process(
    processors: list[Processor[Any]], records: list[Record], batch_size: int, workdir: pathlib.Path
) -> tuple[float, int, str]:
    """CPU time of all processors in one thread on one decode cache, each batch through each
    processor's instance and committed, as the runner does but without the log; the number
    of outputs and a digest of them all (topic, key and bytes, in order)."""
    decoded = DecodedEvents()
    stores = [ProcessorStateDb(workdir / "together.db") for _ in processors]
    instances = [
        ProcessorInstance(p, s, 1000, decoded) for p, s in zip(processors, stores, strict=True)
    ]
    outputs = 0
    emitted_all: list[Message] = []
    started = time.process_time()
    for i in range(0, len(records), batch_size):
        for instance in instances:
            instance.process(records[i : i + batch_size])
            checkpoint, emitted = instance.take_checkpoint()
            instance.commit(checkpoint)
            outputs += len(emitted)
            emitted_all += emitted
    elapsed = time.process_time() - started
    for store in stores:
        store.close()
    digest = hashlib.sha256()
    for message in emitted_all:
        digest.update(repr((message.topic, message.key, message.value)).encode())
    return elapsed, outputs, digest.hexdigest()[:16]


def measured(mode: str | None) -> list[Processor[Any]]:
    """The processors of a round: the real ones, or hollowed (`mode`, bench/hollow.py)."""
    processors = default_processors(ProcessorConfig())
    return processors if mode is None else hollow(processors, mode)


def measure(stream: pathlib.Path, batch_size: int, mode: str | None, processes: int) -> None:
    """One round of `--reference`, `--hollow` or `--processes`: figures of the sources first on
    the path, with the real processors or hollowed ones (`mode`), in this process or spread
    over `processes`, as JSON."""
    messages = [Message(*m) for m in pickle.loads(stream.read_bytes())]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = pathlib.Path(tmp)
        if processes > 1:
            wall, cpu, outputs = spread_end_to_end(messages, processes, batch_size, workdir)
        else:
            processors = measured(mode)
            end = end_to_end(messages, processors, batch_size, workdir)
            wall, cpu, _, outputs = asyncio.run(end)
        records = as_records(messages)
        alone_cpu, alone_outputs, digest = all_in_process(
            measured(mode), records, batch_size, workdir
        )
    figures = {"wall": wall, "cpu": cpu, "outputs": outputs, "in_process_cpu": alone_cpu}
    source = pathlib.Path(sys.modules[EmbeddedRunner.__module__].__file__ or "").parents[2]
    extra = {"in_process_outputs": alone_outputs, "digest": digest, "source": str(source)}
    print(json.dumps(figures | extra))


def compare(args: argparse.Namespace, messages: list[Message]) -> list[str]:
    """Rounds of this checkout and the reference (and of this checkout hollowed, `--hollow`),
    alternating, each in a fresh interpreter."""
    this = ROOT / "src"
    # name -> (sources, hollow mode, processes)
    variants: dict[str, tuple[pathlib.Path, str | None, int]] = {"this": (this, None, 1)}
    if args.reference:
        reference_src = pathlib.Path(args.reference).resolve() / "src"
        variants = {"reference": (reference_src, None, 1)} | variants
    variants |= {f"this, {n} processes": (this, None, n) for n in args.processes if n > 1}
    variants |= {f"hollow, {mode}": (this, mode, 1) for mode in args.hollow}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        stream = pathlib.Path(tmp) / "stream.pickle"
        stream.write_bytes(pickle.dumps([(m.topic, m.key, m.value) for m in messages]))
        for _ in range(args.rounds):
            for name, (src, mode, processes) in variants.items():
                env = os.environ | {"PYTHONPATH": str(src)}
                command = [sys.executable, __file__, "--measure", str(stream)]
                command += ["--batch-size", str(args.batch_size)]
                command += ["--hollow", mode] if mode else []
                command += ["--processes", str(processes)]
                done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                if pathlib.Path(figures.pop("source")) != src:
                    raise RuntimeError(f"{name}: {src} was not the kartshoppe imported")
                runs[name].append(figures)
                print(name, figures, flush=True)
    n = len(messages)
    medians = {
        name: {
            figure: statistics.median(r[figure] for r in rounds)
            for figure in ("wall", "cpu", "in_process_cpu")
        }
        for name, rounds in runs.items()
    }

    def row(name: str) -> str:
        wall, cpu, in_process = (medians[name][f] for f in ("wall", "cpu", "in_process_cpu"))
        outputs = {int(r["outputs"]) for r in runs[name]}
        return (
            f"| {name} | {n / wall:,.0f} ({wall:.2f} s) | {n / cpu:,.0f} ({cpu:.2f} s) "
            f"| {n / in_process:,.0f} ({in_process:.2f} s) | {', '.join(map(str, outputs))} |"
        )

    def ratio(name: str, against: str) -> str:
        """`name`'s events per CPU second (runner; in-process) and per second against."""
        a, b = medians[name], medians[against]
        return (
            f"{b['cpu'] / a['cpu']:.2f}x events per CPU second in the runner, "
            f"{b['in_process_cpu'] / a['in_process_cpu']:.2f}x in-process, "
            f"{b['wall'] / a['wall']:.2f}x events/s (wall)"
        )

    real = [name for name, (_, mode, _) in variants.items() if mode is None]
    digests = {str(r["digest"]) for name in real for r in runs[name]}
    same = (
        f"identical in every round (sha256 prefix {digests.pop()})"
        if len(digests) == 1
        else "NOT identical: " + ", ".join(sorted(digests))
    )
    reference = f"the sources in `{args.reference}`" if args.reference else "this checkout"
    return [
        f"Reference: {reference}; {args.rounds} rounds, alternating, each in a fresh "
        "interpreter; medians.",
        "",
        "| sources | embedded runner: events/s (wall) | events per CPU second (all threads) "
        "| all processors in-process: events per CPU second | outputs appended |",
        "|---|---:|---:|---:|---|",
        *(row(name) for name in variants),
        "",
        *(
            [f"This checkout against the reference: {ratio('this', 'reference')}.", ""]
            if args.reference
            else []
        ),
        *(
            f"{name} against this checkout in one process: {ratio(name, 'this')}."
            for name, (_, mode, processes) in variants.items()
            if processes > 1
        ),
        *(
            f"Hollow ({mode}) against this checkout's real processors: {ratio(name, 'this')}."
            for name, (_, mode, _) in variants.items()
            if mode is not None
        ),
        "",
        f"Outputs of the in-process run with the real processors (topic, key, bytes of every "
        f"output, in order): {same}.",
        "",
    ]


def write(
    args: argparse.Namespace, events: list[BaseEvent], names: list[str], lines: list[str]
) -> None:
    """Print a `--reference` comparison and record it above the earlier runs."""
    command = shlex.join([".venv/bin/python", "bench/processors_bench.py", *sys.argv[1:]])
    report = "\n".join(
        [
            "## Against a reference or hollow processors, in one run",
            "",
            f"Command: `{command}`",
            "",
            *stamp(LOAD_BEFORE),
            "",
            f"Stream: {len(events)} events ({args.sessions} sessions, {args.products} products, "
            f"{args.hours} h of event time); processors: {', '.join(names)}; "
            f"batch size {args.batch_size}.",
            "",
            *lines,
        ]
    )
    print(report)
    if not args.no_write:
        record(RESULTS, report)
        print(f"written to {RESULTS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--hours", type=int, default=4, help="event-time span of the sessions")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="NAME", help="leave a processor out"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--reference", metavar="DIR", help="compare with the sources in DIR/src (module doc)"
    )
    parser.add_argument(
        "--hollow",
        action="append",
        default=[],
        choices=MODES,
        help="also rounds with every processor hollowed this way (module doc, bench/hollow.py)",
    )
    parser.add_argument(
        "--processes",
        action="append",
        default=[],
        type=int,
        metavar="N",
        help="also rounds with the runner spread over N processes (module doc)",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds with --reference/--hollow/--processes"
    )
    parser.add_argument("--measure", metavar="STREAM", help=argparse.SUPPRESS)
    parser.add_argument("--share", nargs=3, metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        mode = args.hollow[0] if args.hollow else None
        processes = args.processes[0] if args.processes else 1
        measure(pathlib.Path(args.measure), args.batch_size, mode, processes)
        return
    if args.share:
        share, log, state = args.share
        asyncio.run(run_share(share, pathlib.Path(log), pathlib.Path(state), args.batch_size))
        return

    config = ProcessorConfig()
    events = make_stream(args.sessions, args.products, args.hours)
    messages = [route(e) for e in events]
    names = [p.name for p in chosen(config, args.exclude)]
    if args.reference or args.hollow or args.processes:
        comparison = compare(args, messages)
        write(args, events, names, comparison)
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = pathlib.Path(tmp)
        elapsed, cpu, stats, outputs = asyncio.run(
            end_to_end(messages, chosen(config, args.exclude), args.batch_size, workdir)
        )
        records = as_records(messages)
        singles = {
            p.name: alone(p, records, args.batch_size, workdir)
            for p in chosen(config, args.exclude)
        }

    load = os.getloadavg()
    command = shlex.join([".venv/bin/python", "bench/processors_bench.py", *sys.argv[1:]])
    lines = [
        "# Processor benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
        f"Python {platform.python_version()}; "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        "(the machine is shared with other engineers' work, so figures vary run to run).",
        "",
        f"Stream: {len(events)} events ({args.sessions} sessions, {args.products} products, "
        f"{args.hours} h of event time); processors: {', '.join(names)}; "
        f"batch size {args.batch_size}.",
        "",
        "## All processors in the embedded runner (SQLite log, fsynced state commits)",
        "",
        "| input events | wall time | input events/s | CPU time (all threads) | outputs appended |",
        "|---:|---:|---:|---:|---:|",
        f"| {len(events)} | {elapsed:.2f} s | {len(events) / elapsed:,.0f} | {cpu:.2f} s "
        f"| {outputs} |",
        "",
        "Records each processor consumed (its keyed topics plus its broadcast topics):",
        "",
        "| processor | records | failed |",
        "|---|---:|---:|",
        *(f"| {n} | {s['processed']} | {s['failed']} |" for n, s in stats.items()),
        "",
        "## Each processor alone (in-process, no log; decode, process, encode, commit)",
        "",
        "CPU time of the one thread, so less sensitive to the machine's load than wall time.",
        "",
        "| processor | CPU time | records per CPU second | outputs |",
        "|---|---:|---:|---:|",
        *(f"| {n} | {t:.2f} s | {len(events) / t:,.0f} | {o} |" for n, (t, o) in singles.items()),
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_write:
        record(RESULTS, report)
        print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
