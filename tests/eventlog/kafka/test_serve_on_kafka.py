"""`kartshoppe serve --bus kafka` when no broker answers: a one-line error and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_port

GIVE_UP_S = 40.0
"""Far above the adapter's 10 s start timeout: `subprocess.run` raising at it means a hang."""


def test_serve_on_an_unreachable_broker_exits_with_a_one_line_error_not_a_traceback(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "-m", "kartshoppe", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(free_port()), "--data-dir", str(tmp_path)]
    command += ["--bus", "kafka", "--bootstrap", "127.0.0.1:1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=GIVE_UP_S, check=False)

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "127.0.0.1:1" in lines[0] and "did not answer" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout
