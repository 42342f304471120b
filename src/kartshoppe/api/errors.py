"""Every error a client can cause becomes a 4xx with a JSON body naming the problem.

Shape: `{"error": code, "message": text, "details": [{"field", "message"}]}` (docs/API.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from kartshoppe.domain.errors import DomainError, NotFoundError

WEB_APP_ROUTE = "web_app"
"""The name of the catch-all route that serves the web app (see `web.web_routes`)."""

UNPROCESSABLE = frozenset(
    {
        "line_limit",
        "invalid_price",
        "invalid_discount",
        "invalid_duration",
        "invalid_quantity",
        "validation_error",
        "invalid_address",
        "invalid_delivery",
        "invalid_card",
        "invalid_coupon",
        "unknown_coupon",
        "coupon_not_started",
        "coupon_expired",
        "coupon_below_minimum",
        "coupon_exhausted",
        "coupon_customer_limit",
        "coupon_not_applicable",
    }
)
OTHER_STATUS = {
    "card_declined": 402,
    "payment_unavailable": 503,
    "product_retired": 410,
    "invalid_rating": 400,
    "not_a_buyer": 403,
}
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {"error": code, "message": message, "details": details or []}
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


class UnknownQueryParameters(Exception):
    """Query parameters that the route does not take: a typo is refused, never ignored."""

    def __init__(self, unknown: list[str], known: list[str]) -> None:
        super().__init__(unknown)
        self.unknown = unknown
        self.known = known


def status_of(exc: DomainError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if exc.code in OTHER_STATUS:
        return OTHER_STATUS[exc.code]
    return 422 if exc.code in UNPROCESSABLE else 409


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    return [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]


async def on_domain_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    details = [{"field": exc.field, "message": exc.message}] if exc.field else []
    return error_response(status_of(exc), exc.code, exc.message, details)


async def on_validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if any(e["type"] == "json_invalid" for e in exc.errors()):
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    details = validation_details(exc)
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return error_response(422, "validation_error", summary or "invalid request", details)


async def on_unknown_query(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, UnknownQueryParameters)
    accepted = ", ".join(exc.known) or "none"
    details = [
        {"field": name, "message": f"unknown parameter (this route takes: {accepted})"}
        for name in exc.unknown
    ]
    names = ", ".join(exc.unknown)
    message = f"unknown query parameter {names}; this route takes: {accepted}"
    return error_response(400, "unknown_parameter", message, details)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    route = request.scope.get("route")
    if exc.status_code == 405 and getattr(route, "name", None) == WEB_APP_ROUTE:
        # only the web app's GET catch-all matched the path: there is no such route at all
        return error_response(404, "not_found", f"no route {request.method} {request.url.path}")
    code = HTTP_CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(UnknownQueryParameters, on_unknown_query)
    app.add_exception_handler(HTTPException, on_http_error)
