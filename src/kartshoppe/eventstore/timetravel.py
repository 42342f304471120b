"""Time travel: the shop as it stood at a snapshot (by id or by commit time), from the store.

A timestamp maps to the last snapshot committed at or before it; a snapshot that never existed or
has expired raises `SnapshotUnavailableError` (HTTP 404 or 410), never a crash. Each question then
folds the subject's events, in log order, with the domain's `ShopState` (the fold the live views
use), reading them from the secondary index (`eventstore.index`): an indexed range scan of
the rows visible at that snapshot, restricted to the event types the fold turns into that state.
Analytics totals are the index's per-snapshot running totals, one row.

The `*_from_table` functions answer the same questions straight from the Paimon table; they are
the reference the index is tested against, and the path taken when no index is configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kartshoppe.domain.money import total
from kartshoppe.domain.state import ShopState
from kartshoppe.events import (
    CATALOG_TYPES,
    EventValidationError,
    OrderStatus,
    json_number,
    parse_event,
    to_cents,
)
from kartshoppe.eventstore.index import (
    CART_TYPES,
    FOLD_COLUMNS,
    ORDER_TYPES,
    PRODUCT_TYPES,
    StoreIndex,
    Totals,
    fold_in_log_order,
    marks,
)
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.log_order import in_log_order
from kartshoppe.eventstore.table import EventStore
from kartshoppe.views.models import CartOut, OrderOut, ProductOut

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


# --- answers from the index -------------------------------------------------------------------


def cart_at(
    store: IndexedStore, cart_id: str, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any]:
    """The cart `cart_id` (a user id, or the session id of an anonymous shopper)."""
    sid = store.events.resolve_snapshot(snapshot_id, as_of)
    index = store.index_at(sid)
    if index is None:
        return cart_at_from_table(store.events, cart_id, sid)
    state = _cart_state(index, cart_id, sid)
    return {**_stamp(store.events, sid), "cart": _cart_as_of(state, cart_id)}


def _cart_state(index: StoreIndex, cart_id: str, sid: int) -> ShopState:
    cart_rows = index.select(
        (*FOLD_COLUMNS, "product_id"),
        f"(user_id = ? OR session_id = ?) AND event_type IN ({marks(CART_TYPES)})",
        (cart_id, cart_id, *CART_TYPES),
        sid,
    )
    # the fold takes product names from the catalog: only the cart's products matter
    products = sorted({row[-1] for row in cart_rows if row[-1]})
    rows = [row[:-1] for row in cart_rows]
    for first in range(0, len(products), 500):
        chunk = products[first : first + 500]
        rows += index.select(
            FOLD_COLUMNS,
            f"product_id IN ({marks(chunk)}) AND event_type IN ({marks(CATALOG_TYPES)})",
            (*chunk, *CATALOG_TYPES),
            sid,
        )
    return fold_in_log_order(rows)


def order_at(
    store: IndexedStore, order_id: str, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any] | None:
    """The order as of the snapshot, or None if it was not placed by then."""
    sid = store.events.resolve_snapshot(snapshot_id, as_of)
    index = store.index_at(sid)
    if index is None:
        return order_at_from_table(store.events, order_id, sid)
    rows = index.select(
        FOLD_COLUMNS,
        f"order_id = ? AND event_type IN ({marks(ORDER_TYPES)})",
        (order_id, *ORDER_TYPES),
        sid,
    )
    order = fold_in_log_order(rows).orders.get(order_id)
    return (
        None
        if order is None
        else {**_stamp(store.events, sid), "order": OrderOut.of(order).to_json()}
    )


def product_at(
    store: IndexedStore, product_id: str, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any] | None:
    """The product with its price and stock as of the snapshot, or None if not launched yet."""
    sid = store.events.resolve_snapshot(snapshot_id, as_of)
    index = store.index_at(sid)
    if index is None:
        return product_at_from_table(store.events, product_id, sid)
    rows = index.select(
        FOLD_COLUMNS,
        f"product_id = ? AND event_type IN ({marks(PRODUCT_TYPES)})",
        (product_id, *PRODUCT_TYPES),
        sid,
    )
    return _product_answer(store.events, fold_in_log_order(rows), product_id, sid)


def _product_answer(
    store: EventStore, state: ShopState, product_id: str, sid: int
) -> dict[str, Any] | None:
    product = state.products.get(product_id)
    if product is None:
        return None
    stamp = _stamp(store, sid)
    level = state.stock.get(product_id)
    history = state.price_history.get(product_id, ())
    answer = ProductOut.of(product, level, stamp["commitTime"], history)
    return {**stamp, "product": answer.to_json()}


def analytics_at(
    store: IndexedStore, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any]:
    """Totals as of the snapshot: events by type, funnel counts, orders and revenue."""
    sid = store.events.resolve_snapshot(snapshot_id, as_of)
    index = store.index_at(sid)
    if index is None:
        return analytics_at_from_table(store.events, sid)
    return _analytics_answer(store.events, sid, index.totals(sid))


def _analytics_answer(store: EventStore, sid: int, totals: Totals) -> dict[str, Any]:
    return {
        **_stamp(store, sid),
        "totalEvents": totals.total_events,
        "eventsByType": dict(sorted(totals.by_type.items())),
        "funnel": {name: totals.by_type.get(t, 0) for name, t in FUNNEL.items()},
        "orders": totals.orders,
        "cancelledOrders": totals.cancelled,
        "revenue": json_number(to_cents(totals.revenue)),
    }


# --- the reference: answers straight from the Paimon table ------------------------------------


def cart_at_from_table(
    store: EventStore, cart_id: str, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any]:
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
    return {**_stamp(store, sid), "cart": _cart_as_of(state, cart_id)}


def order_at_from_table(
    store: EventStore, order_id: str, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any] | None:
    sid = store.resolve_snapshot(snapshot_id, as_of)
    state = _fold_rows(store.read(sid, where=store.predicates().equal("order_id", order_id)))
    order = state.orders.get(order_id)
    return None if order is None else {**_stamp(store, sid), "order": OrderOut.of(order).to_json()}


def product_at_from_table(
    store: EventStore, product_id: str, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any] | None:
    sid = store.resolve_snapshot(snapshot_id, as_of)
    state = _fold_rows(store.read(sid, where=store.predicates().equal("product_id", product_id)))
    return _product_answer(store, state, product_id, sid)


def analytics_at_from_table(
    store: EventStore, snapshot_id: int | None = None, as_of: int | None = None
) -> dict[str, Any]:
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
        "revenue": json_number(total(o.total for o in live)),
    }


def _cart_as_of(state: ShopState, cart_id: str) -> dict[str, Any]:
    """The cart priced as it stood at its last change."""
    cart = state.cart(cart_id)
    return CartOut.json_of(cart, state.products, cart.updated_at)
