"""The server's children (the processors, the event-store sink) do background work: they run
`background_nice` below the server, every thread of theirs, with the batch scheduling policy,
so the work a write causes there never takes the core the next request needs; the server
itself keeps its priority."""

from __future__ import annotations

import os
from pathlib import Path

from tests.ops.test_processors_process import processor_pids
from tests.ops.test_sink_process import parent_of, sink_pids, wait_until
from tests.support.server import running_server

SCHED_OTHER = 0
SCHED_BATCH = 3
NICE = 7


def scheduling(pid: int) -> set[tuple[int, int]]:
    """(nice, policy) of each of the process's threads, from /proc."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        found.add((int(fields[16]), int(fields[38])))
    return found


def threads(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def test_the_children_run_below_the_server_in_every_thread_and_the_server_does_not(
    tmp_path: Path,
) -> None:
    env = {"KARTSHOPPE_BACKGROUND_NICE": str(NICE)}
    with running_server(tmp_path, env=env) as server:
        assert server.pid is not None
        wait_until("both children started", lambda: processor_pids(server) and sink_pids(server))
        children = [processor_pids(server)[0], sink_pids(server)[0]]
        # their threads (the log's writer, the stdin watcher, the workers) are running
        wait_until("the children's threads started", lambda: min(map(threads, children)) > 2)
        own = os.getpriority(os.PRIO_PROCESS, server.pid)
        assert scheduling(server.pid) == {(own, SCHED_OTHER)}
        for child in children:
            assert parent_of(child) == server.pid
            assert scheduling(child) == {(own + NICE, SCHED_BATCH)}
