"""The edge of the HTTP API: request ids, body size limit, rate limits, metrics, access logs
and the request's trace span, in one pure ASGI middleware (one layer costs less than five).

`install(app)` adds it with `/metrics`, the auth state and the error handlers; the lifespan
calls `guard_log` on the event log it opens and `observe_platform` on the assembled platform.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from typing import Any, Final

import orjson
from fastapi import APIRouter, FastAPI
from fastapi.routing import _get_scope_effective_route_context
from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kartshoppe.api.deps import Platform
from kartshoppe.api.errors import error_response
from kartshoppe.api.ratelimit import RateLimiter, limits_from_env, retry_after_header, route_class
from kartshoppe.application.projection import STATE_TOPICS
from kartshoppe.config import Settings
from kartshoppe.eventlog.guarded import GuardedEventLog
from kartshoppe.eventlog.port import EventLog, LogUnavailableError, Record
from kartshoppe.events import Event, Topic
from kartshoppe.observability.access_log import AccessLog
from kartshoppe.observability.logging import (
    configure_logging,
    event_ids_var,
    request_id_var,
)
from kartshoppe.observability.metrics import Metrics, Tally
from kartshoppe.observability.tracing import Tracing
from kartshoppe.pictures.uploads import MAX_UPLOAD_BYTES
from kartshoppe.resilience import CircuitOpenError
from kartshoppe.security.guards import AccessError, Auth
from kartshoppe.security.tokens import TokenError

DEFAULT_MAX_BODY: Final = 1024 * 1024
UPLOAD_PATH: Final = re.compile(r"^/api/ecommerce/admin/products/[^/]+/image$")
"""The one route whose body may exceed the default limit: an operator's image upload."""


def body_limit(path: str, default: int) -> tuple[int, str]:
    """The most bytes a request body to `path` may have, and the field a refusal names."""
    if UPLOAD_PATH.match(path):
        return max(default, MAX_UPLOAD_BYTES), "image"
    return default, "body"


REQUEST_ID: Final = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
"""A client's `X-Request-ID` that is kept (and logged as it is); any other gets a new id."""


