"""The composition root: builds the platform for the configured adapters and serves it.

Start-up order: open the log, rebuild the fold and the live views from it, seed the catalog on
an empty shop, then serve. `/health` answers as soon as the process is up, `/ready` once the
views have caught up with the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi import Path as PathParam
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from kartshoppe import heap
from kartshoppe.api import errors, middleware
from kartshoppe.api.consistency import ReadYourWrites
from kartshoppe.api.declared import build_routes, declared_router
from kartshoppe.api.deps import Platform
from kartshoppe.api.errors import error_response
from kartshoppe.api.fastpath import HotReads
from kartshoppe.api.hub import Hub, message
from kartshoppe.api.routes import (
    admin,
    auth,
    cart,
    catalog,
    event_store,
    live,
    orders,
    reviews,
    tracking,
)
from kartshoppe.api.routes._responses import json
from kartshoppe.api.routes.event_store import StoreOpener, StoreReads
from kartshoppe.api.schemas import ErrorOut, Health
from kartshoppe.api.serving import Serving, worker_header
from kartshoppe.api.web import web_routes
from kartshoppe.api.ws import router as ws_router
from kartshoppe.api.ws_frames import WebSocketsFirst
from kartshoppe.application.commands import CommandBus, LocalCommandBus
from kartshoppe.application.dedup import RecentIds
from kartshoppe.application.follower import History, LogFollower
from kartshoppe.application.policies import ExpireReservations, Reactions
from kartshoppe.application.projection import Projection
from kartshoppe.application.shop import ShopService, route
from kartshoppe.application.snapshots import SNAPSHOT_GROUP, SnapshotPolicy, ViewSnapshots
from kartshoppe.config import Settings
from kartshoppe.demo import holds_seed, seed_shop
from kartshoppe.domain.orders import Order
from kartshoppe.domain.reservations import ReservationBook
from kartshoppe.eventlog.adapters import make_log
from kartshoppe.eventlog.port import ALL_TOPICS, EventLog, Positions, Record, TopicPartition
from kartshoppe.eventlog.retention import RETENTION_SWEEP_S, LogRetention, RetentionPolicy
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import (
    CartRecovered,
    Event,
    InventoryAlert,
    OrderStatusChanged,
    Topic,
    WishlistAlert,
    now_ms,
)
from kartshoppe.eventstore.schema import SINK_GROUP, STORED_TOPICS
from kartshoppe.eventstore.sink_process import SinkProcess, reads_address
from kartshoppe.mail.account_mail import reset_mailer
from kartshoppe.mail.mailer import Mailer
from kartshoppe.mail.order_mail import order_mail
from kartshoppe.mail.outbox import Outbox
from kartshoppe.mail.wishlist_mail import wishlist_alert
from kartshoppe.pictures.compose import placeholder_svg, product_svg
from kartshoppe.pictures.uploads import ImageStore
from kartshoppe.processors_process import ProcessorsProcess
from kartshoppe.security.accounts import Accounts
from kartshoppe.security.guards import NAMED_USER, OPERATOR, Auth
from kartshoppe.views.catalog import CatalogView
from kartshoppe.views.live import LiveView

logger = logging.getLogger(__name__)

API_PREFIX = "/api/ecommerce"
SHOP_ROUTES = (catalog, cart, orders, tracking, admin, live, auth, reviews, event_store)
"""The route modules under `API_PREFIX`, each with its `router`, in the order they match."""
TICK_SECONDS = 1.0


def make_processors(
    settings: Settings, event_log: EventLog, on_processed: Callable[[str, float], None]
) -> ProcessorsProcess | None:
    """The embedded processors, in a child process the leader supervises, unless another
    engine (Flink) runs them or they are off."""
    if settings.processors != "embedded":
        return None
    return ProcessorsProcess(settings, event_log, on_processed)


def make_bus(
    settings: Settings, event_log: EventLog, projection: Projection, book: ReservationBook
) -> CommandBus:
    """Where commands are decided: in this process, or by the owner of their Kafka partition."""
    rules = settings.shop_rules
    if settings.bus == "kafka":
        from kartshoppe.eventlog.kafka_commands import KafkaCommandBus, instance_id

        instance = instance_id(settings.data_dir)
        return KafkaCommandBus(settings.bootstrap, instance, projection, book, route, rules)
    from kartshoppe.eventlog.worker_commands import WorkerCommandBus

    local = LocalCommandBus(event_log, projection, book, route, rules)
    # one decider for all the workers of `serve --workers` (a single server leads at once)
    return WorkerCommandBus(settings.data_dir, local, projection, event_log)


def store_history(settings: Settings) -> History:
    """The log's history below its start, from the event store: loaded (pyarrow, pypaimon) only
    once retention has removed some of the log."""

    async def below(starts: Mapping[TopicPartition, int]) -> Sequence[Record]:
        history = await asyncio.to_thread(importlib.import_module, "kartshoppe.eventstore.history")
        records: list[Record] = await asyncio.to_thread(
            history.read_below, settings.warehouse, starts
        )
        return records

    return below


def make_retention(settings: Settings, event_log: EventLog) -> LogRetention | None:
    """The embedded log's retention (Kafka has its own): what the store's sink has not passed
    on a stored topic stays."""
    if not isinstance(event_log, SqliteEventLog) or settings.log_retention_s <= 0:
        return None
    required = dict.fromkeys(STORED_TOPICS, SINK_GROUP)
    return LogRetention(event_log, RetentionPolicy(settings.log_retention_s * 1000, required))


def assemble(event_log: EventLog, settings: Settings, mailer: Mailer | None = None) -> Platform:
    projection = Projection(event_log, store_history(settings))
    if mailer is not None:
        projection.subscribe_accounts(reset_mailer(mailer))
    book = ReservationBook()
    projection.subscribe(lambda _, event: book.apply(event))
    bus = make_bus(settings, event_log, projection, book)
    service = ShopService(event_log, projection, bus, settings.shop_rules)
    recovery_percent = settings.recovery_percent
    # timed commands (reservation expiry, flash-sale end) come from the one instance that runs
    # the processors, and of its workers the leader, so they are issued once; their owner
    # decides them like any command
    timed = _issues_timed_commands(settings, bus)
    reactions = Reactions()
    expire_reservations = ExpireReservations(service, reactions)
    catalog_view = CatalogView(projection.state)
    live_view = LiveView(forget_after_ms=settings.shopper_state_ttl_s * 1000)
    hub = Hub(projection.state, catalog_view)
    fanout = LogFollower(event_log, (Topic.FANOUT,))

    def on_state_event(_: Record, event: Event) -> None:
        catalog_view.on_event(event)
        # the rebuild replays history: pushes and reactions are for what happens from now on
        if projection.ready.is_set():
            if not isinstance(event, InventoryAlert):
                # an alert is also on the fan-out topic, whose copy the hub pushes (once)
                hub.on_event(event)
            if timed():
                expire_reservations.on_event(event)
            if mailer is not None and isinstance(event, OrderStatusChanged):
                _mail(mailer, projection.state.orders.get(event.order_id))
            if timed() and isinstance(event, CartRecovered):
                # the reminder's offer is a real one-time code (the hub names it), issued by the
                # instance that runs the processors; the code derives from the signal's id
                reactions.spawn(service.issue_recovery_coupon(event.event_id, recovery_percent))

    delivered = RecentIds()

    def on_fanout_event(_: Record, event: Event) -> None:
        if not delivered.first_time(event.event_id):
            return
        live_view.on_event(event)
        catalog_view.on_event(event)
        if fanout.ready.is_set():
            hub.on_event(event)
            if mailer is not None and isinstance(event, WishlistAlert):
                _mail_alert(mailer, projection, event)

    projection.subscribe(on_state_event)
    fanout.subscribe(on_fanout_event)
    accounts = Accounts(service, projection.accounts)
    snapshots = ViewSnapshots(
        settings.snapshot_path, projection, book, fanout, live_view, catalog_view, delivered
    )
    return Platform(
        service, projection, fanout, catalog_view, live_view, hub, bus, accounts, snapshots
    )


async def restore_views(snapshots: ViewSnapshots, log: SqliteEventLog) -> None:
    """Start the followers from the views' snapshot, if there is one they may use."""
    ends = {(t, p): end for t in ALL_TOPICS for p, end in (await log.end_offsets(t)).items()}
    image = await asyncio.to_thread(snapshots.load, ends, log.record_at)
    if image is not None:
        snapshots.restore(image)


