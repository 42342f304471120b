"""The access log's lines, rendered in batches from what each request recorded: every line is
a JSON object with the same fields, whichever way it was rendered, and carries its request id."""

from __future__ import annotations

import datetime
import itertools
import time

import orjson

from kartshoppe.observability.access_log import AccessLog, Entry

FIELDS = {
    "method",
    "path",
    "route",
    "status",
    "durationMs",
    "eventIds",
    "error",
    "event",
    "requestId",
    "level",
    "logger",
    "ts",
}


def lines(entries: list[Entry]) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in AccessLog().render(entries).splitlines()]


def test_a_plain_read_and_a_write_with_event_ids_give_lines_of_the_same_fields() -> None:
    started = time.perf_counter()
    before = datetime.datetime.now(datetime.UTC)
    read: Entry = (
        started,
        0.000042,
        b"5f1c0a9e2b7d4c31000000000000002a",
        "GET",
        '/api/ecommerce/product/p"1',
        "/api/ecommerce/product/{product_id}",
        200,
        None,
        None,
    )
    write: Entry = (
        started,
        0.0125,
        b"client-id:7",
        "POST",
        "/api/ecommerce/cart/s1/add",
        "/api/ecommerce/cart/{sessionId}/add",
        409,
        ["evt_1"],
        "out_of_stock",
    )

    plain, full = lines([read, write])

    assert set(plain) == set(full) == FIELDS
    assert plain["requestId"] == "5f1c0a9e2b7d4c31000000000000002a"
    assert plain["path"] == '/api/ecommerce/product/p"1'
    assert plain["status"] == 200 and plain["durationMs"] == 0.04
    assert plain["eventIds"] is None and plain["error"] is None
    assert full["requestId"] == "client-id:7"
    assert full["eventIds"] == ["evt_1"] and full["error"] == "out_of_stock"
    assert full["durationMs"] == 12.5
    for line in (plain, full):
        assert line["event"] == "request" and line["level"] == "info"
        at = datetime.datetime.fromisoformat(str(line["ts"]))
        assert abs((at - before).total_seconds()) < 5


def test_lines_of_the_same_route_keep_their_own_ids_and_times() -> None:
    started = time.perf_counter()
    entries: list[Entry] = [
        (started + n, 0.001, b"id-%d" % n, "GET", "/p", "/p", 200, None, None) for n in range(3)
    ]

    rendered = lines(entries)

    assert [line["requestId"] for line in rendered] == ["id-0", "id-1", "id-2"]
    stamps = [datetime.datetime.fromisoformat(str(line["ts"])) for line in rendered]
    assert [round((b - a).total_seconds()) for a, b in itertools.pairwise(stamps)] == [1, 1]
