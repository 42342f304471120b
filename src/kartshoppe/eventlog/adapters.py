"""The event-log adapter a platform's settings ask for."""

from __future__ import annotations

from kartshoppe.config import Settings
from kartshoppe.eventlog.port import EventLog


def make_log(settings: Settings) -> EventLog:
    """Kafka at `settings.bootstrap` for `bus=kafka`, else the embedded SQLite log."""
    if settings.bus == "kafka":
        from kartshoppe.eventlog.kafka import KafkaEventLog

        return KafkaEventLog(settings.bootstrap)
    from kartshoppe.eventlog.sqlite import SqliteEventLog

    return SqliteEventLog(settings.log_path)
