"""Structured logs: one JSON object a line on stdout, with the request id and event ids.

The request id and the ids of the events a request appended travel in context variables, so
every line logged while serving a request carries them without being passed around.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any


def _import_structlog_without_rich() -> None:
    """Import structlog as if rich were not installed: its development console renderer (never
    used here: the logs are JSON lines) loads rich's tracebacks at import, 6 MB and 0.13 s of
    CPU in every server. rich stays importable for the tools that draw with it."""
    if "structlog" in sys.modules or "rich" in sys.modules:
        return
    sys.modules["rich"] = None  # type: ignore[assignment]
    try:
        import structlog  # noqa: F401
    finally:
        del sys.modules["rich"]


_import_structlog_without_rich()

import structlog  # noqa: E402

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
event_ids_var: ContextVar[list[str] | None] = ContextVar("event_ids", default=None)


def _add_request_context(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    request_id = request_id_var.get()
    if request_id is not None:
        event.setdefault("requestId", request_id)
    return event


def configure_logging(level: str = "info") -> None:
    """JSON lines for structlog and for the standard `logging` records of every library."""
    name = level.upper()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_request_context,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # libraries (pypaimon logs every commit at info) speak up only for warnings
    root.setLevel(logging.WARNING)
    logging.getLogger("kartshoppe").setLevel(getattr(logging, name, logging.INFO))


def note_event_ids(ids: list[str]) -> None:
    """Remember event ids appended while serving the current request (for its log line)."""
    found = event_ids_var.get()
    if found is not None:
        found.extend(ids)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