def snapshot_committer(log: SqliteEventLog) -> Callable[[Positions], Awaitable[None]]:
    """Commits a written snapshot's positions as `SNAPSHOT_GROUP`, which retention respects."""

    async def commit(positions: Positions) -> None:
        topics = sorted({topic for topic, _ in positions})
        async with log.consumer(topics, group=SNAPSHOT_GROUP) as consumer:
            await consumer.commit(positions)

    return commit


def _issues_timed_commands(settings: Settings, bus: CommandBus) -> Callable[[], bool]:
    return lambda: settings.processors != "off" and bus.leading


def _mail(mailer: Mailer, order: Order | None) -> None:
    """Queue the e-mail the order's new status sends; a send never holds up the order."""
    draft = None if order is None else order_mail(order, mailer.order_link(order.order_id))
    if draft is not None:
        mailer.outbox.enqueue(draft)


def _mail_alert(mailer: Mailer, projection: Projection, alert: WishlistAlert) -> None:
    """Queue the e-mail of a wishlist alert to the account whose wishlist it is."""
    account = None if alert.user_id is None else projection.accounts.by_id.get(alert.user_id)
    product = projection.state.products.get(alert.product_id)
    if account is not None and product is not None:
        link = mailer.product_link(product.id)
        draft = wishlist_alert(alert, account, product.name, link, mailer.wishlist_link())
        mailer.outbox.enqueue(draft)


