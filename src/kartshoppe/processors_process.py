"""The embedded processors in processes of their own, started and supervised by the server.

In the server's process the processors (about 7 ms of CPU per add to cart: some 22 records
decoded, processed and appended) ran in threads that held the interpreter lock the event loop
needs, and made the write path's p99 several times its floor. In a child of its own, they
cost the serving process nothing but reading their outputs.

The child runs the `EmbeddedRunner` as the server did: its own connection to the log (the
embedded log takes appends from several processes and notices another's commits; Kafka is
Kafka) and the state file (`processors.sqlite`, which only the children open). The runner's
contract is unchanged: state exactly-once (state and input positions committed in one
transaction), outputs at-least-once with deterministic ids. A child that is killed is restarted
with backoff (`child_process.ChildProcess`) and resumes from its last commit; a processor that
stops on an error ends the child (exit code 1), so it is restarted rather than left stopped.

With `processor_processes` N above 1 there are N children, each running a share of the
processors (`spread`: about equal shares of their CPU by `Processor.cost`), so they use N
cores; the processors are independent of each other (each reads the log and appends to it), and
their rows in the shared state file are disjoint (SQLite's WAL lets the children commit in
turn). An exclusive lock per processor (`<data dir>/processors.locks/<name>.lock`) keeps two
children from running the same processor at once: a restarted server's while its
predecessor's still commits, with the same N or another (and `processors.lock`, held shared,
one of a version from before these locks).

The child reports to the server over a pipe, one JSON array a line (`Report`):
- `["appended"]` after each batch's outputs are in the log: the server's readers look at once
  (`EventLog.look_again`), rather than at the embedded log's next look of its own (every 50 ms);
- `["processed", name, seconds]` per batch: the processing latency the metrics observe;
- `["status", {...}]` at start and every `STATUS_EVERY_S`: per processor its stats (events
  processed and failed, watermark), the topics it reads and its committed positions. The
  server computes the lag from these and the log's current end offsets, so a processor that
  falls behind, or a child that is down, shows a growing lag.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import orjson

from kartshoppe.child_process import (
    ChildProcess,
    Reports,
    add_nice_flag,
    add_report_flag,
    hold_lock,
    ignore_terminal_signals,
    run_in_background,
    stop_at_eof,
)
from kartshoppe.config import Settings
from kartshoppe.eventlog.port import EventLog, Positions, consumer_lags

if TYPE_CHECKING:
    from kartshoppe.processors import ProcessorConfig
    from kartshoppe.processors.model import Processor

logger = logging.getLogger(__name__)

MODULE: Final = "kartshoppe.processors_process"
NAME: Final = "processors process"
LOCKS: Final = "processors.locks"
ALL_PROCESSORS_LOCK: Final = "processors.lock"
"""What a child of the versions before `LOCKS` held exclusively: every child holds it shared,
so a child of either version waits for one of the other still running (a server upgraded in
place)."""
STATUS_EVERY_S: Final = 1.0
FAILED_EXIT: Final = 1

SETTINGS: Final = (
    "data_dir",
    "bus",
    "bootstrap",
    "log_level",
    "abandon_after_s",
    "stock_unchanged_after_s",
    "reservation_ttl_s",
    "recovery_offer",
    "shopper_state_ttl_s",
    "processor_processes",
)
"""The settings the child reads, passed as one JSON flag (the rest it takes from the
environment it inherits; none of them secret)."""

Stats = dict[str, dict[str, int]]


def command(settings: Settings, group: int) -> list[str]:
    """The command line of the child of `group`: this interpreter, the settings it reads as
    JSON."""
    values = settings.model_dump(include=set(SETTINGS), mode="json")
    settings_json = orjson.dumps(values).decode()
    return [sys.executable, "-m", MODULE, "--settings", settings_json, "--group", str(group)]


def child_name(group: int, groups: int) -> str:
    return NAME if groups == 1 else f"{NAME} {group + 1} of {groups}"


def spread(processors: Sequence[Processor[Any]], processes: int) -> list[list[Processor[Any]]]:
    """`processors` in `processes` groups (fewer when there are fewer processors) of about
    equal cost: the costliest first, each to the group that costs least so far; each group
    keeps the processors' order."""
    groups: list[list[tuple[int, Processor[Any]]]] = [
        [] for _ in range(max(1, min(processes, len(processors))))
    ]
    totals = [0] * len(groups)
    for placed in sorted(enumerate(processors), key=lambda placed: -placed[1].cost):
        cheapest = totals.index(min(totals))
        groups[cheapest].append(placed)
        totals[cheapest] += placed[1].cost
    return [[processor for _, processor in sorted(group, key=lambda p: p[0])] for group in groups]


