"""The simulator against a real, secured server: signed-in and anonymous shoppers place orders
the shop then knows about, get recommendations over the socket, and wait out sign-in limits."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import httpx

from kartshoppe.security.tokens import mint_token
from kartshoppe.simulate.driver import SampleOrder, SimulationConfig, simulate
from tests.support.server import ServerProcess, running_server

SERVER_ENV: Final = {
    # the recommender runs in the server, so recommendations reach the shoppers' sockets
    "KARTSHOPPE_PROCESSORS": "embedded",
    # the shipped defaults, pinned: the simulator's sign-ins (4/s) stay under 5/s, and all
    # anonymous shoppers share one address, whose 120 calls a second the others allow
    "KARTSHOPPE_RATE_SIGNIN": "5/20",
    "KARTSHOPPE_RATE_BROWSE": "300/600",
    "KARTSHOPPE_RATE_CART": "200/400",
    "KARTSHOPPE_RATE_CHECKOUT": "50/100",
    "KARTSHOPPE_RATE_EVENTS": "100/200",
}


async def read_as_owner(
    client: httpx.AsyncClient, server: ServerProcess, order: SampleOrder
) -> httpx.Response:
    """The order as its owner reads it: the user's token, or the session it was placed from."""
    path = f"/api/ecommerce/orders/{order.order_id}"
    if order.user_id is None:
        return await client.get(path, params={"sessionId": order.session_id})
    token = mint_token(server.data_dir, order.user_id)
    return await client.get(path, headers={"Authorization": f"Bearer {token}"})


async def test_a_short_run_places_orders_and_gets_recommendations_through_the_api(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path, env=SERVER_ENV) as server:
        config = SimulationConfig(base_url=server.base_url, users=6, rate=120, duration_s=6)
        stats = await simulate(config)
        assert stats.errors == 0, stats.last_error
        assert stats.accounts > 0
        assert stats.views > 0 and stats.cart_adds > 0 and stats.events_sent > 0
        assert stats.orders > 0 and stats.sample_orders
        assert stats.ws_messages > 0 and stats.recommendations > 0
        assert stats.requests <= config.rate * (stats.elapsed_s + 1)
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            for order in stats.sample_orders:
                answer = await read_as_owner(client, server, order)
                assert answer.status_code == 200, answer.text
                assert answer.json()["orderId"] == order.order_id
                assert answer.json().get("userId") == order.user_id


async def test_sign_ins_over_the_servers_limit_wait_out_retry_after_instead_of_failing(
    tmp_path: Path,
) -> None:
    env = {**SERVER_ENV, "KARTSHOPPE_RATE_SIGNIN": "1/1"}
    with running_server(tmp_path, env=env) as server:
        config = SimulationConfig(
            base_url=server.base_url, users=8, rate=120, duration_s=5, signin_rate=50
        )
        stats = await simulate(config)
        assert stats.throttled > 0
        assert stats.errors == 0, stats.last_error
        assert stats.accounts >= 2