async def _every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    while True:
        await asyncio.sleep(seconds)
        with contextlib.suppress(Exception):
            await job()


def _ticker(platform: Platform, timed: Callable[[], bool]) -> Callable[[], Awaitable[None]]:
    async def tick() -> None:
        if timed():
            await platform.service.end_expired_flash_sales()
        if platform.hub.connections:
            platform.hub.publish(
                "analytics", message("ANALYTICS", "analytics", analytics=platform.live.analytics)
            )

    return tick


def sink_enabled(settings: Settings) -> bool:
    """Off when switched off, or when Flink writes the store itself."""
    return settings.sink and settings.processors != "flink"


def make_sink(settings: Settings) -> SinkProcess | None:
    """The event-store sink, in a child process the leader supervises (pyarrow and pypaimon
    stay out of the serving processes)."""
    return SinkProcess(settings) if sink_enabled(settings) else None


async def _leads(bus: CommandBus, stop: asyncio.Event) -> bool:
    """Wait until this process leads (True) or is stopping first (False)."""
    if bus.leading:
        return True
    leading = asyncio.create_task(bus.wait_leading())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait((leading, stopping), return_when=asyncio.FIRST_COMPLETED)
    for task in (leading, stopping):
        task.cancel()
    return bus.leading


class Duties:
    """The shop's once-only work, done by the process that leads (`CommandBus.leading`): the
    processors, the event-store sink's process, the log's retention, the mail and the views'
    snapshots. A single server takes them up before it serves; a worker of `serve --workers`
    when it becomes the leader."""

    def __init__(
        self,
        app: FastAPI,
        settings: Settings,
        event_log: EventLog,
        raw_log: EventLog,
        stop: asyncio.Event,
    ) -> None:
        self._app = app
        self._settings = settings
        self._log = event_log
        self._raw_log = raw_log
        self._stop = stop
        self._jobs: list[asyncio.Task[Any]] = []
        app.state.runner = app.state.retention = app.state.sink = None

    async def take_up(self) -> None:
        app, settings = self._app, self._settings
        processors = make_processors(settings, self._log, app.state.metrics.observe_processor)
        app.state.runner = processors
        if processors is not None:
            self._jobs.append(asyncio.create_task(processors.run(self._stop)))
        sink = make_sink(settings)
        app.state.sink = sink
        if sink is not None:
            self._jobs.append(asyncio.create_task(sink.run(self._stop)))
        retention = make_retention(settings, self._raw_log)
        app.state.retention = retention
        if retention is not None:
            self._jobs.append(asyncio.create_task(retention.run(self._stop, RETENTION_SWEEP_S)))
        if settings.mailer:
            outbox: Outbox = app.state.outbox
            self._jobs.append(asyncio.create_task(outbox.run(self._stop)))
        snapshots: ViewSnapshots | None = app.state.platform.snapshots
        if snapshots is not None and isinstance(self._raw_log, SqliteEventLog):
            # every worker restores the views from the one file; the leader writes it
            policy = SnapshotPolicy(settings.snapshot_every_s, settings.snapshot_min_records)
            committer = snapshot_committer(self._raw_log)
            saving = snapshots.run(self._stop, policy, self._raw_log.record_at, committer)
            self._jobs.append(asyncio.create_task(saving))

    async def take_up_when_leading(self, bus: CommandBus) -> None:
        if await _leads(bus, self._stop):
            try:
                await self.take_up()
            except Exception:
                logger.exception("the new leader could not take up the once-only work")
                raise

    async def lay_down(self) -> None:
        """After `stop`: wait for the jobs to end (the children's last work included)."""
        await asyncio.gather(*self._jobs, return_exceptions=True)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # the modules' heap lives as long as the process and holds next to no garbage (a
    # collection here finds a dozen objects): out of the collector's sight from now on, so
    # neither the collections the fold and the seed trigger nor the one before the last
    # freeze walk it again (that one walked about 95,000 objects, 0.1 s)
    gc.freeze()
    raw_log = make_log(settings)
    event_log = middleware.guard_log(app, raw_log)
    await event_log.start()
    outbox = Outbox(settings.outbox_path, settings.smtp)
    app.state.outbox = outbox
    auth: Auth = app.state.auth
    platform = assemble(event_log, settings, Mailer(outbox, auth.tokens, settings.shop_url))
    app.state.platform = platform
    middleware.observe_platform(app, platform)
    # the views' snapshots need the embedded log (a record at an offset, a consumer's seek)
    snapshot_log = raw_log if isinstance(raw_log, SqliteEventLog) else None
    snapshots = platform.snapshots if snapshot_log is not None else None
    if snapshots is not None and snapshot_log is not None:
        await restore_views(snapshots, snapshot_log)
    await platform.projection.start()
    await platform.fanout.start()
    await platform.projection.ready.wait()
    await platform.bus.start()
    if platform.bus.leading:
        await platform.accounts.import_legacy(settings.data_dir)
    if settings.demo_users:
        await platform.accounts.seed_demo_users()
    if settings.seed and not holds_seed(platform.service.state):
        products, reviews = seed_shop(now_ms())
        await platform.service.seed_catalog(products)
        await platform.service.seed_reviews(reviews)
    stop = asyncio.Event()
    app.state.event_store_opener = StoreOpener(settings.warehouse)
    if sink_enabled(settings):
        # the store routes of every worker are answered by the leader's sink process, which
        # holds the store open (its socket's address follows from the data directory)
        app.state.store_reads = StoreReads(reads_address(settings.data_dir), API_PREFIX)
    duties = Duties(app, settings, event_log, raw_log, stop)
    promotion: asyncio.Task[None] | None = None
    if platform.bus.leading:
        await duties.take_up()
    else:
        promotion = asyncio.create_task(duties.take_up_when_leading(platform.bus))
    timed = _issues_timed_commands(settings, platform.bus)
    ticker = asyncio.create_task(_every(TICK_SECONDS, _ticker(platform, timed)))
    # the start-up heap (modules, the folded views) lives as long as the process: out of the
    # collector's sight, a full collection no longer walks it on the request path
    gc.collect()
    gc.freeze()
    # what the start-up freed (a restored snapshot's decoding) is not kept mapped
    heap.release_freed()
    try:
        yield
    finally:
        ticker.cancel()
        stop.set()
        await asyncio.gather(*([promotion] if promotion else []), return_exceptions=True)
        await duties.lay_down()
        outbox.close()
        leading = platform.bus.leading
        # the lock goes last: a successor starts the processors once these have stopped
        await platform.bus.close()
        await platform.fanout.stop()
        await platform.projection.stop()
        if leading and snapshots is not None and snapshot_log is not None:
            await _final_snapshot(snapshots, snapshot_log)
        await event_log.close()


