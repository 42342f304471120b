"""What every benchmark's results file holds: each run under the command, the date and the
machine's load that produced it (`stamp`), newest first, with the earlier runs and the notes
written under them kept (`record`)."""

from __future__ import annotations

import datetime
import os
import pathlib
import platform


def stamp(load_before: tuple[float, float, float]) -> list[str]:
    """The date and the machine's lines of a run, the load average taken now as its end."""
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    before, after = (", ".join(f"{x:.1f}" for x in load) for load in (load_before, os.getloadavg()))
    return [
        f"Date: {date}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work; load "
        f"average before: {before}, after: {after}. Python {platform.python_version()}.",
    ]


def record(path: pathlib.Path, text: str) -> None:
    """`text` above what the file held: a run does not overwrite the runs before it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    earlier = path.read_text() if path.exists() else ""
    path.write_text(text.rstrip("\n") + "\n" + ("\n" + earlier if earlier else ""))
