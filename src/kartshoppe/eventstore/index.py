"""A derived secondary index of the event table, so audit and time travel answer in milliseconds
(why: docs/ARCHITECTURE.md, "Fast audit and time travel").

One SQLite file beside the warehouse holds, per stored event, its subject columns, its log
position, its payload and `snapshot_id`, the first snapshot in which the row was visible: "as of
snapshot S" is `snapshot_id <= S`, exact by construction. Per snapshot it keeps running analytics
totals (events by type, orders, cancelled orders, revenue), and the current state of every order
to update them incrementally.

Paimon stays the source of truth. The index is written only after a snapshot is committed, in
snapshot order; `sync` catches up any snapshot that could not be appended directly (a gap after
a crash, another writer such as the Flink job, a deleted or stale file) from the snapshots'
delta files, one transaction per snapshot (resumable, idempotent), and covers expired deltas
with one full read of the earliest retained snapshot. An index whose newest snapshot differs
from the table's (id and commit time) is emptied and rebuilt. COMPACT and OVERWRITE snapshots
add nothing: an event store never deletes events.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Protocol

import orjson
import pyarrow as pa

from kartshoppe.domain.state import ShopState
from kartshoppe.events import (
    CART_EVENTS,
    CATALOG_TYPES,
    ORDER_EVENTS,
    EventValidationError,
    InventoryChanged,
    OrderStatus,
    event_types,
    parse_event,
)
from kartshoppe.eventstore.log_order import in_log_order

SCHEMA_VERSION: Final = "3"


ORDER_TYPES: Final = event_types(ORDER_EVENTS)
CART_TYPES: Final = event_types(CART_EVENTS)
PRODUCT_TYPES: Final = (*CATALOG_TYPES, *event_types((InventoryChanged,)))
"""The events the shop's fold turns into a product and its stock level (see `ShopState.apply`)."""

FOLD_COLUMNS: Final = ("topic", "log_partition", "log_offset", "log_timestamp", "payload")
ROW_COLUMNS: Final = (
    "dt",
    "event_id",
    "event_type",
    "session_id",
    "user_id",
    "product_id",
    "order_id",
    "timestamp",
    "topic",
    "log_partition",
    "log_offset",
    "log_timestamp",
    "payload",
)
IN_CHUNK: Final = 500

DDL: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    dt TEXT NOT NULL,
    event_id TEXT NOT NULL,
    snapshot_id INTEGER NOT NULL,
    event_type TEXT,
    session_id TEXT,
    user_id TEXT,
    product_id TEXT,
    order_id TEXT,
    timestamp INTEGER,
    topic TEXT,
    log_partition INTEGER,
    log_offset INTEGER,
    log_timestamp INTEGER,
    payload TEXT,
    UNIQUE (dt, event_id)
);
CREATE INDEX IF NOT EXISTS events_by_session ON events (session_id, timestamp)
    WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_user ON events (user_id, timestamp)
    WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_product ON events (product_id, event_type, timestamp)
    WHERE product_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_order ON events (order_id, timestamp)
    WHERE order_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_by_snapshot ON events (snapshot_id);
CREATE INDEX IF NOT EXISTS events_by_time ON events (timestamp);
CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id INTEGER PRIMARY KEY,
    commit_time INTEGER NOT NULL,
    commit_kind TEXT NOT NULL,
    total_events INTEGER NOT NULL,
    by_type TEXT NOT NULL,
    orders INTEGER NOT NULL,
    cancelled INTEGER NOT NULL,
    revenue TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    cancelled INTEGER NOT NULL,
    total TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Totals:
    """Analytics totals as of one snapshot."""

    total_events: int
    by_type: dict[str, int]
    orders: int
    cancelled: int
    revenue: Decimal

    @classmethod
    def empty(cls) -> Totals:
        return cls(0, {}, 0, 0, Decimal(0))


@dataclass(frozen=True, slots=True)
class SnapshotMark:
    """What the index knows of a Paimon snapshot: enough to tell whether it is the same one."""

    snapshot_id: int
    commit_time: int
    commit_kind: str


class SnapshotFacts(Protocol):
    """What the table tells of one snapshot (`eventstore.table.SnapshotInfo`)."""

    @property
    def commit_time(self) -> int: ...

    @property
    def commit_kind(self) -> str: ...


class IndexedTable(Protocol):
    """What the index reads of the event table (`eventstore.table.EventStore`) to catch up."""

    def latest_snapshot_id(self) -> int | None: ...

    def retained_snapshot_ids(self) -> list[int]: ...

    def snapshot_info(self, snapshot_id: int) -> SnapshotFacts: ...

    def read(self, snapshot_id: int | None = None) -> pa.Table: ...

    def read_delta(self, snapshot_id: int) -> pa.Table: ...


def snapshot_mark(store: IndexedTable, snapshot_id: int) -> SnapshotMark:
    """Id, commit time and kind of a retained snapshot of the table (what the index records)."""
    info = store.snapshot_info(snapshot_id)
    return SnapshotMark(snapshot_id, info.commit_time, info.commit_kind)


