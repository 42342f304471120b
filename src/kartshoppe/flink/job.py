"""The PyFlink job: the processors of `kartshoppe.processors` on Flink, Kafka in and out, Paimon.

Runs on a local MiniCluster (`python src/kartshoppe/flink/job.py --bootstrap HOST:PORT ...`, or
`kartshoppe flink-job ...` through `kartshoppe.flink.launcher`) and is submittable to a cluster
as is: `flink run -py src/kartshoppe/flink/job.py -pyfs src -- --bootstrap ...` (see
`launcher.py` for the whole command). It needs the venv and connector jars that
`scripts/install-flink.sh` puts under `.cache/flink`.

Topology: one Kafka SQL source over `ecommerce_events`, `product_updates` and
`inventory_updates` (event time and per-partition watermarks in `sql.source_ddl`) feeds
  1. a Python router -> key_by(processor, key) -> one KeyedBroadcastProcessFunction running
     every processor (`keyed.KeyedCore`), with the catalog topics as its broadcast input;
     the partials it sends -> key_by(processor, merge key) -> one KeyedBroadcastProcessFunction
     per further level of the processors' stage chains (`keyed.MergeCore`: level 1 runs every
     processor's merger, two-phase aggregation; level n stage n of longer chains), with the
     catalog topics and the tables published by earlier levels as its broadcast input; the
     outputs of all go to the seed's topics through Kafka SQL sinks (plain JSON, string keys);
  2. an INSERT into the Paimon table `kartshoppe.ecommerce_events` (`sql.store_insert`).

Delivery, per sink:
- processor state and Kafka source offsets: exactly-once (Flink checkpoints);
- Paimon table: exactly-once (the Paimon sink commits a snapshot per checkpoint; a restart
  from the checkpoint re-writes nothing twice, and the primary key collapses any redelivery);
- Kafka output topics: at-least-once by default: after a failure the outputs since the last
  checkpoint are produced again, with the same deterministic `eventId`s, which consumers use to
  drop duplicates. `--delivery exactly-once` uses Kafka transactions instead (outputs become
  visible to read_committed consumers only when a checkpoint completes: latency = interval).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import site
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import orjson

if __package__ in (None, ""):
    # run as a file (`python job.py`, `flink run -py job.py`): make `kartshoppe` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyflink.common import Configuration, Row, Types  # type: ignore[import-not-found]
from pyflink.datastream import (  # type: ignore[import-not-found]
    KeyedBroadcastProcessFunction,
    OutputTag,
    ProcessFunction,
    RuntimeContext,
    StreamExecutionEnvironment,
)
from pyflink.datastream.state import (  # type: ignore[import-not-found]
    MapStateDescriptor,
    ValueStateDescriptor,
)
from pyflink.table import StreamTableEnvironment  # type: ignore[import-not-found]

from kartshoppe.events import Topic
from kartshoppe.flink import sql
from kartshoppe.flink.keyed import (
    LATE_RECORDS,
    NO_TIME,
    PUBLISH,
    BroadcastMirror,
    KeyedCore,
    MergeCore,
    Output,
    Router,
    TableMirror,
    chain_names,
    level_reads,
    level_stages,
    levels,
    merge_time,
    route_level,
    split_key,
)
from kartshoppe.processors import ProcessorConfig, default_processors
from kartshoppe.processors.model import Merger, Processor

logger = logging.getLogger("kartshoppe.flink.job")

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_JARS_DIR = REPO_ROOT / ".cache" / "flink" / "jars"
"""Where `scripts/install-flink.sh` puts the jars by default; the launcher passes its cache's."""
OUTPUT_TOPICS = tuple(t.value for t in Topic if t not in (Topic.DLQ, Topic.ACCOUNTS))
"""Every topic a processor may emit to; the DLQ and the accounts are written by the API only."""
BROADCAST_STATE = MapStateDescriptor("broadcast", Types.STRING(), Types.PICKLED_BYTE_ARRAY())


def _routed_type() -> Any:
    return Types.TUPLE([Types.STRING(), Types.LONG(), Types.STRING()])


ROUTED = _routed_type()
OUTPUT = Types.TUPLE([Types.STRING(), Types.STRING(), Types.STRING()])
"""A keyed operator's output, `keyed.Output`: (Kafka topic or route, key, JSON)."""
KAFKA_ROW = Types.ROW_NAMED(["topic", "k", "v"], [Types.STRING(), Types.STRING(), Types.STRING()])
"""A record for the Kafka sink (`sql.outputs_sink_ddl`)."""


