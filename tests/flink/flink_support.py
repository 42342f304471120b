"""Helpers of the Flink tests and benchmark: topics, a recorded stream, the job on a cluster.

The job runs as it would for a user: submitted with `flink run -py` to the standalone cluster of
`kartshoppe.flink.cluster` (PyFlink venv installed by `scripts/install-flink.sh` when missing),
here against a real broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from kartshoppe.eventlog.kafka import KafkaEventLog
from kartshoppe.eventlog.port import ALL_TOPICS, Message
from kartshoppe.events import BaseEvent, encode_event
from kartshoppe.flink import launcher
from kartshoppe.flink.cluster import FlinkCluster, Savepoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "processors"))
from tests.processors.shop_stream import ShopStream, route

__all__ = ["ShopStream", "route"]

HOUR = 3_600_000


def create_topics(bootstrap: str, partitions: int | None = None) -> None:
    """The seed's topics, with the adapter's partition counts or `partitions` each."""
    wanted = None if partitions is None else {t: partitions for t in ALL_TOPICS}

    async def create() -> None:
        async with KafkaEventLog(bootstrap, partitions=wanted):
            pass

    asyncio.run(create())


def produce(
    bootstrap: str, events: Sequence[BaseEvent], batch_records: int | None = None
) -> list[Message]:
    """Append `events` as the shop does, each with its event time as the Kafka timestamp
    (a replay of a recorded stream); returns the messages in order. By default a replay writes
    each partition's share as one record batch, which a consumer fetches whole;
    `batch_records` caps the records per batch, as a live shop's pace would."""
    settings: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "linger.ms": 5,
    }
    if batch_records is not None:
        settings["batch.num.messages"] = batch_records
    producer = Producer(settings)
    messages = [route(e) for e in events]
    for message, event in zip(messages, events, strict=True):
        while True:
            try:
                producer.produce(
                    message.topic, message.value, message.key, timestamp=event.timestamp
                )
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(60) != 0:
        raise RuntimeError("records left unsent")
    return messages


def read_topic(bootstrap: str, topic: str) -> list[tuple[str | None, bytes, int]]:
    """Every committed record of `topic` now: (key, value, kafka timestamp)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{time.monotonic_ns()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        parts = [TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions]
        ends = {}
        for tp in parts:
            _, high = consumer.get_watermark_offsets(tp, timeout=10)
            ends[tp.partition] = high
        consumer.assign(parts)
        out: list[tuple[str | None, bytes, int]] = []
        remaining = {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + 30
        while remaining and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                if msg.error():
                    continue
                key, value, offset, partition = (
                    msg.key(),
                    msg.value(),
                    msg.offset(),
                    msg.partition(),
                )
                # a consumed message (no error) has all four
                assert value is not None and offset is not None and partition is not None
                out.append((key.decode() if key else None, value, msg.timestamp()[1]))
                if offset + 1 >= ends[partition]:
                    remaining.discard(partition)
            # transaction markers take offsets too: a partition may end before its high mark
            positions = consumer.position([TopicPartition(topic, p) for p in remaining])
            remaining -= {tp.partition for tp in positions if tp.offset >= ends[tp.partition]}
        return out
    finally:
        consumer.close()


@contextlib.contextmanager
def cluster_job(
    cluster: FlinkCluster,
    args: Sequence[str],
    log_file: Path,
    parallelism: int = 2,
    from_savepoint: Savepoint | Path | None = None,
) -> Iterator[str]:
    """The job submitted to `cluster` and running; cancelled on the way out (the cluster's two
    slots are shared by the whole session), unless the test stopped it already."""
    job = cluster.submit(args, parallelism, from_savepoint, log_file)
    try:
        cluster.wait_running(job)
        yield job
    finally:
        cluster.cancel_all()


def wait_on_cluster(
    cluster: FlinkCluster, job: str, condition: Callable[[], Any], timeout: float, what: str
) -> Any:
    """Poll `condition` while the job runs until it returns something truthy; fail with the
    cluster's logs if the job ends or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        state = cluster.job(job)["state"]
        if state in ("FAILED", "CANCELED", "FINISHED"):
            raise AssertionError(f"job {state} while waiting for {what}:\n{cluster.logs()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{cluster.logs()}")
        time.sleep(1)


class FlinkJob:
    """`kartshoppe flink-job` as a child process; its output goes to `log_file`."""

    def __init__(self, args: Sequence[str], log_file: Path) -> None:
        self.args = list(args)
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> FlinkJob:
        code = "import sys; from kartshoppe.flink.launcher import flink_job_main as m;"
        code += " sys.exit(m(sys.argv[1:]))"
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """Stop the whole process group at once (the JVM too), as a crash would."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def log_tail(self, limit: int = 6000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-limit:]
        except OSError:
            return "(no log)"


@contextlib.contextmanager
def running(args: Sequence[str], log_file: Path) -> Iterator[FlinkJob]:
    job = FlinkJob(args, log_file).start()
    try:
        yield job
    finally:
        job.kill()


def wait_for(
    condition: Callable[[], Any], job: FlinkJob, timeout: float, what: str, every: float = 1.0
) -> Any:
    """Poll `condition` until it returns something truthy; fail with the job's log if not."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if not job.alive():
            raise AssertionError(
                f"the Flink job exited while waiting for {what}:\n{job.log_tail()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; job log:\n{job.log_tail()}")
        time.sleep(every)


def ensure_flink() -> None:
    launcher.ensure_installed()


def encode(event: BaseEvent) -> bytes:
    return encode_event(event)
