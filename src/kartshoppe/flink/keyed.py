"""The engine-side logic of the Flink job, kept free of PyFlink so it is typed and unit-tested.

All processors run in ONE keyed operator whose key is `composite_key(processor index, key)`:
each input record is decoded once by `Router` and sent to every (processor, key) it concerns.

Event-time alignment. The embedded runner reads one totally ordered log; Flink reads many
partitions of several topics in parallel, in no fixed interleaving. To give the same outputs on
both runners, keyed records are not processed on arrival: each is buffered in keyed state under
its event time T and processed when an event-time timer at T fires, i.e. once the watermark
(the minimum over all source partitions) says every record up to T has been read. Flink fires
timers in timestamp order, so a key sees its records in event-time order (ties: arrival order),
whatever the partition interleaving. The price is latency: a record waits for the watermark
(the source's out-of-orderness bound plus the watermark interval).

Processor timers keep the embedded runner's meaning: a timer at t fires once the watermark, the
largest event time seen minus `allowed_lateness_ms` (L), reaches t. In Flink event time that is
the moment T = t + L, so a processor timer t is a Flink timer at t + L; when one Flink timer
fires, the records buffered at T are processed before the processor timer due at T - L, as the
embedded runner advances its watermark after each record.

Mergers (`model` module doc, two-phase aggregation) run in a second keyed operator downstream,
keyed by `composite_key(processor index, merge key)`: `ctx.send` in the first becomes an output
on the `MERGE` route, `(composite key, [r, partial])`, and `MergeCore` buffers each partial at
T = r + L and applies it when that Flink timer fires, before the merger timer due at T - L: the
embedded runner's order (partials at r before merger timers at r or later). Partials of equal
time from different keys arrive in no fixed order; mergers must not depend on it.

Longer chains (`model` module doc, stage chains) get one such operator per level: stage n of
every processor's chain runs in level n (`level_stages`), fed by the partials routed to it
(`merge_route(n)`) from any earlier level. What a stage publishes goes out on the `PUBLISH`
route and reaches every later level on its broadcast side, where `TableMirror` keeps it by event
time (`model.Published`). Flink forwards a watermark only after the outputs of the timers it
fired, so when a level fires at T, every value published upstream at data time <= T - L is
there: the embedded runner's "stage by stage at equal times".

State TTL (`Stage.state_ttl_ms`, the shopper-keyed stages of the recommender) is in event time
too, which Flink's own `StateTtlConfig` is not (processing time only): each key of such a stage
keeps the data time of its last write and one cleanup timer at its expiry (`KeyedCore._expire`),
so both runners forget the same shoppers and a forgotten shopper's state leaves Flink's state.

Broadcast (catalog) state follows the same event time. `BroadcastMirror` keeps, per processor,
the folded catalog (`base`) plus the catalog events not yet known to be complete (`pending`),
both mirrored in Flink broadcast state for checkpoints. What a processor reads through
`ctx.broadcast` is `view`: `base` plus the pending events up to the time being processed, so a
catalog change at time C is seen by keyed records after C and not before, wherever it sat in
the source. Pending events are folded into `base` once the watermark passes them.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import orjson

from kartshoppe.events import Event, EventValidationError, decode_event
from kartshoppe.processors.model import (
    Context,
    Merger,
    OutputIds,
    Processor,
    Published,
    Stage,
    chain,
)
from kartshoppe.processors.model import (
    Output as Emitted,
)

logger = logging.getLogger(__name__)

KEY_SEP: Final = "\x1f"
NO_TIME: Final = -(2**62)
LATE_RECORDS: Final = "lateRecords"
"""The keyed operators' metric: records that came behind their operator's watermark."""
STATE_CACHE_SIZE: Final = 4096
"""Decoded per-key states kept in memory; the global keys are the ones that matter."""

Output = tuple[str, str | None, str]
"""(topic, record key, event JSON)"""
MERGE: Final = "\x00merge"
"""Route of the partials for the merge operator (no Kafka topic), in `Output`'s topic place."""
PUBLISH: Final = "\x00publish"
"""Route of published table values, `[processor index, r, stage, key, value]` (no Kafka topic)."""