def side_output_tags(levels: int) -> dict[int | str, Any]:
    """`Split`'s side outputs: the partials for each chain level, and under `PUBLISH`
    the values stages publish (for the broadcast side of later levels). Made anew in each
    interpreter: a tag the Java side has seen holds a gateway connection and cannot be pickled
    with the functions."""
    tags: dict[int | str, Any] = {
        level: OutputTag(f"partials-{level}", _routed_type()) for level in range(1, levels)
    }
    tags[PUBLISH] = OutputTag("published", _routed_type())
    return tags


def routed(outputs: list[Output], lateness_ms: int, tags: dict[int | str, Any]) -> Iterator[Any]:
    """Keyed outputs as `Split` emits them: Kafka records on the main output, partials and
    published values on side outputs."""
    for route, key, payload in outputs:
        if route == PUBLISH:
            yield tags[PUBLISH], (PUBLISH, orjson.loads(payload)[1], payload)
        elif (level := route_level(route)) is not None:
            yield tags[level], (key, merge_time(payload, lateness_ms), payload)
        else:
            yield Row(route, key, payload)


class Split(ProcessFunction):  # type: ignore[misc]
    """After each keyed operator (chained to it): its outputs by route, in one Python call per
    record. (The keyed operators cannot emit side outputs themselves: PyFlink's thread mode
    drops them from a `KeyedBroadcastProcessFunction`'s `on_timer`, where all their outputs
    come from.)"""

    def __init__(self, lateness_ms: int, levels: int) -> None:
        self.lateness_ms = lateness_ms
        self.levels = levels

    def open(self, runtime_context: RuntimeContext) -> None:
        self.tags = side_output_tags(self.levels)

    def process_element(self, value: Output, ctx: ProcessFunction.Context) -> Iterator[Any]:
        yield from routed([value], self.lateness_ms, self.tags)


def build_processors(config: ProcessorConfig) -> list[Processor[Any]]:
    return default_processors(config)


class RouteKeyed(ProcessFunction):  # type: ignore[misc]
    """(topic, value, rowtime) -> (composite key, event time, value) per (processor, key)."""

    def __init__(self, config: ProcessorConfig) -> None:
        self.config = config
        self.router: Router | None = None

    def open(self, runtime_context: RuntimeContext) -> None:
        self.router = Router(build_processors(self.config))

    def process_element(self, row: Row, ctx: ProcessFunction.Context) -> Iterator[tuple[Any, ...]]:
        assert self.router is not None
        timestamp = ctx.timestamp()
        for pkey in self.router.route(row[0], row[1]):
            yield pkey, timestamp, row[1]


class RouteBroadcast(ProcessFunction):  # type: ignore[misc]
    """(topic, value, rowtime) -> (topic, event time, value) for the broadcast topics."""

    def __init__(self, topics: frozenset[str]) -> None:
        self.topics = topics

    def process_element(self, row: Row, ctx: ProcessFunction.Context) -> Iterator[tuple[Any, ...]]:
        if row[0] in self.topics:
            yield row[0], ctx.timestamp(), row[1]


class _KeyedStates:
    """The Flink state both keyed operators keep per key: the stage's state, the records
    buffered by event time, the stage's own timers."""

    lateness_ms: int

    def open_states(self, runtime_context: RuntimeContext) -> None:
        self.state = runtime_context.get_state(
            ValueStateDescriptor("state", Types.PICKLED_BYTE_ARRAY())
        )
        self.pending = runtime_context.get_map_state(
            MapStateDescriptor("pending", Types.LONG(), Types.PICKLED_BYTE_ARRAY())
        )
        self.timers = runtime_context.get_map_state(
            MapStateDescriptor("timers", Types.LONG(), Types.BOOLEAN())
        )
        # the state TTL's bookkeeping (`keyed.KeyedCore._expire`), for stages that have one
        self.written = runtime_context.get_state(ValueStateDescriptor("written", Types.LONG()))
        self.cleanup = runtime_context.get_state(ValueStateDescriptor("cleanup", Types.LONG()))
        self.broadcast: _Broadcast | None = None
        # records that came after the operator's watermark had passed their event time (a
        # source partition the idle timeout had given up on, say): processed out of event-time
        # order, so the outputs differ from the embedded runner's (`FlinkCluster.health`)
        self.late = runtime_context.get_metrics_group().counter(LATE_RECORDS)

    def _store(self, ctx: Any) -> _Broadcast:
        """The writable broadcast state, looked up once: each `get_broadcast_state` is a call
        into the JVM that converts the descriptor again."""
        if self.broadcast is None:
            self.broadcast = _Broadcast(ctx.get_broadcast_state(BROADCAST_STATE))
        return self.broadcast

    def buffer(self, timestamp: int, raw: str, ctx: Any) -> None:
        """Keep `raw` until the watermark reaches `timestamp` (see `keyed`)."""
        timers = ctx.timer_service()
        if timestamp <= timers.current_watermark():
            self.late.inc()
        records = self.pending.get(timestamp) or []
        records.append(raw)
        self.pending.put(timestamp, records)
        timers.register_event_time_timer(timestamp)


