"""Request size limits and the events batch: bad input is a JSON 4xx, bad events go to the DLQ."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import orjson

from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import Topic
from tests.security.security_support import API, assert_error, fresh
from tests.support.server import ServerProcess


def read_topic(server: ServerProcess, topic: str) -> list[Any]:
    async def read() -> list[Any]:
        async with SqliteEventLog(server.data_dir / "log.sqlite") as log:
            end = sum((await log.end_offsets(topic)).values())
            records = await log.read(topic, 0, end)
        return [orjson.loads(r.value) for r in records]

    return asyncio.run(read())


def test_a_body_over_one_mebibyte_is_413(api: httpx.Client) -> None:
    big = json.dumps([{"eventType": "PAGE_VIEW", "pad": "x" * 1024}] * 1100)
    response = api.post(f"{API}/events", content=big, headers={"content-type": "application/json"})
    assert_error(response, 413, "payload_too_large")


def test_a_chunked_body_over_the_limit_is_413(api: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(1200):
            yield b'{"eventType":"PAGE_VIEW","pad":"' + b"x" * 1024 + b'"},'
        yield b"{}]"

    response = api.post(
        f"{API}/events", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


def test_a_batch_over_500_events_is_413(api: httpx.Client) -> None:
    batch = [{"eventType": "PAGE_VIEW", "sessionId": "s"}] * 501
    assert_error(api.post(f"{API}/events", json=batch), 413, "batch_too_large")


def test_bad_events_go_to_the_dlq_with_their_reason_and_never_to_the_log(
    api: httpx.Client, server: ServerProcess
) -> None:
    marker = fresh("bad")
    good = {"eventType": "PAGE_VIEW", "sessionId": fresh("s"), "page": "/"}
    bad = [
        {"eventType": "NO_SUCH_TYPE", "sessionId": marker},
        {"eventType": "PRODUCT_VIEW", "sessionId": marker},
        {"eventType": "ORDER_PLACED", "sessionId": marker, "orderId": "o"},
        "not an object",
    ]
    answer = api.post(f"{API}/events", json=[good, *bad])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 1 and body["rejected"] == 4
    assert [e["index"] for e in body["errors"]] == [1, 2, 3, 4]
    dead = [d for d in read_topic(server, Topic.DLQ) if marker in orjson.dumps(d).decode()]
    assert len(dead) == 3
    assert all(d["reason"] for d in dead)
    logged = read_topic(server, Topic.EVENTS)
    assert not [e for e in logged if e.get("sessionId") == marker]
    assert any(e.get("sessionId") == good["sessionId"] for e in logged)


def test_events_that_json_cannot_round_trip_still_reach_the_dlq(
    api: httpx.Client, server: ServerProcess
) -> None:
    marker = fresh("odd")
    huge = 35154652041973478501418019162423296
    body = f'[{{"m": "{marker}", "n": {huge}}}, {{"m": "{marker}-\\ud9c1"}}]'
    answer = api.post(f"{API}/events", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rejected"] == 2
    dead = [d for d in read_topic(server, Topic.DLQ) if marker in orjson.dumps(d).decode()]
    assert len(dead) == 2
    assert all(d["reason"] == "invalid_event" for d in dead)
