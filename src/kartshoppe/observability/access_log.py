"""The access log: one JSON line a request, written in batches.

Rendering each line through structlog and `logging` cost more than the catalog read it
described (the catalog benchmark in bench/results/catalog.md); here a request only appends a
tuple of what it already has (its start on the `perf_counter` clock, its duration, its id as
sent), and every `FLUSH_SECONDS` (or every `BATCH` lines) the batch is rendered and written to
stdout in one call. A line without event ids or an error code, nearly every one, is its
method, path, route and status rendered once (kept by those four) followed by its own
duration, id and time; any other line is rendered whole with orjson. The lines carry the same
fields the structured logs do (`event`, `level`, `ts`, `requestId`), so every line of a
request is found by its id.
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

Entry = tuple[float, float, bytes, str, str, str, int, list[str] | None, str | None]
"""start (`time.perf_counter`), duration (s), request id, method, path, route, status, event
ids, error code. A request id is one the edge accepted (`api.middleware.REQUEST_ID`'s
characters, none of which JSON escapes), so it goes into a line as it is."""


class AccessLog:
    def __init__(self) -> None:
        # the level is read once: `configure_logging` has run by the time the app is built
        self.enabled = logging.getLogger(LOGGER).isEnabledFor(logging.INFO)
        self._entries: list[Entry] = []
        self._scheduled = False
        self._prefixes: dict[tuple[str, str, str, int], bytes] = {}
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
        lines = self.render(entries)
        sys.stdout.flush()  # what `logging` wrote before goes first
        sys.stdout.buffer.write(lines)
        sys.stdout.buffer.flush()

    def render(self, entries: list[Entry]) -> bytes:
        """The lines of `entries`, each ending in a newline."""
        wall = time.time() - time.perf_counter()
        prefixes = self._prefixes
        lines: list[bytes] = []
        for entry in entries:
            started, seconds, request_id, method, path, route, status, event_ids, code = entry
            at = wall + started + seconds
            if event_ids or code is not None:
                lines.append(orjson.dumps(_line(entry, at)) + b"\n")
                continue
            key = (method, path, route, status)
            prefix = prefixes.get(key)
            if prefix is None:
                if len(prefixes) >= PREFIXES_KEPT:
                    prefixes.clear()
                prefix = prefixes[key] = _prefix(*key)
            second = int(at)
            micros = int((at - second) * 1_000_000)
            ms = seconds * 1000
            lines.append(LINE % (prefix, ms, request_id, _stamp.of_second(second), micros))
        return b"".join(lines)


LINE: Final = b'%s"durationMs":%.2f,"requestId":"%s","ts":"%s.%06dZ"}\n'


def _prefix(method: str, path: str, route: str, status: int) -> bytes:
    """A line's fields that are the same for every request to `path` answered `status`."""
    fields = {
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "eventIds": None,
        "error": None,
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

    def __call__(self, at: float) -> bytes:
        second = int(at)
        return b"%s.%06dZ" % (self.of_second(second), int((at - second) * 1_000_000))


_stamp = Stamps()


def _line(entry: Entry, at: float) -> dict[str, object]:
    _, seconds, request_id, method, path, route, status, event_ids, error = entry
    return {
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "durationMs": round(seconds * 1000, 2),
        "eventIds": event_ids,
        "error": error,
        "event": "request",
        "requestId": request_id.decode("latin-1"),
        "level": "info",
        "logger": LOGGER,
        "ts": _stamp(at).decode(),
    }
