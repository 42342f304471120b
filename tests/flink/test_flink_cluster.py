"""The job on a real standalone Flink cluster (a JobManager and two TaskManagers as separate
processes, started by `kartshoppe.flink.cluster` from the distribution inside `apache-flink`),
submitted with `flink run -py`: it takes a savepoint while running, stops with a savepoint,
resumes from it at a higher parallelism (1 -> 2) with the rest of the stream, and ends with the
totals of an uninterrupted run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flink_support import create_topics, produce
from test_flink_job import (
    job_args,
    last_totals,
    of_type,
    read_outputs,
    recorded_stream,
    run_embedded,
    same_totals,
    signals,
)

from kartshoppe.events import Topic
from kartshoppe.flink.cluster import FlinkCluster
from kartshoppe.infra.kafka_broker import KafkaBroker

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(1200)]

JOB_TIMEOUT_S = 420.0


def wait_on_cluster(
    cluster: FlinkCluster, job_id: str, condition: Callable[[], bool], what: str
) -> None:
    """Poll `condition` while the job runs; fail with the cluster's logs if it stops first."""
    import time

    deadline = time.monotonic() + JOB_TIMEOUT_S
    while not condition():
        state = cluster.job(job_id)["state"]
        if state in ("FAILED", "CANCELED", "FINISHED"):
            raise AssertionError(f"job {state} while waiting for {what}:\n{cluster.logs()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{cluster.logs()}")
        time.sleep(1)


def test_the_cluster_runs_a_jobmanager_and_two_taskmanagers_with_one_slot_each(
    flink_cluster: FlinkCluster,
) -> None:
    overview = flink_cluster.overview()
    assert overview["taskmanagers"] == 2
    assert overview["slots-total"] == 2
    assert not flink_cluster.start()  # a second start is a no-op


def test_a_job_resumed_from_a_savepoint_at_a_higher_parallelism_counts_every_event_once(
    flink_cluster: FlinkCluster,
    kafka_broker: KafkaBroker,
    fresh_kafka: Callable[[], str],
    tmp_path: Path,
) -> None:
    events = recorded_stream(sessions=60)
    inputs = {e.event_id for e in events}
    reference = run_embedded(events, tmp_path)
    half = len(events) // 2
    bootstrap = fresh_kafka()
    create_topics(bootstrap)
    produce(bootstrap, events[:half])
    args = job_args(bootstrap, tmp_path)
    log_file = tmp_path / "submit.log"

    first = flink_cluster.submit(args, parallelism=1, log_file=log_file)
    flink_cluster.wait_running(first)

    def first_half_processed() -> bool:
        outputs = read_outputs(bootstrap, inputs)
        updates = of_type(outputs, Topic.FANOUT, "ANALYTICS_UPDATED").values()
        return max((e["timestamp"] for e in updates), default=0) >= events[half // 2].timestamp

    wait_on_cluster(flink_cluster, first, first_half_processed, "the first half")
    taken = flink_cluster.savepoint(first)
    assert (taken.path / "_metadata").is_file()
    assert flink_cluster.job(first)["state"] == "RUNNING"
    stopped = flink_cluster.stop_job(first)
    assert (stopped.path / "_metadata").is_file()

    # the rest arrives while no job runs; the resumed job has twice the parallelism
    produce(bootstrap, events[half:])
    second = flink_cluster.submit(args, parallelism=2, from_savepoint=stopped, log_file=log_file)
    try:
        flink_cluster.wait_running(second)
        job = flink_cluster.job(second)
        assert {v["parallelism"] for v in job["vertices"]} == {2}
        state: dict[str, Any] = {}

        def caught_up() -> bool:
            state["outputs"] = read_outputs(bootstrap, inputs)
            return same_totals(state["outputs"], reference)

        wait_on_cluster(flink_cluster, second, caught_up, "the end of the stream")
    finally:
        flink_cluster.cancel_all()
    assert last_totals(state["outputs"]) == last_totals(reference)
    assert signals(state["outputs"]) == signals(reference)
