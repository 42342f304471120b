"""A standalone Flink cluster on 127.0.0.1, from the distribution inside the `apache-flink` package.

`kartshoppe flink-cluster start` starts a JobManager and (by default) two TaskManagers as
separate JVM processes with the scripts of `pyflink/bin` (FLINK_HOME is the installed `pyflink`
package), a configuration of its own in `<dir>/conf` (REST and RPC on free ports), logs in
`<dir>/log` and pid files in `<dir>/pids`, and waits until every TaskManager has registered.
`status` prints the REST address, the TaskManagers and the jobs; `stop` stops them all.
A second `start` on a running cluster does nothing.

Thread mode runs Python inside the TaskManager's JVM (pemja), so one TaskManager process has ONE
Python interpreter and one GIL: Python operators of two slots of the same TaskManager would
share a core. Each TaskManager therefore has one slot, and parallelism N needs N TaskManagers.

Jobs are submitted as a user would, with `flink run -py src/kartshoppe/flink/job.py`
(`submit`); savepoints, stop-with-savepoint and cancel go through the REST API. This module is
stdlib only: it runs in the main venv and drives the PyFlink venv's distribution.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import site
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from kartshoppe.flink.keyed import LATE_RECORDS
from kartshoppe.flink.launcher import (
    JOB_FILE,
    REPO_ROOT,
    FlinkInstallError,
    cache_dir,
    ensure_installed,
    flink_python,
    jars_dir,
)
from kartshoppe.infra.ports import free_port

STATE_FILE: Final = "cluster.json"
LATE_METRIC: Final = f".{LATE_RECORDS}"
JOBMANAGER_MEMORY: Final = "1024m"
TASKMANAGER_MEMORY: Final = "1536m"
READY_TIMEOUT_S: Final = 300.0
SUBMIT_TIMEOUT_S: Final = 300.0
SAVEPOINT_TIMEOUT_S: Final = 300.0
JOB_ID: Final = re.compile(r"JobID ([0-9a-f]{32})")


class FlinkClusterError(RuntimeError):
    """The cluster could not be started, reached or asked to do something."""


def default_dir() -> Path:
    return cache_dir().parent / "flink-cluster"


def flink_home() -> Path:
    """The `pyflink` package of the PyFlink venv: it ships `bin/`, `conf/`, `lib/`, `opt/`."""
    found = sorted((cache_dir() / "venv" / "lib").glob("python3*/site-packages/pyflink"))
    if not found:
        raise FlinkClusterError(f"no pyflink under {cache_dir() / 'venv'}: install Flink first")
    return found[0]


def _java_opts(home: Path) -> str:
    """The JVM options of the shipped configuration (module opens Java 17 needs)."""
    text = (home / "conf" / "config.yaml").read_text()
    match = re.search(r"^\s+all:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


def configuration(directory: Path, home: Path, rest_port: int, rpc_port: int) -> dict[str, str]:
    """The cluster's `config.yaml` (flat keys), every address on 127.0.0.1."""
    python = str(flink_python())
    return {
        "env.java.opts.all": _java_opts(home),
        # the `flink run` client is a short-lived JVM busy planning SQL: C2 compiles cost it
        # more than they return (client 31-41 s instead of 40-81 s, bench/results/flink.md)
        "env.java.opts.client": "-XX:TieredStopAtLevel=1",
        "jobmanager.rpc.address": "127.0.0.1",
        "jobmanager.rpc.port": str(rpc_port),
        "jobmanager.bind-host": "127.0.0.1",
        "jobmanager.memory.process.size": JOBMANAGER_MEMORY,
        "jobmanager.execution.failover-strategy": "region",
        "taskmanager.host": "127.0.0.1",
        "taskmanager.bind-host": "127.0.0.1",
        "taskmanager.numberOfTaskSlots": "1",
        "taskmanager.memory.process.size": TASKMANAGER_MEMORY,
        # thread mode keeps Python in the JVM heap: little managed memory is needed
        "taskmanager.memory.managed.size": "128m",
        # in-flight data sized to about a second of throughput instead of full 32 KB buffers:
        # watermarks and checkpoint barriers queue behind fewer records (both wait for every
        # record before them, and each costs the Python operators a millisecond or more)
        "taskmanager.network.memory.buffer-debloat.enabled": "true",
        "rest.address": "127.0.0.1",
        "rest.bind-address": "127.0.0.1",
        "rest.port": str(rest_port),
        "parallelism.default": "1",
        "python.execution-mode": "thread",
        "python.executable": python,
        "python.client.executable": python,
        "state.backend.type": "hashmap",
        "execution.checkpointing.dir": (directory / "checkpoints").resolve().as_uri(),
        "state.savepoints.dir": (directory / "savepoints").resolve().as_uri(),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "web.submit.enable": "false",
        # the shaded Hadoop jar in lib/ (`cluster_jars`) would make every JVM, the `flink run`
        # client's too, log in to Hadoop security (seconds of user lookup); no Kerberos here
        "security.module.factory.classes": (
            "org.apache.flink.runtime.security.modules.JaasModuleFactory"
        ),
        "security.context.factory.classes": (
            "org.apache.flink.runtime.security.contexts.NoOpSecurityContextFactory"
        ),
        # a loaded shared machine: the 10 s defaults let a TaskManager give up starting
        "pekko.startup-timeout": "120 s",
        "pekko.ask.timeout": "60 s",
        "heartbeat.timeout": "120 s",
    }


