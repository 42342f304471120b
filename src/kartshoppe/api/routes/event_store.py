"""HTTP routes over the Paimon event store: audit trail, snapshots, time travel and reports.

Mounted by the app under `/api/ecommerce`, so paths read `/api/ecommerce/store/...`. Where the
event-store sink runs in a process of its own, the app forwards these routes to it after its
guards (`StoreReads`) and that process answers them with this same router from the store it
holds open. Otherwise the store comes from `app.state.event_store` (an `IndexedStore`), opened
on first use by the app's `StoreOpener`; without one the routes answer 503. Audit and time
travel are answered from the store's secondary index (an SQLite file beside the warehouse,
caught up from Paimon before a question about a snapshot it has not seen), reports and the
snapshot list from the table. The handlers are plain functions: the reads block, so FastAPI
runs them in its thread pool. Errors are JSON `{error, message, details}`: 400 for a bad query,
404 for an unknown snapshot, subject or report, 410 for an expired snapshot.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from kartshoppe.api.declared import DeclaredRoute
from kartshoppe.api.errors import error_response
from kartshoppe.api.routes._responses import json
from kartshoppe.api.schemas import (
    AnalyticsAt,
    CartAt,
    ErrorOut,
    HistoryPage,
    OrderAt,
    ProductAt,
    ReportOut,
    ReportsOut,
    SeriesOut,
    SnapshotsOut,
)
from kartshoppe.events import now_ms
from kartshoppe.eventstore.limits import INT64_MAX, MAX_PAGE_SIZE, SERIES_END_MAX, SeriesWindow

if TYPE_CHECKING:
    from kartshoppe.eventstore.indexed import IndexedStore


class StoreUnavailableError(RuntimeError):
    pass


class SubjectNotFoundError(LookupError):
    """The cart, order or product did not exist yet at that snapshot."""


def _refusal(exc: Exception) -> Response | None:
    """The JSON error a store question ends in, or None for a fault that is not the caller's."""
    if isinstance(exc, StoreUnavailableError):
        return error_response(503, "store_unavailable", str(exc))
    if isinstance(exc, SubjectNotFoundError):
        return error_response(404, "not_found", str(exc))
    # this runs on the event loop: the store's own errors can only come from store modules
    # already loaded (by a handler's thread), so nothing is imported here
    if "kartshoppe.eventstore.table" in sys.modules:
        from kartshoppe.eventstore.table import SnapshotUnavailableError

        if isinstance(exc, SnapshotUnavailableError):
            code = "snapshot_expired" if exc.expired else "snapshot_not_found"
            return error_response(exc.status_code, code, str(exc))
    if "kartshoppe.eventstore.reports" in sys.modules:
        from kartshoppe.eventstore.reports import UnknownReportError

        if isinstance(exc, UnknownReportError):
            return error_response(404, "report_not_found", str(exc.args[0]))
    if isinstance(exc, ValueError):
        # the store refuses a question it cannot answer (a page out of range, both a
        # snapshotId and an asOf, ...): the caller's mistake
        return error_response(400, "bad_request", str(exc))
    return None


class StoreRoute(DeclaredRoute):
    """The routes' one error boundary: what they raise is answered here, so the router works
    the same in any app it is mounted in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handle(request)
            except AskTheSinkError as ask:
                return await ask.reads.forward(request)
            except Exception as exc:
                refusal = _refusal(exc)
                if refusal is None:
                    raise
                return refusal

        return answer


router = APIRouter(
    prefix="/store",
    tags=["event store"],
    responses={code: {"model": ErrorOut} for code in (400, 404, 410, 503)},
    route_class=StoreRoute,
)


STORE_OPENING_WAIT_S = 15.0
"""How long a forwarded store request waits for the sink process to answer (it loads pyarrow and
pypaimon for seconds after it starts) before the 503."""
FORWARD_RETRY_S = 0.1


class StoreReads:
    """The store routes answered by the event-store sink's process, which holds the store open:
    the serving process forwards them (after its guards) over a local socket, so it never loads
    the store's modules. The child serves the same router (`eventstore/sink_process.py`)."""

    def __init__(self, address: str, prefix: str, wait_s: float = STORE_OPENING_WAIT_S) -> None:
        self.address = address
        self.prefix = prefix
        """What the app mounts the router under; the child mounts it at the root."""
        self.wait_s = wait_s

    async def forward(self, request: Request) -> Response:
        # the path as the client sent it, still percent-encoded: a decoded one (a space in a
        # report's name) would not be a valid request line
        raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
        target = raw_path.removeprefix(self.prefix.encode())
        if query := request.scope.get("query_string", b""):
            target += b"?" + query
        head = b"%s %s HTTP/1.1\r\nHost: store\r\nConnection: close\r\n\r\n" % (
            request.method.encode(),
            target,
        )
        deadline = asyncio.get_running_loop().time() + self.wait_s
        while True:
            try:
                raw = await self._exchange(head)
                break
            except (ConnectionError, FileNotFoundError):
                if asyncio.get_running_loop().time() >= deadline:
                    return _refused(
                        StoreUnavailableError("the event store is not open yet; try again soon")
                    )
                await asyncio.sleep(FORWARD_RETRY_S)
        return _relayed(raw)

    async def _exchange(self, head: bytes) -> bytes:
        reader, writer = await asyncio.open_unix_connection(self.address)
        try:
            writer.write(head)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()


