"""The order the log held stored rows in, restored from their log columns."""

from __future__ import annotations

import pyarrow as pa

from kartshoppe.eventstore.schema import TOPIC_ORDER


def in_log_order(rows: pa.Table) -> pa.Table:
    """Sort rows the way the log held them.

    Within a (topic, partition) the offset order is exact. Across topics the append time
    interleaves them; it is made non-decreasing along each partition's offsets first, so a clock
    step backwards can never reorder one partition.
    """
    by_offset = rows.sort_by(
        [("topic", "ascending"), ("log_partition", "ascending"), ("log_offset", "ascending")]
    )
    topics = by_offset.column("topic").to_pylist()
    parts = by_offset.column("log_partition").to_pylist()
    stamps = by_offset.column("log_timestamp").to_pylist()
    effective: list[int] = []
    previous: tuple[str, int] | None = None
    running = 0
    for topic, part, stamp in zip(topics, parts, stamps, strict=True):
        if (topic, part) != previous:
            previous, running = (topic, part), stamp or 0
        running = max(running, stamp or 0)
        effective.append(running)
    ranked = by_offset.append_column("_ts", pa.array(effective, pa.int64())).append_column(
        "_rank", pa.array([TOPIC_ORDER.get(t, len(TOPIC_ORDER)) for t in topics], pa.int32())
    )
    ordered = ranked.sort_by(
        [
            ("_ts", "ascending"),
            ("_rank", "ascending"),
            ("log_partition", "ascending"),
            ("log_offset", "ascending"),
        ]
    )
    return ordered.drop_columns(["_ts", "_rank"])
