"""The processor model: keyed, stateful functions over events, whatever engine runs them.

A `Processor` maps one-to-one onto Apache Flink's `KeyedBroadcastProcessFunction` (or a plain
`KeyedProcessFunction` when it has no broadcast topics):

- `keys(event)` / `key(event)`: a `flat_map` to (key, event) pairs, then `key_by`;
- per-key state (`initial_state`, the value `on_event`/`on_timer` return, `encode_state`):
  a `ValueState` of bytes;
- `on_event(state, event, ctx)`: `process_element`;
- `ctx.set_timer` / `ctx.delete_timer`: `timer_service().register/delete_event_time_timer`;
- `on_timer(state, timestamp, ctx)`: `on_timer`;
- `on_broadcast(event, broadcast)`: `process_broadcast_element` writing a `MapState[str, JSON]`;
  `ctx.broadcast` (read-only): `ctx.get_broadcast_state(...)` in `process_element`;
- `ctx.emit(topic, key, event)`: yielding (topic, key, bytes) routed to the Kafka sinks;
- `merger` and `ctx.send(key, partial)`: a second keyed operator downstream of the first
  (two-phase aggregation, see `Merger`); a merger may have a merger of its own, which makes a
  chain of keyed stages (`chain`), one operator each;
- `ctx.publish(key, value)` / `ctx.table(stage)`: a table a stage publishes and the stages after
  it in its chain read, as of their event time (Flink: the upstream operator's output on the
  downstream operator's broadcast side, mirrored in broadcast state).

Time is event time. `event_time(event, append_ts)` is the timestamp assigner both engines use.
The watermark is the largest event time seen on the keyed input topics (broadcast topics do not
move it) minus an allowed lateness; a timer fires once the watermark reaches it. Timers are per
key and per timestamp: setting the same one twice keeps one.

Processors are pure: no I/O, no clock, no randomness. What they emit must depend only on their
state and input, because output event ids are derived from (processor, key, cause, index) by
`output_event_id`; a replay after a crash re-emits the same ids, so consumers drop duplicates by
`eventId`.

Two-phase aggregation. A processor whose answer is global (a dashboard total, a top list) keys
its state by a real key (shopper, product) and hands small partial aggregates, about once a
second per active key, to its `merger`: a second stage whose state is keyed by `ctx.send`'s key
(usually `GLOBAL_KEY`) and which only sums partials and publishes. A partial sent at event time
r is applied once the watermark reaches r, before the merger's own timers at r or later, and
partials of equal time from different keys arrive in no fixed order: merging must not depend on
it (sum, or collect and sort). Both runners commit a processor and its merger together.

Stage chains. A chain (`chain(processor)`: the processor, its merger, that merger's merger...)
is one topology of keyed stages, each keyed by what it needs (shopper, product, ...). A stage
sends partials to any later stage of its chain (`ctx.send(key, partial, stage=name)`, default
the next one). It may also publish a table: `ctx.publish(key, value)` at event time r sets
`key` to `value` in the stage's table, and a later stage reading `ctx.table(name)` at event
time t sees the values published at r <= t (the latest one per key; published at equal times,
the last applied). Work at equal times runs stage by stage: a stage's partials and timers at t
all come before any later stage's at t, so a table read at t is complete up to t on both
runners. A published value must not depend on the arrival order of equal-time partials
(collect them and publish from a timer at t, as `recommendations` does). A later stage
declares what it reads: `reads`, the stages whose tables `ctx.table` gives it, and
`reads_catalog`, whether `ctx.broadcast` is its processor's catalog broadcast state (else
empty). Both runners hold a stage to them, and the Flink job sends each table and the catalog
only to the operators that read them (a broadcast input costs every subtask of the operator).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Generic, TypedDict, TypeVar, cast

import orjson

from kartshoppe.events import (
    CATALOG_EVENTS,
    BaseEvent,
    Event,
    InventoryChanged,
    ProductLaunched,
    Topic,
    event_to_dict,
    json_number,
)

S = TypeVar("S")

OUTPUT_ID: Final = "pending"
"""`eventId` to build an output event with: the runner stamps the real one (`OutputIds`), and a
random default id would cost a system call per output for nothing."""

GLOBAL_KEY: Final = "global"
"""The one key of global processors (analytics, trending); also their fan-out record key."""


@dataclass(frozen=True, slots=True)
class WireEvent:
    """An output given in its wire form (camelCase, JSON-ready, `eventId` first and set to
    `OUTPUT_ID`), for the frequent outputs with lists of ids: validating their models (one per
    listed item, each id against its pattern) cost more than computing them. Tests decode every
    output against the contract (`events.decode_event`), which holds these to it."""

    wire: dict[str, Any]


Output = BaseEvent | WireEvent
"""What a stage emits."""


class Context(ABC):
    """What a processor may do besides returning its new state."""

    @property
    @abstractmethod
    def key(self) -> str:
        """The key whose state is being processed."""

    @property
    @abstractmethod
    def timestamp(self) -> int:
        """Event time of the current event (see `event_time`) or the firing timer's timestamp."""

    @property
    @abstractmethod
    def watermark(self) -> int:
        """Event time up to which the input is considered complete."""

    @property
    @abstractmethod
    def broadcast(self) -> Mapping[str, Any]:
        """The processor's broadcast state, read-only."""

    @abstractmethod
    def emit(self, topic: str, key: str | None, event: Output) -> None:
        """Send `event` to `topic` under `key`. The runner sets its `eventId` (see module doc);
        the same event object emitted to several topics in a row keeps one id."""

    @abstractmethod
    def set_timer(self, timestamp: int) -> None:
        """Call `on_timer` for the current key once the watermark reaches `timestamp`."""

    @abstractmethod
    def delete_timer(self, timestamp: int) -> None:
        """Cancel a timer of the current key; no effect if there is none at `timestamp`."""

    def send(self, key: str, partial: dict[str, Any], stage: str | None = None) -> None:
        """Hand `partial` (JSON-able) to a later stage of the chain (`stage`, by name; default
        the next one, the `merger`), for its state under `key`, at the current event time (see
        the module doc)."""
        raise TypeError(f"{type(self).__name__} runs no merge stage")

    def publish(self, key: str, value: Any) -> None:
        """Set `key` of this stage's table to `value` (JSON-able) from the current event time
        on, for the later stages of the chain (see the module doc)."""
        raise TypeError(f"{type(self).__name__} publishes no table")

    def table(self, stage: str) -> Mapping[str, Any]:
        """The table an earlier stage of the chain publishes, as of the current event time."""
        raise TypeError(f"{type(self).__name__} reads no table")