class Edge:
    """Everything the middleware consults, built once per app."""

    def __init__(
        self, metrics: Metrics, limiter: RateLimiter, auth: Auth, tracing: Tracing, max_body: int
    ) -> None:
        self.metrics = metrics
        self.limiter = limiter
        self.auth = auth
        self.tracing = tracing
        self.max_body = max_body
        self.access_log = AccessLog()
        # 32 hex digits: this process's random half, then a counter (cheaper than uuid4 a
        # request, and as unique across processes and restarts)
        self._id_prefix = uuid.uuid4().hex[:16].encode()
        self._ids = itertools.count()
        self._latency: dict[tuple[str, str, int], Tally] = {}

    def request_id(self, headers: dict[bytes, bytes]) -> bytes:
        """The client's `X-Request-ID` when it is a sane one, else a new id."""
        given = headers.get(b"x-request-id")
        if given is not None and REQUEST_ID.match(given):
            return given
        return b"%s%016x" % (self._id_prefix, next(self._ids))

    def finish(
        self,
        request_id: bytes,
        method: str,
        path: str,
        template: str,
        status: int,
        started: float,
        event_ids: list[str] | None = None,
        code: str | None = None,
    ) -> None:
        """What every answered request leaves behind: its latency, its error count, its
        access-log line."""
        if status >= 400:
            self.metrics.errors.labels(code or f"http_{status}").inc()
        prefix = self.access_log.prefix(method, path, template, status, event_ids, code)
        self.count(self.latency(template, method, status), prefix, request_id, started)

    def count(self, tally: Tally, log_prefix: bytes, request_id: bytes, started: float) -> None:
        """`finish` for an answer whose latency series and log-line prefix are found already
        (a hot read's, kept with it)."""
        seconds = time.perf_counter() - started
        tally.observe(seconds)
        self.access_log.record(log_prefix, started, seconds, request_id)

    def latency(self, template: str, method: str, status: int) -> Tally:
        """The latency histogram's child for these labels (found once, then kept)."""
        key = (template, method, status)
        child = self._latency.get(key)
        if child is None:
            child = self._latency[key] = self.metrics.http_latency.labels(
                template, method, str(status)
            )
        return child

    def client_of(self, client: tuple[str, int] | None, headers: dict[bytes, bytes]) -> str:
        """The signed-in user when the token is good, else the peer address."""
        header = headers.get(b"authorization")
        if header is not None:
            scheme, _, token = header.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                try:
                    return "user:" + self.auth.tokens.verify(token.strip()).user_id
                except TokenError:
                    pass
        return "ip:" + (client[0] if client else "unknown")


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, edge: Edge) -> None:
        self.app = app
        self.edge = edge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        edge = self.edge
        headers = dict(scope["headers"])
        request_id = edge.request_id(headers)
        request_id_var.set(request_id.decode("latin-1"))
        event_ids: list[str] = []
        event_ids_var.set(event_ids)
        method: str = scope["method"]
        path: str = scope["path"]
        started = time.perf_counter()
        outcome: dict[str, Any] = {"status": 500, "code": None, "sent": False}

        async def send_with_id(message: Message) -> None:
            if outcome.get("refused"):
                return
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                outcome["sent"] = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id),
                ]
                outcome["json"] = any(
                    k.lower() == b"content-type" and v.startswith(b"application/json")
                    for k, v in message["headers"]
                )
            elif (
                message["type"] == "http.response.body"
                and outcome["status"] >= 400
                and outcome.get("json")
                and outcome["code"] is None
            ):
                outcome["code"] = _error_code(message.get("body", b""))
            await send(message)

        refusal = self._refusal(scope, headers, method, path)
        if refusal is not None:
            await refusal(scope, receive, send_with_id)
        else:
            await self._serve(scope, receive, send_with_id, outcome, method, path)
        template = route_template(scope) or "unmatched"
        status, code = outcome["status"], outcome["code"]
        edge.finish(request_id, method, path, template, status, started, event_ids, code)

    def _refusal(
        self, scope: Scope, headers: dict[bytes, bytes], method: str, path: str
    ) -> Response | None:
        edge = self.edge
        length = headers.get(b"content-length")
        limit, field = body_limit(path, edge.max_body)
        if length is not None and length.isdigit() and int(length) > limit:
            return _too_large(limit, field)
        klass = route_class(method, path)
        if klass is None:
            return None
        wait = edge.limiter.take_or_wait(klass, edge.client_of(scope.get("client"), headers))
        if not wait:
            return None
        edge.metrics.rate_limited.labels(klass.value).inc()
        return error_response(
            429,
            "rate_limited",
            f"too many {klass.value} requests; retry in {retry_after_header(wait)}s",
            headers={"Retry-After": retry_after_header(wait)},
        )

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        outcome: dict[str, Any],
        method: str,
        path: str,
    ) -> None:
        limit, field = body_limit(path, self.edge.max_body)
        received = 0

        async def counted() -> Message:
            # a body without Content-Length that grows past the limit: answer 413 here and
            # tell the app the client left, so whatever it answers instead is dropped
            nonlocal received
            message = await receive()
            if message["type"] == "http.request" and not outcome.get("refused"):
                received += len(message.get("body", b""))
                if received > limit and not outcome["sent"]:
                    await _too_large(limit, field)(scope, receive, send)
                    outcome["refused"] = True
            if outcome.get("refused"):
                return {"type": "http.disconnect"}
            return message

        if not self.edge.tracing.enabled:
            try:
                await self.app(scope, counted, send)
            except Exception:
                if not outcome.get("refused"):
                    raise
            return
        tracer = self.edge.tracing.tracer
        with tracer.start_as_current_span(f"{method} {path}", kind=trace.SpanKind.SERVER) as span:
            try:
                await self.app(scope, counted, send)
            except Exception:
                if not outcome.get("refused"):
                    raise
            template = route_template(scope) or path
            span.update_name(f"{method} {template}")
            span.set_attribute("http.request.method", method)
            span.set_attribute("http.route", template)
            span.set_attribute("url.path", path)
            span.set_attribute("http.response.status_code", outcome["status"])


def route_template(scope: Scope) -> str | None:
    """The matched route's path template with its router prefix (`/api/ecommerce/cart/{sessionId}`).

    FastAPI keeps included routers by reference; the prefixed template of the matched route is
    on its effective route context, which FastAPI exposes only through this private helper."""
    context = _get_scope_effective_route_context(scope)
    template = getattr(context, "path_format", None)
    if isinstance(template, str) and template:
        return template
    return getattr(scope.get("route"), "path", None)


def _error_code(body: bytes) -> str | None:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    code = parsed.get("error") if isinstance(parsed, dict) else None
    return code if isinstance(code, str) else None


def _too_large(limit: int, field: str = "body") -> Response:
    return error_response(
        413,
        "payload_too_large",
        f"the request body is larger than {limit} bytes",
        [{"field": field, "message": f"at most {limit} bytes"}],
    )


