"""`kartshoppe audit`: one page of an event history from the event store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import orjson

from kartshoppe.eventstore.audit import AuditQuery, history
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.table import StoreConfig


def build_audit_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Arguments of `kartshoppe audit`."""
    parser = parser or argparse.ArgumentParser(
        prog="kartshoppe audit", description="Event history from the Paimon event store"
    )
    parser.add_argument("--warehouse", help="warehouse path or URI (default <data-dir>/warehouse)")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--session", dest="session_id")
    parser.add_argument("--user", dest="user_id")
    parser.add_argument("--product", dest="product_id")
    parser.add_argument("--order", dest="order_id")
    parser.add_argument("--types", default="", help="comma-separated event types")
    parser.add_argument("--from", dest="start", type=int, help="epoch ms, inclusive")
    parser.add_argument("--to", dest="end", type=int, help="epoch ms, inclusive")
    parser.add_argument("--snapshot", dest="snapshot_id", type=int)
    parser.add_argument("--page", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print the page as JSON")
    return parser


def store_from_args(args: argparse.Namespace) -> IndexedStore:
    warehouse = getattr(args, "warehouse", None)
    config = StoreConfig(warehouse) if warehouse else StoreConfig.for_data_dir(args.data_dir)
    return IndexedStore.open(config)


def audit_main(argv: Sequence[str] | None = None) -> int:
    """`kartshoppe audit ...`: prints one page of history; 2 on bad arguments."""
    from rich.console import Console
    from rich.table import Table

    from kartshoppe.eventstore.table import SnapshotUnavailableError

    args = build_audit_parser().parse_args(argv)
    try:
        query = AuditQuery(
            session_id=args.session_id,
            user_id=args.user_id,
            product_id=args.product_id,
            order_id=args.order_id,
            types=tuple(t.strip() for t in args.types.split(",") if t.strip()),
            start=args.start,
            end=args.end,
            page=args.page,
            page_size=args.page_size,
            snapshot_id=args.snapshot_id,
        )
        result = history(store_from_args(args), query)
    except (ValueError, SnapshotUnavailableError) as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    table = Table(
        title=f"{result.total} events (page {result.page}, snapshot {result.snapshot_id})"
    )
    for column in ("timestamp", "eventType", "eventId", "topic", "offset"):
        table.add_column(column)
    for entry in result.rows:
        table.add_row(
            *(str(entry[c]) for c in ("timestamp", "eventType", "eventId", "topic", "offset"))
        )
    Console().print(table)
    return 0
