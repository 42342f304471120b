"""The dashboard's abandonment and conversion rates tell what the simulator's shoppers did.

The simulator runs against a real server whose processors run in it; once the carts left behind
have been idle past the shop's abandonment timeout, `GET /analytics` must count exactly the carts
the simulator's shoppers left full, over the sessions that added to a cart.

Why the dashboard once read 0 % while the simulator had abandoned 22 carts: the shop calls a cart
abandoned only after it has been idle for `KARTSHOPPE_ABANDON_AFTER_S` (30 minutes by default),
and the run was shorter than that; and the simulator counted every session ending in "leave",
while a signed-in shopper's cart belongs to the account and outlives the session (a shopper who
comes back has not abandoned it). The simulator now counts what the shop counts.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Final

import httpx

from kartshoppe.simulate.driver import SimulationConfig, simulate
from tests.support.server import running_server

ABANDON_AFTER_S: Final = 8
"""Longer than any pause of a simulated shopper (they do not pause), short enough to wait out."""
SERVER_ENV: Final = {
    "KARTSHOPPE_PROCESSORS": "embedded",
    "KARTSHOPPE_ABANDON_AFTER_S": str(ABANDON_AFTER_S),
    "KARTSHOPPE_RATE_SIGNIN": "off",
}


async def analytics_once_settled(base_url: str, abandoned: int, wait_s: float) -> dict[str, Any]:
    """The analytics after the processors have counted at least `abandoned` abandoned carts
    (or `wait_s` passed), and then two more seconds, so that an extra count would show too."""
    deadline = time.monotonic() + wait_s
    async with httpx.AsyncClient(base_url=base_url) as client:
        while True:
            totals: dict[str, Any] = (await client.get("/api/ecommerce/analytics")).json()
            if totals.get("abandonedCarts", 0) >= abandoned or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)
        settled: dict[str, Any] = (await client.get("/api/ecommerce/analytics")).json()
        return settled


async def test_the_abandonment_rate_is_the_carts_the_simulated_shoppers_left_over_carted_sessions(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path, env=SERVER_ENV) as server:
        config = SimulationConfig(
            base_url=server.base_url, users=6, rate=80, duration_s=10, seed=11
        )
        stats = await simulate(config)
        assert stats.errors == 0, stats.last_error
        assert stats.abandoned > 0 and stats.carted_sessions > stats.abandoned
        totals = await analytics_once_settled(
            server.base_url, stats.abandoned, wait_s=ABANDON_AFTER_S + 60
        )
    assert totals["funnel"]["carts"] == stats.carted_sessions
    assert totals["abandonedCarts"] == stats.abandoned
    assert totals["abandonmentRate"] == round(stats.abandoned / stats.carted_sessions, 4)
    viewed, ordered = totals["funnel"]["views"], totals["funnel"]["orders"]
    assert viewed > 0 and totals["conversionRate"] == round(ordered / viewed, 4)
