"""`kartshoppe timetravel`: the store's snapshots, and a cart, order, product or the analytics
as of one of them, as JSON."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import orjson

from kartshoppe.commands.audit import store_from_args
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.timetravel import analytics_at, cart_at, order_at, product_at


def build_timetravel_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kartshoppe timetravel",
        description="Snapshots of the event store, and state as of one of them",
    )
    parser.add_argument("--warehouse", help="warehouse path or URI (default <data-dir>/warehouse)")
    parser.add_argument("--data-dir", default="data")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--snapshot", dest="snapshot_id", type=int, help="a snapshot id")
    when.add_argument("--as-of", type=int, help="epoch ms: the last snapshot committed by then")
    parser.add_argument("what", choices=["snapshots", "cart", "order", "product", "analytics"])
    parser.add_argument("id", nargs="?", help="the cart, order or product id")
    return parser


def _answer(store: IndexedStore, args: argparse.Namespace) -> Any:
    when = {"snapshot_id": args.snapshot_id, "as_of": args.as_of}
    if args.what == "snapshots":
        return {"snapshots": [s.to_json() for s in store.events.snapshots()]}
    if args.what == "analytics":
        return analytics_at(store, **when)
    if not args.id:
        raise ValueError(f"which {args.what}? give its id")
    found = {"cart": cart_at, "order": order_at, "product": product_at}[args.what](
        store, args.id, **when
    )
    if found is None:
        raise LookupError(f"no {args.what} {args.id!r} as of that snapshot")
    return found


def timetravel_main(argv: Sequence[str] | None = None) -> int:
    """`kartshoppe timetravel ...`: prints JSON; 2 for bad arguments or an unknown snapshot."""
    args = build_timetravel_parser().parse_args(argv)
    try:
        answer = _answer(store_from_args(args), args)
    except (ValueError, LookupError) as exc:
        print(f"timetravel: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0
