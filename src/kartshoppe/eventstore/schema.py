"""The event table's definition: names, columns, keys and options, with no dependency at all.

`store.table` (pypaimon, through pyarrow) and `flink.sql` (Flink SQL, in the PyFlink venv where
neither pypaimon nor this package's other dependencies exist) both build the table from here, so
the two writers of `kartshoppe.ecommerce_events` cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

DATABASE: Final = "kartshoppe"
TABLE: Final = "ecommerce_events"
POSITIONS_PROPERTY: Final = "kartshoppe.sink.positions"
"""Snapshot property holding the sink's log positions (next offsets) as of that snapshot."""

SqlType = Literal["STRING", "INT", "BIGINT"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: SqlType
    nullable: bool = True


COLUMNS: Final[tuple[Column, ...]] = (
    Column("dt", "STRING", nullable=False),
    Column("event_id", "STRING", nullable=False),
    Column("event_type", "STRING"),
    Column("session_id", "STRING"),
    Column("user_id", "STRING"),
    Column("product_id", "STRING"),
    Column("order_id", "STRING"),
    Column("timestamp", "BIGINT"),
    Column("payload", "STRING"),
    Column("topic", "STRING"),
    Column("log_partition", "INT"),
    Column("log_offset", "BIGINT"),
    Column("log_timestamp", "BIGINT"),
)
COLUMN_NAMES: Final = tuple(c.name for c in COLUMNS)
PRIMARY_KEY: Final = ("dt", "event_id")
"""Paimon requires the partition fields inside the primary key of a partitioned table."""
PARTITION: Final = ("dt",)

TABLE_OPTIONS: Final[Mapping[str, str]] = {
    "bucket": "4",
    "file.format": "parquet",
    "snapshot.num-retained.min": "10",
    "snapshot.num-retained.max": "1000",
    "snapshot.time-retained": "7 d",
    "num-sorted-run.compaction-trigger": "5",
}
"""Applied when the table is created; an existing table keeps its own options."""

STORED_TOPICS: Final[tuple[str, ...]] = ("ecommerce_events", "product_updates", "inventory_updates")
"""The log topics whose events the table keeps."""

SINK_GROUP: Final = "paimon-sink"
"""The sink's consumer group: how far the store has the log (retention waits for it)."""

TOPIC_ORDER: Final[Mapping[str, int]] = {
    "product_updates": 0,
    "inventory_updates": 1,
    "ecommerce_events": 2,
}
"""Tie-break between topics appended in the same millisecond: catalog before stock before use."""