async def _on_access_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, AccessError)
    details = [{"field": exc.field, "message": exc.message}] if exc.field else []
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, details, headers)


async def _on_log_unavailable(_: Request, exc: Exception) -> Response:
    wait = exc.retry_after if isinstance(exc, CircuitOpenError) else 1.0
    return error_response(
        503,
        "log_unavailable",
        "the event log cannot take writes right now; try again soon",
        headers={"Retry-After": retry_after_header(wait)},
    )


def _metrics_router(metrics: Metrics) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def scrape(request: Request) -> Response:
        platform: Platform | None = getattr(request.app.state, "platform", None)
        event_log: EventLog | None = getattr(request.app.state, "event_log", None)
        if platform is not None and event_log is not None:
            await refresh(metrics, platform, event_log)
        runner = getattr(request.app.state, "runner", None)
        if runner is not None:
            metrics.set_processors(runner.stats(), int(time.time() * 1000))
            metrics.set_processor_lag(await runner.lag())
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return router


async def refresh(metrics: Metrics, platform: Platform, log: EventLog) -> None:
    """Read the gauges that live in components."""
    metrics.ws_connections.set(len(platform.hub.connections))
    metrics.set_cache(platform.catalog.hits, platform.catalog.misses)
    lags = {}
    for name, projection, topics in (
        ("views", platform.projection, STATE_TOPICS),
        ("fanout", platform.fanout, (Topic.FANOUT,)),
    ):
        end = 0
        for topic in topics:
            end += sum((await log.end_offsets(topic)).values())
        lags[name] = end - projection.position_total
    metrics.set_lag(lags)
    metrics.set_command_lag(platform.bus.lag)


ERROR_REF: Final = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
}


def document_edge_answers(app: FastAPI) -> None:
    """Put the answers the edge and the guards can give into the served OpenAPI schema: 413
    and 429 on every API operation, 503 on writes, 401 and 403 where a token is read."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for method, operation in operations.items():
                answers = operation.setdefault("responses", {})
                codes = ["413", "429"]
                codes += ["503"] if method in ("post", "put", "patch", "delete") else []
                codes += ["401", "403"] if "security" in operation else []
                for code in codes:
                    answers.setdefault(code, ERROR_REF)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, settings: Settings) -> None:
    """Auth state, the edge middleware, `/metrics` and the error handlers of this issue."""
    configure_logging(settings.log_level)
    metrics = Metrics()
    tracing = Tracing(settings.otel_exporter)
    auth = Auth.from_settings(settings)
    limiter = RateLimiter(limits_from_env(settings.rate_limits()))
    max_body = settings.max_body_bytes
    app.state.metrics = metrics
    app.state.tracing = tracing
    app.state.auth = auth
    app.state.rate_limiter = limiter
    edge = Edge(metrics, limiter, auth, tracing, max_body)
    app.state.edge = edge
    app.add_middleware(EdgeMiddleware, edge=edge)
    app.add_exception_handler(AccessError, _on_access_error)
    app.add_exception_handler(LogUnavailableError, _on_log_unavailable)
    app.add_exception_handler(CircuitOpenError, _on_log_unavailable)
    app.include_router(_metrics_router(metrics))
    document_edge_answers(app)


def guard_log(app: FastAPI, event_log: EventLog) -> GuardedEventLog:
    settings: Settings = app.state.settings
    attempts = 1 if settings.bus == "kafka" else 3
    guarded = GuardedEventLog(event_log, app.state.metrics, app.state.tracing, attempts=attempts)
    app.state.event_log = guarded
    return guarded


def observe_platform(app: FastAPI, platform: Platform) -> None:
    """Trace each event from its append to the view update that pushes it to WebSockets."""
    tracing: Tracing = app.state.tracing
    if not tracing.enabled:
        return

    def pushed(record: Record, event: Event) -> None:
        parent = tracing.parent_of(event.event_id)
        if parent is None:
            return
        context = trace.set_span_in_context(NonRecordingSpan(parent))
        span = tracing.tracer.start_span(
            "view.apply+ws.push",
            context=context,
            start_time=record.timestamp * 1_000_000,
            links=[Link(parent)],
        )
        span.set_attribute("kartshoppe.event_type", event.event_type)
        span.set_attribute("kartshoppe.event_id", event.event_id)
        span.set_attribute("kartshoppe.ws_connections", len(platform.hub.connections))
        span.end()

    platform.projection.subscribe(pushed)
    platform.fanout.subscribe(pushed)