class _Keyed:
    """`keyed.KeyedState` over this key's Flink state and timer service."""

    def __init__(self, fn: _KeyedStates, ctx: Any) -> None:
        self._fn = fn
        self._ctx = ctx

    def load(self) -> bytes | None:
        value: bytes | None = self._fn.state.value()
        return value

    def store(self, data: bytes) -> None:
        self._fn.state.update(data)

    def clear(self) -> None:
        self._fn.state.clear()

    def take_pending(self, timestamp: int) -> list[str]:
        records: list[str] | None = self._fn.pending.get(timestamp)
        if records is None:
            return []
        self._fn.pending.remove(timestamp)
        return records

    def take_timer(self, timestamp: int) -> bool:
        if not self._fn.timers.contains(timestamp):
            return False
        self._fn.timers.remove(timestamp)
        return True

    def add_timer(self, timestamp: int) -> None:
        self._fn.timers.put(timestamp, True)
        self._ctx.timer_service().register_event_time_timer(timestamp + self._fn.lateness_ms)

    def remove_timer(self, timestamp: int) -> None:
        # the Flink timer stays; when it fires, `take_timer` finds nothing and it is a no-op
        if self._fn.timers.contains(timestamp):
            self._fn.timers.remove(timestamp)

    def written(self) -> int | None:
        value: int | None = self._fn.written.value()
        return value

    def set_written(self, timestamp: int | None) -> None:
        if timestamp is None:
            self._fn.written.clear()
        else:
            self._fn.written.update(timestamp)

    def cleanup(self) -> int | None:
        value: int | None = self._fn.cleanup.value()
        return value

    def set_cleanup(self, timestamp: int | None) -> None:
        if timestamp is None:
            self._fn.cleanup.clear()
        else:
            self._fn.cleanup.update(timestamp)
            self._ctx.timer_service().register_event_time_timer(timestamp)