async def _final_snapshot(snapshots: ViewSnapshots, log: SqliteEventLog) -> None:
    """At a clean stop: the views as the followers left them, so the next start folds nothing."""
    if not snapshots.outdated():
        return
    try:
        await snapshots.save(log.record_at, snapshot_committer(log))
    except (OSError, ValueError, RuntimeError):
        logger.exception("views snapshot at stop failed")


system = declared_router(tags=["system"])


@system.get("/health", response_model=Health)
async def health(request: Request) -> Response:
    platform: Platform = request.app.state.platform
    answer = json({"status": "ok", "recordsApplied": platform.projection.records_applied})
    answer.raw_headers.append(worker_header())
    return answer


@system.get("/ready", response_model=Health, responses={503: {"model": Health}})
async def ready(request: Request) -> Response:
    platform: Platform = request.app.state.platform
    caught_up = platform.projection.ready.is_set() and platform.fanout.ready.is_set()
    body = {"status": "ready" if caught_up else "starting"}
    answer = json(body, 200 if caught_up else 503)
    if caught_up and not request.app.state.routes_built:
        # the shop's routes, built once the first "ready" has been sent (`api/declared.py`;
        # before it, only the routers in front of this one were), in a worker thread, as
        # Starlette runs a plain function's background: the loop keeps serving between
        # the build's turns (FastAPI builds an inclusion's routes under a lock)
        request.app.state.routes_built = True
        answer.background = BackgroundTask(build_routes, request.app)
    return answer


