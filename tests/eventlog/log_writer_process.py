"""A separate process that appends to a SQLite event log and reports every acknowledged record.

Run as `python log_writer_process.py PATH --appends N --batch K --tasks T`: T concurrent tasks
each append K-message batches until N appends are done in all. For every acknowledged append it
prints one line per record, `offset value`, and flushes, so the parent knows exactly what the log
promised to keep.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import pathlib
import sys

from kartshoppe.eventlog.port import Message
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import Topic

TOPIC = Topic.EVENTS.value


async def write(path: pathlib.Path, appends: int, batch: int, tasks: int) -> None:
    counter = itertools.count()
    async with SqliteEventLog(path) as log:

        async def worker(task: int) -> None:
            while (n := next(counter)) < appends:
                sent = [Message(TOPIC, f"t{task}", f"{n}:{i}".encode()) for i in range(batch)]
                stored = await log.append(sent)
                sys.stdout.write("".join(f"{r.offset} {r.value.decode()}\n" for r in stored))
                sys.stdout.flush()

        await asyncio.gather(*(worker(t) for t in range(tasks)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=pathlib.Path)
    parser.add_argument("--appends", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(write(args.path, args.appends, args.batch, args.tasks))


if __name__ == "__main__":
    main()