def _yaml(settings: dict[str, str]) -> str:
    return "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items())


CLI_CLASSES: Final = "org/apache/commons/cli/"
"""What a connector jar must not bring onto the `flink run` client's class path: the shaded
Hadoop jar Paimon needs carries an old commons-cli, which shadows Flink's and breaks the CLI
(`--fromSavepoint`: NoSuchMethodError `CommandLine.hasOption(Option)`)."""


def _without_cli(jar: Path, target: Path) -> Path:
    """`jar` minus the commons-cli classes, written once to `target` (atomically: clusters
    started side by side may race for it); stored uncompressed, which is quick to write."""
    stamp = f"{jar.stat().st_size}-{jar.stat().st_mtime_ns}"
    done = target.with_name(f"{target.name}.{stamp}")
    if target.exists() and done.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    with zipfile.ZipFile(jar) as source, zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as out:
        for entry in source.infolist():
            if not entry.filename.startswith(CLI_CLASSES):
                out.writestr(entry, source.read(entry), zipfile.ZIP_STORED)
    partial.replace(target)
    done.touch()
    return target


def cluster_jars() -> list[Path]:
    """The connector jars of the install, for the cluster's `lib/`: each as installed, or
    (a jar with commons-cli in it) a copy without it, kept in the cache beside the jars."""
    jars = []
    for jar in sorted(jars_dir().glob("*.jar")):
        with zipfile.ZipFile(jar) as opened:
            has_cli = any(n.startswith(CLI_CLASSES) for n in opened.namelist())
        jars.append(_without_cli(jar, cache_dir() / "lib" / jar.name) if has_cli else jar)
    return jars


@dataclass(frozen=True)
class Savepoint:
    location: str

    @property
    def path(self) -> Path:
        return Path(self.location.removeprefix("file:"))