class _Broadcast:
    """`keyed.BroadcastStore` over the Flink broadcast state."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def put(self, key: str, value: bytes) -> None:
        self._state.put(key, value)

    def remove(self, key: str) -> None:
        self._state.remove(key)


class ProcessorsFunction(KeyedBroadcastProcessFunction, _KeyedStates):  # type: ignore[misc]
    """Every processor, keyed by (processor, key); see `keyed` for the event-time rules."""

    def __init__(self, config: ProcessorConfig, lateness_ms: int) -> None:
        self.config = config
        self.lateness_ms = lateness_ms

    def open(self, runtime_context: RuntimeContext) -> None:
        # in the TaskManager's log: when its interpreter got as far as our first operator (not
        # `get_index_of_this_subtask()`: in PyFlink 2.0's thread mode it calls a Java method
        # that is gone)
        logger.info("processors open")
        processors = build_processors(self.config)
        self.core = KeyedCore(processors, self.lateness_ms, chain_names(processors))
        self.mirrors = {
            i: BroadcastMirror(p, i) for i, p in enumerate(processors) if p.broadcast_topics
        }
        self.open_states(runtime_context)
        self.loaded = False
        self.fired_upto = NO_TIME

    def _load(self, ctx: Any) -> None:
        if self.loaded:
            return
        items = list(ctx.get_broadcast_state(BROADCAST_STATE).items())
        for mirror in self.mirrors.values():
            mirror.load(items)
        self.loaded = True

    def process_element(self, value: tuple[str, int, str], ctx: Any) -> Iterator[Any]:
        _, timestamp, raw = value
        self.buffer(timestamp, raw, ctx)
        yield from ()

    def process_broadcast_element(self, value: tuple[str, int, str], ctx: Any) -> Iterator[Any]:
        topic, timestamp, raw = value
        self._load(ctx)
        store = self._store(ctx)
        event_id = orjson.loads(raw).get("eventId") or f"{timestamp}"
        for mirror in self.mirrors.values():
            if topic in mirror.processor.broadcast_topics:
                mirror.add(timestamp, str(event_id), raw, self.fired_upto, store)
        yield from ()

    def on_timer(self, timestamp: int, ctx: Any) -> Iterator[tuple[str, str | None, str]]:
        self._load(ctx)
        # A timer at T fires only once the watermark is at T: the largest T fired is a lower
        # bound of the watermark, which the broadcast side cannot read in thread mode.
        self.fired_upto = max(self.fired_upto, timestamp)
        pkey = ctx.get_current_key()
        mirror = self.mirrors.get(split_key(pkey)[0])
        if mirror is not None:
            mirror.advance(timestamp)
        view = mirror.view if mirror is not None else {}
        yield from self.core.fire(pkey, timestamp, _Keyed(self, ctx), view)


class LevelFunction(KeyedBroadcastProcessFunction, _KeyedStates):  # type: ignore[misc]
    """Stage `level` of every processor's chain, keyed by (processor, key); its broadcast side
    brings the catalog and what earlier levels publish (see `keyed`)."""

    def __init__(self, config: ProcessorConfig, lateness_ms: int, level: int) -> None:
        self.config = config
        self.lateness_ms = lateness_ms
        self.level = level

    def open(self, runtime_context: RuntimeContext) -> None:
        processors = build_processors(self.config)
        stages = level_stages(processors, self.level)
        self.core = MergeCore(stages, self.lateness_ms, chain_names(processors))
        # the catalog only for the stages that read it (`Merger.reads_catalog`): every catalog
        # record costs each mirror a decode and state writes, on every subtask
        self.mirrors = {
            i: BroadcastMirror(p, i)
            for i, p in enumerate(processors)
            if isinstance(stage := stages[i], Merger) and stage.reads_catalog
        }
        self.tables = {i: TableMirror(i) for i in range(len(processors))}
        self.open_states(runtime_context)
        self.loaded = False
        self.fired_upto = NO_TIME

    def _load(self, ctx: Any) -> None:
        if self.loaded:
            return
        items = list(ctx.get_broadcast_state(BROADCAST_STATE).items())
        for mirror in self.mirrors.values():
            mirror.load(items)
        for table in self.tables.values():
            table.load(items)
        self.loaded = True

    def process_element(self, value: tuple[str, int, str], ctx: Any) -> Iterator[Any]:
        _, timestamp, raw = value
        self.buffer(timestamp, raw, ctx)
        yield from ()

    def process_broadcast_element(self, value: tuple[str, int, str], ctx: Any) -> Iterator[Any]:
        topic, timestamp, raw = value
        self._load(ctx)
        store = self._store(ctx)
        # this level reads data time T - L at Flink time T (`keyed.MergeCore`)
        upto = self.fired_upto - self.lateness_ms
        if topic == PUBLISH:
            self.tables[orjson.loads(raw)[0]].add(raw, upto, store)
        else:
            event_id = orjson.loads(raw).get("eventId") or f"{timestamp}"
            for mirror in self.mirrors.values():
                if topic in mirror.processor.broadcast_topics:
                    mirror.add(timestamp, str(event_id), raw, upto, store)
        yield from ()

    def on_timer(self, timestamp: int, ctx: Any) -> Iterator[tuple[str, str | None, str]]:
        self._load(ctx)
        self.fired_upto = max(self.fired_upto, timestamp)
        pkey = ctx.get_current_key()
        index = split_key(pkey)[0]
        mirror = self.mirrors.get(index)
        if mirror is not None:
            mirror.advance(timestamp - self.lateness_ms)
        view = mirror.view if mirror is not None else {}
        tables = self.tables[index].tables
        yield from self.core.fire(pkey, timestamp, _Keyed(self, ctx), view, tables)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kartshoppe flink-job", description=__doc__.split("\n")[0])
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers, HOST:PORT")
    p.add_argument("--parallelism", type=int, default=1)
    p.add_argument("--checkpoint-dir", default="data/flink/checkpoints")
    p.add_argument("--checkpoint-interval-ms", type=int, default=5000)
    p.add_argument(
        "--resume",
        action="store_true",
        help="restore from the newest retained checkpoint under --checkpoint-dir, if any",
    )
    p.add_argument("--from-checkpoint", help="restore from this checkpoint or savepoint path")
    p.add_argument(
        "--warehouse", help="Paimon warehouse written with the event table (none: no store sink)"
    )
    p.add_argument("--delivery", choices=["at-least-once", "exactly-once"], default="at-least-once")
    p.add_argument("--group-id", default="kartshoppe-flink")
    p.add_argument(
        "--startup",
        choices=["earliest-offset", "latest-offset", "group-offsets"],
        default="earliest-offset",
        help="where a job without restored state starts reading",
    )
    p.add_argument("--allowed-lateness-ms", type=int, default=1000)
    p.add_argument("--out-of-orderness-ms", type=int, default=200)
    p.add_argument("--idle-timeout-ms", type=int, default=1000)
    p.add_argument("--watermark-interval-ms", type=int, default=100)
    p.add_argument(
        "--source-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the Kafka source table (`properties.max.poll.records=50`, say)",
    )
    p.add_argument(
        "--processor-config", default="{}", help="JSON of ProcessorConfig fields to override"
    )
    p.add_argument(
        "--restart-attempts",
        type=int,
        help="restarts after a failure before the job fails (default: Flink's exponential delay)",
    )
    p.add_argument(
        "--jars-dir",
        default=str(DEFAULT_JARS_DIR),
        help="connector jars shipped with the job; '' for none (a cluster that has them in lib/)",
    )
    p.add_argument(
        "--detached",
        action="store_true",
        help="return once submitted (`flink run --detached` on a cluster) instead of waiting",
    )
    return p.parse_args(list(argv))


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest complete checkpoint (`chk-N/_metadata`) of any job under `checkpoint_dir`."""
    found = [m.parent for m in checkpoint_dir.glob("*/chk-*/_metadata")]
    return max(found, key=lambda p: p.stat().st_mtime, default=None)


