"""The command bus of several worker processes on one embedded log: one decides, all serve.

`kartshoppe serve --workers N` runs N processes on one port and one data directory. Each
follows the SQLite log with its own fold and answers reads and WebSockets from it; any of them
may append (the log's write lock orders them, and a commit by one wakes the others' consumers).
The guarantees of the write side (no oversell, one redemption per use, exactly-once checkout)
need one decider per key, and here one process decides every key, exactly as a single server
does: the **leader**, the holder of an exclusive `flock` on `<data>/leader.lock`. It runs the
`LocalCommandBus` and serves it on a Unix socket beside the lock; every other worker sends its
commands there and gets their outcomes back on the same connection. The caller then waits until
its own fold has applied the outcome's positions (`ShopService._submit`): it reads its own
write, as on Kafka.

The lock also decides who does the shop's once-only work (processors, the event store's sink,
retention, timed commands, mail; `api/app.py`): `leading`. The kernel releases the lock when
its holder dies, however it dies; the worker that takes it next folds the log to its end (the
dead leader's last decisions included) before it decides anything. A command in flight to a
leader that dies fails with 503 and is retried with the same idempotency key, as on Kafka.

A single `serve` runs the same code: it takes the lock at once. So two servers started on one
data directory by mistake no longer both decide: the second forwards to the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import math
import os
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final

import orjson

from kartshoppe.application.commands import (
    COMMAND_WAIT_S,
    Command,
    CommandBus,
    LocalCommandBus,
    MalformedCommandError,
    Outcome,
    bounded,
)
from kartshoppe.application.projection import Projection
from kartshoppe.eventlog.port import EventLog, LogUnavailableError

LOCK_NAME: Final = "leader.lock"
SOCKET_NAME: Final = "leader.sock"
ELECTION_POLL_S: Final = 0.1
"""How often a worker that is not the leader tries the lock: the longest a dead leader stays
unreplaced beyond the successor's catch-up."""
CONNECT_RETRY_S: Final = 0.02
"""How often a worker retries the leader's socket while there is no leader to answer."""
SOCKET_PATH_MAX: Final = 100
"""Unix socket addresses hold 108 bytes on Linux (104 on the BSDs): longer paths go elsewhere."""
CLOSE_WAIT_S: Final = 10.0

_FRAME: Final = struct.Struct(">I")
_FRAME_MAX: Final = 16 * 1024 * 1024
_OUTCOME: Final = b"O"
_FAILURE: Final = b"F"
_DECIDED: Final = b"D"
"""The leader has committed decisions: look at the log now (pushes to every worker's sockets
then leave at once, not at the log watcher's next look)."""

logger = logging.getLogger(__name__)


def socket_path(data_dir: Path) -> str:
    """The leader's socket: beside the lock, or, where that path is too long for a Unix socket
    address, in the temp directory under a name derived from the data directory's real path (the
    same in every worker)."""
    real = data_dir.resolve()
    path = str(real / SOCKET_NAME)
    if len(os.fsencode(path)) <= SOCKET_PATH_MAX:
        return path
    digest = hashlib.sha256(os.fsencode(real)).hexdigest()[:24]
    return os.path.join(tempfile.gettempdir(), f"kartshoppe-{os.getuid()}-{digest}.sock")


class LeaderLock:
    """An exclusive `flock` on a file: one holder at a time, released by the kernel when the
    holder's process ends (a crash included). The holder writes its pid into the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.held = False

    def try_take(self) -> bool:
        if self.held:
            return True
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # close-on-exec (Python's default): a program it starts does not inherit the lock
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        self.held = True
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        self.held = False
        if fd is not None:
            os.close(fd)  # closing the only descriptor drops the lock


def _frame(payload: bytes) -> bytes:
    return _FRAME.pack(len(payload)) + payload


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = _FRAME.unpack(await reader.readexactly(_FRAME.size))
    if size > _FRAME_MAX:
        raise ConnectionError(f"frame of {size} bytes")
    return await reader.readexactly(size)


class _Link:
    """A worker's connection to the leader: commands go out, outcomes come back by command id."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_decided: Callable[[], None],
    ) -> None:
        self._writer = writer
        self._on_decided = on_decided
        self._waiting: dict[str, asyncio.Future[Outcome]] = {}
        self.open = True
        self.closed = asyncio.Event()
        self._reading = asyncio.create_task(self._read(reader), name="leader link")

    def send(self, command: Command) -> asyncio.Future[Outcome]:
        if not self.open:
            raise LogUnavailableError("the deciding worker went away; retry with the same key")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[command.command_id] = future
        self._writer.write(_frame(command.encode()))
        return future

    def forget(self, command_id: str) -> None:
        self._waiting.pop(command_id, None)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                self._settle(await _read_frame(reader))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.open = False
            self.closed.set()
            self._writer.close()
            gone = LogUnavailableError("the deciding worker went away; retry with the same key")
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(gone)
            self._waiting.clear()

    def _settle(self, frame: bytes) -> None:
        kind, body = frame[:1], frame[1:]
        if kind == _DECIDED:
            self._on_decided()
            return
        result: Outcome | LogUnavailableError
        if kind == _OUTCOME:
            result = Outcome.decode(body)
            command_id = result.command_id
        else:
            failure = orjson.loads(body)
            command_id, result = failure["commandId"], LogUnavailableError(failure["error"])
        future = self._waiting.pop(command_id, None)
        if future is None or future.done():
            return  # its caller gave up waiting
        if isinstance(result, Outcome):
            future.set_result(result)
        else:
            future.set_exception(result)

    async def close(self) -> None:
        self._writer.close()
        self._reading.cancel()
        await asyncio.gather(self._reading, return_exceptions=True)


