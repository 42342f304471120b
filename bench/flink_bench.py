"""Events per second through every processor: the Flink job beside the embedded runner.

The same recorded shop stream (tests/processors/shop_stream.py) goes through
- the embedded runner over the SQLite log (appended first, then timed until caught up), and
- the Flink job on a standalone cluster of two one-slot TaskManagers
  (`kartshoppe.flink.cluster`, thread mode), submitted with `flink run -py` at parallelism 1,
  then 2, over a real local Kafka broker: the stream is produced first (topics recreated for
  each run), the job submitted, and its rate is measured between its first and last output
  record (Kafka append times); the time from `flink run` to the first output is reported on its
  own, and from the job's start on the JobManager (its REST `start-time`: the client's work
  before it excluded), with its phases (the client returned, every task running, the first
  output) and each stage's busiest subtask's busy and back-pressured time and its records late
  behind the watermark (`FlinkCluster.health`, sampled while the job runs and once at its end);
  at its end each stage's records in and busy time per subtask (where a key's work sits), and
  each TaskManager's CPU seconds over the run and from the first output on (the work each
  process did, which the machine's load changes less than it changes rates).

`--hollow` adds, after each of those runs, the same run with every processor hollowed
(bench/hollow.py, mode `echo`: one small output per processor call, so that its first and last
output time it; the job through bench/hollow_job.py), and the embedded runner likewise: the
same topology whose stages do nothing, the floor no processor-side optimisation passes (issue
13 item 4).

    .venv/bin/python bench/flink_bench.py --sessions 600 [--no-store] [--only 1|2] [--hollow]
        [--idle-timeout-ms 30000] [--producer-batch N] [--source-option KEY=VALUE ...]
        [--live]

`--live` produces and reads the stream as a live shop's would: small producer batches (a live
producer writes a few records at a time), small fetches, watermark alignment across the
partitions (max drift 60 min) and a 2 s idle timeout (`LIVE`; bench/results/flink.md,
2026-11-27: the settings whose late records are only the job's fed-back outputs, and the drift
measured against 10 min). Without it the whole stream is produced in one go and the job keeps
the equivalence tests' 30 s idle timeout, which a bulk replay needs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Final, TypedDict

# the repository root is on the path for `tests.flink.flink_support` (and the `tests.processors`
# it imports)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from hollow import hollow

from kartshoppe.eventlog.port import ALL_TOPICS
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import BaseEvent, PageView, Topic, now_ms
from kartshoppe.flink.cluster import FlinkCluster
from kartshoppe.flink.launcher import JOB_FILE
from kartshoppe.infra.kafka_broker import KafkaBroker
from kartshoppe.processors import ProcessorConfig, default_processors
from kartshoppe.processors.runner import EmbeddedRunner
from tests.flink.flink_support import HOUR, ShopStream, create_topics, produce, read_topic, route


class Overrides(TypedDict):
    """The ProcessorConfig fields set alike for the embedded runner and the Flink job (JSON)."""

    cart_abandon_timeout_ms: int
    reservation_ttl_ms: int


CONFIG: Final[Overrides] = {
    "cart_abandon_timeout_ms": 10 * 60_000,
    "reservation_ttl_ms": 15 * 60_000,
}
OUTPUTS = (Topic.FANOUT.value, Topic.RECOMMENDATIONS.value)
HOLLOW_JOB = Path(__file__).resolve().parent / "hollow_job.py"


def stream(sessions: int) -> list[BaseEvent]:
    events = ShopStream(products=200, sessions=sessions, start_ms=now_ms() - 12 * HOUR).generate()
    end = events[-1].timestamp + HOUR
    return [*events, PageView(page="/", session_id="sentinel", timestamp=end)]


def embedded(events: list[BaseEvent], directory: Path, hollowed: bool = False) -> float:
    async def run() -> float:
        directory.mkdir(parents=True, exist_ok=True)
        log = SqliteEventLog(directory / "log.db")
        await log.start()
        try:
            messages = [route(e) for e in events]
            for i in range(0, len(messages), 1000):
                await log.append(messages[i : i + 1000])
            processors = default_processors(ProcessorConfig(**CONFIG))
            processors = hollow(processors, "echo") if hollowed else processors
            runner = EmbeddedRunner(log, directory / "state.db", processors, idle_after_s=None)
            started = time.perf_counter()
            await runner.start()
            try:
                await runner.wait_caught_up(timeout=3600)
            finally:
                await runner.stop()
            return time.perf_counter() - started
        finally:
            await log.close()

    return asyncio.run(run())


def fresh_topics(bootstrap: str) -> None:
    """Delete and recreate the platform's topics, so that each run reads the stream alone."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    doomed = [t for t in ALL_TOPICS if t in admin.list_topics(timeout=30).topics]
    for future in admin.delete_topics(doomed, operation_timeout=30).values() if doomed else []:
        future.result()
    while set(doomed) & set(admin.list_topics(timeout=30).topics):
        time.sleep(0.1)
    create_topics(bootstrap)