class Stage(ABC, Generic[S]):
    """What every keyed stage has: a name, a state per key, timers."""

    name: str

    @abstractmethod
    def initial_state(self) -> S: ...

    def on_timer(self, state: S, timestamp: int, ctx: Context) -> S | None:
        return state

    def encode_state(self, state: S) -> bytes:
        return orjson.dumps(state)

    def decode_state(self, data: bytes) -> S:
        decoded: S = orjson.loads(data)
        return decoded

    def merger(self) -> Merger[Any] | None:
        """The next stage of the chain, fed by `ctx.send`; None if this stage is the last."""
        return None

    @property
    def state_ttl_ms(self) -> int | None:
        """A key whose state was last written longer ago than this, in event time by the
        watermark, is forgotten: its next call starts from `initial_state()` (Flink's state
        TTL on event time, updated on write; timers are kept). None keeps every key."""
        return None


class Merger(Stage[S]):
    """The global stage of a two-phase aggregation: folds the partials a `Processor` sends.

    `on_partial(state, partial, ctx)` returns the new state (or None to clear it); it may set
    timers and emit. It sees no broadcast state unless it declares `reads_catalog` (what it
    needs of the catalog may come with the partials instead), and the tables of the stages in
    `reads`. Its name is its processor's name plus `.merge` (its state's namespace)."""

    reads: ClassVar[tuple[str, ...]] = ()
    """The earlier stages of the chain whose tables `ctx.table` reads (see the module doc)."""
    reads_catalog: ClassVar[bool] = False
    """Whether `ctx.broadcast` is the processor's catalog (else empty; see the module doc)."""

    @abstractmethod
    def on_partial(self, state: S, partial: dict[str, Any], ctx: Context) -> S | None: ...