def merge_route(level: int) -> str:
    """The route of the partials for the operator of chain level `level` (1: `MERGE`)."""
    return MERGE if level == 1 else f"{MERGE}{level}"


def route_level(route: str) -> int | None:
    """The chain level a `merge_route` leads to; None for a Kafka topic or `PUBLISH`."""
    if not route.startswith(MERGE):
        return None
    suffix = route[len(MERGE) :]
    return int(suffix) if suffix else 1


def chain_names(processors: Sequence[Processor[Any]]) -> list[list[str]]:
    """The stage names of each processor's chain, by processor index."""
    return [[stage.name for stage in chain(p)] for p in processors]


def levels(processors: Sequence[Processor[Any]]) -> int:
    """Operators needed: the length of the longest chain."""
    return max((len(chain(p)) for p in processors), default=1)


def composite_key(index: int, key: str) -> str:
    return f"{index}{KEY_SEP}{key}"


def split_key(pkey: str) -> tuple[int, str]:
    index, _, key = pkey.partition(KEY_SEP)
    return int(index), key


_DECODED: dict[str | bytes, Event] = {}
_DECODED_LOCK = threading.Lock()
DECODE_CACHE_SIZE: Final = 8192
"""Events decoded lately, by their JSON. A record is decoded by the router and again for every
(processor, key) it concerns, about at once, in the same interpreter (one per TaskManager):
validating it once instead of up to seven times (as the embedded runner's `DecodedEvents`)."""


def _decode(raw: str | bytes) -> Event | None:
    event = _DECODED.get(raw)
    if event is not None:
        return event
    try:
        event = decode_event(raw)
    except EventValidationError as exc:
        # the log only takes validated events; a bad record is a writer bug, not input
        logger.error("undecodable record skipped: %s", exc)
        return None
    with _DECODED_LOCK:
        if len(_DECODED) >= DECODE_CACHE_SIZE:
            # dicts keep insertion order: the first key is the oldest
            del _DECODED[next(iter(_DECODED))]
        _DECODED[raw] = event
    return event


class Router:
    """Which (processor, key) pairs a record of a topic goes to."""

    def __init__(self, processors: Sequence[Processor[Any]]) -> None:
        names = [p.name for p in processors]
        if len(set(names)) != len(names):
            raise ValueError(f"processor names must be unique, got {names}")
        self.processors = list(processors)
        self.keyed_topics = frozenset(t for p in processors for t in p.input_topics)
        self.broadcast_topics = frozenset(t for p in processors for t in p.broadcast_topics)

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(sorted(self.keyed_topics | self.broadcast_topics))

    def route(self, topic: str, raw: str | bytes) -> list[str]:
        if topic not in self.keyed_topics:
            return []
        event = _decode(raw)
        if event is None:
            return []
        return [
            composite_key(index, key)
            for index, processor in enumerate(self.processors)
            if topic in processor.input_topics
            for key in processor.keys(event)
        ]


class KeyedState(Protocol):
    """What one firing needs from the engine's keyed state, for the current key."""

    def load(self) -> bytes | None: ...

    def store(self, data: bytes) -> None: ...

    def clear(self) -> None: ...

    def take_pending(self, timestamp: int) -> list[str]:
        """The records buffered at `timestamp`, removed from the buffer."""
        ...

    def take_timer(self, timestamp: int) -> bool:
        """Whether a processor timer is set at `timestamp`; it is removed."""
        ...

    def add_timer(self, timestamp: int) -> None:
        """Remember processor timer `timestamp` and make the engine fire at `timestamp + L`."""
        ...

    def remove_timer(self, timestamp: int) -> None: ...

    def written(self) -> int | None:
        """The data time of the last write of the key's state (stages with a state TTL)."""
        ...

    def set_written(self, timestamp: int | None) -> None: ...

    def cleanup(self) -> int | None:
        """The Flink time of the key's pending state-cleanup timer, if any."""
        ...

    def set_cleanup(self, timestamp: int | None) -> None:
        """Remember the cleanup timer at `timestamp` (None: none pending) and make the engine
        fire at `timestamp` itself (no lateness added: it is a Flink time already)."""
        ...


