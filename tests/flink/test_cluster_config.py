"""The standalone cluster's generated configuration and its health summary, without a cluster
(the real cluster is exercised by tests/flink/test_flink_cluster.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from kartshoppe.flink.cluster import _without_cli, _yaml, configuration, health_lines

SHIPPED = """\
env:
  java:
    opts:
      all: --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
jobmanager:
  rpc:
    port: 6123
"""


def _home(tmp_path: Path) -> Path:
    (tmp_path / "home" / "conf").mkdir(parents=True)
    (tmp_path / "home" / "conf" / "config.yaml").write_text(SHIPPED)
    return tmp_path / "home"


def test_the_cluster_listens_on_loopback_only_on_the_ports_it_was_given(tmp_path: Path) -> None:
    settings = configuration(tmp_path / "cluster", _home(tmp_path), rest_port=41001, rpc_port=41002)
    assert settings["rest.port"] == "41001"
    assert settings["jobmanager.rpc.port"] == "41002"
    addresses = [v for k, v in settings.items() if k.endswith(("address", "host", "bind-host"))]
    assert addresses and set(addresses) == {"127.0.0.1"}


def test_each_taskmanager_has_one_slot_because_thread_mode_has_one_interpreter_per_process(
    tmp_path: Path,
) -> None:
    settings = configuration(tmp_path / "cluster", _home(tmp_path), 1, 2)
    assert settings["python.execution-mode"] == "thread"
    assert settings["taskmanager.numberOfTaskSlots"] == "1"


def test_the_shipped_jvm_options_are_kept(tmp_path: Path) -> None:
    settings = configuration(tmp_path / "cluster", _home(tmp_path), 1, 2)
    assert "--add-opens=java.base/java.util=ALL-UNNAMED" in settings["env.java.opts.all"]
    text = _yaml(settings)
    assert 'taskmanager.numberOfTaskSlots: "1"\n' in text


def test_checkpoints_and_savepoints_stay_inside_the_cluster_directory(tmp_path: Path) -> None:
    settings = configuration(tmp_path / "cluster", _home(tmp_path), 1, 2)
    for key in ("execution.checkpointing.dir", "state.savepoints.dir"):
        assert settings[key].startswith((tmp_path / "cluster").as_uri())


def test_the_health_summary_names_the_lagging_source_and_the_last_checkpoint() -> None:
    lines = health_lines(
        {
            "stages": [
                {
                    "stage": "Source: kafka_in",
                    "parallelism": 2,
                    "busyMsPerSecond": 12.0,
                    "backPressuredMsPerSecond": 950.0,
                    "lagRecords": 1234.0,
                },
                {
                    "stage": "processors",
                    "parallelism": 2,
                    "busyMsPerSecond": 990.0,
                    "backPressuredMsPerSecond": 0.0,
                    "lagRecords": None,
                    "lateRecords": 17.0,
                },
            ],
            "checkpoint": {"id": 7, "durationMs": 350, "sizeBytes": 81920},
        }
    )
    assert "consumer lag 1234 records" in lines[0]
    assert "back-pressured 950.0 ms/s" in lines[0]
    assert "busy 990.0 ms/s" in lines[1] and "lag" not in lines[1]
    assert "17 records late behind the watermark" in lines[1]
    assert "late" not in lines[0]
    assert lines[-1] == "last checkpoint 7: 350 ms, 81920 bytes"


def test_a_connector_jar_goes_into_lib_without_the_commons_cli_that_breaks_the_flink_cli(
    tmp_path: Path,
) -> None:
    jar = tmp_path / "hadoop-uber.jar"
    with zipfile.ZipFile(jar, "w") as out:
        out.writestr("org/apache/commons/cli/CommandLine.class", b"old cli")
        out.writestr("org/apache/hadoop/fs/FileSystem.class", b"hadoop")
        out.writestr("META-INF/services/org.apache.hadoop.fs.FileSystem", b"services")
    target = tmp_path / "lib" / jar.name
    assert _without_cli(jar, target) == target
    with zipfile.ZipFile(target) as written:
        assert sorted(written.namelist()) == [
            "META-INF/services/org.apache.hadoop.fs.FileSystem",
            "org/apache/hadoop/fs/FileSystem.class",
        ]
        assert written.read("org/apache/hadoop/fs/FileSystem.class") == b"hadoop"
    written_at = target.stat().st_mtime_ns
    _without_cli(jar, target)
    assert target.stat().st_mtime_ns == written_at, "the filtered copy is made once"
