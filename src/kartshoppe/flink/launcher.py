"""`kartshoppe flink-job`: install PyFlink when missing, then run the job in its own venv.

PyFlink pins pandas < 2.3 and apache-beam, which clash with pypaimon's requirements in the
main venv, so `scripts/install-flink.sh` gives it a venv of its own (`<cache>/flink/venv`,
with this package installed editable, without dependencies) plus the Kafka and Paimon
connector jars (`<cache>/flink/jars`). This module is stdlib only: it runs in the main venv.

Local MiniCluster (what `flink_job_main` runs):
    .cache/flink/venv/bin/python src/kartshoppe/flink/job.py --bootstrap 127.0.0.1:9092 \
        --warehouse data/warehouse --checkpoint-dir data/flink/checkpoints

A Flink 2.0 cluster (the same file; the workers need `kartshoppe`, pydantic and orjson):
    flink run -py src/kartshoppe/flink/job.py -pyfs src \
        -pyexec /path/to/venv/bin/python -pyclientexec /path/to/venv/bin/python \
        --bootstrap kafka:9092 --warehouse s3://bucket/warehouse --parallelism 4 \
        --checkpoint-dir s3://bucket/checkpoints
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from kartshoppe.config import Settings

REPO_ROOT: Final = Path(__file__).resolve().parents[3]
INSTALL_SCRIPT: Final = REPO_ROOT / "scripts" / "install-flink.sh"
JOB_FILE: Final = Path(__file__).resolve().parent / "job.py"
FLINK_VERSION: Final = "2.0.2"


def cache_dir() -> Path:
    return Settings().cache_dir / "flink"


def flink_python() -> Path:
    return cache_dir() / "venv" / "bin" / "python"


def jars_dir() -> Path:
    return cache_dir() / "jars"


class FlinkInstallError(RuntimeError):
    """PyFlink or the connector jars could not be installed."""


def ensure_installed() -> None:
    """Run the install script (a no-op once installed; it holds a lock while installing)."""
    done = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise FlinkInstallError(f"{INSTALL_SCRIPT} failed:\n{done.stdout}{done.stderr}")


def flink_job_main(argv: Sequence[str]) -> int:
    """`kartshoppe flink-job [job options]`: the job on a local MiniCluster, until stopped."""
    try:
        ensure_installed()
    except FlinkInstallError as exc:
        print(exc, file=sys.stderr)
        return 2
    command = [str(flink_python()), str(JOB_FILE), "--jars-dir", str(jars_dir()), *argv]
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(flink_job_main(sys.argv[1:]))
