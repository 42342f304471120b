"""Drives one processor by event time through the runner's own `ProcessorInstance` and a real
SQLite state file, without the asyncio loop or the event log: feed events, move the watermark,
read what was emitted and the committed state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kartshoppe.eventlog.port import Record
from kartshoppe.events import BaseEvent, Event, Topic, decode_event, encode_event
from kartshoppe.processors.model import Processor, chain
from kartshoppe.processors.runner import ProcessorInstance, ProcessorStateDb

FAR_FUTURE_MS = 2**53
"""Append time given to fed records, so that event time is the event's own timestamp."""

Emitted = tuple[str, str | None, Event]

MakeDriver = Callable[..., "Driver"]
"""The `make_driver` fixture: `make_driver(processor, lateness_ms=0) -> Driver`."""


class Driver:
    def __init__(self, processor: Processor[Any], path: Path, lateness_ms: int = 0) -> None:
        self.processor = processor
        self.path = path
        self.lateness_ms = lateness_ms
        self.offsets: defaultdict[str, int] = defaultdict(int)
        self.store = ProcessorStateDb(path)
        self.instance = ProcessorInstance(processor, self.store, lateness_ms)

    def feed(self, *events: BaseEvent, topic: str = Topic.EVENTS.value) -> list[Emitted]:
        records = []
        for event in events:
            offset = self.offsets[topic]
            self.offsets[topic] += 1
            records.append(Record(topic, 0, offset, None, encode_event(event), FAR_FUTURE_MS))
        self.instance.process(records)
        return self._commit()

    def advance(self, watermark: int) -> list[Emitted]:
        self.instance.advance_watermark(watermark)
        return self._commit()

    def _commit(self) -> list[Emitted]:
        checkpoint, outputs = self.instance.take_checkpoint()
        self.instance.commit(checkpoint)
        return [(m.topic, m.key, decode_event(m.value)) for m in outputs]

    def state(self, key: str) -> Any:
        """The committed state of `key`, decoded from the state file (None if it has none)."""
        raw = self.store.state(self.processor.name, key)
        return None if raw is None else self.processor.decode_state(raw)

    def merged_state(self, key: str) -> Any:
        """The committed state of `key` in the processor's merger (None if it has none)."""
        merger = self.processor.merger()
        assert merger is not None, f"{self.processor.name} has no merger"
        raw = self.store.state(merger.name, key)
        return None if raw is None else merger.decode_state(raw)

    def stage_state(self, stage: str, key: str) -> Any:
        """The committed state of `key` in stage `stage` of the processor's chain."""
        found = next(s for s in chain(self.processor) if s.name == stage)
        raw = self.store.state(stage, key)
        return None if raw is None else found.decode_state(raw)

    def restart(self) -> None:
        """Drop everything in memory and carry on from the state file, as after a restart."""
        self.store.close()
        self.store = ProcessorStateDb(self.path)
        self.instance = ProcessorInstance(self.processor, self.store, self.lateness_ms)

    def close(self) -> None:
        self.store.close()


def of_type(emitted: list[Emitted], event_type: str) -> list[Emitted]:
    return [e for e in emitted if e[2].event_type == event_type]
