"""`kartshoppe sql`: SQL (DuckDB) or a named report over the event store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from kartshoppe.eventstore.reports import REPORTS, run_report, sql
from kartshoppe.eventstore.table import EventStore, StoreConfig


def build_sql_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Arguments of `kartshoppe sql`."""
    parser = parser or argparse.ArgumentParser(
        prog="kartshoppe sql", description="SQL (DuckDB) over the Paimon event store"
    )
    parser.add_argument("query", help="SQL over the table ecommerce_events, or a report name")
    parser.add_argument("--warehouse", help="warehouse path or URI (default <data-dir>/warehouse)")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--snapshot", dest="snapshot_id", type=int)
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    return parser


def sql_main(argv: Sequence[str] | None = None, out: Callable[[str], Any] | None = None) -> int:
    """`kartshoppe sql "SELECT ..."` (or a report name); 2 on a bad query."""
    from rich.console import Console
    from rich.table import Table

    from kartshoppe.eventstore.table import SnapshotUnavailableError

    args = build_sql_parser().parse_args(argv)
    config = (
        StoreConfig(args.warehouse) if args.warehouse else StoreConfig.for_data_dir(args.data_dir)
    )
    store = EventStore(config)
    try:
        if args.query in REPORTS:
            result = run_report(store, args.query, args.snapshot_id)
        else:
            result = sql(store, args.query, args.snapshot_id)
    except (duckdb.Error, SnapshotUnavailableError, ValueError) as exc:
        print(f"sql: {exc}", file=sys.stderr)
        return 2
    if args.csv:
        import pyarrow.csv as pacsv

        sink = pa.BufferOutputStream()
        pacsv.write_csv(result, sink)
        (out or sys.stdout.write)(sink.getvalue().to_pybytes().decode())
        return 0
    table = Table(title=f"{result.num_rows} rows")
    for name in result.column_names:
        table.add_column(name)
    for row in result.to_pylist():
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)
    return 0
