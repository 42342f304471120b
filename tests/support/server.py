"""Run the real server as a child process for tests: start, wait until ready, crash, restart.

The server is started as `<python> -m kartshoppe serve --host H --port P --data-dir D [args]` in
its own process group, with stdout and stderr appended to `server.log` in the data directory.
Stopping kills the whole group, so nothing the server spawned outlives the test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Final, NoReturn, Self
from urllib.parse import quote

import httpx

from tests.support.ports import LOOPBACK, free_port

DEFAULT_PROGRAM: Final[tuple[str, ...]] = (sys.executable, "-m", "kartshoppe")
LOG_NAME: Final = "server.log"
LOG_TAIL_CHARS: Final = 8000
POLL_INTERVAL: Final = 0.05
PORT_ATTEMPTS: Final = 3
READY_TIMEOUT: Final = float(os.environ.get("KARTSHOPPE_TEST_READY_S", "90"))
"""How long a start may take; raise it on a loaded machine (imports alone can take 30 s)."""


class ServerStartError(RuntimeError):
    """The server exited or did not become ready in time; the message ends with its log."""


class ServerProcess:
    """One server process on a fixed host, port and data directory, restartable in place."""

    def __init__(
        self,
        data_dir: Path,
        *args: str,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        host: str = LOOPBACK,
        program: Sequence[str] = DEFAULT_PROGRAM,
        stop_timeout: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.args: tuple[str, ...] = args
        self.port = port if port is not None else free_port(host)
        self.env: dict[str, str] = dict(env or {})
        self.host = host
        self.program: tuple[str, ...] = tuple(program)
        self.stop_timeout = stop_timeout
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_offset = 0

    # --- addresses ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def ws_url(self, session_id: str, user_id: str = "anonymous") -> str:
        return (
            f"ws://{self.host}:{self.port}/ecommerce/"
            f"{quote(session_id, safe='')}/{quote(user_id, safe='')}"
        )

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def command(self) -> list[str]:
        return [
            *self.program,
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.args,
        ]

    # --- state --------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        """The exit code once the process has ended (negative: killed by that signal)."""
        if self._proc is not None and self._proc.returncode is None and self._has_exited():
            self._reap()
        return self._proc.returncode if self._proc else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None and not self._has_exited()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        """The end of what the current (or last) run wrote, at most `chars` characters."""
        return self.log_text()[self._log_offset :][-chars:]

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Launch the process (not waiting for it); see `wait_ready`."""
        if self.is_running():
            raise RuntimeError(f"server already running (pid {self.pid})")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self._close_log()
        self._log = self.log_path.open("ab")
        self._log_offset = len(self.log_text())
        self._log.write(f"\n=== start {self.starts}: {' '.join(self.command)}\n".encode())
        self._log.flush()
        self._proc = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> Self:
        """Block until `GET /ready` answers 200; `ServerStartError` if it exits or times out."""
        return self.wait_for("/ready", timeout)

    def wait_live(self, timeout: float = 30.0) -> Self:
        """Block until `GET /health` answers 200 (up, views possibly still catching up)."""
        return self.wait_for("/health", timeout)

    def wait_for(self, path: str, timeout: float) -> Self:
        if self._proc is None:
            raise RuntimeError("server not started")
        deadline = time.monotonic() + timeout
        last = "no answer"
        # loopback polling must not be routed through a proxy from the environment
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while True:
                code = self.returncode
                if code is not None:
                    self._fail(f"server exited with code {code} before {path} answered 200")
                try:
                    response = client.get(self.url(path))
                    if response.status_code == 200:
                        return self
                    last = f"HTTP {response.status_code}: {response.text[:200]}"
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if time.monotonic() >= deadline:
                    self._fail(f"{path} not 200 within {timeout:.1f}s (last: {last})")
                time.sleep(POLL_INTERVAL)

    def kill(self) -> int | None:
        """SIGKILL the server and everything it spawned (a crash); return the exit code."""
        if self._proc is None:
            return None
        if self._proc.returncode is None:
            self._signal_group(signal.SIGKILL)
            self._reap()
        return self._proc.returncode

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM, wait up to `timeout` (default `stop_timeout`) for a clean exit, then SIGKILL."""
        if self._proc is None:
            return None
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + (self.stop_timeout if timeout is None else timeout)
            while not self._has_exited() and time.monotonic() < deadline:
                time.sleep(POLL_INTERVAL)
            self._signal_group(signal.SIGKILL)
            self._reap()
        return self._proc.returncode

    def restart(self, *, crash: bool = False, timeout: float = 30.0) -> Self:
        """Stop (or, with `crash`, SIGKILL) and start again on the same port and data directory."""
        if crash:
            self.kill()
        else:
            self.stop()
        return self.start().wait_ready(timeout)

    def __enter__(self) -> Self:
        self.start()
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- internals ----------------------------------------------------------------------------

    def _has_exited(self) -> bool:
        # WNOWAIT leaves the child a zombie, so its pid (our process group id) cannot be reused
        # before `_reap` has killed what the server left behind in the group
        assert self._proc is not None
        try:
            info = os.waitid(os.P_PID, self._proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)

    def _reap(self) -> None:
        assert self._proc is not None
        self._signal_group(signal.SIGKILL)
        self._proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _fail(self, reason: str) -> NoReturn:
        message = f"{reason}\ncommand: {' '.join(self.command)}\n--- {self.log_path} ---\n"
        message += self.log_tail()
        print(message, file=sys.stderr)
        raise ServerStartError(message)


def _address_in_use(server: ServerProcess) -> bool:
    return "address already in use" in server.log_tail().lower()


@contextlib.contextmanager
def running_server(
    tmp_path: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    program: Sequence[str] = DEFAULT_PROGRAM,
    ready_timeout: float = READY_TIMEOUT,
) -> Iterator[ServerProcess]:
    """A ready server on `tmp_path / "data"`, stopped on exit; its log is printed if the body fails.

    Without a fixed `port`, a port another process grabbed between choosing and binding is
    retried with a fresh one.
    """
    server: ServerProcess | None = None
    for attempt in range(1, PORT_ATTEMPTS + 1):
        server = ServerProcess(tmp_path / "data", *args, port=port, env=env, program=program)
        try:
            server.start().wait_ready(ready_timeout)
            break
        except ServerStartError:
            server.stop()
            if port is not None or attempt == PORT_ATTEMPTS or not _address_in_use(server):
                raise
    assert server is not None
    try:
        yield server
    except BaseException:
        print(f"--- {server.log_path} ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