class ProcessorsProcess:
    """The server's side: supervises the children (a `ChildProcess` each) and keeps what they
    report, which `/metrics` reads as it read the in-process runner (`stats`, `lag`)."""

    def __init__(
        self,
        settings: Settings,
        log: EventLog,
        on_processed: Callable[[str, float], None],
    ) -> None:
        groups = settings.processor_processes
        self.children = [
            ChildProcess(
                child_name(group, groups),
                command(settings, group),
                on_report=self.on_report,
                nice=settings.background_nice,
            )
            for group in range(groups)
        ]
        self._log = log
        self._on_processed = on_processed
        self._stats: Stats = {}
        self._committed: dict[str, tuple[list[str], Positions]] = {}
        self._looking = False

    async def run(self, stop: asyncio.Event) -> None:
        """Keep every child running until `stop` is set, then wait for their last work."""
        await asyncio.gather(*(child.run(stop) for child in self.children))

    def stats(self) -> Stats:
        """Per processor, as last reported: events processed and failed, the watermark."""
        return self._stats

    async def lag(self) -> dict[str, int]:
        """Per processor: records of its topics past its last reported commit, counted up to
        the log's end now (it grows while the child is down)."""
        return await consumer_lags(self._log, self._committed)

    def on_report(self, line: bytes) -> None:
        """Take one line a child reported."""
        report = orjson.loads(line)
        kind = report[0]
        if kind == "appended":
            if not self._looking:
                # a burst of reports read at once makes one look
                self._looking = True
                asyncio.get_running_loop().call_soon(self._look)
        elif kind == "processed":
            self._on_processed(str(report[1]), float(report[2]))
        elif kind == "status":
            # a child reports its own processors, always the same ones
            self._stats.update(report[1]["stats"])
            self._committed.update(
                (name, (topics, {(t, p): o for t, p, o in positions}))
                for name, (topics, positions) in report[1]["committed"].items()
            )

    def _look(self) -> None:
        self._looking = False
        self._log.look_again()


class _Reporter:
    """The child's side of the reports (nothing is sent without a pipe)."""

    def __init__(self, reports: Reports | None) -> None:
        self._reports = reports

    def appended(self) -> None:
        self._send(["appended"])

    def processed(self, name: str, seconds: float) -> None:
        self._send(["processed", name, seconds])

    def status(self, stats: Stats, committed: Mapping[str, tuple[list[str], Positions]]) -> None:
        positions = {
            name: (topics, [[t, p, o] for (t, p), o in at.items()])
            for name, (topics, at) in committed.items()
        }
        self._send(["status", {"stats": stats, "committed": positions}])

    def _send(self, report: list[Any]) -> None:
        if self._reports is not None:
            self._reports.send(orjson.dumps(report))


def processor_config(settings: Settings) -> ProcessorConfig:
    """The processors' configuration from the settings (the processors' modules load here, not
    in the serving process)."""
    from kartshoppe.processors import ProcessorConfig

    return ProcessorConfig(
        cart_abandon_timeout_ms=settings.abandon_after_s * 1000,
        stock_unchanged_after_ms=settings.stock_unchanged_after_s * 1000,
        reservation_ttl_ms=settings.reservation_ttl_s * 1000,
        cart_recovery_offer=settings.recovery_offer,
        shopper_state_ttl_ms=settings.shopper_state_ttl_s * 1000 or None,
    )


def hold_locks(
    settings: Settings, processors: Sequence[Processor[Any]], name: str
) -> contextlib.ExitStack:
    """`ALL_PROCESSORS_LOCK` shared, then the lock of each processor in `processors`, taken in
    the order of their names (two children never wait for each other's in a circle)."""
    with contextlib.ExitStack() as locks:
        all_processors = settings.data_dir / ALL_PROCESSORS_LOCK
        locks.enter_context(hold_lock(all_processors, name, shared=True))
        for processor_name in sorted(p.name for p in processors):
            path = settings.data_dir / LOCKS / f"{processor_name}.lock"
            locks.enter_context(hold_lock(path, name))
        # taken all: the caller releases them (a failure before releases those taken)
        return locks.pop_all()


async def _serve(settings: Settings, group: int, reporter: _Reporter) -> int:
    from kartshoppe.eventlog.adapters import make_log
    from kartshoppe.processors import default_processors
    from kartshoppe.processors.runner import EmbeddedRunner

    stop = asyncio.Event()
    stop_at_eof(asyncio.get_running_loop(), stop)
    groups = settings.processor_processes
    processors = spread(default_processors(processor_config(settings)), groups)[group]
    name = child_name(group, groups)
    locks = await asyncio.to_thread(hold_locks, settings, processors, name)
    try:
        event_log = make_log(settings)
        await event_log.start()
        runner = EmbeddedRunner(
            event_log,
            settings.state_path,
            processors,
            on_processed=reporter.processed,
            on_appended=reporter.appended,
        )
        try:
            await runner.start()
            while not (stop.is_set() or runner.errors):
                reporter.status(runner.stats(), runner.committed())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), STATUS_EVERY_S)
        finally:
            await runner.stop()
            await event_log.close()
    finally:
        locks.close()
    return FAILED_EXIT if runner.errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=MODULE, description=__doc__.splitlines()[0])
    parser.add_argument("--settings", required=True, help="JSON: the settings the child reads")
    parser.add_argument("--group", type=int, default=0, help="which share of the processors")
    add_report_flag(parser)
    add_nice_flag(parser)
    args = parser.parse_args(argv)
    run_in_background(args.nice)
    ignore_terminal_signals()
    from kartshoppe.observability.logging import configure_logging

    values = orjson.loads(args.settings)
    configure_logging(values.get("log_level", "info"))
    settings = Settings(**values)
    reports = None if args.report_fd is None else Reports(args.report_fd)
    return asyncio.run(_serve(settings, args.group, _Reporter(reports)))


if __name__ == "__main__":
    sys.exit(main())
