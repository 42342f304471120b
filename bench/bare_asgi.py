"""The reference under the catalog benchmark: a bare ASGI app answering the same bytes as
KartShoppe, from the same files nginx serves, on the same HTTP server, with no edge at all.

`python bench/bare_asgi.py --root DIR --port P --server uvicorn|granian`
"""

from __future__ import annotations

import argparse
import os
import pathlib
from typing import Any

ROOT_VARIABLE = "BARE_ASGI_ROOT"
HEADERS = [(b"content-type", b"application/json")]


def load(root: pathlib.Path) -> dict[str, bytes]:
    return {"/" + str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def create_app() -> Any:
    bodies = load(pathlib.Path(os.environ[ROOT_VARIABLE]))
    missing = b'{"error":"not_found"}'

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = bodies.get(scope["path"])
        headers = [*HEADERS, (b"content-length", str(len(body or missing)).encode())]
        status = 200 if body is not None else 404
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body or missing})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=pathlib.Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn")
    args = parser.parse_args()
    os.environ[ROOT_VARIABLE] = str(args.root)
    if args.server == "granian":
        from granian.constants import Interfaces, Loops
        from granian.server import Server

        Server(
            "bare_asgi:create_app",
            port=args.port,
            interface=Interfaces.ASGI,
            loop=Loops.uvloop,
            factory=True,
            working_dir=pathlib.Path(__file__).parent,
            log_enabled=False,
        ).serve()
    else:
        import uvicorn

        uvicorn.run(
            create_app(),
            host="127.0.0.1",
            port=args.port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
        )


if __name__ == "__main__":
    main()
