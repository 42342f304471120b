"""The one exception domain rules raise: a refused command, with a stable code."""

from __future__ import annotations


class DomainError(Exception):
    """A command the rules refuse. `code` is stable for clients; `field` names the culprit."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class NotFoundError(DomainError):
    """The command names something that does not exist."""