class FlinkCluster:
    """One standalone cluster whose files live in `directory`."""

    def __init__(self, directory: Path | None = None, taskmanagers: int = 2) -> None:
        self.directory = (directory or default_dir()).resolve()
        self.taskmanagers = taskmanagers

    # --- files and environment -------------------------------------------------------------

    @property
    def conf_dir(self) -> Path:
        return self.directory / "conf"

    @property
    def log_dir(self) -> Path:
        return self.directory / "log"

    @property
    def pid_dir(self) -> Path:
        return self.directory / "pids"

    @property
    def lib_dir(self) -> Path:
        return self.directory / "lib"

    def _state(self) -> dict[str, Any]:
        try:
            loaded: dict[str, Any] = json.loads((self.directory / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {}
        return loaded

    @property
    def rest_url(self) -> str:
        port = self._state().get("restPort")
        if port is None:
            raise FlinkClusterError(f"no cluster in {self.directory}: start one first")
        return f"http://127.0.0.1:{port}"

    def env(self) -> dict[str, str]:
        home = flink_home()
        # thread mode: the TaskManager's embedded interpreter starts from the base Python and
        # must be given the venv's packages and our sources
        venv_site = [str(p) for p in home.parent.parent.glob("site-packages")] or [
            *site.getsitepackages()
        ]
        return {
            **os.environ,
            "FLINK_HOME": str(home),
            "FLINK_CONF_DIR": str(self.conf_dir),
            "FLINK_LOG_DIR": str(self.log_dir),
            "FLINK_PID_DIR": str(self.pid_dir),
            "FLINK_LIB_DIR": str(self.lib_dir),
            "PYTHONPATH": os.pathsep.join([*venv_site, str(REPO_ROOT / "src")]),
        }

    def _scripts(self, *calls: Sequence[str]) -> None:
        """Run `bin/` scripts (name, args...) side by side: each spends most of its time in a
        JVM computing memory settings, and `flink-daemon.sh` locks its pid file itself."""
        env = self.env()
        started = [
            (
                call,
                subprocess.Popen(
                    ["bash", str(flink_home() / "bin" / call[0]), *call[1:]],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
            )
            for call in calls
        ]
        failed = []
        for call, process in started:
            output, _ = process.communicate(timeout=300)
            if process.returncode != 0:
                failed.append(f"{' '.join(call)} failed:\n{output}")
        if failed:
            raise FlinkClusterError("\n".join(failed))

    # --- lifecycle --------------------------------------------------------------------------

    def running(self) -> bool:
        try:
            self.overview()
        except FlinkClusterError:
            return False
        return True

    def start(self) -> bool:
        """Start the cluster and wait until ready; False (and nothing done) if it already runs."""
        if self.running():
            return False
        ensure_installed()
        home = flink_home()
        for d in (self.conf_dir, self.log_dir, self.pid_dir, self.lib_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._link_lib(home)
        for stale in self.pid_dir.glob("*.pid"):
            stale.unlink()  # a cluster that is not answering: its processes are gone
        for shipped in (home / "conf").iterdir():
            if shipped.name.startswith("log4j") or shipped.name.startswith("logback"):
                (self.conf_dir / shipped.name).write_bytes(shipped.read_bytes())
        rest_port, rpc_port = free_port(), free_port()
        settings = configuration(self.directory, home, rest_port, rpc_port)
        (self.conf_dir / "config.yaml").write_text(_yaml(settings))
        (self.conf_dir / "workers").write_text("127.0.0.1\n" * self.taskmanagers)
        (self.conf_dir / "masters").write_text(f"127.0.0.1:{rest_port}\n")
        (self.directory / STATE_FILE).write_text(
            json.dumps({"restPort": rest_port, "rpcPort": rpc_port, "tms": self.taskmanagers})
        )
        try:
            self._scripts(
                ("jobmanager.sh", "start"), *[("taskmanager.sh", "start")] * self.taskmanagers
            )
            self.wait_ready()
        except FlinkClusterError:
            self.stop()  # no half-started cluster left behind
            raise
        return True

    def _link_lib(self, home: Path) -> None:
        """`lib/` of the distribution plus `opt/flink-python` (the pip package keeps the Python
        operators' jar in `opt/`, and a cluster's JobManager must load them to accept a job)
        plus the connector jars (`cluster_jars`): on the cluster's own class path, a job ships
        none (its 108 MB were uploaded per submission and opened in a class loader of its own
        on each TaskManager, whose JIT-compiled code died with the job)."""
        for old in self.lib_dir.iterdir():
            old.unlink()
        shipped = [*(home / "lib").glob("*.jar"), *(home / "opt").glob("flink-python-*.jar")]
        for jar in [*shipped, *cluster_jars()]:
            (self.lib_dir / jar.name).symlink_to(jar)

    def _live_taskmanagers(self) -> int:
        listed = [
            int(line)
            for pids in self.pid_dir.glob("flink-*-taskexecutor.pid")
            for line in pids.read_text().split()
        ]
        return sum(1 for pid in listed if Path(f"/proc/{pid}").exists())

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until every TaskManager has reported its slot. On a loaded machine a TaskManager may
        give up while starting its RPC system (a fixed 10 s in Flink): one is started again."""
        wanted = self._state().get("tms", self.taskmanagers)
        deadline = time.monotonic() + timeout
        while True:
            missing = wanted - self._live_taskmanagers()
            if missing > 0:
                self._scripts(*[("taskmanager.sh", "start")] * missing)
            try:
                # a TaskManager's slots are reported a moment after it registers
                if self.overview().get("slots-total", 0) >= wanted:
                    return
            except FlinkClusterError:
                pass
            if time.monotonic() > deadline:
                raise FlinkClusterError(
                    f"the cluster in {self.directory} had not {wanted} TaskManagers after "
                    f"{timeout:.0f} s; logs in {self.log_dir}"
                )
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop every process of this cluster (by the pid files in `pid_dir`, nothing else)."""
        if not self.pid_dir.is_dir():
            return
        self._scripts(("taskmanager.sh", "stop-all"), ("jobmanager.sh", "stop-all"))

    # --- REST -------------------------------------------------------------------------------

    def _rest(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.rest_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise FlinkClusterError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise FlinkClusterError(f"{method} {path}: {exc}") from exc
        return json.loads(raw) if raw else None

    def overview(self) -> dict[str, Any]:
        found: dict[str, Any] = self._rest("GET", "/overview")
        return found

    def jobs(self) -> list[dict[str, Any]]:
        """Every job the cluster knows: id, name, state."""
        found = self._rest("GET", "/jobs/overview")["jobs"]
        return [{"id": j["jid"], "name": j["name"], "state": j["state"]} for j in found]

    def job(self, job_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._rest("GET", f"/jobs/{job_id}")
        return found

    def wait_running(self, job_id: str, timeout: float = SUBMIT_TIMEOUT_S) -> None:
        """Until every task of the job runs (a savepoint needs that)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["state"] in ("FAILED", "CANCELED", "FINISHED"):
                raise FlinkClusterError(f"job {job_id} is {job['state']}")
            vertices = job.get("vertices", [])
            if (
                job["state"] == "RUNNING"
                and vertices
                and all(v["status"] == "RUNNING" for v in vertices)
            ):
                return
            if time.monotonic() > deadline:
                raise FlinkClusterError(f"job {job_id} not running after {timeout:.0f} s")
            time.sleep(0.5)

    def _await_savepoint(self, job_id: str, request_id: str, timeout: float) -> Savepoint:
        deadline = time.monotonic() + timeout
        while True:
            answer = self._rest("GET", f"/jobs/{job_id}/savepoints/{request_id}")
            if answer["status"]["id"] == "COMPLETED":
                operation = answer["operation"]
                if "failure-cause" in operation:
                    cause = operation["failure-cause"].get("stack-trace", "")[:2000]
                    raise FlinkClusterError(f"savepoint of {job_id} failed: {cause}")
                return Savepoint(operation["location"])
            if time.monotonic() > deadline:
                raise FlinkClusterError(f"savepoint of {job_id} not done after {timeout:.0f} s")
            time.sleep(0.5)

    def savepoint(self, job_id: str, timeout: float = SAVEPOINT_TIMEOUT_S) -> Savepoint:
        """Take a savepoint of a running job, which keeps running."""
        target = str(self.directory / "savepoints")
        answer = self._rest(
            "POST", f"/jobs/{job_id}/savepoints", {"target-directory": target, "cancel-job": False}
        )
        return self._await_savepoint(job_id, answer["request-id"], timeout)

    def stop_job(self, job_id: str, timeout: float = SAVEPOINT_TIMEOUT_S) -> Savepoint:
        """Stop a job with a final savepoint (no drain: its timers stay pending in it)."""
        target = str(self.directory / "savepoints")
        answer = self._rest("POST", f"/jobs/{job_id}/stop", {"targetDirectory": target})
        savepoint = self._await_savepoint(job_id, answer["request-id"], timeout)
        self.wait_state(job_id, "FINISHED", timeout)
        return savepoint

    def cancel(self, job_id: str) -> None:
        self._rest("PATCH", f"/jobs/{job_id}?mode=cancel")
        self.wait_state(job_id, "CANCELED", SAVEPOINT_TIMEOUT_S)

    def wait_state(self, job_id: str, state: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (current := self.job(job_id)["state"]) != state:
            if current in ("FAILED", "CANCELED", "FINISHED"):
                raise FlinkClusterError(f"job {job_id} is {current}, not {state}")
            if time.monotonic() > deadline:
                raise FlinkClusterError(f"job {job_id} is {current} after {timeout:.0f} s")
            time.sleep(0.5)

    def health(self, job_id: str) -> dict[str, Any]:
        """What shows a job falling behind: per stage (vertex) the busiest subtask's busy and
        back-pressured time (ms per second) and, for the Kafka source, the records not yet read
        (`pendingRecords`, the consumer lag); and the latest completed checkpoint's duration
        and size."""
        stages = []
        for vertex in self.job(job_id).get("vertices", []):
            path = f"/jobs/{job_id}/vertices/{vertex['id']}/subtasks/metrics"
            names = [m["id"] for m in self._rest("GET", path)]
            wanted = [
                n
                for n in names
                if n in ("busyTimeMsPerSecond", "backPressuredTimeMsPerSecond")
                or n.endswith((".pendingRecords", LATE_METRIC))
            ]
            values: dict[str, float] = {}
            if wanted:
                # operator names hold brackets and spaces: quoted, or the query is refused
                query = f"{path}?get={urllib.parse.quote(','.join(wanted), safe=',')}&agg=max,sum"
                for metric in self._rest("GET", query):
                    key = metric["id"]
                    if key.endswith(".pendingRecords"):
                        key = "lag"
                    elif key.endswith(LATE_METRIC):
                        key = "late"
                    agg = "sum" if key in ("lag", "late") else "max"
                    values[key] = values.get(key, 0.0) + float(metric.get(agg, 0.0))
            stages.append(
                {
                    "stage": vertex["name"],
                    "parallelism": vertex["parallelism"],
                    "busyMsPerSecond": values.get("busyTimeMsPerSecond"),
                    "backPressuredMsPerSecond": values.get("backPressuredTimeMsPerSecond"),
                    "lagRecords": values.get("lag"),
                    "lateRecords": values.get("late"),
                }
            )
        latest = self._rest("GET", f"/jobs/{job_id}/checkpoints").get("latest", {})
        completed = latest.get("completed") or {}
        checkpoint = (
            {
                "id": completed["id"],
                "durationMs": completed.get("end_to_end_duration"),
                "sizeBytes": completed.get("checkpointed_size", completed.get("state_size")),
            }
            if completed
            else None
        )
        return {"stages": stages, "checkpoint": checkpoint}

    def cancel_all(self) -> None:
        for job in self.jobs():
            if job["state"] not in ("FAILED", "CANCELED", "FINISHED"):
                self.cancel(job["id"])

    # --- submission -------------------------------------------------------------------------

    def submit(
        self,
        job_args: Sequence[str],
        parallelism: int = 2,
        from_savepoint: Savepoint | Path | None = None,
        log_file: Path | None = None,
        job_file: Path = JOB_FILE,
    ) -> str:
        """`flink run -d -py job.py` with `job_args`; returns the job id once it is accepted.
        `job_file`: another Python file taking job.py's arguments (the bench's hollow job)."""
        python = str(flink_python())
        command = [
            "bash", str(flink_home() / "bin" / "flink"), "run", "--detached",
            "--parallelism", str(parallelism),
            "--python", str(job_file),
            "--pyExecutable", python,
            "--pyClientExecutable", python,
        ]  # fmt: skip
        if from_savepoint is not None:
            location = (
                from_savepoint.location
                if isinstance(from_savepoint, Savepoint)
                else str(from_savepoint)
            )
            command += ["--fromSavepoint", location]
        # the connector jars are in the cluster's lib/ (`_link_lib`): the job ships none
        command += ["--jars-dir", ""]
        command += [*job_args, "--parallelism", str(parallelism), "--detached"]
        done = subprocess.run(
            command,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=SUBMIT_TIMEOUT_S,
            check=False,
        )
        output = done.stdout + done.stderr
        if log_file is not None:
            with log_file.open("a") as out:
                out.write(f"$ {' '.join(command)}\n{output}\n")
        match = JOB_ID.search(output)
        if done.returncode != 0 or match is None:
            raise FlinkClusterError(f"flink run failed ({done.returncode}):\n{output[-6000:]}")
        return match.group(1)

    def logs(self, limit: int = 8000) -> str:
        """The tail of every log of the cluster (for failure messages)."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            parts.append(f"== {path.name}\n{path.read_text(errors='replace')[-limit:]}")
        return "\n".join(parts)


def _print_status(cluster: FlinkCluster) -> int:
    if not cluster.running():
        print(f"no Flink cluster running in {cluster.directory}")
        return 1
    overview = cluster.overview()
    print(f"Flink {overview.get('flink-version')} at {cluster.rest_url}")
    print(f"  TaskManagers {overview['taskmanagers']}, slots {overview['slots-total']} "
          f"({overview['slots-available']} free)")  # fmt: skip
    for job in cluster.jobs():
        print(f"  job {job['id']} {job['state']} {job['name']}")
        if job["state"] == "RUNNING":
            print("\n".join(f"    {line}" for line in health_lines(cluster.health(job["id"]))))
    return 0


def health_lines(health: dict[str, Any]) -> list[str]:
    """`FlinkCluster.health` for people."""
    lines = []
    for stage in health["stages"]:
        lag = stage["lagRecords"]
        late = stage.get("lateRecords")
        lines.append(
            f"{stage['stage'][:60]} x{stage['parallelism']}: busy {stage['busyMsPerSecond']} ms/s,"
            f" back-pressured {stage['backPressuredMsPerSecond']} ms/s"
            + (f", consumer lag {lag:.0f} records" if lag is not None else "")
            + (f", {late:.0f} records late behind the watermark" if late else "")
        )
    checkpoint = health["checkpoint"]
    lines.append(
        f"last checkpoint {checkpoint['id']}: {checkpoint['durationMs']} ms, "
        f"{checkpoint['sizeBytes']} bytes"
        if checkpoint
        else "no checkpoint completed yet"
    )
    return lines


def cluster_main(argv: Sequence[str]) -> int:
    """`kartshoppe flink-cluster start|status|stop [--dir DIR] [--taskmanagers N]`."""
    parser = argparse.ArgumentParser(
        prog="kartshoppe flink-cluster", description=__doc__.split("\n")[0]
    )
    parser.add_argument("action", choices=["start", "status", "stop"])
    parser.add_argument("--dir", type=Path, default=None, help="cluster files (default: cache)")
    parser.add_argument("--taskmanagers", type=int, default=2)
    args = parser.parse_args(list(argv))
    cluster = FlinkCluster(args.dir, args.taskmanagers)
    try:
        if args.action == "start":
            if not cluster.start():
                print(f"Flink cluster already running at {cluster.rest_url}")
            return _print_status(cluster)
        if args.action == "status":
            return _print_status(cluster)
        cluster.stop()
        print(f"Flink cluster in {cluster.directory} stopped")
        return 0
    except (FlinkClusterError, FlinkInstallError) as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(cluster_main(sys.argv[1:]))