def _refused(exc: StoreUnavailableError) -> Response:
    refusal = _refusal(exc)
    assert refusal is not None
    return refusal


def _relayed(raw: bytes) -> Response:
    """The child's HTTP/1.1 answer (read to its close) as this app's response."""
    header, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = header.decode("latin-1").split("\r\n")
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    headers = {name.strip().lower(): value.strip() for name, value in fields.items()}
    if "content-length" in headers:
        body = body[: int(headers["content-length"])]
    media_type = headers.get("content-type", "application/json")
    return Response(body, int(status_line.split()[1]), media_type=media_type)


class AskTheSinkError(Exception):
    """Raised by the store dependency when the sink's process answers the store routes."""

    def __init__(self, reads: StoreReads) -> None:
        super().__init__("forwarded to the event-store sink process")
        self.reads = reads


class StoreOpener:
    """The event store of the read routes, opened in the serving process on their first use,
    when no sink process answers them (`KARTSHOPPE_SINK=0`, Flink mode): pyarrow and pypaimon
    (about 130 MB, seconds of CPU) load only when an operator first asks, not at every start.
    Concurrent first requests share the one opening; a failed opening (the store down) is tried
    again by the next request."""

    def __init__(self, warehouse: str) -> None:
        self.warehouse = warehouse
        self._opening: asyncio.Future[IndexedStore] | None = None

    async def open(self) -> IndexedStore:
        opening = self._opening
        if opening is None or (
            opening.done() and (opening.cancelled() or opening.exception() is not None)
        ):
            opening = self._opening = asyncio.ensure_future(asyncio.to_thread(self._open))
        return await asyncio.shield(opening)

    def _open(self) -> IndexedStore:
        from kartshoppe.eventstore.indexed import IndexedStore
        from kartshoppe.eventstore.table import StoreConfig

        return IndexedStore.open(StoreConfig(self.warehouse))


async def event_store(request: Request) -> IndexedStore:
    """The dependency hook: the request is forwarded to the sink's process when the app has one
    (`app.state.store_reads`); else the app's `IndexedStore` on `app.state.event_store`, or
    opened on first use by the `StoreOpener` on `app.state.event_store_opener`."""
    state = request.app.state
    reads: StoreReads | None = getattr(state, "store_reads", None)
    if reads is not None:
        raise AskTheSinkError(reads)
    store: IndexedStore | None = getattr(state, "event_store", None)
    opener: StoreOpener | None = getattr(state, "event_store_opener", None)
    if store is None and opener is not None:
        try:
            store = state.event_store = await opener.open()
        except Exception as exc:
            raise StoreUnavailableError(f"the event store cannot be opened: {exc}") from exc
    if store is None:
        raise StoreUnavailableError("no event store is configured")
    return store


def _found(kind: str, subject_id: str, state: dict[str, Any] | None) -> Response:
    """The state, or 404 when the subject did not exist yet at that snapshot."""
    if state is None:
        raise SubjectNotFoundError(f"{kind} {subject_id} did not exist at that snapshot")
    return json(state)


Store = Annotated[Any, Depends(event_store)]
"""The app's `IndexedStore` (typed loosely: the store module loads on first use)."""
SnapshotId = Annotated[int | None, Query(alias="snapshotId", ge=1, le=INT64_MAX)]
AsOf = Annotated[int | None, Query(alias="asOf", ge=0, le=INT64_MAX, description="epoch ms")]