class Processor(Stage[S]):
    """A keyed, stateful function over events. Subclasses set `name` and `input_topics`.

    `on_event` and `on_timer` return the key's new state, or `None` to clear it (the next event
    of that key starts again from `initial_state()`). They may mutate and return the state they
    were given. State must survive `decode_state(encode_state(state))` unchanged; the default
    codec is JSON (orjson), so keep state to dicts, lists, strings, numbers, booleans and None.
    """

    input_topics: tuple[str, ...]
    broadcast_topics: tuple[str, ...] = ()
    cost: int = 1
    """Its CPU per input record, relative to the others' (tenths of a second for the stream of
    bench/processors_bench.py, each processor alone, rounded up): how the embedded runner
    spreads the processors over processes (`processors_process.spread`)."""

    @abstractmethod
    def key(self, event: Event) -> str | None:
        """The key this event belongs to, or None if this processor ignores it."""

    def keys(self, event: Event) -> tuple[str, ...]:
        """All keys the event is delivered to; override only when one event concerns several."""
        key = self.key(event)
        return () if key is None else (key,)

    @abstractmethod
    def on_event(self, state: S, event: Event, ctx: Context) -> S | None: ...

    def on_broadcast(self, event: Event, broadcast: MutableMapping[str, Any]) -> None:
        """Update the broadcast state from an event of `broadcast_topics` (same on every key)."""


def chain(processor: Stage[Any]) -> list[Stage[Any]]:
    """The processor and the stages after it: its merger, that merger's merger, ..."""
    stages: list[Stage[Any]] = [processor]
    while (following := stages[-1].merger()) is not None:
        if any(following.name == s.name for s in stages):
            raise ValueError(f"stage {following.name!r} twice in the chain of {processor.name}")
        stages.append(following)
    return stages


class Published:
    """A stage's published table in event time, as both runners keep it: `base` (values
    published up to the last `fold`) plus the values published since, by time, so that
    `view(t)` is the table as of t (module doc, stage chains)."""

    def __init__(self, base: dict[str, Any] | None = None) -> None:
        self.base: dict[str, Any] = base or {}
        self.recent: dict[str, list[tuple[int, int, Any]]] = {}
        self._sequence = 0

    def put(self, at: int, key: str, value: Any) -> None:
        versions = self.recent.setdefault(key, [])
        versions.append((at, self._sequence, value))
        self._sequence += 1
        if len(versions) > 1 and versions[-2][0] > at:
            versions.sort(key=lambda v: (v[0], v[1]))

    def value(self, key: str, at: int) -> Any:
        versions = self.recent.get(key)
        if versions is None:
            return self.base.get(key)
        if versions[-1][0] <= at:  # the usual read: at or after the latest version
            return versions[-1][2]
        for published, _, value in reversed(versions):
            if published <= at:
                return value
        return self.base.get(key)

    def view(self, at: int) -> TableView:
        return TableView(self, at)

    def fold(self, upto: int) -> dict[str, Any]:
        """Move what was published up to `upto` into `base`; the base entries that changed."""
        changed: dict[str, Any] = {}
        for key in list(self.recent):
            versions = self.recent[key]
            done = [v for v in versions if v[0] <= upto]
            if done:
                changed[key] = self.base[key] = done[-1][2]
                rest = versions[len(done) :]
                if rest:
                    self.recent[key] = rest
                else:
                    del self.recent[key]
        return changed


class TableView(Mapping[str, Any]):
    """A `Published` table as of one event time (what `Context.table` returns)."""

    def __init__(self, table: Published, at: int) -> None:
        self._table = table
        self._at = at
        self._recent = table.recent
        self._base = table.base

    def __getitem__(self, key: str) -> Any:
        value = self._table.value(key, self._at)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        # `Published.value` inlined for the usual case: the list stage reads hundreds a list
        versions = self._recent.get(key)
        if versions is None:
            value = self._base.get(key)
        elif versions[-1][0] <= self._at:
            value = versions[-1][2]
        else:
            value = self._table.value(key, self._at)
        return default if value is None else value

    def fields(self, keys: Iterable[str], name: str, default: Any) -> list[Any]:
        """`get(key)[name]` of each key, in order, `default` for a missing key, in one pass
        without a call per key but for a key published after `at` (a late read): the list
        stage reads a mass per candidate."""
        recent, base, value, at = self._recent, self._base, self._table.value, self._at
        return [
            default
            if (
                found := base.get(key)
                if (versions := recent.get(key)) is None
                else versions[-1][2]
                if versions[-1][0] <= at
                else value(key, at)
            )
            is None
            else found[name]
            for key in keys
        ]

    def snapshot(self) -> dict[str, Any]:
        """The table as of `at` as one dict, in the view's order: `dict(view.items())`
        without two calls per key."""
        recent, base, value, at = self._recent, self._base, self._table.value, self._at
        found = {key: v if key not in recent else value(key, at) for key, v in base.items()}
        found.update(
            (key, value(key, at))
            for key, versions in recent.items()
            if key not in base and versions[0][0] <= at
        )
        return found

    def __iter__(self) -> Iterator[str]:
        table = self._table
        for key in table.base:
            yield key
        for key, versions in table.recent.items():
            if key not in table.base and versions[0][0] <= self._at:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)


