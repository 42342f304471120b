"""Rate limits per client and route class (429 with Retry-After) and WebSocket flood cut-off."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from tests.security.security_support import (
    API,
    SECRET,
    a_product,
    assert_error,
    bearer,
    fresh,
    token_for,
)
from tests.support.server import ServerProcess, running_server

LOW_LIMITS = {
    "KARTSHOPPE_JWT_SECRET": SECRET,
    "KARTSHOPPE_RATE_CART": "0.5/3",
    "KARTSHOPPE_RATE_SIGNIN": "0.2/2",
    "KARTSHOPPE_RATE_WS": "5/10",
    # far above what the module's other tests read from their one address
    "KARTSHOPPE_RATE_BROWSE": "0.05/40",
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("limits")
    with running_server(tmp, env=LOW_LIMITS) as running:
        yield running


@pytest.fixture
def api(limited: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=limited.base_url, trust_env=False, timeout=10) as client:
        yield client


def test_a_client_over_its_cart_budget_gets_429_with_retry_after(api: httpx.Client) -> None:
    session = fresh("s")
    answers = [api.get(f"{API}/cart/{session}") for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    body = assert_error(answers[3], 429, "rate_limited")
    assert "cart" in body["message"]
    assert int(answers[3].headers["retry-after"]) >= 1


def test_the_limit_is_per_route_class(api: httpx.Client) -> None:
    for _ in range(4):
        api.get(f"{API}/cart/{fresh('s')}")
    assert api.get(f"{API}/products").status_code == 200


def test_a_signed_in_user_has_a_budget_of_its_own(api: httpx.Client) -> None:
    for _ in range(4):
        api.get(f"{API}/cart/{fresh('s')}")
    user = fresh("u")
    mine = api.get(
        f"{API}/cart/{fresh('s')}", params={"userId": user}, headers=bearer(token_for(user))
    )
    assert mine.status_code == 200, mine.text


def test_catalog_reads_over_the_browse_budget_get_429_and_are_counted(api: httpx.Client) -> None:
    user = fresh("u")
    headers = bearer(token_for(user))
    product = api.get(f"{API}/products", headers=headers).json()["items"][0]["id"]
    reads = [api.get(f"{API}/product/{product}", headers=headers) for _ in range(40)]

    assert [r.status_code for r in reads[:39]] == [200] * 39
    body = assert_error(reads[39], 429, "rate_limited")
    assert "browse" in body["message"]
    assert int(reads[39].headers["retry-after"]) >= 1
    assert reads[39].headers["x-request-id"]
    refused = [
        line
        for line in api.get("/metrics").text.splitlines()
        if line.startswith('kartshoppe_rate_limited_total{route_class="browse"}')
    ]
    assert refused and float(refused[0].rpartition(" ")[2]) >= 1


def test_sign_in_attempts_are_limited(api: httpx.Client) -> None:
    tries = [
        api.post(f"{API}/auth/login", json={"email": "x@y.dev", "password": "guess"})
        for _ in range(3)
    ]
    assert [t.status_code for t in tries] == [401, 401, 429]
    assert "retry-after" in tries[2].headers


async def test_a_websocket_flooding_messages_is_closed_with_1008(limited: ServerProcess) -> None:
    async with connect(limited.ws_url(fresh("s"))) as ws:
        for _ in range(30):
            try:
                await ws.send('{"type": "PING"}')
            except websockets.ConnectionClosed:
                break
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


async def test_a_websocket_at_a_moderate_pace_stays_open(
    limited: ServerProcess, api: httpx.Client
) -> None:
    product = a_product(api)
    async with connect(limited.ws_url(fresh("s"))) as ws:
        for _ in range(8):
            await ws.send('{"type": "PING"}')
            await asyncio.sleep(0.25)
        await ws.send(f'{{"type": "ADD_TO_CART", "productId": "{product["id"]}"}}')
        async with asyncio.timeout(5):
            while '"CART_UPDATED"' not in str(message := await ws.recv()) or '"lines":[]' in str(
                message
            ):
                pass
