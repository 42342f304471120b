"""ServerProcess starts, waits for, crashes, stops and restarts a server process correctly.

The process under test is a minimal stand-in HTTP server (below) that takes the same command
line as `kartshoppe serve`; the API tests run the real server through the same harness.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import server as server_module
from tests.support.ports import free_port, port_accepts
from tests.support.server import ServerProcess, ServerStartError, running_server

STAND_IN = r"""
import argparse, http.server, json, os, signal, subprocess, sys, time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("command")
parser.add_argument("--host")
parser.add_argument("--port", type=int)
parser.add_argument("--data-dir", type=Path)
parser.add_argument("--ready-after", type=float, default=0.0)
parser.add_argument("--fail", default="")
parser.add_argument("--ignore-sigterm", action="store_true")
parser.add_argument("--spawn-child", action="store_true")
opts = parser.parse_args()
if opts.fail:
    print(opts.fail, file=sys.stderr)
    sys.exit(3)
starts_file = opts.data_dir / "starts"
starts = int(starts_file.read_text()) + 1 if starts_file.exists() else 1
starts_file.write_text(str(starts))
if opts.spawn_child:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    (opts.data_dir / "child.pid").write_text(str(child.pid))
ready_at = None  # counted from the first answer: starting alone can take seconds under load

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global ready_at
        if ready_at is None:
            ready_at = time.monotonic() + opts.ready_after
        routes = {
            "/health": (200, "ok"),
            "/ready": (200, "ready")
            if ready_at is not None and time.monotonic() >= ready_at
            else (503, "catching up"),
            "/starts": (200, starts),
            "/argv": (200, sys.argv[1:]),
            "/env": (200, os.environ.get("STAND_IN_FLAG")),
        }
        status, body = routes.get(self.path, (404, None))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

def on_term(signum, frame):
    print("stand-in: terminated cleanly", flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, signal.SIG_IGN if opts.ignore_sigterm else on_term)
