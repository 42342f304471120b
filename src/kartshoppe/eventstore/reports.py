"""Reports: SQL over the event store with DuckDB on the Arrow data pypaimon reads.

`sql(store, query)` exposes the table (as of a snapshot, latest by default) to DuckDB under its
own name, `ecommerce_events`; named reports read only the columns and event types they need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from kartshoppe.events import CATALOG_TYPES
from kartshoppe.eventstore.schema import TABLE
from kartshoppe.eventstore.table import EventStore


class UnknownReportError(LookupError):
    pass


def sql(
    store: EventStore,
    query: str,
    snapshot_id: int | None = None,
    rows: pa.Table | None = None,
) -> pa.Table:
    """Run `query` with the table registered as `ecommerce_events`; DuckDB errors propagate."""
    if rows is None:
        rows = _rows(store, snapshot_id)
    connection = duckdb.connect()
    try:
        connection.register(TABLE, rows)
        result: pa.Table = connection.sql(query).to_arrow_table()
        return result
    finally:
        connection.close()


def _rows(
    store: EventStore,
    snapshot_id: int | None,
    types: Sequence[str] = (),
    columns: Sequence[str] | None = None,
) -> pa.Table:
    from kartshoppe.eventstore.table import ARROW_SCHEMA

    if snapshot_id is None and store.latest_snapshot_id() is None:
        schema = (
            ARROW_SCHEMA if columns is None else pa.schema([ARROW_SCHEMA.field(c) for c in columns])
        )
        return schema.empty_table()
    sid = store.resolve_snapshot(snapshot_id)
    where = store.predicates().is_in("event_type", list(types)) if types else None
    return store.read(sid, where=where, columns=columns)


@dataclass(frozen=True)
class Report:
    description: str
    types: tuple[str, ...]
    query: str


REPORTS: dict[str, Report] = {
    "sales-per-day": Report(
        "orders placed and revenue per day (UTC)",
        ("ORDER_PLACED",),
        """
        SELECT dt AS day,
               count(*) AS orders,
               CAST(sum(CAST(json_extract(payload, '$.total') AS DECIMAL(18, 2))) AS DOUBLE)
                 AS revenue,
               CAST(round(avg(CAST(json_extract(payload, '$.total') AS DECIMAL(18, 2))), 2)
                 AS DOUBLE) AS average_order
        FROM ecommerce_events
        WHERE event_type = 'ORDER_PLACED'
        GROUP BY dt ORDER BY dt
        """,
    ),
    "funnel-per-day": Report(
        "product views, add-to-carts, checkouts and orders per day, with conversion",
        ("PRODUCT_VIEW", "ADD_TO_CART", "CHECKOUT_STARTED", "ORDER_PLACED"),
        """
        SELECT dt AS day,
               count(*) FILTER (WHERE event_type = 'PRODUCT_VIEW') AS views,
               count(*) FILTER (WHERE event_type = 'ADD_TO_CART') AS carts,
               count(*) FILTER (WHERE event_type = 'CHECKOUT_STARTED') AS checkouts,
               count(*) FILTER (WHERE event_type = 'ORDER_PLACED') AS orders,
               round(count(*) FILTER (WHERE event_type = 'ORDER_PLACED')
                     / greatest(count(*) FILTER (WHERE event_type = 'PRODUCT_VIEW'), 1), 4)
                 AS conversion
        FROM ecommerce_events
        GROUP BY dt ORDER BY dt
        """,
    ),
    "top-products-per-category": Report(
        "the five best-selling products of each category by revenue",
        ("ORDER_PLACED", *CATALOG_TYPES),
        """
        WITH catalog AS (
            SELECT product_id,
                   arg_max(json_extract_string(payload, '$.product.category'), timestamp)
                     AS category,
                   arg_max(json_extract_string(payload, '$.product.name'), timestamp) AS name
            FROM ecommerce_events
            WHERE event_type <> 'ORDER_PLACED'
            GROUP BY product_id
        ),
        sold AS (
            SELECT line.productId AS product_id,
                   CAST(sum(line.quantity) AS BIGINT) AS units,
                   sum(line.quantity * line.unitPrice) AS revenue
            FROM (
                SELECT unnest(from_json(json_extract(payload, '$.lines'),
                       '[{"productId": "VARCHAR", "quantity": "INTEGER",
                          "unitPrice": "DECIMAL(18, 2)"}]')) AS line
                FROM ecommerce_events WHERE event_type = 'ORDER_PLACED'
            )
            GROUP BY 1
        ),
        ranked AS (
            SELECT coalesce(c.category, 'unknown') AS category, s.product_id,
                   c.name, s.units, CAST(s.revenue AS DOUBLE) AS revenue,
                   row_number() OVER (PARTITION BY coalesce(c.category, 'unknown')
                                      ORDER BY s.revenue DESC, s.product_id) AS rank
            FROM sold s LEFT JOIN catalog c USING (product_id)
        )
        SELECT category, rank, product_id, name, units, revenue
        FROM ranked WHERE rank <= 5 ORDER BY category, rank
        """,
    ),
}

REPORT_COLUMNS = ("dt", "event_type", "product_id", "timestamp", "payload")


def run_report(store: EventStore, name: str, snapshot_id: int | None = None) -> pa.Table:
    report = REPORTS.get(name)
    if report is None:
        raise UnknownReportError(f"unknown report {name!r}; known: {', '.join(sorted(REPORTS))}")
    rows = _rows(store, snapshot_id, report.types, REPORT_COLUMNS)
    return sql(store, report.query, rows=rows)