@router.get("/history", response_model=HistoryPage)
def get_history(
    store: Store,
    session_id: Annotated[str | None, Query(alias="sessionId", max_length=128)] = None,
    user_id: Annotated[str | None, Query(alias="userId", max_length=128)] = None,
    product_id: Annotated[str | None, Query(alias="productId", max_length=128)] = None,
    order_id: Annotated[str | None, Query(alias="orderId", max_length=128)] = None,
    types: Annotated[str, Query(description="comma-separated event types")] = "",
    start: Annotated[
        int | None, Query(alias="from", ge=0, le=INT64_MAX, description="epoch ms")
    ] = None,
    end: Annotated[
        int | None, Query(alias="to", ge=0, le=INT64_MAX, description="epoch ms")
    ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=MAX_PAGE_SIZE)] = 50,
    snapshot_id: SnapshotId = None,
) -> Response:
    """Events of a session, user, product or order, newest first, one page at a time."""
    if not any((session_id, user_id, product_id, order_id, start, end)):
        raise ValueError("give sessionId, userId, productId, orderId or from/to")
    from kartshoppe.eventstore.audit import AuditQuery, history

    query = AuditQuery(
        session_id=session_id,
        user_id=user_id,
        product_id=product_id,
        order_id=order_id,
        types=tuple(t.strip() for t in types.split(",") if t.strip()),
        start=start,
        end=end,
        page=page,
        page_size=page_size,
        snapshot_id=snapshot_id,
    )
    return json(history(store, query).to_json())


@router.get("/snapshots", response_model=SnapshotsOut)
def get_snapshots(store: Store) -> Response:
    """Every retained snapshot: id, commit time (epoch ms), record count."""
    return json({"snapshots": [s.to_json() for s in store.events.snapshots()]})


@router.get("/state/cart/{cartId}", response_model=CartAt)
def get_cart_state(
    store: Store,
    cart_id: Annotated[str, Path(alias="cartId", max_length=128)],
    snapshot_id: SnapshotId = None,
    as_of: AsOf = None,
) -> Response:
    from kartshoppe.eventstore.timetravel import cart_at

    return json(cart_at(store, cart_id, snapshot_id, as_of))


@router.get("/state/order/{orderId}", response_model=OrderAt)
def get_order_state(
    store: Store,
    order_id: Annotated[str, Path(alias="orderId", max_length=128)],
    snapshot_id: SnapshotId = None,
    as_of: AsOf = None,
) -> Response:
    from kartshoppe.eventstore.timetravel import order_at

    return _found("order", order_id, order_at(store, order_id, snapshot_id, as_of))


@router.get("/state/product/{productId}", response_model=ProductAt)
def get_product_state(
    store: Store,
    product_id: Annotated[str, Path(alias="productId", max_length=128)],
    snapshot_id: SnapshotId = None,
    as_of: AsOf = None,
) -> Response:
    from kartshoppe.eventstore.timetravel import product_at

    return _found("product", product_id, product_at(store, product_id, snapshot_id, as_of))


@router.get("/state/analytics", response_model=AnalyticsAt)
def get_analytics_state(
    store: Store, snapshot_id: SnapshotId = None, as_of: AsOf = None
) -> Response:
    from kartshoppe.eventstore.timetravel import analytics_at

    return json(analytics_at(store, snapshot_id, as_of))


@router.get("/series", response_model=SeriesOut)
def get_series(
    store: Store,
    window: Annotated[SeriesWindow, Query(description="how far back the chart looks")] = "1h",
    end: Annotated[
        int | None, Query(alias="to", ge=0, le=SERIES_END_MAX, description="epoch ms, else now")
    ] = None,
) -> Response:
    """Orders, revenue, events, product viewers and conversion per bucket of the window."""
    from kartshoppe.eventstore.series import series

    return json(series(store, window, now_ms() if end is None else end))


@router.get("/reports", response_model=ReportsOut, dependencies=[Depends(event_store)])
def list_reports() -> Response:
    from kartshoppe.eventstore.reports import REPORTS

    return json(
        {"reports": [{"name": n, "description": r.description} for n, r in REPORTS.items()]}
    )


@router.get("/reports/{name}", response_model=ReportOut)
def get_report(
    store: Store,
    name: Annotated[str, Path(max_length=64)],
    snapshot_id: SnapshotId = None,
) -> Response:
    from kartshoppe.eventstore.reports import run_report

    rows = run_report(store.events, name, snapshot_id).to_pylist()
    return json({"report": name, "rows": rows})