@system.get("/images/products/{name}", response_class=Response)
async def product_image(
    request: Request, name: Annotated[str, PathParam(max_length=140)]
) -> Response:
    platform: Platform = request.app.state.platform
    product = platform.service.state.products.get(name.removesuffix(".svg"))
    svg = product_svg(product) if product else placeholder_svg()
    headers = {"Cache-Control": "public, max-age=3600"}
    return Response(svg, media_type="image/svg+xml", headers=headers)


@system.get("/images/uploads/{name}", response_class=Response, responses={404: {"model": ErrorOut}})
async def uploaded_image(
    request: Request, name: Annotated[str, PathParam(max_length=60)]
) -> Response:
    """An operator's re-encoded upload; its name is the hash of its bytes, so it never changes."""
    data = request.app.state.images.get(name)
    if data is None:
        return error_response(404, "not_found", f"no uploaded image '{name}'")
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    return Response(data, media_type="image/webp", headers=headers)


class KartShoppeApi(FastAPI):
    """The app, whose hot catalog reads are answered before its middleware stack is entered
    (`api/fastpath.py`): FastAPI's entry, error layer and body limit cost more than the read."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.hot_reads = HotReads(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and await self.hot_reads.serve(scope, send):
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = KartShoppeApi(
        title="KartShoppe",
        version="0.1.0",
        description="Real-time, event-sourced, CQRS e-commerce platform",
        lifespan=lifespan,
        # the edge middleware traces requests itself (api/middleware.py)
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.images = ImageStore(settings.data_dir / "images")
    app.state.routes_built = False
    errors.install(app)
    middleware.install(app, settings)
    # in front of the shop's routers: a readiness probe builds these few routes only (FastAPI
    # builds an included router's routes on the first request matched through it)
    app.include_router(system)
    # its security headers go on every answer, the edge's refusals included
    app.add_middleware(Serving)
    # outermost: a read that passes a write's log position waits for it (the hot reads leave
    # such a read to this stack)
    app.add_middleware(ReadYourWrites)
    # the WebSocket routes answered before the HTTP layers, with the server's own send (the
    # hub writes frames through it)
    app.add_middleware(WebSocketsFirst, router=ws_router)
    guards = {
        cart: NAMED_USER,
        orders: NAMED_USER,
        live: NAMED_USER,
        admin: OPERATOR,
        event_store: OPERATOR,
    }
    for module in SHOP_ROUTES:
        app.include_router(module.router, prefix=API_PREFIX, dependencies=guards.get(module))
    app.include_router(ws_router)
    app.include_router(web_routes(settings.web_dir))
    return app
