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

import logging
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

logger = logging.getLogger(__name__)


def cache_dir() -> Path:
    return Settings().cache_dir / "flink"


def flink_python() -> Path:
    return cache_dir() / "venv" / "bin" / "python"


def jars_dir() -> Path:
    return cache_dir() / "jars"


class FlinkInstallError(RuntimeError):
    """PyFlink or the connector jars could not be installed."""


def ensure_installed() -> None:
    """Run the install script (a no-op once installed; it holds a lock while installing), then
    `ensure_compiled`."""
    done = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        raise FlinkInstallError(f"{INSTALL_SCRIPT} failed:\n{done.stdout}{done.stderr}")
    ensure_compiled()


def ensure_compiled() -> None:
    """Byte-code for the PyFlink venv (once) and our sources (what changed). Every Python the
    job starts (the `flink run` client, each TaskManager's interpreter) imports PyFlink and
    Apache Beam: without `.pyc` files (a venv installed under PYTHONDONTWRITEBYTECODE, which
    also stops the imports from writing them) each compiles some 1,400 modules from source
    again, 2.5x the CPU of the import itself."""
    venv = cache_dir() / "venv"
    stamp = cache_dir() / f".compiled-{FLINK_VERSION}"
    targets = [REPO_ROOT / "src"] + ([] if stamp.exists() else list(venv.glob("lib/python3*")))
    done = subprocess.run(
        [str(flink_python()), "-m", "compileall", "-q", *map(str, targets)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        # a module that does not compile is not imported by the job either: not fatal
        logger.warning("compileall: %s", (done.stdout + done.stderr)[-2000:])
    stamp.touch()


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