def _embedded_python_path() -> None:
    # Thread mode runs Python inside the JVM (pemja), which starts from the base interpreter
    # and does not know this venv: give it the venv's site-packages and our sources.
    paths = [*site.getsitepackages(), str(REPO_ROOT / "src")]
    current = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([*paths, *([current] if current else [])])


def configuration(args: argparse.Namespace) -> Configuration:
    # none to ship: a cluster with the connectors on its class path (`cluster._link_lib`)
    jars = sorted(Path(args.jars_dir).glob("*.jar")) if args.jars_dir else []
    if args.jars_dir and not jars:
        raise SystemExit(f"no connector jars in {args.jars_dir}: run scripts/install-flink.sh")
    checkpoints = Path(args.checkpoint_dir).resolve()
    conf = Configuration()
    settings = {
        "pipeline.name": "kartshoppe-processors",
        "pipeline.auto-watermark-interval": f"{args.watermark_interval_ms} ms",
        "parallelism.default": str(args.parallelism),
        "python.execution-mode": "thread",
        "python.executable": sys.executable,
        "python.client.executable": sys.executable,
        "execution.checkpointing.interval": f"{args.checkpoint_interval_ms} ms",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.dir": checkpoints.as_uri(),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "state.backend.type": "hashmap",
    }
    if jars:
        settings["pipeline.jars"] = ";".join(j.resolve().as_uri() for j in jars)
    if args.restart_attempts is not None:
        settings["restart-strategy.type"] = "fixed-delay"
        settings["restart-strategy.fixed-delay.attempts"] = str(args.restart_attempts)
        settings["restart-strategy.fixed-delay.delay"] = "1 s"
    restore = Path(args.from_checkpoint) if args.from_checkpoint else None
    if restore is None and args.resume:
        restore = latest_checkpoint(checkpoints)
    if restore is not None:
        settings["execution.state-recovery.path"] = restore.resolve().as_uri()
        logger.info("restoring from %s", restore)
    for key, value in settings.items():
        conf.set_string(key, value)
    return conf


