"""`POST /events`: a batch of tracking events; bad ones go to the DLQ with their reason."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from kartshoppe.api.deps import Live
from kartshoppe.api.errors import error_response
from kartshoppe.api.routes._responses import ERRORS, json
from kartshoppe.api.schemas import TrackOut

MAX_BATCH = 500

router = APIRouter(tags=["tracking"], responses=ERRORS)


@router.post("/events", response_model=TrackOut)
async def track_events(p: Live, events: Annotated[list[Any], Body(max_length=100_000)]) -> Response:
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
