"""`POST /events`: a batch of tracking events; bad ones go to the DLQ with their reason.

The body is a JSON array of events or, as the original KartShoppe client sends it, an envelope
`{"events": [...], "sessionId", "userId"}` whose ids fill each event's missing ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from fastapi.exceptions import RequestValidationError
from pydantic import Field, ValidationError
from starlette.responses import Response

from kartshoppe.api.declared import declared_router
from kartshoppe.api.deps import Live
from kartshoppe.api.errors import error_response
from kartshoppe.api.routes._responses import ERRORS, json
from kartshoppe.api.schemas import TrackingEnvelope, TrackOut

MAX_BATCH = 500
Batch = Annotated[list[Any], Field(max_length=100_000)]

router = declared_router(tags=["tracking"], responses=ERRORS)


def envelope_of(body: dict[str, Any]) -> TrackingEnvelope:
    try:
        return TrackingEnvelope.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from exc


def with_envelope_ids(envelope: TrackingEnvelope) -> list[Any]:
    """The envelope's events, each object given the envelope's ids where its own are missing."""
    ids = {"sessionId": envelope.session_id, "userId": envelope.user_id}
    return [_filled(event, ids) if isinstance(event, dict) else event for event in envelope.events]


def _filled(event: dict[str, Any], ids: dict[str, str | None]) -> dict[str, Any]:
    missing = {
        name: value for name, value in ids.items() if value is not None and event.get(name) is None
    }
    return {**event, **missing}


@router.post("/events", response_model=TrackOut)
async def track_events(p: Live, body: Annotated[Batch | dict[str, Any], Body()]) -> Response:
    events = body if isinstance(body, list) else with_envelope_ids(envelope_of(body))
    if len(events) > MAX_BATCH:
        return error_response(
            413,
            "batch_too_large",
            f"a batch holds at most {MAX_BATCH} events, got {len(events)}",
            [{"field": "body", "message": f"at most {MAX_BATCH} events"}],
        )
    result = await p.service.track(events)
    errors = [
        {"index": r.index, "eventId": r.event_id, "reason": r.reason, "details": r.details}
        for r in result.rejections
    ]
    return json({"accepted": result.accepted, "rejected": len(errors), "errors": errors})
