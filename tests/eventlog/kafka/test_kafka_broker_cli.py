"""The local broker's command line, `kartshoppe kafka start|stop|status`: `start` in one process,
`status` and `stop` from others."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from kartshoppe.infra.kafka_broker import (
    CACHE_ENV,
    KafkaBroker,
    broker_answers,
    cluster_id,
    fetch_kafka,
    libs_dir,
)


def cli(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kartshoppe", "kafka", *args],
        env={**os.environ, CACHE_ENV: str(cache)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_start_status_and_stop_work_from_separate_processes(
    tmp_path: Path, kafka_broker: KafkaBroker
) -> None:
    # Reuse the session's jars (already fetched for `kafka_broker`) instead of fetching again.
    shutil.copytree(libs_dir(kafka_broker.cache), libs_dir(tmp_path / "kafka"))

    started = cli(tmp_path, "start")
    try:
        assert started.returncode == 0, started.stderr
        state = json.loads((tmp_path / "kafka" / "broker.json").read_text())
        assert f"bootstrap {state['bootstrap']}" in started.stdout
        assert broker_answers(state["bootstrap"], timeout=5)

        again = cli(tmp_path, "start")
        assert again.returncode == 0
        assert f"pid {state['pid']}" in again.stdout, "a second start reuses the running broker"

        status = cli(tmp_path, "status")
        assert status.returncode == 0
        assert state["bootstrap"] in status.stdout
    finally:
        stopped = cli(tmp_path, "stop")
    assert stopped.returncode == 0
    assert "Kafka stopped" in stopped.stdout
    assert not broker_answers(state["bootstrap"], timeout=1)
    down = cli(tmp_path, "status")
    assert down.returncode == 1
    assert "not running" in down.stdout


def test_fetching_is_skipped_when_the_jars_are_already_cached(kafka_broker: KafkaBroker) -> None:
    marker = libs_dir(kafka_broker.cache) / ".pom-sha256"
    before = marker.stat().st_mtime_ns
    fetch_kafka(kafka_broker.cache)
    assert marker.stat().st_mtime_ns == before


def test_cluster_ids_never_start_with_a_dash_the_storage_tool_would_take_for_an_option() -> None:
    ids = [cluster_id() for _ in range(2000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)
