"""Reading back the test records a test tagged: `{"tag": <tag>, "n": <number>}` values."""

from __future__ import annotations

import time

import orjson

from kartshoppe.eventlog.port import Consumer


async def read_tagged(
    consumer: Consumer, tag: str, count: int, within_s: float = 20.0
) -> list[int]:
    """The `n` of each record carrying `tag`, in the order the consumer returned them, until
    `count` came or time ran out."""
    deadline = time.monotonic() + within_s
    seen: list[int] = []
    while len(seen) < count and time.monotonic() < deadline:
        for record in await consumer.poll(max_records=1000, timeout=0.5):
            body = orjson.loads(record.value)
            if body.get("tag") == tag:
                seen.append(body["n"])
    return seen
