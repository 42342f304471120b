"""The simulator against a real server: shoppers place orders the shop then knows about."""

from __future__ import annotations

from pathlib import Path

import httpx

from kartshoppe.simulate.driver import SimulationConfig, simulate
from tests.support.server import running_server


async def test_a_short_run_places_orders_through_the_public_api(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        config = SimulationConfig(base_url=server.base_url, users=6, rate=120, duration_s=5)
        stats = await simulate(config)
        assert stats.errors == 0, stats.last_error
        assert stats.views > 0 and stats.cart_adds > 0 and stats.events_sent > 0
        assert stats.orders > 0 and stats.sample_orders
        assert stats.ws_messages > 0
        assert stats.requests <= config.rate * (stats.elapsed_s + 1)
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            for order_id in stats.sample_orders:
                answer = await client.get(f"/api/ecommerce/orders/{order_id}")
                assert answer.status_code == 200
                assert answer.json()["orderId"] == order_id
