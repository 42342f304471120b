"""A real single-node Apache Kafka broker (KRaft) fetched from Maven Central and run on loopback.

`fetch_kafka` copies the broker's jars (pinned in `deploy/kafka/pom.xml`) into the cache directory
(`<repo>/.cache/kafka`, or `$KARTSHOPPE_CACHE/kafka`) with Maven, once. `KafkaBroker` formats a data
directory and runs one JVM acting as both broker and controller on 127.0.0.1. The tests start one;
so can a user, through the command line, which keeps the broker's pid and address in the cache
directory so that `start` and `stop` may run from different shells:

    python -m kartshoppe.infra.kafka_broker start [--port 9092]
    python -m kartshoppe.infra.kafka_broker status
    python -m kartshoppe.infra.kafka_broker stop
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from kartshoppe.config import Settings
from kartshoppe.infra.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[3]
POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
CACHE_ENV = "KARTSHOPPE_CACHE"
BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
DEFAULT_HEAP = "512m"
DEFAULT_JVM_OPTIONS: tuple[str, ...] = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
"""A local broker on a small shared machine: C1 only and one GC thread halve start-up time
(about 10 s to 5 s here) for some peak throughput; pass `jvm_options=()` for a benchmark."""
FETCH_TIMEOUT = 900.0

_LOG4J2 = """\
status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.console.ref = console
"""


class KafkaBrokerError(RuntimeError):
    """The broker could not be fetched, started or stopped."""


def cache_dir() -> Path:
    """Where the broker's jars and the command line's broker live."""
    return Settings().cache_dir / "kafka"


def libs_dir(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "libs"


def classpath(cache: Path | None = None) -> str:
    """The JVM class path of every fetched jar (the JVM expands the `*`)."""
    return str(libs_dir(cache) / "*")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise fetches across processes (parallel test sessions share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch_kafka(cache: Path | None = None) -> Path:
    """Copy the broker's jars into the cache with Maven unless the same pom already fetched them."""
    cache = cache or cache_dir()
    libs = libs_dir(cache)
    if not POM.is_file():
        raise KafkaBrokerError(f"missing {POM}: the broker is fetched from the source checkout")
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    marker = libs / ".pom-sha256"
    with _locked(cache / ".fetch.lock"):
        if marker.is_file() and marker.read_text() == digest:
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaBrokerError("Maven (`mvn`) is needed to fetch Kafka: apt-get install maven")
        staging = cache / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        command = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=FETCH_TIMEOUT, check=False
        )
        if done.returncode != 0:
            raise KafkaBrokerError(f"fetching Kafka failed: {done.stdout}{done.stderr}"[-4000:])
        (staging / ".pom-sha256").write_text(digest)
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
    return libs


def cluster_id() -> str:
    """Kafka's cluster id form: a UUID as unpadded URL-safe base64. Like Kafka's own generator,
    never one starting with "-", which the storage tool would read as an option."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not candidate.startswith("-"):
            return candidate


def server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    """KRaft combined broker+controller, one replica of everything, loopback only."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir / "logs"),
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "6",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # One member per group in tests: no reason to wait for more to join.
        "group.initial.rebalance.delay.ms": "0",
        # Topics come from the adapter with chosen partition counts, never from a typo.
        "auto.create.topics.enable": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def broker_answers(bootstrap: str, timeout: float = 1.0) -> bool:
    # Quiet: refused connections are expected while the JVM boots.
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(metadata.brokers)