def output_count(consumer: Consumer) -> int:
    """Records in the output topics now (their end offsets: nothing is read)."""
    total = 0
    for topic in OUTPUTS:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        for p in partitions:
            total += consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
    return total


def sample_health(cluster: FlinkCluster, job: str, health: dict[str, dict[str, float]]) -> None:
    """Each stage's worst busy and back-pressured time so far, and its late records."""
    for stage in cluster.health(job)["stages"]:
        seen = health.setdefault(stage["stage"], {})
        for key in ("busyMsPerSecond", "backPressuredMsPerSecond", "lateRecords"):
            value = stage[key] or 0.0
            seen[key] = max(seen.get(key, 0.0), value)


def subtask_load(cluster: FlinkCluster, job: str) -> dict[str, list[tuple[int, float]]]:
    """Per stage (vertex), each subtask's records in and accumulated busy time (s), from the
    REST API: where a stage's work sits at parallelism 2 (a key on one subtask shows here)."""
    found: dict[str, list[tuple[int, float]]] = {}
    for vertex in cluster.job(job).get("vertices", []):
        url = f"{cluster.rest_url}/jobs/{job}/vertices/{vertex['id']}"
        with urllib.request.urlopen(url, timeout=10) as response:
            detail = json.load(response)
        found[vertex["name"]] = [
            (
                int(s["metrics"].get("read-records", 0)),
                float(s["metrics"].get("accumulated-busy-time", 0)) / 1000,
            )
            for s in detail.get("subtasks", [])
        ]
    return found


