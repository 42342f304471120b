"""The access log: one JSON line a request, written in batches.

Rendering each line through structlog and `logging` cost more than the catalog read it
described (the catalog benchmark in bench/results/catalog.md); here a request only appends a
tuple, and every `FLUSH_SECONDS` (or every `BATCH` lines) the batch is rendered with orjson and
written to stdout in one call. The lines carry the same fields the structured logs do
(`event`, `level`, `ts`, `requestId`), so every line of a request is found by its id.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime
import logging
import sys
from typing import Final

import orjson

FLUSH_SECONDS: Final = 0.1
BATCH: Final = 512
LOGGER: Final = "kartshoppe.access"

Entry = tuple[float, str, str, str, str, int, float, list[str] | None, str | None]
"""time, request id, method, path, route, status, duration (ms), event ids, error code"""


class AccessLog:
    def __init__(self) -> None:
        # the level is read once: `configure_logging` has run by the time the app is built
        self.enabled = logging.getLogger(LOGGER).isEnabledFor(logging.INFO)
        self._entries: list[Entry] = []
        self._scheduled = False
        atexit.register(self.flush)

    def record(self, entry: Entry) -> None:
        if not self.enabled:
            return
        self._entries.append(entry)
        if len(self._entries) >= BATCH:
            self.flush()
        elif not self._scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._scheduled = True
            loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        self._scheduled = False
        entries, self._entries = self._entries, []
        if not entries:
            return
        lines = b"".join(orjson.dumps(_line(entry)) + b"\n" for entry in entries)
        sys.stdout.flush()  # what `logging` wrote before goes first
        sys.stdout.buffer.write(lines)
        sys.stdout.buffer.flush()


class Stamps:
    """`ts` of a line: the date and time to the second are formatted once a second (`strftime`
    a line cost more than the rest of the line)."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, at: float) -> str:
        second = int(at)
        if second != self._second:
            stamp = datetime.datetime.fromtimestamp(second, datetime.UTC)
            self._second, self._prefix = second, stamp.strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{min(999_999, round((at - second) * 1_000_000)):06d}Z"


_stamp = Stamps()


def _line(entry: Entry) -> dict[str, object]:
    at, request_id, method, path, route, status, duration_ms, event_ids, error = entry
    return {
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "durationMs": duration_ms,
        "eventIds": event_ids,
        "error": error,
        "event": "request",
        "requestId": request_id,
        "level": "info",
        "logger": LOGGER,
        "ts": _stamp(at),
    }
