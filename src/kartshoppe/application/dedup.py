"""Drop redelivered events: processors emit at-least-once with stable `eventId`s, so a record
seen again after a processor's crash is recognised by its id and ignored."""

from __future__ import annotations

from collections import deque


class RecentIds:
    """Remembers the last `capacity` ids; `first_time(id)` is True once per id in that window."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._order: deque[str] = deque()
        self._seen: set[str] = set()
        self._capacity = capacity

    def ids(self) -> list[str]:
        """The ids remembered, oldest first."""
        return list(self._order)

    def restore(self, ids: list[str]) -> None:
        """Remember `ids` (oldest first, as `ids` gave them) and nothing else."""
        self._order = deque(ids[-self._capacity :])
        self._seen = set(self._order)

    def first_time(self, event_id: str) -> bool:
        if event_id in self._seen:
            return False
        self._seen.add(event_id)
        self._order.append(event_id)
        if len(self._order) > self._capacity:
            self._seen.discard(self._order.popleft())
        return True
