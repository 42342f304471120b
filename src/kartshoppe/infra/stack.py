"""`kartshoppe stack up|status|down`: the distributed stack on one machine.

`up` starts, each only if it is not running yet (so a second `up` does nothing):
1. the Kafka broker (`infra.kafka_broker`, the command line's broker in the cache);
2. the standalone Flink cluster (`flink.cluster`: a JobManager and two TaskManagers);
3. the processors job on it at parallelism 2 (`flink run -py`), resumed from the savepoint the
   last `down` took, writing the Paimon event store (`<dir>/warehouse`);
4. two API instances on consecutive ports (`kartshoppe serve --bus kafka --processors flink`):
   the first seeds the catalog, the second waits for it; both read the event store.
It waits until every part answers, then prints the addresses. `down` stops the API instances,
stops the job with a savepoint, then the cluster and the broker. Everything lives in `<dir>`
(default `<cache>/stack`), recorded in `<dir>/stack.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from kartshoppe.flink.cluster import FlinkCluster, FlinkClusterError, health_lines
from kartshoppe.flink.launcher import FlinkInstallError, cache_dir
from kartshoppe.infra.kafka_broker import KafkaBrokerError, read_state, start_local, stop_local
from kartshoppe.infra.ports import free_port

JOB_NAME: Final = "kartshoppe-processors"
PARALLELISM: Final = 2
API_INSTANCES: Final = 2
READY_TIMEOUT_S: Final = 300.0
LIVE: Final = ("RUNNING", "CREATED", "INITIALIZING", "RESTARTING")


class StackError(RuntimeError):
    """A part of the stack did not start or stop."""


def default_dir() -> Path:
    return cache_dir().parent / "stack"


class Stack:
    def __init__(self, directory: Path | None = None, port: int | None = None) -> None:
        self.directory = (directory or default_dir()).resolve()
        self.port = port
        self.cluster = FlinkCluster(self.directory / "flink", taskmanagers=PARALLELISM)

    # --- recorded state ---------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.directory / "stack.json"

    def state(self) -> dict[str, Any]:
        try:
            loaded: dict[str, Any] = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return loaded

    def _save(self, **changes: Any) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({**self.state(), **changes}, indent=2))

    @property
    def warehouse(self) -> Path:
        return self.directory / "warehouse"

    # --- up ---------------------------------------------------------------------------------

    def up(self) -> list[str]:
        bootstrap = start_local().bootstrap
        self.cluster.start()
        job = self.live_job() or self._submit(bootstrap)
        self._save(bootstrap=bootstrap, job=job)
        apis = self._start_apis(bootstrap)
        return self.addresses(bootstrap, job, apis)

    def live_job(self) -> str | None:
        for job in self.cluster.jobs():
            if job["name"] == JOB_NAME and job["state"] in LIVE:
                return str(job["id"])
        return None

    def _submit(self, bootstrap: str) -> str:
        _create_topics(bootstrap)
        args = [
            "--bootstrap", bootstrap,
            "--warehouse", str(self.warehouse),
            "--checkpoint-dir", str(self.directory / "checkpoints"),
        ]  # fmt: skip
        savepoint = self.state().get("savepoint")
        job = self.cluster.submit(
            args,
            parallelism=PARALLELISM,
            from_savepoint=Path(savepoint) if savepoint else None,
            log_file=self.directory / "submit.log",
        )
        self.cluster.wait_running(job)
        return job

    def _start_apis(self, bootstrap: str) -> list[int]:
        recorded: list[int] = self.state().get("apiPorts", [])
        if recorded and all(_ready(p) for p in recorded):
            return recorded
        self._stop_apis()
        secret = self.state().get("jwtSecret") or secrets.token_urlsafe(32)
        first = self.port or _consecutive_free_ports(API_INSTANCES)
        ports = [first + i for i in range(API_INSTANCES)]
        pids = []
        for i, port in enumerate(ports):
            data = self.directory / f"api-{i + 1}"
            data.mkdir(parents=True, exist_ok=True)
            env = {
                **os.environ,
                "KARTSHOPPE_JWT_SECRET": secret,
                "KARTSHOPPE_WAREHOUSE": str(self.warehouse),
                "KARTSHOPPE_SINK": "0",  # the Flink job writes the event store
                "KARTSHOPPE_SEED": "1" if i == 0 else "0",
            }
            command = [
                sys.executable, "-m", "kartshoppe", "serve",
                "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data),
                "--bus", "kafka", "--bootstrap", bootstrap, "--processors", "flink",
            ]  # fmt: skip
            with (data / "server.log").open("ab") as out:
                process = subprocess.Popen(
                    command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
                )
            pids.append(process.pid)
            self._save(apiPorts=ports[: i + 1], apiPids=pids, jwtSecret=secret)
            # the second instance starts after the first has seeded the catalog
            _wait_ready(port, process)
        return ports

    def addresses(self, bootstrap: str, job: str, apis: list[int]) -> list[str]:
        return [
            f"Kafka       {bootstrap}",
            f"Flink       {self.cluster.rest_url} (job {job}, parallelism {PARALLELISM})",
            f"event store {self.warehouse}",
            *[f"API {i + 1}       http://127.0.0.1:{p}" for i, p in enumerate(apis)],
        ]

    # --- status -----------------------------------------------------------------------------

    def status(self) -> tuple[bool, list[str]]:
        lines = []
        broker = read_state()
        lines.append(f"Kafka       {broker.bootstrap if broker else 'not running'}")
        healthy = broker is not None
        if self.cluster.running():
            overview = self.cluster.overview()
            job = self.live_job()
            lines.append(
                f"Flink       {self.cluster.rest_url}, {overview['taskmanagers']} TaskManagers, "
                f"job {job or 'not running'}"
            )
            if job is not None:
                lines += [f"  {line}" for line in health_lines(self.cluster.health(job))]
            healthy = healthy and job is not None
        else:
            lines.append("Flink       not running")
            healthy = False
        lines.append(f"event store {self.warehouse}")
        ports: list[int] = self.state().get("apiPorts", [])
        for i, port in enumerate(ports or [0] * API_INSTANCES):
            ok = bool(port) and _ready(port)
            lines.append(f"API {i + 1}       http://127.0.0.1:{port} {'ready' if ok else 'down'}")
            healthy = healthy and ok
        return healthy, lines

    # --- down -------------------------------------------------------------------------------

    def _stop_apis(self) -> None:
        for pid in self.state().get("apiPids", []):
            if _is_our_server(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGTERM)
                _wait_gone(pid, 30)
        self._save(apiPids=[])

    def down(self) -> list[str]:
        lines = []
        self._stop_apis()
        lines.append("API instances stopped")
        if self.cluster.running():
            job = self.live_job()
            if job is not None:
                savepoint = self.cluster.stop_job(job)
                self._save(savepoint=str(savepoint.path))
                lines.append(f"job stopped with savepoint {savepoint.path}")
            self.cluster.stop()
            lines.append("Flink cluster stopped")
        lines.append("Kafka stopped" if stop_local() else "Kafka was not running")
        return lines


def _create_topics(bootstrap: str) -> None:
    from kartshoppe.eventlog.kafka import KafkaEventLog

    async def create() -> None:
        async with KafkaEventLog(bootstrap):
            pass

    asyncio.run(create())


def _consecutive_free_ports(count: int) -> int:
    for _ in range(50):
        first = free_port()
        if all(_port_free(first + i) for i in range(1, count)):
            return first
    raise StackError(f"no {count} consecutive free ports found")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _ready(port):
        if process.poll() is not None:
            raise StackError(f"the API on port {port} exited ({process.returncode}); see its log")
        if time.monotonic() > deadline:
            raise StackError(f"the API on port {port} not ready after {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.5)


def _is_our_server(pid: int) -> bool:
    """Guards against signalling an unrelated process that reused a stale pid."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"kartshoppe" in cmdline and b"serve" in cmdline


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _is_our_server(pid) and time.monotonic() < deadline:
        time.sleep(0.2)


def stack_main(argv: Sequence[str]) -> int:
    """`kartshoppe stack up|status|down [--dir DIR] [--port FIRST_API_PORT]`."""
    parser = argparse.ArgumentParser(prog="kartshoppe stack", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["up", "status", "down"])
    parser.add_argument("--dir", type=Path, default=None, help="stack files (default: cache)")
    parser.add_argument("--port", type=int, default=None, help="first API port (default: free)")
    args = parser.parse_args(list(argv))
    stack = Stack(args.dir, args.port)
    try:
        if args.action == "up":
            print("\n".join(stack.up()))
            return 0
        if args.action == "status":
            healthy, lines = stack.status()
            print("\n".join(lines))
            return 0 if healthy else 1
        print("\n".join(stack.down()))
        return 0
    except (StackError, FlinkClusterError, FlinkInstallError, KafkaBrokerError) as exc:
        print(f"stack {args.action}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(stack_main(sys.argv[1:]))