class WorkerCommandBus(CommandBus):
    """Decides in this process while it holds the leader lock; else forwards to the holder."""

    def __init__(
        self,
        data_dir: Path,
        local: LocalCommandBus,
        projection: Projection,
        event_log: EventLog,
    ) -> None:
        self._local = local
        self._projection = projection
        self._log = event_log
        self._lock = LeaderLock(data_dir / LOCK_NAME)
        self._socket = socket_path(data_dir)
        self._leading = asyncio.Event()
        self._campaign: asyncio.Task[None] | None = None
        self._server: asyncio.Server | None = None
        self._answering: set[asyncio.Task[None]] = set()
        self._workers: set[asyncio.StreamWriter] = set()
        self._link: _Link | None = None
        self._connecting = asyncio.Lock()
        self._linking: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        return self._leading.is_set()

    async def wait_leading(self) -> None:
        await self._leading.wait()

    async def start(self) -> None:
        """Lead at once if the lock is free, else keep trying it in the background."""
        if self._lock.try_take():
            await self._lead()
        else:
            self._campaign = asyncio.create_task(self._run_for_leader(), name="leader election")
            self._linking = asyncio.create_task(self._stay_linked(), name="leader link keeper")

    async def _stay_linked(self) -> None:
        """Keep a link to the leader while there is one, so that it can tell this worker when
        it has decided something (`_DECIDED`), not only answer this worker's commands."""
        while not self.leading:
            link = await self._connected(math.inf)
            if link is None:
                return
            await link.closed.wait()

    async def _run_for_leader(self) -> None:
        while True:
            if self._lock.try_take():
                try:
                    await self._lead()
                    return
                except Exception:
                    # holding the lock without answering would stall every worker: let it go
                    logger.exception("worker %d could not take over as the leader", os.getpid())
                    self._lock.release()
            await asyncio.sleep(ELECTION_POLL_S)

    async def _lead(self) -> None:
        # every decision of the previous leader is in the log: fold it all before deciding
        self._log.look_again()
        await self._projection.catch_up()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._socket)  # a dead leader's; the lock says nobody else uses it
        self._server = await asyncio.start_unix_server(self._serve, path=self._socket)
        os.chmod(self._socket, 0o600)
        self._leading.set()
        logger.warning("worker %d leads: it decides the commands of %s", os.getpid(), self._socket)
        link, self._link = self._link, None
        if link is not None:
            await link.close()

    async def close(self) -> None:
        """Stop answering, finish the commands being decided, then let the lock go."""
        for task in (self._campaign, self._linking):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        link, self._link = self._link, None
        if link is not None:
            await link.close()
        server, self._server = self._server, None
        if server is not None:
            server.close()
            # a server's close leaves its connections open: end them, so that nothing is
            # decided here once the lock is someone else's
            for writer in list(self._workers):
                writer.close()
            if self._answering:
                await asyncio.wait(self._answering, timeout=CLOSE_WAIT_S)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._socket)
        self._leading.clear()
        self._lock.release()

    async def submit(self, command: Command, timeout: float = COMMAND_WAIT_S) -> Outcome:
        if self.leading:
            outcome = await self._local.submit(command, timeout)
            self._tell_decided()
            return outcome
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        link = await self._connected(deadline)
        if link is None:  # became the leader while waiting for one
            return await self.submit(command, timeout)
        try:
            outcome = await bounded(link.send(command), deadline - loop.time(), command.kind)
        finally:
            link.forget(command.command_id)
        # the leader has committed: read it now rather than at the log's next look
        self._log.look_again()
        return outcome

    async def _connected(self, deadline: float) -> _Link | None:
        """The link to the leader, connecting (and waiting for one) until `deadline`; None once
        this worker leads itself."""
        loop = asyncio.get_running_loop()
        while not self.leading:
            async with self._connecting:
                if self._link is not None and self._link.open:
                    return self._link
                with contextlib.suppress(FileNotFoundError, ConnectionRefusedError):
                    reader, writer = await asyncio.open_unix_connection(self._socket)
                    self._link = _Link(reader, writer, self._log.look_again)
                    return self._link
            if loop.time() >= deadline:
                raise LogUnavailableError(
                    "no worker is deciding commands yet; retry with the same key"
                )
            await asyncio.sleep(CONNECT_RETRY_S)
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A worker's connection: decide each command it sends, answer each when decided."""
        self._workers.add(writer)
        try:
            while True:
                frame = await _read_frame(reader)
                task = asyncio.create_task(self._answer(frame, writer))
                self._answering.add(task)
                task.add_done_callback(self._answering.discard)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self._workers.discard(writer)
            writer.close()

    def _tell_decided(self) -> None:
        for writer in self._workers:
            if not writer.is_closing():
                writer.write(_frame(_DECIDED))

    async def _answer(self, frame: bytes, writer: asyncio.StreamWriter) -> None:
        try:
            command = Command.decode(frame)
        except MalformedCommandError as exc:  # only our own workers connect: a bug, not input
            logger.error("a worker sent a malformed command: %s", exc)
            return
        try:
            reply = _OUTCOME + (await self._local.submit(command)).encode()
        except Exception as exc:  # the log refused; the worker's caller gets 503
            failure = {"commandId": command.command_id, "error": str(exc) or type(exc).__name__}
            reply = _FAILURE + orjson.dumps(failure)
        if not writer.is_closing():
            writer.write(_frame(reply))
        self._tell_decided()
