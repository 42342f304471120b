"""Who issued a command and when: copied onto every event a decision produces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Meta:
    timestamp: int
    session_id: str | None = None
    user_id: str | None = None

    def fields(self) -> dict[str, Any]:
        """Keyword arguments for an event's common fields."""
        return {"timestamp": self.timestamp, "session_id": self.session_id, "user_id": self.user_id}
