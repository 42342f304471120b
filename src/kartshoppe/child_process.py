"""A supervised child process of the server: the event-store sink's, the processors'.

Work that would hold the serving process's interpreter lock or memory (the sink's pyarrow and
pypaimon, the processors' CPU) runs in a child of its own; both sides of that arrangement are
here, once.

The parent (`ChildProcess.run`) starts `python -m <module>` with the child's settings as flags
and its stdin as a pipe, and restarts it with backoff when it dies (exit code and restarts
logged). The child stops when its stdin closes (`stop_at_eof`): the server closes it on a clean
stop, and the kernel closes it when the server dies, so a child never outlives its server. It
then finishes its work (a last drain, a last checkpoint) and exits 0. Terminal signals (Ctrl-C
reaches the whole process group) are left to the server (`ignore_terminal_signals`), so a child
is not stopped before the server has finished with the log.

A child may report to its parent: with `on_report`, the parent opens a pipe, passes its write
end as `--report-fd N`, and calls `on_report` with each line the child writes to it (`Reports`).

A child's work is background work: with `nice` above 0 the parent passes `--nice N` and the
child, before it starts a thread, lowers its own priority by that much and asks for the batch
scheduling policy (`run_in_background`). The request path then gets a core first: on a machine
of few cores the children otherwise hold both while they process what a write caused, and the
next request waits for one.

An exclusive lock on a file of the data directory (`hold_lock`) keeps a second child of the
same kind (a restarted server's, while the one of the server before it still finishes) from
working at the same time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from kartshoppe.resilience import Backoff, supervise

logger = logging.getLogger(__name__)

RESTART_BACKOFF = Backoff(initial=0.2, maximum=10.0)
STOP_GRACE_S = 45.0
"""How long a stopping server waits for a child's last work (each bounds its own at 30 s)."""
REPORT_FD_FLAG = "--report-fd"
NICE_FLAG = "--nice"


class ChildExitedError(RuntimeError):
    """The child ended without being asked to: the supervisor restarts it."""


class ChildProcess:
    """The server's side: starts the child, restarts it when it dies, stops it with the server."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        backoff: Backoff = RESTART_BACKOFF,
        on_report: Callable[[bytes], None] | None = None,
        nice: int = 0,
    ) -> None:
        self.name = name
        self.command = [*command, NICE_FLAG, str(nice)] if nice > 0 else list(command)
        self.backoff = backoff
        self.on_report = on_report
        self.pid: int | None = None
        self.starts = 0
        self.last_exit: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Keep a child running until `stop` is set, then wait for its last work."""
        await supervise(lambda: self._once(stop), stop, name=self.name, backoff=self.backoff)

    async def _once(self, stop: asyncio.Event) -> None:
        reports: asyncio.Task[None] | None = None
        if self.on_report is None:
            child = await asyncio.create_subprocess_exec(
                *self.command, stdin=asyncio.subprocess.PIPE
            )
        else:
            read_end, write_end = os.pipe()
            try:
                child = await asyncio.create_subprocess_exec(
                    *self.command,
                    REPORT_FD_FLAG,
                    str(write_end),
                    stdin=asyncio.subprocess.PIPE,
                    pass_fds=(write_end,),
                )
            except BaseException:
                os.close(read_end)
                raise
            finally:
                os.close(write_end)
            reports = asyncio.create_task(_read_reports(read_end, self.on_report))
        self.pid = child.pid
        self.starts += 1
        logger.info("%s started (pid %d)", self.name, child.pid)
        stopping = asyncio.create_task(stop.wait())
        exiting = asyncio.create_task(child.wait())
        try:
            await asyncio.wait((stopping, exiting), return_when=asyncio.FIRST_COMPLETED)
            if not exiting.done():
                await self._stop(child)
        finally:
            stopping.cancel()
            if not exiting.done():
                # cancelled (the server's loop is going away): the child must not be left behind
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
            code = await exiting
            self.last_exit = code
            if reports is not None:
                # the pipe ends with the child: its last reports are read, then the reader ends
                await asyncio.gather(reports, return_exceptions=True)
        logger.info("%s (pid %d) exited with code %d", self.name, child.pid, code)
        if not stop.is_set():
            raise ChildExitedError(f"exited with code {code}")

    async def _stop(self, child: asyncio.subprocess.Process) -> None:
        """Close the child's stdin (its stop signal) and wait for its last work, then kill it."""
        if child.stdin is not None:
            child.stdin.close()
        try:
            await asyncio.wait_for(asyncio.shield(child.wait()), STOP_GRACE_S)
        except TimeoutError:
            logger.warning("%s (pid %d) did not stop; killing it", self.name, child.pid)
            with contextlib.suppress(ProcessLookupError):
                child.kill()


async def _read_reports(fd: int, on_report: Callable[[bytes], None]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    pipe = os.fdopen(fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while line := await reader.readline():
            try:
                on_report(line)
            except Exception:
                logger.exception("a child's report could not be taken: %r", line[:200])
    finally:
        transport.close()


class Reports:
    """The child's side of the report pipe: one line a report, written at once (a report is
    small, far below the pipe's atomic write size)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def send(self, line: bytes) -> None:
        # the server gone: its stdin's end stops this child
        with contextlib.suppress(BrokenPipeError):
            os.write(self._fd, line + b"\n")


def add_report_flag(parser: argparse.ArgumentParser) -> None:
    """Declare `--report-fd` (`args.report_fd`) on a child's argument parser."""
    parser.add_argument(REPORT_FD_FLAG, type=int, help="write reports to this descriptor")


def add_nice_flag(parser: argparse.ArgumentParser) -> None:
    """Declare `--nice` (`args.nice`, 0 when not given) on a child's argument parser."""
    parser.add_argument(NICE_FLAG, type=int, default=0, help="run this much below the server")


def run_in_background(nice: int) -> None:
    """Lower this process's priority by `nice` and take the batch policy (no preempting the
    server when woken). Call it before any thread starts: Linux keeps both per thread, and a
    thread inherits them from the thread that starts it."""
    if nice <= 0:
        return
    os.nice(nice)
    # SCHED_BATCH is open to unprivileged processes; a kernel without it keeps the nice alone
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def ignore_terminal_signals() -> None:
    """The server, which gets them too, stops the child when it is done with the log."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def stop_at_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set `stop` once stdin closes (the server stopped, or died)."""

    def wait_for_eof() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, name="child-stdin", daemon=True).start()


def hold_lock(path: Path, what: str, *, shared: bool = False) -> IO[bytes]:
    """An exclusive lock on `path` (shared: one that only an exclusive holder excludes), waited
    for; held while the returned file stays open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("ab")
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    if _try_lock(handle, mode):
        return handle
    logger.warning("another %s holds %s; waiting for it", what, path)
    fcntl.flock(handle, mode)
    return handle


def _try_lock(handle: IO[bytes], mode: int) -> bool:
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
