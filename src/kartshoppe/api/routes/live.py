"""Live outputs of the processors: analytics totals and a shopper's latest recommendations."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from starlette.responses import Response

from kartshoppe.api.declared import declared_router
from kartshoppe.api.deps import Live
from kartshoppe.api.routes._responses import ERRORS, json
from kartshoppe.api.schemas import RecommendationOut
from kartshoppe.events import Analytics, Id, event_to_dict

router = declared_router(tags=["live"], responses=ERRORS)


@router.get("/analytics", response_model=Analytics)
async def analytics(p: Live) -> Response:
    return json(p.live.analytics)


@router.get("/recommendations/{sessionId}", response_model=list[RecommendationOut])
async def recommendations(
    p: Live,
    session_id: Annotated[Id, Path(alias="sessionId")],
    user_id: Annotated[Id | None, Query(alias="userId")] = None,
) -> Response:
    found = (p.catalog.offered(r) for r in p.live.recommendations(session_id, user_id))
    return json([event_to_dict(r) for r in found if r is not None])