class _EmitContext(Context):
    """The `Context` a processor call gets; mirrors the embedded runner's output-id rules."""

    def __init__(
        self,
        name: str,
        index: int,
        key: str,
        broadcast: Mapping[str, Any],
        lateness_ms: int,
        chain: Sequence[str] = (),
        tables: Mapping[str, Published] | None = None,
        reads: Sequence[str] = (),
    ) -> None:
        self._name = name
        self._reads = reads
        self._index = index
        self._key = key
        self._broadcast = broadcast
        self._lateness_ms = lateness_ms
        self._chain = list(chain) or [name]
        self._tables = tables or {}
        self._timestamp = 0
        self._ids = OutputIds(name)
        self.outputs: list[Output] = []
        self.timers_set: set[int] = set()
        self.timers_deleted: set[int] = set()

    def begin(self, timestamp: int, cause: str) -> None:
        self._timestamp = timestamp
        self._ids.begin(self._key, cause)

    @property
    def key(self) -> str:
        return self._key

    @property
    def timestamp(self) -> int:
        return self._timestamp

    @property
    def watermark(self) -> int:
        return self._timestamp - self._lateness_ms

    @property
    def broadcast(self) -> Mapping[str, Any]:
        return self._broadcast

    def emit(self, topic: str, key: str | None, event: Emitted) -> None:
        self.outputs.append((topic, key, self._ids.encode(event).decode()))

    def set_timer(self, timestamp: int) -> None:
        self.timers_deleted.discard(timestamp)
        self.timers_set.add(timestamp)

    def send(self, key: str, partial: dict[str, Any], stage: str | None = None) -> None:
        position = self._chain.index(self._name)
        level = position + 1 if stage is None else self._chain.index(stage)
        if not position < level < len(self._chain):
            raise KeyError(f"no stage {stage!r} after {self._name}")
        payload = orjson.dumps([self._timestamp, partial]).decode()
        self.outputs.append((merge_route(level), composite_key(self._index, key), payload))

    def publish(self, key: str, value: Any) -> None:
        payload = [self._index, self._timestamp, self._name, key, value]
        self.outputs.append((PUBLISH, None, orjson.dumps(payload).decode()))

    def table(self, stage: str) -> Mapping[str, Any]:
        if stage not in self._reads:
            raise KeyError(f"stage {self._name} does not declare that it reads {stage!r}")
        if stage not in self._tables:
            raise KeyError(f"no table of stage {stage!r} before {self._name}")
        return self._tables[stage].view(self._timestamp)

    def delete_timer(self, timestamp: int) -> None:
        self.timers_set.discard(timestamp)
        self.timers_deleted.add(timestamp)


