"""Entries left in a views snapshot's file (`application/snapshots.py`): a restore keeps the file
open and each entry's place in it, and an entry's JSON is read from the file only when its view
first needs it. The server's memory then holds none of the entries nobody asks for again (tens
of MB of JSON at a million events: most of the carts, orders and kept recommendations).

Contract: the file is never changed in place once written (a snapshot is written to a new file
and renamed over the old one, `snapshots.write_file`), so the open descriptor reads the very
bytes the restore checked against the body's checksum, however many snapshots replace the name
afterwards. A replaced file's disk space stays taken until the process lets go of it (at most the
one file it restored from). Reads are positional: safe from any thread.
"""

from __future__ import annotations

import os
import pathlib
import weakref
from array import array
from collections.abc import Iterable, Iterator
from typing import Final

RUN_PIECE: Final = 1 << 20
"""The most bytes of a run of entries read at once (`StoredEntries.read_run`)."""


class OpenFile:
    """A file open for reading at any position from any thread; closed by `close` or once
    nothing refers to it any more."""

    __slots__ = ("__weakref__", "_closer", "fd")

    def __init__(self, path: pathlib.Path) -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._closer = weakref.finalize(self, os.close, self.fd)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def read(self, at: int, length: int) -> bytes:
        """`length` bytes from `at`; `OSError` if the file ends before."""
        data = os.pread(self.fd, length, at)
        if len(data) != length:
            raise OSError(f"file cut short: {length} bytes at {at}, {len(data)} read")
        return data

    def close(self) -> None:
        self._closer()


class StoredEntries:
    """Entries one after the other in an open file, by number: entry `n`'s bytes lie from
    `bounds[n]` to `bounds[n + 1]`."""

    __slots__ = ("_bounds", "_file")

    def __init__(self, file: OpenFile, bounds: Iterable[int]) -> None:
        self._file = file
        self._bounds = array("q", bounds)

    def __len__(self) -> int:
        return max(len(self._bounds) - 1, 0)

    def length(self, n: int) -> int:
        return self._bounds[n + 1] - self._bounds[n]

    def read(self, n: int) -> bytes:
        at = self._bounds[n]
        return self._file.read(at, self._bounds[n + 1] - at)

    def read_run(self, first: int, count: int) -> Iterator[bytes]:
        """The bytes of entries `first` to `first + count - 1`, which lie one after the other
        in the file, in pieces of at most `RUN_PIECE` bytes (cut anywhere)."""
        at, end = self._bounds[first], self._bounds[first + count]
        while at < end:
            piece = min(end - at, RUN_PIECE)
            yield self._file.read(at, piece)
            at += piece
