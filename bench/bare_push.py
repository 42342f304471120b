"""The floor under the write benchmark: a bare ASGI app on the server and settings `kartshoppe
serve` uses (uvicorn, uvloop, httptools, sans-I/O WebSockets) that answers `POST /add/{user}`
by pushing a cart-sized text message to every WebSocket of `user` (`/ws/{user}`) and answering
with the same JSON. With `--db`, each POST first commits one row to that SQLite file the way
the event log does (WAL, `synchronous=FULL`, one writer thread folding what is queued into one
transaction, the caller's loop woken when it is on disk): the least a durable write and its
push can cost here. Without `--db`, the HTTP-to-WebSocket round trip alone.

`python bench/bare_push.py --port P [--db FILE]`
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import queue
import sqlite3
import threading
from typing import Any

import orjson

PADDING = "x" * 900
"""About the size of a `CART_UPDATED` with a few lines."""
HEADERS = [(b"content-type", b"application/json")]

Pending = tuple[asyncio.Future[None], asyncio.AbstractEventLoop]


class Writer:
    """One thread owns the write connection and commits whatever is queued in one transaction."""

    def __init__(self, path: pathlib.Path) -> None:
        self._path = path
        self._queue: queue.SimpleQueue[Pending] = queue.SimpleQueue()
        threading.Thread(target=self._run, daemon=True).start()

    def commit(self) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put((future, loop))
        return future

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, value BLOB)")
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO rows (value) VALUES (?)", [(PADDING,)] * len(batch))
            conn.execute("COMMIT")
            for future, loop in batch:
                loop.call_soon_threadsafe(future.set_result, None)


def create_app(writer: Writer | None) -> Any:
    sockets: dict[str, set[Any]] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            user = scope["path"].rsplit("/", 1)[-1]
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            sockets.setdefault(user, set()).add(send)
            try:
                while (await receive())["type"] != "websocket.disconnect":
                    pass
            finally:
                sockets[user].discard(send)
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            part = await receive()
            body += part.get("body", b"")
            if not part.get("more_body"):
                break
        if scope["path"].startswith("/add/"):
            if writer is not None:
                await writer.commit()
            count = orjson.loads(body)["n"]
            text = orjson.dumps(
                {"type": "CART_UPDATED", "cart": {"itemCount": count, "padding": PADDING}}
            )
            for other in list(sockets.get(scope["path"].rsplit("/", 1)[-1], ())):
                await other({"type": "websocket.send", "text": text.decode()})
            answer = orjson.dumps({"itemCount": count})
        else:
            answer = b'{"status":"ready"}'
        headers = [*HEADERS, (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=pathlib.Path, help="commit each add durably to this file")
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(
        create_app(None if args.db is None else Writer(args.db)),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
