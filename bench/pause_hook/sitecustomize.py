"""Loaded at interpreter start when this folder is on PYTHONPATH (`bench/write_bench.py
--pauses`): records in every process of a server (the server and its children) the two pauses
a write can sit behind without using the serving thread's CPU for itself:

- the cyclic garbage collector's collections (`gc.callbacks`): generation and duration;
- SQLite COMMITs: duration, and whether the WAL was checkpointed during it (the WAL index's
  backfill count, read from the `-shm` file before and after, went up: the committing
  connection ran the auto-checkpoint, or another one ran a checkpoint meanwhile); explicit
  checkpoints (`PRAGMA wal_checkpoint`) and their duration; and each wait of more than a
  millisecond for an exclusive `flock` (the log's `WritersTurns`).

Each process appends one JSON line per event to `<KARTSHOPPE_BENCH_PAUSES>/<pid>.jsonl`, with
`time.monotonic()` (one clock for every process on Linux), so the bench keeps those of its
timed phase."""

import fcntl
import gc
import json
import os
import sqlite3
import struct
import sys
import time
from typing import Any

_DIR = os.environ.get("KARTSHOPPE_BENCH_PAUSES")
_BACKFILL_AT = 96
"""Offset of `nBackfill` in the WAL index (`-shm`): after its two 48-byte headers."""


class _Events:
    def __init__(self, folder: str) -> None:
        self._folder = folder
        self._open()

    def _open(self) -> None:
        """This process's own file, started with its `start` line."""
        self._path = os.path.join(self._folder, f"{os.getpid()}.jsonl")
        self._pid = os.getpid()
        self._file = open(self._path, "a", buffering=1)  # noqa: SIM115 (lives as the process)
        self._gc_from = 0.0
        self.write(
            {"kind": "start", "ppid": os.getppid(), "argv": sys.argv[:1], "orig": sys.orig_argv[:4]}
        )

    def write(self, event: dict[str, Any]) -> None:
        if os.getpid() != self._pid:  # a forked child writes its own file
            self._open()
        event["at"] = time.monotonic()
        self._file.write(json.dumps(event) + "\n")

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_from = time.perf_counter()
        else:
            ms = (time.perf_counter() - self._gc_from) * 1000
            self.write({"kind": "gc", "gen": info["generation"], "ms": ms})


_SHM_FDS: dict[str, int] = {}
"""One descriptor per WAL index, open as long as the process: closing a descriptor of that file
would drop every POSIX lock the process holds on it, SQLite's included."""


def _backfill(shm: str) -> int:
    try:
        fd = _SHM_FDS.get(shm)
        if fd is None:
            fd = _SHM_FDS[shm] = os.open(shm, os.O_RDONLY)
        head = os.pread(fd, _BACKFILL_AT + 4, 0)
    except OSError:
        return -1
    return struct.unpack_from("=I", head, _BACKFILL_AT)[0] if len(head) >= 100 else -1


if _DIR:
    _events = _Events(_DIR)
    gc.callbacks.append(_events.on_gc)

    class _TimedConnection(sqlite3.Connection):
        def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(database, *args, **kwargs)
            self._shm = os.fspath(database) + "-shm"
            self._db = os.path.basename(os.fspath(database))

        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql.startswith("PRAGMA wal_checkpoint"):
                started = time.perf_counter()
                try:
                    return super().execute(sql, *args)
                finally:
                    ms = (time.perf_counter() - started) * 1000
                    _events.write({"kind": "checkpoint", "db": self._db, "ms": ms})
            if sql != "COMMIT":
                return super().execute(sql, *args)
            before = _backfill(self._shm)
            started = time.perf_counter()
            try:
                return super().execute(sql, *args)
            finally:
                ms = (time.perf_counter() - started) * 1000
                after = _backfill(self._shm)
                _events.write(
                    {"kind": "commit", "db": self._db, "ms": ms, "ckpt": after > before >= 0}
                )

    _connect = sqlite3.connect

    def _timed_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", _TimedConnection)
        connection: sqlite3.Connection = _connect(*args, **kwargs)
        return connection

    # (ignore: one (*args, **kwargs) signature stands in for every overload of connect)
    sqlite3.connect = _timed_connect  # type: ignore[assignment]

    _flock = fcntl.flock

    def _timed_flock(fd: Any, operation: int) -> None:
        if operation != fcntl.LOCK_EX:
            _flock(fd, operation)
            return
        started = time.perf_counter()
        _flock(fd, operation)
        ms = (time.perf_counter() - started) * 1000
        if ms > 1.0:
            _events.write({"kind": "flock", "ms": ms})

    fcntl.flock = _timed_flock
