"""The built React app at `/`: hashed assets cached for a year and sent precompressed when the
build made a `.br` or `.gz` beside them and the client takes it; every unknown path is answered
by the index page, which is revalidated on every visit."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Final

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from kartshoppe.api import errors
from kartshoppe.api.declared import declared_router
from kartshoppe.api.serving import negotiate

API_PREFIX: Final = "/api/ecommerce"
HASHED_DIR: Final = "assets/"
"""Vite names every file it writes here after its content's hash: a new build, a new name."""
IMMUTABLE: Final = "public, max-age=31536000, immutable"
PRECOMPRESSED: Final = {"br": ".br", "gzip": ".gz"}

NOT_BUILT = """<!doctype html><title>KartShoppe</title>
<h1>KartShoppe API is running</h1>
<p>The web app is not built: run <code>make run</code>. API docs: <a href="/docs">/docs</a>.</p>"""


def asset_response(file: Path, path: str, accept_encoding: str) -> Response:
    """One file of the build, in the best encoding that was precompressed for it."""
    headers = {"Cache-Control": IMMUTABLE} if path.startswith(HASHED_DIR) else {}
    media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    offered = tuple(
        c for c, suffix in PRECOMPRESSED.items() if file.with_name(file.name + suffix).is_file()
    )
    coding = negotiate(accept_encoding, offered) if offered else None
    if offered:
        headers["Vary"] = "Accept-Encoding"
    if coding is None:
        return FileResponse(file, media_type=media_type, headers=headers)
    headers["Content-Encoding"] = coding
    encoded = file.with_name(file.name + PRECOMPRESSED[coding])
    return FileResponse(encoded, media_type=media_type, headers=headers)


def web_routes(web_dir: Path) -> APIRouter:
    router = declared_router(include_in_schema=False)
    root = web_dir.resolve()

    @router.get("/{path:path}", name=errors.WEB_APP_ROUTE)
    async def web(path: str, request: Request) -> Response:
        if path.startswith(API_PREFIX.lstrip("/")):
            return errors.error_response(404, "not_found", f"no route /{path}")
        candidate = (web_dir / path).resolve()
        if path and candidate.is_file() and root in candidate.parents:
            return asset_response(candidate, path, request.headers.get("accept-encoding", ""))
        index = web_dir / "index.html"
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(NOT_BUILT)

    return router
