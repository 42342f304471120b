"""Read-your-writes across instances: a write's answer names the log positions it reached, and
a read that passes them waits (bounded) until this instance's fold has applied them.

The positions are collected per request in a context variable the API sets up, so the
application stays unaware of HTTP; `encode`/`decode` give their header and query form
(`topic:partition:offset`, comma-separated).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextvars import ContextVar

from kartshoppe.application.commands import Position

_written: ContextVar[list[Position] | None] = ContextVar("written_positions", default=None)


def collect() -> list[Position]:
    """Start collecting the positions this request's writes reach."""
    positions: list[Position] = []
    _written.set(positions)
    return positions


def note_written(positions: Iterable[Position]) -> None:
    collected = _written.get()
    if collected is not None:
        collected.extend(positions)


def encode(positions: Sequence[Position]) -> str:
    """The furthest offset per partition, as `topic:partition:offset,...`."""
    furthest: dict[tuple[str, int], int] = {}
    for topic, partition, offset in positions:
        furthest[(topic, partition)] = max(offset, furthest.get((topic, partition), -1))
    return ",".join(f"{t}:{p}:{o}" for (t, p), o in sorted(furthest.items()))


def decode(text: str) -> list[Position]:
    """Positions from their encoded form; `ValueError` naming the bad part."""
    positions: list[Position] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        pieces = part.rsplit(":", 2)
        if len(pieces) != 3 or not pieces[0] or not all(p.isdigit() for p in pieces[1:]):
            raise ValueError(f"'{part[:80]}' is not topic:partition:offset")
        positions.append((pieces[0], int(pieces[1]), int(pieces[2])))
    return positions