def taskmanager_cpu(cluster: FlinkCluster) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each TaskManager process, by pid: the work
    each did, which the machine's load does not change as it changes busy times and rates."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pids in cluster.pid_dir.glob("flink-*-taskexecutor.pid"):
        for pid in map(int, pids.read_text().split()):
            stat = Path(f"/proc/{pid}/stat")
            if stat.exists():
                fields = stat.read_text().rpartition(")")[2].split()
                found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def flink_run(
    cluster: FlinkCluster,
    bootstrap: str,
    events: list[BaseEvent],
    directory: Path,
    parallelism: int,
    args: argparse.Namespace,
    hollowed: bool = False,
) -> dict[str, Any]:
    """One job over the stream, already in Kafka: submit to first output, first to last output,
    and the phases of the start (wall clock, polled every half second): the `flink run`
    client until the job is accepted, then until every task runs, then until the first output.
    The outputs are counted by their end offsets while the job runs (reading them all every
    poll would take CPU from the job) and read once at the end, for their append times."""
    fresh_topics(bootstrap)
    produce(bootstrap, events, args.producer_batch)
    run = f"{parallelism}{'-hollow' if hollowed else ''}"
    job_args = [
        "--bootstrap", bootstrap,
        "--checkpoint-dir", str(directory / f"checkpoints-{run}"),
        "--processor-config", json.dumps(CONFIG),
        "--restart-attempts", "0",
        "--group-id", f"bench-{run}-{time.time_ns()}",
        "--idle-timeout-ms", str(args.idle_timeout_ms),
        *(f"--source-option={option}" for option in args.source_option),
    ]  # fmt: skip
    if not args.no_store:
        job_args += ["--warehouse", str(directory / f"warehouse-{run}")]
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"count-{time.time_ns()}"})
    cpu_before = taskmanager_cpu(cluster)
    started = time.time()
    job = cluster.submit(
        job_args,
        parallelism,
        log_file=directory / "submit.log",
        job_file=HOLLOW_JOB if hollowed else JOB_FILE,
    )
    phases = {"client": time.time() - started}
    job_start_ms: int | None = None
    health: dict[str, dict[str, float]] = {}
    cpu_first: dict[int, float] = {}
    try:
        last_count, stable_since, sampled = -1, time.monotonic(), 0.0
        while time.monotonic() - stable_since < args.settle_s:
            info = cluster.job(job)
            if info["state"] not in ("RUNNING", "CREATED", "INITIALIZING"):
                causes = [
                    line
                    for path in sorted(cluster.log_dir.glob("*.log"))
                    for line in path.read_text(errors="replace").splitlines()
                    if "Caused by" in line or "Error" in line[:200]
                ]
                raise SystemExit("the job ended:\n" + "\n".join(causes[-40:]))
            if job_start_ms is None:
                # the JobManager's clock, the same machine's as the outputs' append times
                job_start_ms = int(info["start-time"])
            vertices = info.get("vertices", [])
            running = bool(vertices) and all(v["status"] == "RUNNING" for v in vertices)
            if running and "tasks running" not in phases:
                phases["tasks running"] = time.time() - started
            count = output_count(consumer)
            if count and "first output" not in phases:
                phases["first output"] = time.time() - started
                cpu_first = taskmanager_cpu(cluster)
            if "tasks running" in phases and time.monotonic() - sampled > args.health_every_s:
                sampled = time.monotonic()
                sample_health(cluster, job, health)
            # settled: outputs came, then stopped coming
            if not count or count != last_count:
                last_count, stable_since = count, time.monotonic()
            time.sleep(0.5)
        sample_health(cluster, job, health)  # the late records' final count
        load = subtask_load(cluster, job)
        cpu_after = taskmanager_cpu(cluster)
    finally:
        consumer.close()
        cluster.cancel_all()
    stamps = [ts for t in OUTPUTS for _, _, ts in read_topic(bootstrap, t)]
    first, last = min(stamps) / 1000, max(stamps) / 1000
    assert job_start_ms is not None
    return {
        "startup_s": first - started,
        "job_start_s": first - job_start_ms / 1000,
        "processing_s": last - first,
        "outputs": len(stamps),
        "rate": len(events) / max(last - first, 1e-3),
        "phases": phases,
        "health": health,
        "subtasks": load,
        "cpu": sorted(
            (cpu_after[pid] - cpu_before.get(pid, 0.0) for pid in cpu_after), reverse=True
        ),
        "cpu processing": sorted(
            (cpu_after[pid] - cpu_first.get(pid, 0.0) for pid in cpu_after), reverse=True
        ),
    }


def report(p: int, r: dict[str, Any], reference: float, args: argparse.Namespace) -> None:
    print(
        f"flink job{', HOLLOW processors' if r.get('hollow') else ''}, parallelism {p}"
        " (two-TaskManager cluster, store "
        f"{'off' if args.no_store else 'on'}): submit to first output {r['startup_s']:.1f} s"
        f" (from the job's start on the JobManager {r['job_start_s']:.1f} s),"
        f" processing {r['processing_s']:.1f} s, {r['rate']:,.0f} ev/s"
        f" = {r['rate'] / reference:.2f}x embedded ({r['outputs']} output records);"
        f" load {os.getloadavg()}"
    )
    cpu = " / ".join(f"{seconds:.1f} s" for seconds in r["cpu"])
    processing = " / ".join(f"{seconds:.1f} s" for seconds in r["cpu processing"])
    print(
        f"  CPU time of each TaskManager, submit to settled: {cpu}; first output to settled"
        f" (without the start: interpreters, JIT, deployment): {processing}"
    )
    phases = ", ".join(f"{name} {at:.1f}" for name, at in r["phases"].items())
    print(f"  start phases (s since `flink run`): {phases}")
    for stage, seen in sorted(r["health"].items()):
        print(
            f"  {stage[:70]}: busy <= {seen['busyMsPerSecond']:.0f} ms/s,"
            f" back-pressured <= {seen['backPressuredMsPerSecond']:.0f} ms/s"
            + (f", {seen['lateRecords']:.0f} late records" if seen.get("lateRecords") else ""),
            flush=True,
        )
    for stage, subtasks in sorted(r["subtasks"].items()):
        shares = " / ".join(f"{records:,} rec {busy:.1f} s" for records, busy in subtasks)
        print(f"  {stage[:70]} per subtask (records in, busy): {shares}", flush=True)


