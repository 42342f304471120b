"""The event-store sink in a process of its own, started and supervised by the server.

pyarrow, pypaimon and the polars, pandas and numpy pypaimon brings cost the sink about 130 MB
of memory and seconds of CPU to load; in a child of its own they stay out of the serving
process. The child reads the log like any other consumer group (the embedded log notices
another process's commits, Kafka is Kafka), so nothing is handed to it but its settings.

The server supervises it as a `child_process.ChildProcess`: restarted with backoff when it
dies, stopped when its stdin closes (a clean stop, or the server dying), after it has drained
the log into the store (as the in-process sink did on a clean stop).

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
import hashlib
import logging
import socket
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from kartshoppe.child_process import (
    RESTART_BACKOFF,
    ChildProcess,
    add_nice_flag,
    hold_lock,
    ignore_terminal_signals,
    run_in_background,
    stop_at_eof,
)
from kartshoppe.config import BUSES, Settings
from kartshoppe.resilience import Backoff

if TYPE_CHECKING:
    from kartshoppe.eventstore.indexed import IndexedStore

logger = logging.getLogger(__name__)

MODULE = "kartshoppe.eventstore.sink_process"
NAME = "event-store sink process"


class SinkProcess(ChildProcess):
    """The server's side: starts the child, restarts it when it dies, stops it with the server."""

    def __init__(self, settings: Settings, backoff: Backoff = RESTART_BACKOFF) -> None:
        super().__init__(NAME, command(settings), backoff=backoff, nice=settings.background_nice)
        self.settings = settings


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
    stop_at_eof(asyncio.get_running_loop(), stop)
    lock = await asyncio.to_thread(hold_lock, settings.data_dir / "sink.lock", NAME)
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
    add_nice_flag(parser)
    args = parser.parse_args(argv)
    run_in_background(args.nice)
    ignore_terminal_signals()
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
