"""A floor under the catalog benchmark: the least a Python server on uvloop does for a read,
with the same bytes as nginx and KartShoppe from the same files.

No HTTP parsing beyond finding the end of a request and the path in its request line, no
headers but the content type and length, no edge: one `writelines` of a prebuilt head and the
body per request. What KartShoppe costs above it is its HTTP handling and its edge; what it costs
below nginx is Python and uvloop.

`python bench/floor_protocol.py --root DIR --port P`
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
from typing import Any

import uvloop
from bare_asgi import load

MISSING = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", b""


def answers(root: pathlib.Path) -> dict[bytes, tuple[bytes, bytes]]:
    """Head and body for each path under `root`."""
    return {
        path.encode(): (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n" % len(body),
            body,
        )
        for path, body in load(root).items()
    }


class Floor(asyncio.Protocol):
    def __init__(self, kept: dict[bytes, tuple[bytes, bytes]]) -> None:
        self.kept = kept
        self.transport: Any = None
        self.pending = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        pending = self.pending + data if self.pending else data
        while (end := pending.find(b"\r\n\r\n")) >= 0:
            start = pending.index(b" ") + 1
            path = pending[start : pending.index(b" ", start)]
            self.transport.writelines(self.kept.get(path, MISSING))
            pending = pending[end + 4 :]
        self.pending = pending


async def serve(root: pathlib.Path, port: int) -> None:
    kept = answers(root)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Floor(kept), "127.0.0.1", port)
    await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=pathlib.Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.root, args.port))


if __name__ == "__main__":
    main()