class KeyedCore:
    """Runs the processors for one firing of a composite key at Flink event time T."""

    def __init__(
        self,
        stages: Sequence[Stage[Any]],
        lateness_ms: int,
        chains: Sequence[Sequence[str]] | None = None,
    ) -> None:
        self.stages = list(stages)
        self.lateness_ms = lateness_ms
        if chains is None:
            chains = [[s.name for s in chain(stage)] for stage in stages]
        self.chains = [list(c) for c in chains]
        """The stage names of each processor's chain, by index (where `ctx.send` may go; by
        default each stage's own chain, right for the first level)."""
        self.ttls = [stage.state_ttl_ms for stage in self.stages]
        """Each stage's state TTL (a property some stages compute: read once)."""
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self.failed = 0

    def _state(self, pkey: str, stage: Stage[Any], keyed: KeyedState) -> Any:
        state = self._cache.get(pkey)
        if state is not None:
            self._cache.move_to_end(pkey)
            return state
        raw = keyed.load()
        state = stage.initial_state() if raw is None else stage.decode_state(raw)
        self._cache[pkey] = state
        if len(self._cache) > STATE_CACHE_SIZE:
            self._cache.popitem(last=False)
        return state

    def _apply(
        self, stage: Stage[Any], state: Any, raw: str, timestamp: int, ctx: _EmitContext
    ) -> tuple[Any, bool]:
        """One buffered record of Flink time `timestamp`: here an event for `on_event`."""
        event = _decode(raw)
        if event is None or not isinstance(stage, Processor):
            return state, False
        ctx.begin(timestamp, event.event_id)
        return self._call(ctx, stage.on_event, state, event)

    def fire(
        self,
        pkey: str,
        timestamp: int,
        keyed: KeyedState,
        broadcast: Mapping[str, Any],
        tables: Mapping[str, Published] | None = None,
    ) -> list[Output]:
        """One Flink timer at `timestamp` for `pkey`; `tables`: what earlier stages of the
        key's chain published (`TableMirror`)."""
        index, key = split_key(pkey)
        stage = self.stages[index]
        reads = stage.reads if isinstance(stage, Merger) else ()
        ctx = _EmitContext(
            stage.name, index, key, broadcast, self.lateness_ms, self.chains[index], tables, reads
        )
        ttl = self.ttls[index]
        if ttl is not None:
            self._expire(pkey, keyed, timestamp, ttl)
        state = self._state(pkey, stage, keyed)
        changed = False
        written = NO_TIME
        for raw in keyed.take_pending(timestamp):
            current = stage.initial_state() if state is None else state
            state, ok = self._apply(stage, current, raw, timestamp, ctx)
            if ok:
                changed, written = True, ctx.timestamp
        due = timestamp - self.lateness_ms
        if due not in ctx.timers_set and keyed.take_timer(due):
            ctx.timers_deleted.discard(due)
            ctx.begin(due, f"timer:{due}")
            current = stage.initial_state() if state is None else state
            state, ok = self._call(ctx, stage.on_timer, current, due)
            if ok:
                changed, written = True, due
        for t in ctx.timers_deleted:
            keyed.remove_timer(t)
        for t in ctx.timers_set:
            keyed.add_timer(t)
        if changed:
            self._save(pkey, stage, keyed, state)
            if ttl is not None:
                keyed.set_written(None if state is None else written)
        if ttl is not None:
            self._schedule_cleanup(keyed, timestamp, ttl)
        return ctx.outputs

    def _expire(self, pkey: str, keyed: KeyedState, timestamp: int, ttl: int) -> None:
        """The state TTL in event time, the embedded runner's rule (`Stage.state_ttl_ms`): a
        key whose state was last written before the watermark less the TTL starts again from
        `initial_state()`. At Flink time T the watermark of the data is T - L (see the module
        doc), so the state written at w expires at T = w + TTL + L + 1, the cleanup timer's
        time (`_schedule_cleanup`). Its timers are kept, as in the embedded runner."""
        written = keyed.written()
        if written is not None and written < timestamp - self.lateness_ms - ttl:
            self._cache.pop(pkey, None)
            keyed.clear()
            keyed.set_written(None)

    def _schedule_cleanup(self, keyed: KeyedState, timestamp: int, ttl: int) -> None:
        """Keep one cleanup timer per key with state: at the expiry of its last write. A key
        written again before its timer fires keeps the timer, which on firing (`_expire` has
        found the state alive) moves itself to the new expiry: one timer per key and TTL,
        not one per write."""
        pending = keyed.cleanup()
        if pending is not None and pending > timestamp:
            return
        written = keyed.written()
        due = None if written is None else written + ttl + self.lateness_ms + 1
        if due != pending:
            keyed.set_cleanup(due)

    def _call(
        self, ctx: _EmitContext, method: Callable[[Any, Any, Context], Any], state: Any, arg: Any
    ) -> tuple[Any, bool]:
        """`method(state, arg, ctx)`: a stage's `on_event`, `on_partial` or `on_timer`."""
        mark = len(ctx.outputs)
        try:
            return method(state, arg, ctx), True
        except Exception:
            # a processor bug must not stop the job (as in the embedded runner): skip the input
            logger.exception(
                "processor call failed for key %r at %d, skipped", ctx.key, ctx.timestamp
            )
            del ctx.outputs[mark:]
            self.failed += 1
            return state, False

    def _save(self, pkey: str, stage: Stage[Any], keyed: KeyedState, state: Any) -> None:
        if state is None:
            # `None` from a processor means "start again from initial_state()"
            self._cache.pop(pkey, None)
            keyed.clear()
            return
        self._cache[pkey] = state
        keyed.store(stage.encode_state(state))


