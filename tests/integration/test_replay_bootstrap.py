"""`kartshoppe replay` bootstraps a new instance from the event store: started on the replayed
data directory, it answers exactly what the live instance answered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.support.accounts import OPERATOR
from tests.support.server import running_server
from tests.support.sink import wait_stored

SESSIONS = [f"replay-shopper-{n}" for n in range(4)]


def catalog(client: httpx.Client) -> dict[str, tuple[float, int, int]]:
    page = client.get("/products", params={"pageSize": 100, "sort": "name"}).json()
    rest = client.get("/products", params={"pageSize": 100, "sort": "name", "page": 2}).json()
    return {
        p["id"]: (p["price"], p["stock"], p["available"]) for p in page["items"] + rest["items"]
    }


def shoppers_view(client: httpx.Client) -> dict[str, Any]:
    """Every shopper's cart and orders, as the API shows them."""
    view: dict[str, Any] = {}
    for session in SESSIONS:
        view[f"cart:{session}"] = client.get(f"/cart/{session}").json()["lines"]
        view[f"orders:{session}"] = client.get("/orders", params={"sessionId": session}).json()
    return view


def shop(client: httpx.Client, admin: httpx.Client) -> None:
    """Some of everything: carts, orders paid and unpaid, a price change, a restock."""
    products = [p["id"] for p in client.get("/products", params={"pageSize": 8}).json()["items"]]
    for n, session in enumerate(SESSIONS):
        for product in products[n : n + 3]:
            added = client.post(f"/cart/{session}/add", json={"productId": product, "quantity": 2})
            assert added.status_code == 200, added.text
        if n % 2 == 0:
            order = client.post(
                "/checkout", json={"sessionId": session, "idempotencyKey": f"key-{session}"}
            ).json()
            if n == 0:
                paid = client.post(
                    f"/orders/{order['orderId']}/pay",
                    params={"sessionId": session},
                    json={"card": {"number": "4242424242424242", "expiry": "12/39", "cvc": "123"}},
                )
                assert paid.status_code == 200, paid.text
    assert admin.post(f"/admin/products/{products[0]}/price", json={"price": 12.34}).is_success
    assert admin.post(f"/admin/products/{products[1]}/restock", json={"quantity": 7}).is_success


def operator(base_url: str) -> httpx.Client:
    token = httpx.post(f"{base_url}/auth/login", json=OPERATOR).json()["token"]
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})


def test_an_instance_replayed_from_the_store_answers_like_the_live_one(tmp_path: Path) -> None:
    live_dir = tmp_path / "live"
    live_dir.mkdir()
    with running_server(live_dir) as live:
        base = live.url("/api/ecommerce")
        with httpx.Client(base_url=base, timeout=10) as client, operator(base) as admin:
            shop(client, admin)
            expected_catalog = catalog(client)
            expected_shoppers = shoppers_view(client)
        # a stop before the store has opened would leave the log for the next start's sink
        wait_stored(live_dir / "data" / "log.sqlite")

    replica = tmp_path / "replica"
    warehouse = live_dir / "data" / "warehouse"
    command = [sys.executable, "-m", "kartshoppe", "replay", "--from-warehouse", str(warehouse)]
    replayed = subprocess.run(
        [*command, "--data-dir", str(replica / "data")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed" in replayed.stdout

    with running_server(replica, "--no-seed") as instance:
        base = instance.url("/api/ecommerce")
        with httpx.Client(base_url=base, timeout=10) as client:
            assert catalog(client) == expected_catalog
            assert shoppers_view(client) == expected_shoppers
