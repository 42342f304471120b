"""Talking to a chosen worker of `kartshoppe serve --workers N`.

A connection stays with the worker that accepted it, and `/health` names that worker
(`X-Worker`, its pid): a keep-alive connection is opened until it lands on the wanted worker,
and every request on it is checked to have gone over that same connection.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from kartshoppe.eventlog.worker_commands import LOCK_NAME

CONNECT_ATTEMPTS = 200


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: Any
    """Decoded JSON, or the bytes of any other content type."""


class Worker:
    """One keep-alive connection, and the worker process at its other end."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=60)
        self.conn.connect()
        self._sock = self.conn.sock
        self.token = token
        self.pid = int(self.call("GET", "/health").headers["x-worker"])

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        payload = None if body is None else orjson.dumps(body)
        self.conn.request(method, path, body=payload, headers=sent)
        response = self.conn.getresponse()
        data = response.read()
        assert self.conn.sock is self._sock, "the connection was replaced: another worker?"
        json = response.headers.get("content-type", "").startswith("application/json")
        return Answer(response.status, response.headers, orjson.loads(data) if json else data)

    def close(self) -> None:
        self.conn.close()


def on(host: str, port: int, pid: int, token: str | None = None) -> Worker:
    """A connection to the worker `pid` (the kernel spreads new connections over the workers)."""
    for _ in range(CONNECT_ATTEMPTS):
        worker = Worker(host, port, token)
        if worker.pid == pid:
            return worker
        worker.close()
    raise AssertionError(f"no connection reached worker {pid} in {CONNECT_ATTEMPTS} attempts")


def worker_pids(host: str, port: int, count: int, within: float) -> list[int]:
    """The pids of `count` workers serving (a worker serves once it has started)."""
    seen: set[int] = set()
    deadline = time.monotonic() + within
    while len(seen) < count:
        assert time.monotonic() < deadline, f"only workers {seen} answered"
        worker = Worker(host, port)
        seen.add(worker.pid)
        worker.close()
    return sorted(seen)


def leader_pid(data_dir: Path) -> int:
    """The worker that decides the commands: the holder of the leader lock wrote its pid (0
    while a new holder has emptied the file and not yet written it)."""
    return int((data_dir / LOCK_NAME).read_text() or 0)