def level_reads(processors: Sequence[Processor[Any]], level: int) -> tuple[bool, frozenset[int]]:
    """What the operator of chain level `level` needs on its broadcast side (`Merger.reads`,
    `Merger.reads_catalog` of its stages): whether the catalog, and the levels whose published
    tables. The rest would cost each of its subtasks a call per record for nothing."""
    catalog = False
    tables: set[int] = set()
    for processor in processors:
        stages = chain(processor)
        stage = stages[level] if level < len(stages) else None
        if isinstance(stage, Merger):
            catalog = catalog or stage.reads_catalog
            names = [s.name for s in stages]
            tables.update(names.index(name) for name in stage.reads)
    return catalog, frozenset(tables)


def level_stages(processors: Sequence[Processor[Any]], level: int) -> list[Stage[Any]]:
    """Stage `level` of each processor's chain at the processor's index (a chain that short:
    the processor itself, never addressed), so that a partial's composite key names it."""
    stages = []
    for processor in processors:
        stages_of = chain(processor)
        stages.append(stages_of[level] if level < len(stages_of) else processor)
    return stages


class MergeCore(KeyedCore):
    """`KeyedCore` for the merge operator: buffered records are partials sent at r, buffered
    at Flink time r + L (`merge_time`)."""

    def _apply(
        self, stage: Stage[Any], state: Any, raw: str, timestamp: int, ctx: _EmitContext
    ) -> tuple[Any, bool]:
        if not isinstance(stage, Merger):
            return state, False
        sent, partial = orjson.loads(raw)
        ctx.begin(sent, f"partial:{sent}")
        return self._call(ctx, stage.on_partial, state, partial)


def merge_time(payload: str, lateness_ms: int) -> int:
    """The Flink time at which the merge operator applies a partial (see the module doc)."""
    sent: int = orjson.loads(payload)[0]
    return sent + lateness_ms


class BroadcastStore(Protocol):
    """Flink broadcast state as the mirror writes it (keys are already prefixed)."""

    def put(self, key: str, value: bytes) -> None: ...

    def remove(self, key: str) -> None: ...


