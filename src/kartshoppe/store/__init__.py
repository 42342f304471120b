"""The event store: every event of the log kept in an Apache Paimon table for audit, time
travel, replay and SQL reports (`table`, `sink`, `index`, `audit`, `timetravel`, `replay`,
`reports`)."""

from kartshoppe.store.index import StoreIndex
from kartshoppe.store.sink import SINK_GROUP, PaimonSink, SinkConfig
from kartshoppe.store.table import EventStore, SnapshotUnavailableError, StoreConfig

__all__ = [
    "SINK_GROUP",
    "EventStore",
    "PaimonSink",
    "SinkConfig",
    "SnapshotUnavailableError",
    "StoreConfig",
    "StoreIndex",
]
