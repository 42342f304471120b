"""Per-key locks: one writer per cart, product and order at a time, without a global lock.

Keys are taken in sorted order, so two commands that need overlapping keys (two checkouts of
the same last unit) queue instead of deadlocking, and commands on unrelated keys run side by
side and share the log's group commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, keys: Iterable[str]) -> AsyncIterator[None]:
        ordered = sorted(set(keys))
        for key in ordered:
            self._users[key] = self._users.get(key, 0) + 1
        try:
            async with AsyncExitStack() as stack:
                for key in ordered:
                    await stack.enter_async_context(self._locks.setdefault(key, asyncio.Lock()))
                yield
        finally:
            for key in ordered:
                self._users[key] -= 1
                if self._users[key] == 0:
                    del self._users[key]
                    self._locks.pop(key, None)
