"""Time travel: the shop as it stood at a snapshot (by id or by commit time), from the store.

Each question reads only the rows it needs at that snapshot (pushed-down predicates on the
subject's column), restores log order and folds the events with the domain's `ShopState`, the
same fold the live views use. A snapshot that never existed or has expired raises
`SnapshotUnavailableError` (HTTP 404 or 410), never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kartshoppe.domain.state import ShopState
from kartshoppe.domain.views import cart_view, order_view, product_view
from kartshoppe.events import EventValidationError, OrderStatus, parse_event
from kartshoppe.store.table import EventStore, in_log_order

CATALOG_TYPES = ("PRODUCT_LAUNCHED", "PRICE_CHANGED", "FLASH_SALE_STARTED", "FLASH_SALE_ENDED")
ORDER_TYPES = ("ORDER_PLACED", "ORDER_STATUS_CHANGED")
FUNNEL = {
    "views": "PRODUCT_VIEW",
    "carts": "ADD_TO_CART",
    "checkouts": "CHECKOUT_STARTED",
    "orders": "ORDER_PLACED",
}


def fold(payloads: Iterable[str], state: ShopState | None = None) -> ShopState:
    """Apply stored events, in the order given, to `state` (a fresh one by default)."""
    state = state or ShopState()
    for payload in payloads:
        try:
            state.apply(parse_event(payload))
        except EventValidationError:
            # the log accepted only valid events; a row that no longer parses is not state
            continue
    return state


def _fold_rows(rows: pa.Table) -> ShopState:
    return fold(in_log_order(rows).column("payload").to_pylist())


def _stamp(store: EventStore, snapshot_id: int) -> dict[str, Any]:
    info = store.snapshot_info(snapshot_id)
    return {"snapshotId": snapshot_id, "commitTime": info.commit_time}


def cart_at(
    store: EventStore, cart_id: str, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any]:
    """The cart `cart_id` (a user id, or the session id of an anonymous shopper)."""
    sid = store.resolve_snapshot(snapshot_id, as_of)
    pb = store.predicates()
    where = pb.or_predicates(
        [
            pb.equal("user_id", cart_id),
            pb.equal("session_id", cart_id),
            pb.is_in("event_type", list(CATALOG_TYPES)),
        ]
    )
    state = _fold_rows(store.read(sid, where=where))
    return {**_stamp(store, sid), "cart": cart_view(state.cart(cart_id))}


def order_at(
    store: EventStore, order_id: str, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any] | None:
    """The order as of the snapshot, or None if it was not placed by then."""
    sid = store.resolve_snapshot(snapshot_id, as_of)
    state = _fold_rows(store.read(sid, where=store.predicates().equal("order_id", order_id)))
    order = state.orders.get(order_id)
    return None if order is None else {**_stamp(store, sid), "order": order_view(order)}


def product_at(
    store: EventStore, product_id: str, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any] | None:
    """The product with its price and stock as of the snapshot, or None if not launched yet."""
    sid = store.resolve_snapshot(snapshot_id, as_of)
    state = _fold_rows(store.read(sid, where=store.predicates().equal("product_id", product_id)))
    product = state.products.get(product_id)
    if product is None:
        return None
    stamp = _stamp(store, sid)
    level = state.stock.get(product_id)
    return {**stamp, "product": product_view(product, level, stamp["commitTime"])}


def analytics_at(
    store: EventStore, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any]:
    """Totals as of the snapshot: events by type, funnel counts, orders and revenue."""
    sid = store.resolve_snapshot(snapshot_id, as_of)
    counts = (
        store.read(sid, columns=["event_type"])
        .group_by("event_type")
        .aggregate([("event_type", "count")])
    )
    by_type = dict(
        zip(
            counts.column("event_type").to_pylist(),
            counts.column("event_type_count").to_pylist(),
            strict=True,
        )
    )
    orders = _fold_rows(
        store.read(sid, where=store.predicates().is_in("event_type", list(ORDER_TYPES)))
    ).orders
    live = [o for o in orders.values() if o.status != OrderStatus.CANCELLED]
    return {
        **_stamp(store, sid),
        "totalEvents": int(pc.sum(pa.array(list(by_type.values()) or [0])).as_py()),
        "eventsByType": dict(sorted(by_type.items())),
        "funnel": {name: by_type.get(event_type, 0) for name, event_type in FUNNEL.items()},
        "orders": len(orders),
        "cancelledOrders": len(orders) - len(live),
        "revenue": round(sum(o.total for o in live), 2),
    }