def event_time(event: BaseEvent, append_ts: int) -> int:
    """The event time of a record: the event's own timestamp, but never later than its append.

    A client clock running ahead would otherwise drag the watermark forward and fire every
    timer early; clamping to the log's append time bounds that skew.
    """
    return min(event.timestamp, append_ts)


def output_event_id(processor: str, key: str, cause: str, index: int) -> str:
    """Deterministic id of the `index`-th output of `processor` for `key` caused by `cause`.

    `cause` is the input event's id for `on_event`, `timer:<timestamp>` for `on_timer`.
    """
    digest = hashlib.blake2b(f"{processor}\x1f{key}\x1f{cause}\x1f{index}".encode(), digest_size=16)
    return f"out_{digest.hexdigest()}"


class OutputIds:
    """Stamps each output of one processor call with its `output_event_id`; both runners use it,
    so the same input gives the same ids on either. Emitting the same event object to several
    topics keeps one id (one fact, two routes)."""

    def __init__(self, processor: str) -> None:
        self._processor = processor
        self._key = ""
        self._cause = ""
        self._count = 0
        self._last: Output | None = None
        self._last_encoded = b""

    def begin(self, key: str, cause: str) -> None:
        """A new processor call for `key`, caused by an event id or `timer:<timestamp>`."""
        self._key, self._cause, self._count, self._last = key, cause, 0, None

    def encode(self, event: Output) -> bytes:
        """The wire form of `event` with its output id."""
        if event is not self._last:
            event_id = output_event_id(self._processor, self._key, self._cause, self._count)
            self._count += 1
            self._last = event
            # the wire form with the id set in it: a copy of the model would cost a validation
            wire = dict(event.wire) if isinstance(event, WireEvent) else event_to_dict(event)
            wire["eventId"] = event_id
            self._last_encoded = orjson.dumps(wire)
        return self._last_encoded


# --- the catalog as broadcast state -------------------------------------------------------------

CATALOG_TOPICS: Final[tuple[str, ...]] = (
    Topic.PRODUCT_UPDATES.value,
    Topic.INVENTORY_UPDATES.value,
)
"""Broadcast topics of processors that need `catalog_entry`."""


class CatalogEntry(TypedDict, total=False):
    name: str
    category: str
    price: float
    available: int
    soldOut: bool


def _copy_entry(broadcast: Mapping[str, Any], product_id: str) -> CatalogEntry:
    # a copy, so that storing it back is the write the broadcast state records
    return cast(CatalogEntry, dict(broadcast.get(product_id) or {}))


def apply_catalog_event(event: Event, broadcast: MutableMapping[str, Any]) -> None:
    """Keep `broadcast[product_id]` a `CatalogEntry`: use it as (part of) `on_broadcast`."""
    if isinstance(event, CATALOG_EVENTS):
        product = event.product
        entry = _copy_entry(broadcast, product.id)
        entry["name"] = product.name
        entry["category"] = product.category
        # a display and ranking value in JSON state; what is charged is decided by the shop
        entry["price"] = json_number(
            product.flash_sale.sale_price if product.flash_sale else product.price
        )
        if isinstance(event, ProductLaunched):
            entry["available"] = product.stock
            entry["soldOut"] = product.stock == 0
        broadcast[product.id] = entry
    elif isinstance(event, InventoryChanged):
        entry = _copy_entry(broadcast, event.product_id)
        entry["available"] = event.available
        entry["soldOut"] = event.sold_out or event.available == 0
        broadcast[event.product_id] = entry


def catalog_entry(broadcast: Mapping[str, Any], product_id: str) -> CatalogEntry:
    """The catalog entry of a product; empty if the catalog has not seen it yet."""
    return cast(CatalogEntry, broadcast.get(product_id) or {})


def iter_catalog(broadcast: Mapping[str, Any]) -> Iterator[tuple[str, CatalogEntry]]:
    """Every (product id, entry) of a catalog broadcast state."""
    yield from broadcast.items()
