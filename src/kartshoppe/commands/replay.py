"""`kartshoppe replay`: the event store's events into the fresh log of a new data directory."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from kartshoppe.config import Settings
from kartshoppe.eventlog.adapters import make_log
from kartshoppe.eventlog.port import EventLog
from kartshoppe.eventstore.replay import ReplayResult, replay, summary
from kartshoppe.eventstore.table import EventStore, StoreConfig


def build_replay_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Arguments of `kartshoppe replay` (the lead opens the target log from `--data-dir`)."""
    parser = parser or argparse.ArgumentParser(
        prog="kartshoppe replay", description="Rebuild a fresh event log from the event store"
    )
    parser.add_argument("--from-warehouse", required=True, help="warehouse path or URI")
    parser.add_argument("--data-dir", required=True, help="data directory of the new instance")
    parser.add_argument("--snapshot", dest="snapshot_id", type=int, help="replay as of a snapshot")
    return parser


async def replay_with_progress_bar(
    warehouse: str, target: EventLog, snapshot_id: int | None = None
) -> ReplayResult:
    """Replay with a rich progress bar on the terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    store = EventStore(StoreConfig(warehouse))
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "{task.percentage:>3.0f}%",
        TimeRemainingColumn(),
    ) as bar:
        task = bar.add_task("replaying events", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return await replay(store, target, progress=advance, snapshot_id=snapshot_id)


def replay_main(argv: list[str]) -> int:
    """`kartshoppe replay`: the store's events into the (fresh) log of `--data-dir`."""
    args = build_replay_parser().parse_args(argv)
    settings = Settings().model_copy(update={"data_dir": Path(args.data_dir)})

    async def run() -> list[str]:
        event_log = make_log(settings)
        async with event_log:
            result = await replay_with_progress_bar(
                args.from_warehouse, event_log, args.snapshot_id
            )
        return list(summary(result))

    try:
        lines = asyncio.run(run())
    except ValueError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0