def build(args: argparse.Namespace) -> Any:
    """Declare the whole job; returns the statement set whose `execute()` runs it."""
    config = ProcessorConfig(**json.loads(args.processor_config))
    kafka = sql.KafkaOptions(
        bootstrap=args.bootstrap,
        group_id=args.group_id,
        startup=args.startup,
        out_of_orderness_ms=args.out_of_orderness_ms,
        delivery=args.delivery,
        source_options=dict(option.split("=", 1) for option in args.source_option),
    )
    router = Router(build_processors(config))
    env = StreamExecutionEnvironment.get_execution_environment(configuration(args))
    t_env = StreamTableEnvironment.create(env)
    t_env.get_config().set("table.local-time-zone", "UTC")
    t_env.get_config().set("table.exec.source.idle-timeout", f"{args.idle_timeout_ms} ms")

    topics = sorted(set(router.topics) | (set(sql.STORED_TOPICS) if args.warehouse else set()))
    t_env.execute_sql(sql.source_ddl(topics, kafka))
    rows = t_env.to_data_stream(t_env.sql_query(sql.source_query()))

    routed = rows.process(RouteKeyed(config), output_type=ROUTED).name("route").uid("route")
    catalog = (
        rows.process(RouteBroadcast(router.broadcast_topics), output_type=ROUTED)
        .name("route-broadcast")
        .uid("route-broadcast")
    )
    keyed = (
        routed.key_by(lambda r: r[0], key_type=Types.STRING())
        .connect(catalog.broadcast(BROADCAST_STATE))
        .process(ProcessorsFunction(config, args.allowed_lateness_ms), output_type=OUTPUT)
        .name("processors")
        .uid("processors")
    )
    count = levels(router.processors)
    tags = side_output_tags(count)

    def split(stage: Any, name: str) -> Any:
        return (
            stage.process(Split(args.allowed_lateness_ms, count), output_type=KAFKA_ROW)
            .name(f"split-{name}")
            .uid(f"split-{name}")
        )

    stages = [split(keyed, "processors")]
    for level in range(1, count):
        name = "merge" if level == 1 else f"merge{level}"
        partials = [upstream.get_side_output(tags[level]) for upstream in stages]
        # on the broadcast side only what the level's stages read (`level_reads`); the catalog
        # also stands in for nothing, as a broadcast input is needed
        reads_catalog, tables = level_reads(router.processors, level)
        published = [stages[source].get_side_output(tags[PUBLISH]) for source in sorted(tables)]
        side = [catalog] if reads_catalog or not published else []
        broadcast = [*side, *published]
        merged = (
            partials[0]
            .union(*partials[1:])
            .key_by(lambda r: r[0], key_type=Types.STRING())
            .connect(broadcast[0].union(*broadcast[1:]).broadcast(BROADCAST_STATE))
            .process(LevelFunction(config, args.allowed_lateness_ms, level), output_type=OUTPUT)
            .name(name)
            .uid(name)
        )
        stages.append(split(merged, name))
    outputs = stages[0].union(*stages[1:])

    statements = t_env.create_statement_set()
    t_env.execute_sql(sql.outputs_sink_ddl(OUTPUT_TOPICS, kafka))
    statements.add_insert(sql.OUTPUTS_TABLE, t_env.from_data_stream(outputs))
    if args.warehouse:
        t_env.execute_sql(sql.catalog_ddl(Path(args.warehouse).resolve().as_uri()))
        for ddl in sql.table_ddls():
            t_env.execute_sql(ddl)
        statements.add_insert_sql(sql.store_insert())
    return statements


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _embedded_python_path()
    # the phases of a start, with the log's timestamps (bench/flink_bench.py times the rest)
    logger.info("declaring the job")
    statements = build(args)
    logger.info("job declared; submitting")
    result = statements.execute()
    logger.info("job %s running", result.get_job_client().get_job_id())
    if args.detached:
        _leave_at_once()
    result.wait()
    return 0


def _leave_at_once() -> NoReturn:
    """End the `flink run --detached` client's Python process now that the job is submitted.
    Its interpreter's teardown (the modules PyFlink and Beam load; no exit handler of note)
    took 0.6-1.2 s on a quiet machine, 2 s under load, that every submission waited for; the
    gateway is the client's JVM, which carries on when this process ends."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
