"""The event store: every event of the log kept in an Apache Paimon table for audit, time
travel, replay and SQL reports (`table`, `sink`, `index`, `audit`, `timetravel`, `replay`,
`reports`)."""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "StoreIndex": "index",
    "SINK_GROUP": "sink",
    "PaimonSink": "sink",
    "SinkConfig": "sink",
    "EventStore": "table",
    "SnapshotUnavailableError": "table",
    "StoreConfig": "table",
}
"""Resolved on first use: pyarrow and pypaimon load only in a process that touches the store."""

__all__ = [
    "SINK_GROUP",
    "EventStore",
    "PaimonSink",
    "SinkConfig",
    "SnapshotUnavailableError",
    "StoreConfig",
    "StoreIndex",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
