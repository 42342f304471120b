"""The audit trail: the stored history of a session, user, product or order, newest first.

Answered from the secondary index (`kartshoppe.eventstore.index`): the subject's rows visible at the
snapshot, by an indexed range scan on (subject, timestamp), counted and paginated in SQLite.
`history_from_table` answers the same from the Paimon table, as the reference and when no index
is configured: filters become pypaimon predicates (equality on the subject columns, `IN` on
event types, a range on `timestamp`) and the time range prunes day partitions. Both sort by event
time, newest first (then topic, then offset, newest first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from kartshoppe.eventstore.index import StoreIndex, marks
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.limits import MAX_PAGE_SIZE
from kartshoppe.eventstore.table import EventStore, day_of

SUBJECT_COLUMNS = {
    "session_id": "sessionId",
    "user_id": "userId",
    "product_id": "productId",
    "order_id": "orderId",
}


@dataclass(frozen=True)
class AuditQuery:
    """At least one subject or a time range must narrow the query; `page` counts from 1."""

    session_id: str | None = None
    user_id: str | None = None
    product_id: str | None = None
    order_id: str | None = None
    types: tuple[str, ...] = ()
    start: int | None = None
    end: int | None = None
    page: int = 1
    page_size: int = 50
    snapshot_id: int | None = None

    def __post_init__(self) -> None:
        if self.page < 1:
            raise ValueError("page must be 1 or more")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError("from must not be after to")

    def subjects(self) -> dict[str, str]:
        values = {
            "session_id": self.session_id,
            "user_id": self.user_id,
            "product_id": self.product_id,
            "order_id": self.order_id,
        }
        return {column: value for column, value in values.items() if value}


@dataclass
class AuditPage:
    events: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    snapshot_id: int | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "total": self.total,
            "page": self.page,
            "pageSize": self.page_size,
            "snapshotId": self.snapshot_id,
            "entries": self.rows,
        }


def _predicates(store: EventStore, query: AuditQuery) -> tuple[Any | None, Any | None]:
    pb = store.predicates()
    where = [pb.equal(column, value) for column, value in query.subjects().items()]
    if query.types:
        where.append(pb.is_in("event_type", list(query.types)))
    if query.start is not None:
        where.append(pb.greater_or_equal("timestamp", query.start))
    if query.end is not None:
        where.append(pb.less_or_equal("timestamp", query.end))
    days = []
    if query.start is not None:
        days.append(pb.greater_or_equal("dt", day_of(query.start)))
    if query.end is not None:
        days.append(pb.less_or_equal("dt", day_of(query.end)))
    return pb.and_predicates(where) if where else None, pb.and_predicates(days) if days else None


ENTRY_COLUMNS = ("event_id", "event_type", "topic", "log_partition", "log_offset", "timestamp")


def history(store: IndexedStore, query: AuditQuery) -> AuditPage:
    """One page of the events matching `query`, newest first."""
    if query.snapshot_id is None and store.events.latest_snapshot_id() is None:
        return AuditPage([], 0, query.page, query.page_size)
    snapshot_id = store.events.resolve_snapshot(query.snapshot_id)
    index = store.index_at(snapshot_id)
    if index is None:
        return history_from_table(store.events, query)
    return _history_from_index(index, query, snapshot_id)


def _index_filter(query: AuditQuery) -> tuple[str, list[Any]]:
    clauses = [f"{column} = ?" for column in query.subjects()]
    params: list[Any] = list(query.subjects().values())
    if query.types:
        clauses.append(f"event_type IN ({marks(query.types)})")
        params += query.types
    if query.start is not None:
        clauses.append("timestamp >= ?")
        params.append(query.start)
    if query.end is not None:
        clauses.append("timestamp <= ?")
        params.append(query.end)
    return " AND ".join(clauses) or "1", params


def _history_from_index(index: StoreIndex, query: AuditQuery, snapshot_id: int) -> AuditPage:
    where, params = _index_filter(query)
    total = index.count(where, params, snapshot_id)
    offset = (query.page - 1) * query.page_size
    rows = index.select(
        (*ENTRY_COLUMNS, "payload"),
        where,
        params,
        snapshot_id,
        tail=f"ORDER BY timestamp DESC, topic ASC, log_offset DESC"
        f" LIMIT {int(query.page_size)} OFFSET {int(offset)}",
    )
    return AuditPage(
        events=[orjson.loads(row[-1]) for row in rows],
        total=total,
        page=query.page,
        page_size=query.page_size,
        snapshot_id=snapshot_id,
        rows=[_entry(dict(zip(ENTRY_COLUMNS, row, strict=False))) for row in rows],
    )


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventId": row["event_id"],
        "eventType": row["event_type"],
        "topic": row["topic"],
        "partition": row["log_partition"],
        "offset": row["log_offset"],
        "timestamp": row["timestamp"],
    }


def history_from_table(store: EventStore, query: AuditQuery) -> AuditPage:
    """`history` straight from the Paimon table (the reference for the index)."""
    if query.snapshot_id is None and store.latest_snapshot_id() is None:
        return AuditPage([], 0, query.page, query.page_size)
    snapshot_id = store.resolve_snapshot(query.snapshot_id)
    where, partitions = _predicates(store, query)
    rows = store.read(snapshot_id, where=where, partitions=partitions)
    # the pushed-down predicates prune files; exact row filtering happens here
    rows = _exact(rows, query)
    rows = rows.sort_by(
        [("timestamp", "descending"), ("topic", "ascending"), ("log_offset", "descending")]
    )
    first = (query.page - 1) * query.page_size
    page = rows.slice(first, query.page_size)
    entries = page.select(list(ENTRY_COLUMNS)).to_pylist()
    events = [orjson.loads(p) for p in page.column("payload").to_pylist()]
    return AuditPage(
        events=events,
        total=rows.num_rows,
        page=query.page,
        page_size=query.page_size,
        snapshot_id=snapshot_id,
        rows=[_entry(e) for e in entries],
    )


def _exact(rows: pa.Table, query: AuditQuery) -> pa.Table:
    mask = pa.array([True] * rows.num_rows, pa.bool_())
    for column, value in query.subjects().items():
        mask = pc.and_(mask, pc.fill_null(pc.equal(rows.column(column), value), False))
    if query.types:
        mask = pc.and_(mask, pc.is_in(rows.column("event_type"), pa.array(list(query.types))))
    if query.start is not None:
        mask = pc.and_(mask, pc.greater_equal(rows.column("timestamp"), query.start))
    if query.end is not None:
        mask = pc.and_(mask, pc.less_equal(rows.column("timestamp"), query.end))
    return rows.filter(mask)
