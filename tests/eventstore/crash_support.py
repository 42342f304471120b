"""A sink that crashed mid-cycle: the shop's day in a fresh log, stored by `crashing_sink.py` in
a child process killed at one point of its third batch; the tests then resume from what it left."""

from __future__ import annotations

import pathlib
import subprocess
import sys
from typing import NamedTuple

from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import BaseEvent
from tests.eventstore.store_support import append_all, shop_day

CRASH_SCRIPT = pathlib.Path(__file__).with_name("crashing_sink.py")
CRASHED_IN_BATCH = 3


class Crashed(NamedTuple):
    """What the crashed sink left behind: its warehouse, its log and the events in the log."""

    warehouse: str
    log_db: pathlib.Path
    events: list[BaseEvent]


async def crash_the_sink(tmp_path: pathlib.Path, point: str) -> Crashed:
    """Store the shop's day with a sink that dies at `point` of its third batch."""
    crashed = Crashed(str(tmp_path / "warehouse"), tmp_path / "log" / "events.db", shop_day())
    async with SqliteEventLog(crashed.log_db) as log:
        await append_all(log, crashed.events)
    run = subprocess.run(
        [
            sys.executable,
            str(CRASH_SCRIPT),
            crashed.warehouse,
            str(crashed.log_db),
            point,
            str(CRASHED_IN_BATCH),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 3, run.stderr
    return crashed
