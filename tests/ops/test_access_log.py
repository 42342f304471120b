"""The access log's lines, rendered in batches from what each request recorded: every line is
a JSON object with the same fields, with or without event ids and an error, and carries its
own request id, duration and time beside the fields it shares with the route's other lines."""

from __future__ import annotations

import datetime
import itertools
import time

import orjson

from kartshoppe.observability.access_log import AccessLog, Entry, render

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
    return [orjson.loads(line) for line in render(entries).splitlines()]


def test_a_plain_read_and_a_write_with_event_ids_give_lines_of_the_same_fields() -> None:
    log, started = AccessLog(), time.perf_counter()
    before = datetime.datetime.now(datetime.UTC)
    read = log.prefix("GET", '/api/ecommerce/product/p"1', "/api/ecommerce/product/{id}", 200)
    write = log.prefix(
        "POST", "/api/ecommerce/cart/s1/add", "/cart/{sessionId}/add", 409, ["evt_1"], "no_stock"
    )

    plain, full = lines(
        [
            (read, started, 0.000042, b"5f1c0a9e2b7d4c31000000000000002a"),
            (write, started, 0.0125, b"client-id:7"),
        ]
    )

    assert set(plain) == set(full) == FIELDS
    assert plain["requestId"] == "5f1c0a9e2b7d4c31000000000000002a"
    assert plain["path"] == '/api/ecommerce/product/p"1'
    assert plain["status"] == 200 and plain["durationMs"] == 0.04
    assert plain["eventIds"] is None and plain["error"] is None
    assert full["requestId"] == "client-id:7"
    assert full["eventIds"] == ["evt_1"] and full["error"] == "no_stock"
    assert full["durationMs"] == 12.5
    for line in (plain, full):
        assert line["event"] == "request" and line["level"] == "info"
        at = datetime.datetime.fromisoformat(str(line["ts"]))
        assert abs((at - before).total_seconds()) < 5


def test_lines_of_one_route_share_their_prefix_and_keep_their_own_ids_and_times() -> None:
    log, started = AccessLog(), time.perf_counter()
    prefixes = [log.prefix("GET", "/p", "/p", 200) for _ in range(3)]
    assert prefixes[0] is prefixes[1] is prefixes[2]

    rendered = lines(
        [(prefix, started + n, 0.001, b"id-%d" % n) for n, prefix in enumerate(prefixes)]
    )

    assert [line["requestId"] for line in rendered] == ["id-0", "id-1", "id-2"]
    stamps = [datetime.datetime.fromisoformat(str(line["ts"])) for line in rendered]
    assert [round((b - a).total_seconds()) for a, b in itertools.pairwise(stamps)] == [1, 1]
