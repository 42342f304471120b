"""The Flink job of `kartshoppe.flink.job` with hollow processors (bench/hollow.py, mode `echo`).

Submitted by bench/flink_bench.py `--hollow` with `flink run -py` in place of job.py, with the
same arguments: the same topology (source, routers, key_by, every chain level with its
broadcast side, Kafka and Paimon sinks) built from the processors' declarations, whose stages
do nothing. What the job then costs is the engine's own share per record, the floor of the
real job's throughput.

How the stand-ins reach the TaskManagers: `job`'s operators build their processors in `open()`,
on the TaskManager, through `job.build_processors`. Its operator classes are replaced here by
subclasses defined in this file, which `flink run -py` runs as `__main__`, so cloudpickle ships
them by value; their `open()` first points `job.build_processors` of the TaskManager's
interpreter at the hollow processors. `hollow` itself is shipped by value too, as the
TaskManagers' path has the sources but not bench/.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import cloudpickle  # type: ignore[import-not-found]  # the PyFlink venv's

import kartshoppe
from kartshoppe.flink import job
from kartshoppe.processors import ProcessorConfig, default_processors
from kartshoppe.processors.model import Processor

sys.path.insert(0, str(Path(kartshoppe.__file__).resolve().parents[2] / "bench"))
import hollow

cloudpickle.register_pickle_by_value(hollow)


def hollow_processors(config: ProcessorConfig) -> list[Processor[Any]]:
    return hollow.hollow(default_processors(config), "echo")


class _Hollowing:
    """Mixed into each operator that builds processors (module doc)."""

    def open(self, runtime_context: Any) -> None:
        job.build_processors = hollow_processors
        super().open(runtime_context)  # type: ignore[misc]


class HollowRouteKeyed(_Hollowing, job.RouteKeyed):
    pass


class HollowProcessorsFunction(_Hollowing, job.ProcessorsFunction):
    pass


class HollowLevelFunction(_Hollowing, job.LevelFunction):
    pass


def main() -> int:
    job.build_processors = hollow_processors  # the client's plan: levels, topics, reads
    job.RouteKeyed = HollowRouteKeyed  # type: ignore[misc]
    job.ProcessorsFunction = HollowProcessorsFunction  # type: ignore[misc]
    job.LevelFunction = HollowLevelFunction  # type: ignore[misc]
    return job.main()


if __name__ == "__main__":
    sys.exit(main())