class _WriteThrough(MutableMapping[str, Any]):
    """`base` as a processor's `on_broadcast` sees it: every write also goes to Flink state."""

    def __init__(self, data: dict[str, Any], put: Callable[[str, Any], None]) -> None:
        self._data = data
        self._put = put

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._put(key, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError("broadcast entries are replaced, never deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class BroadcastMirror:
    """One processor's broadcast state in event time (see the module docstring)."""

    processor: Processor[Any]
    index: int
    base: dict[str, Any] = field(default_factory=dict)
    pending: list[tuple[int, str, str]] = field(default_factory=list)
    view: dict[str, Any] = field(default_factory=dict)
    view_time: int = NO_TIME
    loaded: bool = False

    @property
    def prefix(self) -> str:
        return f"{self.index}{KEY_SEP}"

    def base_key(self, entry: str) -> str:
        return f"{self.prefix}c{KEY_SEP}{entry}"

    def pending_key(self, timestamp: int, event_id: str) -> str:
        return f"{self.prefix}p{KEY_SEP}{timestamp:020d}{KEY_SEP}{event_id}"

    def load(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Rebuild from Flink broadcast state (after a restore, or on first use)."""
        for full_key, value in items:
            if not full_key.startswith(self.prefix):
                continue
            kind, _, rest = full_key[len(self.prefix) :].partition(KEY_SEP)
            if kind == "c":
                self.base[rest] = orjson.loads(value)
            else:
                ts, _, event_id = rest.partition(KEY_SEP)
                self.pending.append((int(ts), event_id, bytes(value).decode()))
        self.pending.sort()
        self.view = {k: _copy(v) for k, v in self.base.items()}
        self.loaded = True

    def _apply(self, target: MutableMapping[str, Any], raw: str) -> None:
        event = _decode(raw)
        if event is not None:
            self.processor.on_broadcast(event, target)

    def advance(self, timestamp: int) -> None:
        """Make `view` the catalog as of event time `timestamp` (never moves back)."""
        if timestamp <= self.view_time:
            return
        start = bisect.bisect_right(self.pending, (self.view_time, "\uffff", ""))
        end = bisect.bisect_right(self.pending, (timestamp, "\uffff", ""))
        for _, _, raw in self.pending[start:end]:
            self._apply(self.view, raw)
        self.view_time = timestamp

    def add(
        self, timestamp: int, event_id: str, raw: str, watermark: int, store: BroadcastStore
    ) -> None:
        """A broadcast record arrived; `watermark` is the operator's current watermark."""
        if timestamp <= self.view_time:
            # late: the keyed side is past it already, so it applies from now on
            self._apply(self.view, raw)
        item = (timestamp, event_id, raw)
        position = bisect.bisect_left(self.pending, item)
        if position < len(self.pending) and self.pending[position] == item:
            return  # redelivered
        self.pending.insert(position, item)
        store.put(self.pending_key(timestamp, event_id), raw.encode())
        self.promote(watermark, store)

    def promote(self, watermark: int, store: BroadcastStore) -> None:
        """Fold the pending events the watermark has passed into `base`."""
        self.advance(watermark)
        end = bisect.bisect_right(self.pending, (watermark, "\uffff", ""))
        if end == 0:
            return

        def put(entry: str, value: Any) -> None:
            store.put(self.base_key(entry), orjson.dumps(value))

        base = _WriteThrough(self.base, put)
        for ts, event_id, raw in self.pending[:end]:
            self._apply(base, raw)
            store.remove(self.pending_key(ts, event_id))
        del self.pending[:end]


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


@dataclass
class TableMirror:
    """The tables the stages of one processor's chain publish, on a later level's broadcast
    side, by event time (`model.Published`); mirrored in Flink broadcast state as `base` values
    and the values not yet folded (`pending`), so that a restore rebuilds both."""

    index: int
    tables: dict[str, Published] = field(default_factory=dict)
    pending: list[tuple[int, str]] = field(default_factory=list)
    """(data time, state key) of the values not folded yet, sorted."""
    sequence: int = 0

    @property
    def prefix(self) -> str:
        return f"t{self.index}{KEY_SEP}"

    def _table(self, stage: str) -> Published:
        table = self.tables.get(stage)
        if table is None:
            table = self.tables[stage] = Published()
        return table

    def load(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Rebuild from Flink broadcast state (after a restore, or on first use)."""
        pending = []
        for full_key, value in items:
            if not full_key.startswith(self.prefix):
                continue
            kind, _, rest = full_key[len(self.prefix) :].partition(KEY_SEP)
            if kind == "c":
                stage, _, key = rest.partition(KEY_SEP)
                self._table(stage).base[key] = orjson.loads(value)
            else:
                pending.append((rest, bytes(value)))
        for rest, value in sorted(pending):
            _, at, stage, key, published = orjson.loads(value)
            self._table(stage).put(at, key, published)
            self.pending.append((at, f"{self.prefix}p{KEY_SEP}{rest}"))
            self.sequence = max(self.sequence, int(rest.rpartition(KEY_SEP)[2]) + 1)

    def add(self, payload: str, upto: int, store: BroadcastStore) -> None:
        """A value published upstream; `upto`: the data time every firing has passed."""
        _, at, stage, key, value = orjson.loads(payload)
        self._table(stage).put(at, key, value)
        state_key = f"{self.prefix}p{KEY_SEP}{at:020d}{KEY_SEP}{self.sequence:012d}"
        self.sequence += 1
        bisect.insort(self.pending, (at, state_key))
        store.put(state_key, payload.encode())
        self.promote(upto, store)

    def promote(self, upto: int, store: BroadcastStore) -> None:
        """Fold the values published up to data time `upto` into `base`."""
        end = bisect.bisect_right(self.pending, (upto, "\uffff"))
        if end == 0:
            return
        for stage, table in self.tables.items():
            for key, value in table.fold(upto).items():
                store.put(f"{self.prefix}c{KEY_SEP}{stage}{KEY_SEP}{key}", orjson.dumps(value))
        for _, state_key in self.pending[:end]:
            store.remove(state_key)
        del self.pending[:end]
