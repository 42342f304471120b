"""The access log: one JSON line a request, written in batches.

Rendering each line through structlog and `logging` cost more than the catalog read it
described (the catalog benchmark in bench/results/catalog.md). Here a line is split in two: the
fields that are the same for every request to a path answered alike (method, path, route,
status, and the event ids and error code when there are any) are rendered once with orjson, as
the line's `prefix`, and kept; a request only appends its prefix with what is its own (its start
on the `perf_counter` clock, its duration, its id as sent). Every `FLUSH_SECONDS` (or every
`BATCH` lines) the batch is rendered and written to stdout in one call. The lines carry the same
fields the structured logs do (`event`, `level`, `ts`, `requestId`), so every line of a request
is found by its id.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime
import logging
import sys
import time
from typing import Final

import orjson

FLUSH_SECONDS: Final = 0.1
BATCH: Final = 512
LOGGER: Final = "kartshoppe.access"
PREFIXES_KEPT: Final = 4096

Entry = tuple[bytes, float, float, bytes]
"""prefix (`AccessLog.prefix`), start (`time.perf_counter`), duration (s), request id. A request
id is one the edge accepted (`api.middleware.REQUEST_ID`'s characters, none of which JSON
escapes), so it goes into a line as it is."""
LINE: Final = b'%s"durationMs":%.2f,"requestId":"%s","ts":"%s.%06dZ"}\n'


class AccessLog:
    def __init__(self) -> None:
        # the level is read once: `configure_logging` has run by the time the app is built
        self.enabled = logging.getLogger(LOGGER).isEnabledFor(logging.INFO)
        self._entries: list[Entry] = []
        self._scheduled = False
        self._prefixes: dict[tuple[str, str, str, int], bytes] = {}
        atexit.register(self.flush)

    def prefix(
        self,
        method: str,
        path: str,
        route: str,
        status: int,
        event_ids: list[str] | None = None,
        error: str | None = None,
    ) -> bytes:
        """The fields of a line but the request's own, rendered (kept for lines with neither
        event ids nor an error code, which are nearly all)."""
        if event_ids or error is not None:
            return _prefix(method, path, route, status, event_ids or None, error)
        key = (method, path, route, status)
        found = self._prefixes.get(key)
        if found is None:
            if len(self._prefixes) >= PREFIXES_KEPT:
                self._prefixes.clear()
            found = self._prefixes[key] = _prefix(method, path, route, status, None, None)
        return found

    def record(self, prefix: bytes, started: float, seconds: float, request_id: bytes) -> None:
        if not self.enabled:
            return
        self._entries.append((prefix, started, seconds, request_id))
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
        lines = render(entries)
        sys.stdout.flush()  # what `logging` wrote before goes first
        sys.stdout.buffer.write(lines)
        sys.stdout.buffer.flush()


def render(entries: list[Entry]) -> bytes:
    """The lines of `entries`, each ending in a newline; `ts` is when the request finished."""
    wall = time.time() - time.perf_counter()
    lines: list[bytes] = []
    for prefix, started, seconds, request_id in entries:
        at = wall + started + seconds
        second = int(at)
        micros = int((at - second) * 1_000_000)
        ms = seconds * 1000
        lines.append(LINE % (prefix, ms, request_id, _stamp.of_second(second), micros))
    return b"".join(lines)


def _prefix(
    method: str, path: str, route: str, status: int, event_ids: list[str] | None, error: str | None
) -> bytes:
    fields = {
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "eventIds": event_ids,
        "error": error,
        "event": "request",
        "level": "info",
        "logger": LOGGER,
    }
    return orjson.dumps(fields)[:-1] + b","


class Stamps:
    """`ts` of a line: the date and time to the second are formatted once a second (`strftime`
    a line cost more than the rest of the line)."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = b""

    def of_second(self, second: int) -> bytes:
        """`second` (since the epoch) as ISO 8601 UTC date and time, without a fraction."""
        if second != self._second:
            stamp = datetime.datetime.fromtimestamp(second, datetime.UTC)
            self._second, self._text = second, stamp.strftime("%Y-%m-%dT%H:%M:%S").encode()
        return self._text


_stamp = Stamps()
