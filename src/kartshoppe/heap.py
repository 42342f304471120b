"""The process's heap: handing the pages that large one-off work freed back to the system.

The C allocator keeps freed memory mapped for later use (glibc returns only the top of its main
arena by itself), so what a restored snapshot's decoding or a snapshot's writing freed would
count in the server's resident memory for good: 12 MB after a restore at a million events, tens
of MB after a snapshot is written (part of it in the arena of the thread that did the work).
glibc's `malloc_trim` frees the whole free pages of every arena; about 1 ms. Elsewhere (another
C library) nothing is done.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache


@cache
def _trim() -> Callable[[int], int] | None:
    trim: Callable[[int], int] | None = getattr(ctypes.CDLL(None), "malloc_trim", None)
    return trim


def release_freed() -> None:
    """Return the heap's free pages to the system (blocking, about 1 ms; any thread)."""
    trim = _trim()
    if trim is not None:
        trim(0)
