"""Read your writes on any instance (docs/API.md, "Consistent reads").

A write's answer carries `X-Log-Position`: the log positions its events reached. A request that
passes those positions back (the same header, or the `after` query parameter) waits until this
instance's fold has applied them, at most `READ_WAIT_S`, then is served; past that it gets 503
with `Retry-After`. Pure ASGI, outermost, so even the catalog fast path honours it.
"""

from __future__ import annotations

import asyncio
from typing import Final
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kartshoppe.api.errors import error_response
from kartshoppe.application import consistency

HEADER: Final = "x-log-position"
QUERY: Final = "after"
READ_WAIT_S: Final = 5.0


def _wanted(scope: Scope) -> tuple[str, str] | None:
    for name, value in scope.get("headers", ()):
        if name == HEADER.encode():
            return "X-Log-Position", value.decode("latin-1")
    raw = scope.get("query_string", b"")
    if QUERY.encode() not in raw:
        return None
    query = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    given = [value for name, value in query if name == QUERY]
    return (QUERY, given[-1]) if given else None


def _without_after(scope: Scope) -> Scope:
    """The request as the routes see it: `after` is the edge's parameter, not the route's
    (routes refuse parameters they do not declare)."""
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    kept = [(name, value) for name, value in query if name != QUERY]
    return {**scope, "query_string": urlencode(kept).encode("latin-1")}


class ReadYourWrites:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = _wanted(scope)
        platform = getattr(scope["app"].state, "platform", None)
        if wanted is not None and platform is not None:
            field, text = wanted
            try:
                positions = consistency.decode(text)
            except ValueError as exc:
                answer = error_response(
                    400, "invalid_position", str(exc), [{"field": field, "message": str(exc)}]
                )
                await answer(scope, receive, send)
                return
            if not platform.projection.has_applied(positions):
                # written by another process (a worker of `serve --workers`): look at the log
                # now rather than at the embedded log's next look
                scope["app"].state.event_log.look_again()
            try:
                await asyncio.wait_for(platform.projection.wait_positions(positions), READ_WAIT_S)
            except TimeoutError:
                message = "this instance has not reached that log position yet; try again"
                answer = error_response(503, "not_caught_up", message, headers={"Retry-After": "1"})
                await answer(scope, receive, send)
                return
            scope = _without_after(scope)
        if scope["method"] in ("GET", "HEAD"):
            # reads write nothing: no position to answer with
            await self.app(scope, receive, send)
            return
        written = consistency.collect()

        async def send_with_position(message: Message) -> None:
            if message["type"] == "http.response.start" and written:
                headers = [*message.get("headers", ())]
                headers.append((HEADER.encode(), consistency.encode(written).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_position)
