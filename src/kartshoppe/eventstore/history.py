"""The log's history below its start, read back from the event store.

Retention (`eventlog.retention`) removes from the log only what the store's sink has passed, so
for every stored topic the log and the store together hold the whole history: the store below
the log start, the log from it on. A view that folds everything from the beginning reads this
part first (`LogFollower(history=...)`), then the log.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc

from kartshoppe.eventlog.port import Record, TopicPartition
from kartshoppe.eventstore.log_order import in_log_order
from kartshoppe.eventstore.replay import log_key
from kartshoppe.eventstore.table import EventStore, StoreConfig

COLUMNS = (
    "topic",
    "log_partition",
    "log_offset",
    "log_timestamp",
    "user_id",
    "session_id",
    "product_id",
    "payload",
)


def records_below(store: EventStore, starts: Mapping[TopicPartition, int]) -> list[Record]:
    """The stored records below the given offset of each partition, as the log held them, in
    log order.

    Only the partitions in `starts` are read (a topic the store does not keep has none)."""
    starts = {tp: start for tp, start in starts.items() if start > 0}
    if not starts or store.latest_snapshot_id() is None:
        return []
    rows = store.read(columns=COLUMNS)
    keep = None
    for (topic, partition), start in starts.items():
        below = pc.and_(
            pc.and_(pc.equal(rows["topic"], topic), pc.equal(rows["log_partition"], partition)),
            pc.less(rows["log_offset"], start),
        )
        keep = below if keep is None else pc.or_(keep, below)
    return _records(in_log_order(rows.filter(keep)))


def _records(rows: pa.Table) -> list[Record]:
    columns = rows.select(list(COLUMNS)).to_pydict()
    return [
        Record(
            topic=topic,
            partition=partition,
            offset=offset,
            key=log_key(topic, user, session, product),
            value=payload.encode(),
            timestamp=timestamp or 0,
        )
        for topic, partition, offset, timestamp, user, session, product, payload in zip(
            *(columns[name] for name in COLUMNS), strict=True
        )
    ]


def read_below(warehouse: str, starts: Mapping[TopicPartition, int]) -> list[Record]:
    """`records_below` of the store in `warehouse`; blocking (a server calls it in a thread)."""
    return records_below(EventStore(StoreConfig(warehouse)), starts)
