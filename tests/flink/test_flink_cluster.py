"""The job on a real standalone Flink cluster (a JobManager and two TaskManagers as separate
processes, started by `kartshoppe.flink.cluster` from the distribution inside `apache-flink`),
submitted with `flink run -py`: it takes a savepoint while running, stops with a savepoint,
resumes from it at a higher parallelism (1 -> 2) with the rest of the stream, and ends with the
totals of an uninterrupted run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kartshoppe.events import BaseEvent, Topic
from kartshoppe.flink.cluster import FlinkCluster
from tests.flink.flink_support import create_topics, produce, wait_on_cluster
from tests.flink.test_flink_job import (
    Outputs,
    job_args,
    last_totals,
    of_type,
    read_outputs,
    recorded_stream,
    run_embedded,
    same_totals,
    signals,
)

pytestmark = pytest.mark.timeout(1200)

JOB_TIMEOUT_S = 420.0


def test_the_cluster_runs_a_jobmanager_and_two_taskmanagers_with_one_slot_each(
    flink_cluster: FlinkCluster,
) -> None:
    overview = flink_cluster.overview()
    assert overview["taskmanagers"] == 2
    assert overview["slots-total"] == 2
    assert not flink_cluster.start()  # a second start is a no-op


def test_a_job_resumed_from_a_savepoint_at_a_higher_parallelism_counts_every_event_once(
    flink_cluster: FlinkCluster,
    fresh_kafka: Callable[[], str],
    tmp_path: Path,
) -> None:
    events = recorded_stream(sessions=60)
    reference = run_embedded(events, tmp_path)
    bootstrap = fresh_kafka()
    create_topics(bootstrap)
    produce(bootstrap, events[: len(events) // 2])
    args = job_args(bootstrap, tmp_path)

    try:
        state = _savepoint_stop_and_rescale(flink_cluster, bootstrap, args, events, reference)
    finally:
        flink_cluster.cancel_all()
    assert same_totals(state, reference)
    assert last_totals(state) == last_totals(reference)
    assert signals(state) == signals(reference)


def _savepoint_stop_and_rescale(
    cluster: FlinkCluster,
    bootstrap: str,
    args: list[str],
    events: list[BaseEvent],
    reference: Outputs,
) -> Outputs:
    """Parallelism 1 over the first half, a savepoint while running, stop with a savepoint,
    the second half produced while no job runs, resumed at parallelism 2 until caught up."""
    inputs = {e.event_id for e in events}
    half = len(events) // 2
    first = cluster.submit(args, parallelism=1)
    cluster.wait_running(first)

    def first_half_processed() -> bool:
        outputs = read_outputs(bootstrap, inputs)
        updates = of_type(outputs, Topic.FANOUT, "ANALYTICS_UPDATED").values()
        return max((e["timestamp"] for e in updates), default=0) >= events[half // 2].timestamp

    wait_on_cluster(cluster, first, first_half_processed, JOB_TIMEOUT_S, "the first half")
    health = wait_on_cluster(
        cluster, first, lambda: (h := cluster.health(first))["checkpoint"] and h, 60, "a checkpoint"
    )
    assert health["checkpoint"]["durationMs"] >= 0 and health["checkpoint"]["sizeBytes"] > 0
    source = [s for s in health["stages"] if s["lagRecords"] is not None]
    assert source and source[0]["lagRecords"] >= 0  # the Kafka source's consumer lag
    assert all(s["busyMsPerSecond"] is not None for s in health["stages"])
    taken = cluster.savepoint(first)
    assert (taken.path / "_metadata").is_file()
    assert cluster.job(first)["state"] == "RUNNING"
    stopped = cluster.stop_job(first)
    assert (stopped.path / "_metadata").is_file()

    produce(bootstrap, events[half:])
    second = cluster.submit(args, parallelism=2, from_savepoint=stopped)
    cluster.wait_running(second)
    assert {v["parallelism"] for v in cluster.job(second)["vertices"]} == {2}
    found: dict[str, Outputs] = {}

    def caught_up() -> bool:
        found["outputs"] = read_outputs(bootstrap, inputs)
        return same_totals(found["outputs"], reference)

    wait_on_cluster(cluster, second, caught_up, JOB_TIMEOUT_S, "the end of the stream")
    return found["outputs"]
