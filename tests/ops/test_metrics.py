"""`/metrics` after real traffic: the named series exist and move."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.ops.ops_support import API, fresh, scrape, value
from tests.support.server import running_server

LATENCY = "kartshoppe_http_request_duration_seconds_count"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def processed(samples: Samples) -> float:
    """Events the processors have handled, summed over processors."""
    return sum(
        v
        for (name, labels), v in samples.items()
        if name == "kartshoppe_processor_events" and ("result", "processed") in labels
    )


def hits(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> float:
    return value(metrics, "kartshoppe_catalog_cache_lookups", result="hit")


async def test_metrics_move_with_traffic(tmp_path: Path) -> None:
    with (
        running_server(tmp_path) as server,
        httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as client,
    ):
        before = scrape(client)
        products = client.get(f"{API}/products").json()["items"]
        client.get(f"{API}/products")
        # a catalog event (a stock level, the processors' trending scores) drops the catalog's
        # cached answers: read until one read finds the answer the one before it left
        deadline = time.monotonic() + 15
        while hits(scrape(client)) < 1 and time.monotonic() < deadline:
            client.get(f"{API}/products")
            client.get(f"{API}/products")
        session = fresh("s")
        client.post(f"{API}/cart/{session}/add", json={"productId": products[0]["id"]})
        client.post(f"{API}/cart/{session}/add", json={"productId": "prod_nope"})
        checkout = {"sessionId": session, "idempotencyKey": fresh("k")}
        assert client.post(f"{API}/checkout", json=checkout).status_code == 201
        async with connect(server.ws_url(fresh("s"))) as ws:
            await ws.recv()
            during = scrape(client)
        # the processors' process starts after the server is ready: on a loaded machine its
        # first batch can come some seconds later
        deadline = time.monotonic() + 60
        while True:
            after = scrape(client)
            analysed = value(
                after, "kartshoppe_processor_latency_seconds_count", processor="analytics"
            )
            if (processed(after) > 0 and analysed >= 1) or time.monotonic() > deadline:
                break
            time.sleep(0.2)

    products_get = {"route": f"{API}/products", "method": "GET", "status": "200"}
    assert value(after, LATENCY, **products_get) - value(before, LATENCY, **products_get) >= 2
    add = {"route": f"{API}/cart/{{sessionId}}/add", "method": "POST", "status": "200"}
    assert value(after, LATENCY, **add) >= 1
    bucket = "kartshoppe_http_request_duration_seconds_bucket"
    assert value(after, bucket, **products_get, le="+Inf") >= 2

    for event_type in ("ADD_TO_CART", "ORDER_PLACED"):
        assert (
            value(
                after,
                "kartshoppe_events_appended_total",
                topic="ecommerce_events",
                event_type=event_type,
            )
            >= 1
        )
    assert value(after, "kartshoppe_errors_total", code="unknown_product") >= 1
    assert value(during, "kartshoppe_websocket_connections") >= 1
    lookups = value(after, "kartshoppe_catalog_cache_lookups", result="hit") + value(
        after, "kartshoppe_catalog_cache_lookups", result="miss"
    )
    assert lookups > value(before, "kartshoppe_catalog_cache_lookups", result="miss")
    assert value(after, "kartshoppe_catalog_cache_lookups", result="hit") >= 1
    assert 0 < value(after, "kartshoppe_catalog_cache_hit_ratio") <= 1
    assert ("kartshoppe_log_lag_records", frozenset({("consumer", "views")})) in after
    assert value(after, "kartshoppe_log_append_duration_seconds_count") > value(
        before, "kartshoppe_log_append_duration_seconds_count"
    )
    assert processed(after) > 0
    latency = "kartshoppe_processor_latency_seconds_count"
    assert value(after, latency, processor="analytics") >= 1