class IndexConflictError(RuntimeError):
    """Another writer moved the index while this one read from Paimon; the caller retries."""


class StoreIndex:
    """The SQLite index file: `ingest` snapshots in order, query rows and totals as of one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.write_lock = threading.Lock()
        conn = self._conn()
        conn.executescript(DDL)
        version = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if version is not None and version[0] != SCHEMA_VERSION:
            # derived data in an older layout: drop it, the table rebuilds it
            conn.executescript(
                "DROP TABLE events; DROP TABLE snapshots; DROP TABLE orders; DELETE FROM meta;"
            )
            conn.executescript(DDL)
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (SCHEMA_VERSION,))

    # --- connections --------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # one connection per thread: WAL lets readers run beside the single writer
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # the index is derived: a lost tail after a power cut is caught up from Paimon
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-65536")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # --- the high-water mark ------------------------------------------------------------------

    def high_water(self) -> int:
        """The newest snapshot id the index holds (0 when empty)."""
        row = self._conn().execute("SELECT max(snapshot_id) FROM snapshots").fetchone()
        return int(row[0] or 0)

    def mark(self, snapshot_id: int) -> SnapshotMark | None:
        row = (
            self._conn()
            .execute(
                "SELECT commit_time, commit_kind FROM snapshots WHERE snapshot_id = ?",
                (snapshot_id,),
            )
            .fetchone()
        )
        return None if row is None else SnapshotMark(snapshot_id, int(row[0]), str(row[1]))

    def reset(self) -> None:
        """Forget everything (the file described another table, or its history was rewritten)."""
        with self._write() as conn:
            for table in ("events", "snapshots", "orders"):
                conn.execute(f"DELETE FROM {table}")

    # --- writing ------------------------------------------------------------------------------

    def ingest(self, mark: SnapshotMark, rows: pa.Table | None, *, after: int) -> bool:
        """Record snapshot `mark` with the rows that became visible in it, in one transaction.

        `after` is the high-water mark the caller based `rows` on; if another writer moved it
        meanwhile, `IndexConflictError`. A snapshot already held is skipped (False).
        """
        with self._write() as conn:
            high = int(conn.execute("SELECT max(snapshot_id) FROM snapshots").fetchone()[0] or 0)
            if high >= mark.snapshot_id:
                return False
            if high != after:
                raise IndexConflictError(f"index moved from {after} to {high}")
            previous = self._totals(conn, high) if high else Totals.empty()
            if rows is not None and rows.num_rows:
                self._insert(conn, mark.snapshot_id, rows)
            totals = self._advance(conn, mark.snapshot_id, previous)
            conn.execute(
                "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mark.snapshot_id,
                    mark.commit_time,
                    mark.commit_kind,
                    totals.total_events,
                    orjson.dumps(totals.by_type, option=orjson.OPT_SORT_KEYS).decode(),
                    totals.orders,
                    totals.cancelled,
                    str(totals.revenue),
                ),
            )
        return True

    @staticmethod
    def _insert(conn: sqlite3.Connection, snapshot_id: int, rows: pa.Table) -> None:
        columns = [rows.column(name).to_pylist() for name in ROW_COLUMNS]
        conn.executemany(
            "INSERT OR IGNORE INTO events (snapshot_id, dt, event_id, event_type, session_id,"
            " user_id, product_id, order_id, timestamp, topic, log_partition, log_offset,"
            " log_timestamp, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((snapshot_id, *values) for values in zip(*columns, strict=True)),
        )

    def _advance(self, conn: sqlite3.Connection, snapshot_id: int, previous: Totals) -> Totals:
        """The totals after `snapshot_id`: the previous ones plus the rows it made visible."""
        by_type = dict(previous.by_type)
        added = 0
        for event_type, count in conn.execute(
            "SELECT event_type, count(*) FROM events WHERE snapshot_id = ? GROUP BY event_type",
            (snapshot_id,),
        ):
            by_type[event_type] = by_type.get(event_type, 0) + int(count)
            added += int(count)
        touched = [
            str(r[0])
            for r in conn.execute(
                f"SELECT DISTINCT order_id FROM events WHERE snapshot_id = ?"
                f" AND order_id IS NOT NULL AND event_type IN ({marks(ORDER_TYPES)})",
                (snapshot_id, *ORDER_TYPES),
            )
        ]
        orders, cancelled, revenue = previous.orders, previous.cancelled, previous.revenue
        for order_id, (now_cancelled, now_total) in self._order_states(conn, touched).items():
            before = conn.execute(
                "SELECT cancelled, total FROM orders WHERE order_id = ?", (order_id,)
            ).fetchone()
            if before is None:
                orders += 1
            else:
                cancelled -= int(before[0])
                revenue -= Decimal(0) if before[0] else Decimal(before[1])
            cancelled += int(now_cancelled)
            revenue += Decimal(0) if now_cancelled else now_total
            conn.execute(
                "INSERT OR REPLACE INTO orders VALUES (?, ?, ?)",
                (order_id, int(now_cancelled), str(now_total)),
            )
        return Totals(previous.total_events + added, by_type, orders, cancelled, revenue)

    @staticmethod
    def _order_states(
        conn: sqlite3.Connection, order_ids: Sequence[str]
    ) -> dict[str, tuple[bool, Decimal]]:
        """Fold every indexed order event of `order_ids`, as the reference analytics fold does."""
        rows: list[tuple[Any, ...]] = []
        for first in range(0, len(order_ids), IN_CHUNK):
            chunk = order_ids[first : first + IN_CHUNK]
            rows += conn.execute(
                f"SELECT {', '.join(FOLD_COLUMNS)} FROM events"
                f" WHERE order_id IN ({marks(chunk)}) AND event_type IN ({marks(ORDER_TYPES)})",
                (*chunk, *ORDER_TYPES),
            ).fetchall()
        state = fold_in_log_order(rows)
        wanted = set(order_ids)
        return {
            order_id: (order.status == OrderStatus.CANCELLED, order.total)
            for order_id, order in state.orders.items()
            if order_id in wanted
        }

    # --- reading ------------------------------------------------------------------------------

    @staticmethod
    def _totals(conn: sqlite3.Connection, snapshot_id: int) -> Totals:
        row = conn.execute(
            "SELECT total_events, by_type, orders, cancelled, revenue FROM snapshots"
            " WHERE snapshot_id = ?",
            (snapshot_id,),
        ).fetchone()
        if row is None:
            raise LookupError(f"the index holds no snapshot {snapshot_id}")
        return Totals(int(row[0]), orjson.loads(row[1]), int(row[2]), int(row[3]), Decimal(row[4]))

    def totals(self, snapshot_id: int) -> Totals:
        return self._totals(self._conn(), snapshot_id)

    def select(
        self,
        columns: Sequence[str],
        where: str,
        params: Sequence[Any],
        snapshot_id: int,
        tail: str = "",
    ) -> list[tuple[Any, ...]]:
        """Rows visible at `snapshot_id` matching `where` (SQL over the `events` columns)."""
        sql = f"SELECT {', '.join(columns)} FROM events WHERE snapshot_id <= ? AND ({where}) {tail}"
        return self._conn().execute(sql, (snapshot_id, *params)).fetchall()

    def count(self, where: str, params: Sequence[Any], snapshot_id: int) -> int:
        sql = f"SELECT count(*) FROM events WHERE snapshot_id <= ? AND ({where})"
        return int(self._conn().execute(sql, (snapshot_id, *params)).fetchone()[0])


def marks(values: Sequence[Any]) -> str:
    """`?, ?, ...` for an SQL `IN (...)` over `values`."""
    return ", ".join("?" * len(values))


def fold_in_log_order(rows: Sequence[Sequence[Any]], state: ShopState | None = None) -> ShopState:
    """Fold index rows (`FOLD_COLUMNS`) in the order the log held them."""
    state = state or ShopState()
    if not rows:
        return state
    table = pa.table(
        {
            name: list(values)
            for name, values in zip(FOLD_COLUMNS, zip(*rows, strict=True), strict=True)
        },
        schema=pa.schema(
            [
                ("topic", pa.string()),
                ("log_partition", pa.int32()),
                ("log_offset", pa.int64()),
                ("log_timestamp", pa.int64()),
                ("payload", pa.string()),
            ]
        ),
    )
    for payload in in_log_order(table).column("payload").to_pylist():
        try:
            state.apply(parse_event(payload))
        except EventValidationError:
            # the log accepted only valid events; a row that no longer parses is not state
            continue
    return state


def sync(index: StoreIndex, store: IndexedTable, attempts: int = 5) -> int:
    """Catch the index up with the table's latest snapshot; the index's high-water mark.

    Idempotent and resumable: each snapshot is one transaction. Safe beside other writers of the
    same index (the sink, another process): a conflict re-reads and tries again.
    """
    for _ in range(attempts):
        try:
            return _sync_once(index, store)
        except IndexConflictError:
            continue
    return _sync_once(index, store)


def _sync_once(index: StoreIndex, store: IndexedTable) -> int:
    with index.write_lock:
        latest = store.latest_snapshot_id()
        high = index.high_water()
        if latest is None:
            if high:
                index.reset()
            return 0
        if high and not _same_history(index, store, high, latest):
            index.reset()
            high = 0
        for snapshot_id in store.retained_snapshot_ids():
            if snapshot_id <= high:
                continue
            mark = snapshot_mark(store, snapshot_id)
            if snapshot_id != high + 1:
                # the deltas in between have expired: one full read stands in for them
                rows: pa.Table | None = store.read(snapshot_id)
            elif mark.commit_kind == "APPEND":
                rows = store.read_delta(snapshot_id)
            else:
                rows = None
            index.ingest(mark, rows, after=high)
            high = snapshot_id
        return high


def _same_history(index: StoreIndex, store: IndexedTable, high: int, latest: int) -> bool:
    if high > latest:
        return False
    held = index.mark(high)
    if held is None or high not in store.retained_snapshot_ids():
        # the index's newest snapshot has expired in the table since: nothing left to compare
        return True
    return snapshot_mark(store, high).commit_time == held.commit_time