server = http.server.ThreadingHTTPServer((opts.host, opts.port), Handler)
print(f"stand-in: listening on {opts.port}", flush=True)
server.serve_forever()
"""


@pytest.fixture
def stand_in(tmp_path: Path) -> tuple[str, ...]:
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    return (sys.executable, str(script))


def _get(server: ServerProcess, path: str) -> object:
    response = httpx.get(server.url(path), timeout=2.0)
    response.raise_for_status()
    return response.json()


def _alive(pid: int) -> bool:
    # a killed orphan may linger as a zombie until init reaps it; that counts as dead
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_free_port_gives_a_port_that_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_start_passes_host_port_data_dir_and_extra_args(
    tmp_path: Path, stand_in: tuple[str, ...]
) -> None:
    with ServerProcess(tmp_path / "data", "--ready-after", "0", program=stand_in) as server:
        assert _get(server, "/argv") == [
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(server.port),
            "--data-dir",
            str(tmp_path / "data"),
            "--ready-after",
            "0",
        ]
        assert server.base_url == f"http://127.0.0.1:{server.port}"


def test_extra_environment_reaches_the_server(tmp_path: Path, stand_in: tuple[str, ...]) -> None:
    with running_server(tmp_path, env={"STAND_IN_FLAG": "on"}, program=stand_in) as server:
        assert _get(server, "/env") == "on"


def test_wait_ready_returns_only_once_ready_answers_200(
    tmp_path: Path, stand_in: tuple[str, ...]
) -> None:
    server = ServerProcess(tmp_path, "--ready-after", "3", program=stand_in).start()
    try:
        server.wait_live()
        assert httpx.get(server.url("/ready")).status_code == 503
        server.wait_ready()
        assert httpx.get(server.url("/ready")).status_code == 200
    finally:
        server.stop()


def test_a_server_that_exits_at_start_fails_fast_with_its_log(
    tmp_path: Path, stand_in: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    server = ServerProcess(tmp_path, "--fail", "bad config: no such adapter", program=stand_in)
    started = time.monotonic()
    with pytest.raises(ServerStartError, match=r"(?s)exited with code 3.*bad config"):
        server.start().wait_ready(timeout=20)
    assert time.monotonic() - started < 10
    assert "bad config: no such adapter" in (tmp_path / "server.log").read_text()
    assert "bad config: no such adapter" in capsys.readouterr().err


def test_a_server_that_never_gets_ready_times_out_naming_the_last_answer(
    tmp_path: Path, stand_in: tuple[str, ...]
) -> None:
    server = ServerProcess(tmp_path, "--ready-after", "600", program=stand_in).start()
    try:
        server.wait_live()  # answering at all can take seconds on a loaded machine
        with pytest.raises(ServerStartError, match=r"/ready not 200 within 0.5s.*HTTP 503"):
            server.wait_ready(timeout=0.5)
        assert server.is_running()
    finally:
        server.stop()


def test_stop_sends_sigterm_for_a_clean_exit(tmp_path: Path, stand_in: tuple[str, ...]) -> None:
    with running_server(tmp_path, program=stand_in) as server:
        assert server.stop() == 0
        assert "stand-in: terminated cleanly" in server.log_text()
        assert not server.is_running()


def test_stop_falls_back_to_sigkill_when_sigterm_is_ignored(
    tmp_path: Path, stand_in: tuple[str, ...]
) -> None:
    with running_server(tmp_path, "--ignore-sigterm", program=stand_in) as server:
        assert server.stop(timeout=0.3) == -9


def test_kill_crashes_the_server_and_frees_its_port(
    tmp_path: Path, stand_in: tuple[str, ...]
) -> None:
    with running_server(tmp_path, program=stand_in) as server:
        assert server.kill() == -9
        assert server.returncode == -9
        assert not port_accepts(server.port)


def test_kill_also_ends_processes_the_server_spawned(
    tmp_path: Path, stand_in: tuple[str, ...]
) -> None:
    with running_server(tmp_path, "--spawn-child", program=stand_in) as server:
        child = int((server.data_dir / "child.pid").read_text())
        assert _alive(child)
        server.kill()
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)


@pytest.mark.parametrize("crash", [False, True])
def test_restart_reuses_the_port_and_the_data_dir(
    tmp_path: Path, stand_in: tuple[str, ...], crash: bool
) -> None:
    with running_server(tmp_path, program=stand_in) as server:
        port, first_pid = server.port, server.pid
        assert _get(server, "/starts") == 1
        server.restart(crash=crash)
        assert server.port == port
        assert server.pid != first_pid
        assert _get(server, "/starts") == 2
        assert server.log_text().count("=== start") == 2


def test_running_server_stops_the_server_even_when_the_body_fails(
    tmp_path: Path, stand_in: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        pytest.raises(RuntimeError, match="test body failed"),
        running_server(tmp_path, program=stand_in) as server,
    ):
        raise RuntimeError("test body failed")
    assert not server.is_running()
    assert not port_accepts(server.port)
    assert "stand-in: listening on" in capsys.readouterr().err


def test_running_server_retries_on_a_fresh_port_when_its_port_was_taken(
    tmp_path: Path, stand_in: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        monkeypatch.setattr(server_module, "free_port", lambda host: next(ports, free_port(host)))
        with running_server(tmp_path, program=stand_in) as server:
            assert server.port != taken
            assert _get(server, "/health") == "ok"
            assert "address already in use" in server.log_text().lower()


def test_ws_url_names_session_and_user(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, port=8123)
    assert server.ws_url("sess_1", "user_9") == "ws://127.0.0.1:8123/ecommerce/sess_1/user_9"
    assert server.ws_url("sess_1") == "ws://127.0.0.1:8123/ecommerce/sess_1/anonymous"


def test_the_harness_leaves_no_process_behind(tmp_path: Path, stand_in: tuple[str, ...]) -> None:
    with running_server(tmp_path, program=stand_in) as server:
        pid = server.pid
    assert pid is not None
    assert not _alive(pid)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