LIVE: Final = (
    "--idle-timeout-ms=2000",
    "--producer-batch=10",
    "--source-option=properties.max.partition.fetch.bytes=4096",
    "--source-option=properties.max.poll.records=50",
    "--source-option=scan.watermark.alignment.group=kartshoppe",
    "--source-option=scan.watermark.alignment.max-drift=60 min",
    "--source-option=scan.watermark.alignment.update-interval=200 ms",
)
"""What `--live` stands for (module doc)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=600)
    parser.add_argument("--no-store", action="store_true", help="without the Paimon sink")
    parser.add_argument("--settle-s", type=float, default=20.0)
    parser.add_argument(
        "--health-every-s", type=float, default=15.0, help="busy/back-pressure samples per stage"
    )
    parser.add_argument(
        "--only", type=int, choices=[1, 2], help="one parallelism only (a quick look)"
    )
    parser.add_argument(
        "--idle-timeout-ms",
        type=int,
        default=30_000,
        help="the job's source idle timeout (default: the equivalence tests' 30 s; with the"
        " job's own 1 s a back-pressured reader's partitions go idle and their records late,"
        " and the job does more work than the embedded runner: bench/results/flink.md)",
    )
    parser.add_argument(
        "--producer-batch",
        type=int,
        help="at most this many records per Kafka record batch when producing the stream (by"
        " default each partition's share is one batch, which the source emits whole)",
    )
    parser.add_argument(
        "--source-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the job's Kafka source table (the job's `--source-option`)",
    )
    parser.add_argument(
        "--hollow",
        action="store_true",
        help="also each run with hollow processors (the floor; module doc, bench/hollow.py)",
    )
    parser.add_argument("--live", action="store_true", help="a live shop's settings (`LIVE`)")
    argv = sys.argv[1:]
    args = parser.parse_args([*LIVE, *argv] if "--live" in argv else argv)
    events = stream(args.sessions)
    print(f"{len(events)} events, {args.sessions} sessions; load {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="flink-bench-") as tmp:
        directory = Path(tmp)
        seconds = embedded(events, directory / "embedded")
        reference = len(events) / seconds
        print(f"embedded runner (SQLite log): {seconds:.1f} s, {reference:,.0f} ev/s", flush=True)
        if args.hollow:
            hollow_s = embedded(events, directory / "embedded-hollow", hollowed=True)
            print(
                f"embedded runner, HOLLOW processors: {hollow_s:.1f} s,"
                f" {len(events) / hollow_s:,.0f} ev/s = {seconds / hollow_s:.2f}x the real",
                flush=True,
            )
        cluster = FlinkCluster(directory / "cluster", taskmanagers=2)
        cluster.start()
        try:
            with KafkaBroker(directory / "kafka") as broker:
                runs: dict[tuple[int, bool], dict[str, Any]] = {}
                for p in (args.only,) if args.only else (1, 2):
                    for hollowed in (False, True) if args.hollow else (False,):
                        r = flink_run(
                            cluster, broker.bootstrap, events, directory, p, args, hollowed
                        )
                        runs[p, hollowed] = r | {"hollow": hollowed}
                        report(p, runs[p, hollowed], reference, args)
        finally:
            cluster.stop()
    for hollowed in (False, True):
        if (1, hollowed) in runs and (2, hollowed) in runs:
            ratio = runs[2, hollowed]["rate"] / runs[1, hollowed]["rate"]
            print(f"parallelism 2 / parallelism 1{' (hollow)' if hollowed else ''}: {ratio:.2f}x")
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
