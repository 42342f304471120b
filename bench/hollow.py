"""Hollow processors: the floors of issue 13 item 4, what no processor-side optimisation passes.

`hollow(processors, mode)` gives each processor a stand-in that keeps its declaration, the
things either runner builds its topology from (name, `input_topics`, `broadcast_topics`, the
stage chain with each merger's name, `reads` and `reads_catalog`, the state TTL) but does no
work: no state beyond a constant, no timers, no partials, no published tables, no outputs, no
catalog kept. What a runner then spends is its own cost (log or Kafka reads, decoding, routing,
per-key state reads and commits, watermarks), the most a faster processor could leave.

Modes, each a subset of the next (the embedded bench splits the floor with them):
- `decode`: no keys at all: records are read, decoded and counted, nothing is delivered;
- `route`: each processor's real `keys(event)` is computed, then dropped: decode + routing;
- `state` (the floor): the real keys, and each key's state (the constant 0) read and written
  back, so that the runner keeps, and commits, a row per key as it does for the real ones;
- `echo`: `state`, and one small output (`ECHO_TYPE`, to the fan-out topic) per call of
  `on_event`, about as many outputs as the real processors emit (3 to 4 an input event): the
  Flink bench times a job by its first and last output, and the real outputs must be
  written too.

Used by bench/processors_bench.py (`--hollow MODE`) and, through bench/hollow_job.py, by
bench/flink_bench.py (`--hollow`).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Final

from kartshoppe.events import Event, Topic
from kartshoppe.processors.model import OUTPUT_ID, Context, Merger, Processor, WireEvent

MODES: Final = ("decode", "route", "state", "echo")
ECHO_TYPE: Final = "HOLLOW_ECHO"


class HollowMerger(Merger[int]):
    """A later stage of a hollow chain: named as the real one, never sent anything."""

    def __init__(self, real: Merger[Any]) -> None:
        self.name = real.name
        self._ttl = real.state_ttl_ms
        following = real.merger()
        self._next = None if following is None else hollow_merger(following)

    def initial_state(self) -> int:
        return 0

    def on_partial(self, state: int, partial: dict[str, Any], ctx: Context) -> int:
        return state

    def merger(self) -> Merger[Any] | None:
        return self._next

    @property
    def state_ttl_ms(self) -> int | None:
        return self._ttl


def hollow_merger(real: Merger[Any]) -> Merger[Any]:
    """The hollow stand-in of `real`, with its class-level declarations (`reads`,
    `reads_catalog`): the Flink job puts the tables and the catalog on a level's broadcast
    side from them."""
    declared = {"reads": real.reads, "reads_catalog": real.reads_catalog}
    kind = type(f"Hollow{type(real).__name__}", (HollowMerger,), declared)
    stage: Merger[Any] = kind(real)
    return stage


class HollowProcessor(Processor[int]):
    """A processor's declaration without its work (module doc)."""

    def __init__(self, real: Processor[Any], mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is none of {MODES}")
        self.name = real.name
        self.input_topics = real.input_topics
        self.broadcast_topics = real.broadcast_topics
        self._real = real
        self._mode = mode
        self._ttl = real.state_ttl_ms
        following = real.merger()
        self._next = None if following is None else hollow_merger(following)

    def key(self, event: Event) -> str | None:
        keys = self.keys(event)
        return keys[0] if keys else None

    def keys(self, event: Event) -> tuple[str, ...]:
        if self._mode == "decode":
            return ()
        keys = self._real.keys(event)
        return () if self._mode == "route" else keys

    def initial_state(self) -> int:
        return 0

    def on_event(self, state: int, event: Event, ctx: Context) -> int:
        if self._mode == "echo":
            ctx.emit(Topic.FANOUT.value, None, WireEvent({"eventId": OUTPUT_ID, "type": ECHO_TYPE}))
        return state

    def on_broadcast(self, event: Event, broadcast: MutableMapping[str, Any]) -> None:
        return None

    def merger(self) -> Merger[Any] | None:
        return self._next

    @property
    def state_ttl_ms(self) -> int | None:
        return self._ttl


def hollow(processors: list[Processor[Any]], mode: str = "state") -> list[Processor[Any]]:
    """Each of `processors` hollowed (module doc), in order."""
    return [HollowProcessor(p, mode) for p in processors]
