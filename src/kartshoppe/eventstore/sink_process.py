"""The event-store sink in a process of its own, started and supervised by the server.

pyarrow, pypaimon and the polars, pandas and numpy pypaimon brings cost the sink about 130 MB
of memory and seconds of CPU to load; in a child of its own they stay out of the serving
process. The child reads the log like any other consumer group (the embedded log notices
another process's commits, Kafka is Kafka), so nothing is handed to it but its settings.

The parent (`SinkProcess.run`) starts `python -m kartshoppe.eventstore.sink_process` with the
store's and the log's settings as flags and the child's stdin as a pipe, and restarts it with
backoff when it dies (exit code and restarts logged). The child stops when its stdin closes:
the server closes it on a clean stop, and the kernel closes it when the server dies, so the
child never outlives its server. It then drains the log into the store (as the in-process sink
did on a clean stop) and exits 0. Terminal signals (Ctrl-C reaches the whole process group) are
left to the server, so the child is not stopped before the server has finished with the log.

The child also answers the store's read routes (audit, time travel, series, reports) from the
store it holds open: the server forwards them over a local socket (`reads_address`) after its
own guards, so the serving process never loads the store's modules either.

An exclusive lock on `<data dir>/sink.lock` keeps a second sink (a restarted server's, while
the one of the server before it still drains) from writing the store at the same time.

This module is imported by the server: it must not import the store's modules at the top.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import hashlib
import logging
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import uvicorn

from kartshoppe.config import BUSES, Settings
from kartshoppe.resilience import Backoff, supervise

if TYPE_CHECKING:
    from kartshoppe.eventstore.indexed import IndexedStore

logger = logging.getLogger(__name__)

MODULE = "kartshoppe.eventstore.sink_process"
NAME = "event-store sink process"
RESTART_BACKOFF = Backoff(initial=0.2, maximum=10.0)
STOP_GRACE_S = 45.0
"""How long a stopping server waits for the child's last drain (itself bounded at 30 s)."""


class SinkExitedError(RuntimeError):
    """The child ended without being asked to: the supervisor restarts it."""


def command(settings: Settings) -> list[str]:
    """The child's command line: this interpreter, the settings the sink reads as flags."""
    return [
        sys.executable,
        "-m",
        MODULE,
        "--data-dir",
        str(settings.data_dir),
        "--warehouse",
        settings.warehouse,
        "--bus",
        settings.bus,
        "--bootstrap",
        settings.bootstrap,
        "--log-level",
        settings.log_level,
    ]


class SinkProcess:
    """The server's side: starts the child, restarts it when it dies, stops it with the server."""

    def __init__(self, settings: Settings, backoff: Backoff = RESTART_BACKOFF) -> None:
        self.settings = settings
        self.backoff = backoff
        self.pid: int | None = None
        self.starts = 0
        self.last_exit: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Keep a child running until `stop` is set, then wait for its last drain."""
        await supervise(lambda: self._once(stop), stop, name=NAME, backoff=self.backoff)

    async def _once(self, stop: asyncio.Event) -> None:
        child = await asyncio.create_subprocess_exec(
            *command(self.settings), stdin=asyncio.subprocess.PIPE
        )
        self.pid = child.pid
        self.starts += 1
        logger.info("%s started (pid %d)", NAME, child.pid)
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
        logger.info("%s (pid %d) exited with code %d", NAME, child.pid, code)
        if not stop.is_set():
            raise SinkExitedError(f"exited with code {code}")

    async def _stop(self, child: asyncio.subprocess.Process) -> None:
        """Close the child's stdin (its stop signal) and wait for its drain, then kill it."""
        if child.stdin is not None:
            child.stdin.close()
        try:
            await asyncio.wait_for(asyncio.shield(child.wait()), STOP_GRACE_S)
        except TimeoutError:
            logger.warning("%s (pid %d) did not stop; killing it", NAME, child.pid)
            with contextlib.suppress(ProcessLookupError):
                child.kill()


def _hold_lock(path: Path) -> IO[bytes]:
    """An exclusive lock on `path`, waited for; held while the returned file stays open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("ab")
    if _try_lock(handle):
        return handle
    logger.warning("another event-store sink holds %s; waiting for it", path)
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _try_lock(handle: IO[bytes]) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _stop_at_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set `stop` once stdin closes (the server stopped, or died)."""

    def wait_for_eof() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, name="sink-stdin", daemon=True).start()


def reads_address(data_dir: Path) -> str:
    """The local socket the child answers the store routes on: in the temporary directory,
    named after the data directory (a socket path must stay under about 100 bytes, which a data
    directory's may not; uvloop does not take abstract socket names)."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:24]
    return str(Path(tempfile.gettempdir()) / f"kartshoppe-store-{digest}.sock")


class _ReadServer(uvicorn.Server):
    """uvicorn without its signal handlers: the child's stop is its stdin closing."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _answer_reads(store: IndexedStore, address: str, stop: asyncio.Event) -> None:
    """Serve the store routes (the server forwards them, `api/routes/event_store.py`) from
    the store the sink holds open, until `stop`."""
    from fastapi import FastAPI

    from kartshoppe.api import errors
    from kartshoppe.api.routes.event_store import router

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    errors.install(app)
    app.include_router(router)
    app.state.event_store = store
    # a file left by a child that died is stale: the lock says no other child is serving
    Path(address).unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(address)
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    server = _ReadServer(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    await stop.wait()
    server.should_exit = True
    await serving
    sock.close()
    Path(address).unlink(missing_ok=True)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.error("the store's read routes stopped: %s", exc, exc_info=exc)


async def _serve(settings: Settings) -> None:
    from kartshoppe.eventlog.adapters import make_log
    from kartshoppe.eventstore.indexed import IndexedStore
    from kartshoppe.eventstore.sink import run_sink
    from kartshoppe.eventstore.table import StoreConfig

    stop = asyncio.Event()
    _stop_at_eof(asyncio.get_running_loop(), stop)
    lock = await asyncio.to_thread(_hold_lock, settings.data_dir / "sink.lock")
    try:
        store = await asyncio.to_thread(IndexedStore.open, StoreConfig(settings.warehouse))
        reads = asyncio.create_task(_answer_reads(store, reads_address(settings.data_dir), stop))
        event_log = make_log(settings)
        await event_log.start()
        try:
            await run_sink(store, event_log, stop)
        finally:
            await event_log.close()
            await asyncio.gather(reads, return_exceptions=True)
            store.close_index()
            store.events.close()
    finally:
        lock.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=MODULE, description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--bus", choices=BUSES, required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    # the server, which gets them too, stops the child when it is done with the log
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from kartshoppe.observability.logging import configure_logging

    configure_logging(args.log_level)
    flags = {
        "data_dir": args.data_dir,
        "warehouse_dir": args.warehouse,
        "bus": args.bus,
        "bootstrap": args.bootstrap,
        "log_level": args.log_level,
    }
    settings = Settings().model_copy(update=flags)
    asyncio.run(_serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
