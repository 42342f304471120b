"""Small helpers shared by the route modules: JSON responses from bytes or plain data."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from kartshoppe.api.schemas import ErrorOut

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 404, 409, 413, 422)
}


def raw_json(body: bytes, status: int = 200) -> Response:
    return Response(body, status, media_type="application/json")


def json(data: Any, status: int = 200) -> Response:
    return raw_json(orjson.dumps(data), status)