class KafkaBroker:
    """One broker JVM over `data_dir`; ports are chosen on first start and kept on restart."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        heap: str = DEFAULT_HEAP,
        jvm_options: tuple[str, ...] = DEFAULT_JVM_OPTIONS,
        cache: Path | None = None,
        start_timeout: float = 90.0,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.heap = heap
        self.jvm_options = jvm_options
        self.cache = cache or cache_dir()
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def start(self) -> None:
        """Fetch, format (first time only), launch, and return once the broker answers."""
        if self._process is not None:
            raise KafkaBrokerError(f"broker on {self.bootstrap} is already running")
        fetch_kafka(self.cache)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = self.data_dir / "server.properties"
        properties.write_text(server_properties(self.data_dir, self.port, self.controller_port))
        log4j = self.data_dir / "log4j2.properties"
        log4j.write_text(_LOG4J2)
        if not (self.data_dir / "logs" / "meta.properties").is_file():
            self._format(properties, log4j)
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [*self._java(log4j), BROKER_MAIN, str(properties)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own session: a Ctrl-C in the shell that ran `start` must not stop it.
                start_new_session=True,
            )
        self._wait_until_ready()

    def stop(self, timeout: float = 30.0) -> None:
        """Controlled shutdown (SIGTERM), killed if it has not exited within `timeout`."""
        process, self._process = self._process, None
        if process is not None:
            terminate(process.pid, timeout, process)

    def restart(self) -> None:
        """Stop and start again on the same ports over the same data."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _java(self, log4j: Path) -> list[str]:
        return [
            "java",
            f"-Xmx{self.heap}",
            "-Xms64m",
            *self.jvm_options,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            classpath(self.cache),
        ]

    def _format(self, properties: Path, log4j: Path) -> None:
        command = [*self._java(log4j), STORAGE_TOOL, "format"]
        command += ["--cluster-id", cluster_id(), "--config", str(properties)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise KafkaBrokerError(f"formatting Kafka storage failed: {done.stdout}{done.stderr}")

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise KafkaBrokerError(
                    f"Kafka exited during start-up; end of {self.log_file}:\n{self._log_tail()}"
                )
            if broker_answers(self.bootstrap):
                return
            time.sleep(0.2)
        self.stop(timeout=5)
        raise KafkaBrokerError(
            f"Kafka did not answer on {self.bootstrap} within {self.start_timeout:.0f}s; "
            f"end of {self.log_file}:\n{self._log_tail()}"
        )

    def _log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-limit:]
        except OSError:
            return "(no log)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate(pid: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM, then SIGKILL after `timeout`; reaps `process` if it is our child."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return
        if process is None and not _alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if process is not None:
        process.wait(timeout=10)


# --- command line: a broker that outlives the shell that started it ---------------------------


@dataclass(frozen=True)
class BrokerState:
    pid: int
    bootstrap: str
    port: int
    controller_port: int
    data_dir: str


def _state_file(cache: Path) -> Path:
    return cache / "broker.json"


def _is_our_broker(pid: int) -> bool:
    """Guards against signalling an unrelated process that reused a stale pid."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return BROKER_MAIN.encode() in cmdline.split(b"\0")


def read_state(cache: Path | None = None) -> BrokerState | None:
    """The command line's broker if it is still running."""
    path = _state_file(cache or cache_dir())
    if not path.is_file():
        return None
    state = BrokerState(**json.loads(path.read_text()))
    return state if _is_our_broker(state.pid) else None


def start_local(port: int | None = None, cache: Path | None = None) -> BrokerState:
    """Start the command line's broker (data in `<cache>/data`), or return the running one."""
    cache = cache or cache_dir()
    running = read_state(cache)
    if running is not None:
        return running
    previous = _state_file(cache)
    last = json.loads(previous.read_text()) if previous.is_file() else {}
    # Same ports as last time unless told otherwise: clients configured then still connect.
    broker = KafkaBroker(
        cache / "data",
        port=port or last.get("port"),
        controller_port=last.get("controller_port"),
        cache=cache,
    )
    broker.start()
    assert broker.pid is not None
    state = BrokerState(
        pid=broker.pid,
        bootstrap=broker.bootstrap,
        port=broker.port,
        controller_port=broker.controller_port,
        data_dir=str(broker.data_dir),
    )
    previous.write_text(json.dumps(asdict(state)))
    return state


def stop_local(cache: Path | None = None, timeout: float = 30.0) -> bool:
    """Stop the command line's broker; False if none was running."""
    state = read_state(cache)
    if state is None:
        return False
    terminate(state.pid, timeout)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kartshoppe.infra.kafka_broker",
        description="Run a local single-node Apache Kafka broker (KRaft) on 127.0.0.1.",
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=int, default=None, help="client port (default: free port)")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            state = start_local(args.port)
            print(f"Kafka running (pid {state.pid}) at bootstrap {state.bootstrap}")
            return 0
        if args.command == "stop":
            stopped = stop_local()
            print("Kafka stopped" if stopped else "Kafka was not running")
            return 0
        running = read_state()
        if running is None:
            print("Kafka not running")
            return 1
        print(f"Kafka running (pid {running.pid}) at bootstrap {running.bootstrap}")
        return 0
    except KafkaBrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
