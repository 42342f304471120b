"""Several API instances on one Kafka cluster behave as one shop.

Instance A runs the processors and the event-store sink; instance B only serves (as every
further instance would: `KARTSHOPPE_PROCESSORS=off`, `KARTSHOPPE_SINK=0`). Both share the JWT
secret, so a token from one is good on the other. Each instance folds the log into its own
views, so what one instance writes reaches the sockets of the other through the broker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.api.api_support import (
    Shopper,
    fresh,
    launch,
    of_type,
    receive,
    receive_until,
    register,
)
from tests.mail.smtp_support import first_link, mailing_to, smtp_server
from tests.support.accounts import OPERATOR
from tests.support.server import ServerProcess, running_server

SHARED_ENV = {
    "KARTSHOPPE_JWT_SECRET": "a-secret-every-instance-of-this-test-shares-0123456789",
    "KARTSHOPPE_RATE_SIGNIN": "off",
}
SERVING_ONLY = {"KARTSHOPPE_PROCESSORS": "off", "KARTSHOPPE_SINK": "0"}
CROSS_INSTANCE_TIMEOUT = 15.0
"""Generous: the write goes through the broker and the other instance's fold."""

Start = Callable[..., AbstractContextManager[ServerProcess]]


@pytest.fixture
def start_instance(tmp_path: Path, fresh_kafka: Callable[[], str]) -> Start:
    """Starts instances on one emptied broker; the first runs processors and sink."""
    bootstrap = fresh_kafka()
    started: list[str] = []

    def start(name: str, **extra_env: str) -> AbstractContextManager[ServerProcess]:
        env = {**SHARED_ENV, **(SERVING_ONLY if started else {}), **extra_env}
        started.append(name)
        return running_server(tmp_path / name, "--bus", "kafka", "--bootstrap", bootstrap, env=env)

    return start


@pytest.fixture
def two_instances(start_instance: Start) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with start_instance("a") as a, start_instance("b") as b:
        yield a, b


def client(server: ServerProcess, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url("/api/ecommerce"), headers=headers, timeout=10.0)


def operator(server: ServerProcess) -> httpx.Client:
    with client(server) as api:
        token = api.post("/auth/login", json=OPERATOR).json()["token"]
    return client(server, token)


def socket_url(server: ServerProcess, session_id: str, shopper: Shopper | None = None) -> str:
    if shopper is None:
        return server.ws_url(session_id)
    return f"{server.ws_url(session_id, shopper.user_id)}?token={shopper.token}"


def cart_has(product_id: str, quantity: int) -> Callable[[dict[str, Any]], bool]:
    def accept(message: dict[str, Any]) -> bool:
        if message.get("type") != "CART_UPDATED":
            return False
        lines = {line["productId"]: line["quantity"] for line in message["cart"]["lines"]}
        return lines.get(product_id) == quantity

    return accept


def priced(product_id: str, price: float) -> Callable[[dict[str, Any]], bool]:
    return lambda m: (
        m.get("type") == "PRODUCT_UPDATED"
        and m["product"]["id"] == product_id
        and m["product"]["price"] == price
    )


async def test_a_cart_change_through_one_instance_reaches_the_users_socket_on_another(
    two_instances: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_instances
    with client(a) as api_a, operator(a) as admin_a:
        shopper = register(api_a)
        product = launch(admin_a)
        async with connect(socket_url(b, fresh("phone"), shopper)) as ws_on_b:
            assert (await receive(ws_on_b))["type"] == "CONNECTED"
            await receive_until(ws_on_b, of_type("CART_UPDATED"))

            body = {"productId": product["id"], "quantity": 2, "userId": shopper.user_id}
            added = api_a.post(f"/cart/{fresh('laptop')}/add", json=body, headers=shopper.headers)
            assert added.status_code == 200, added.text

            pushed = await receive_until(
                ws_on_b, cart_has(product["id"], 2), timeout=CROSS_INSTANCE_TIMEOUT
            )
    assert pushed["cart"]["userId"] == shopper.user_id


async def test_a_price_change_through_one_instance_reaches_shoppers_on_another(
    two_instances: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_instances
    with operator(b) as admin_b:
        product = launch(admin_b, price=20.0)
        async with connect(socket_url(a, fresh("shopper"))) as ws_on_a:
            assert (await receive(ws_on_a))["type"] == "CONNECTED"
            changed = admin_b.post(f"/admin/products/{product['id']}/price", json={"price": 13.5})
            assert changed.status_code == 200, changed.text

            await receive_until(
                ws_on_a, priced(product["id"], 13.5), timeout=CROSS_INSTANCE_TIMEOUT
            )
    with client(a) as api_a:
        assert api_a.get(f"/product/{product['id']}").json()["price"] == 13.5


def test_an_instance_started_after_traffic_is_ready_only_once_its_catalog_caught_up(
    start_instance: Start,
) -> None:
    with start_instance("a") as a, operator(a) as admin_a, client(a) as api_a:
        product = launch(admin_a, price=50.0)
        for step in range(40):
            price = 50.0 - step
            assert admin_a.post(f"/admin/products/{product['id']}/price", json={"price": price})
        for _ in range(20):
            views = [
                {"eventType": "PRODUCT_VIEW", "sessionId": fresh("s"), "productId": product["id"]}
                for _ in range(100)
            ]
            assert api_a.post("/events", json=views).json()["accepted"] == 100

        # `running_server` returns at the first 200 from /ready: the very first answer counts.
        with start_instance("late") as late, client(late) as api_late:
            seen = api_late.get(f"/product/{product['id']}").json()
    assert seen["price"] == 11.0


def login(
    api: httpx.Client, email: str, password: str, after: httpx.Response | None = None
) -> httpx.Response:
    """Sign in; `after` a write elsewhere, once this instance has applied it (read-your-writes)."""
    headers = {"X-Log-Position": after.headers["X-Log-Position"]} if after is not None else {}
    return api.post("/auth/login", json={"email": email, "password": password}, headers=headers)


def test_a_shopper_registered_through_one_instance_signs_in_on_the_other(
    two_instances: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_instances
    email = f"{fresh('roaming')}@test.kartshoppe.dev"
    with client(a) as api_a, client(b) as api_b:
        registered = api_a.post("/auth/register", json={"email": email, "password": "first-pass"})
        assert registered.status_code == 201, registered.text
        written = {"X-Log-Position": registered.headers["X-Log-Position"]}
        on_b = api_b.post(
            "/auth/login", json={"email": email, "password": "first-pass"}, headers=written
        )
        assert on_b.status_code == 200, on_b.text
        assert on_b.json()["userId"] == registered.json()["userId"]

        token = {"Authorization": f"Bearer {on_b.json()['token']}"}
        change = {"currentPassword": "first-pass", "newPassword": "second-pass"}
        changed = api_b.post("/auth/password", json=change, headers=token)
        assert changed.status_code == 204, changed.text
        written = {"X-Log-Position": changed.headers["X-Log-Position"]}
        old = api_a.post(
            "/auth/login", json={"email": email, "password": "first-pass"}, headers=written
        )
        assert old.status_code == 401, old.text
        new = login(api_a, email, "second-pass")
        assert new.status_code == 200, new.text


def test_one_email_registered_at_once_through_two_instances_gets_one_account(
    two_instances: tuple[ServerProcess, ServerProcess],
) -> None:
    email = f"{fresh('twice')}@test.kartshoppe.dev"

    def register_on(server: ServerProcess) -> httpx.Response:
        with client(server) as api:
            return api.post("/auth/register", json={"email": email, "password": "long-enough"})

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(register_on, [*two_instances, *two_instances]))
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    assert {r.json()["error"] for r in answers if r.status_code == 409} == {"account_exists"}


def test_a_reset_link_asked_through_an_instance_that_sends_no_mail_is_mailed_by_the_one_that_does(
    start_instance: Start,
) -> None:
    """The ask is a command on the account's key; every instance folds it and queues the link,
    and the instance that sends mail sends it, so it arrives whichever instance was asked."""
    email = f"{fresh('forgot')}@test.kartshoppe.dev"
    with smtp_server() as (inbox, port):
        mail = mailing_to(port)
        with (
            start_instance("a", **mail) as a,
            start_instance("b", **mail, KARTSHOPPE_MAILER="0") as b,
            client(a) as api_a,
            client(b) as api_b,
        ):
            body = {"email": email, "password": "first-pass"}
            registered = api_a.post("/auth/register", json=body)
            assert registered.status_code == 201, registered.text
            written = {"X-Log-Position": registered.headers["X-Log-Position"]}
            asked = api_b.post("/auth/password-reset", json={"email": email}, headers=written)
            assert asked.status_code == 202, asked.text

            link = first_link(inbox)
            assert inbox.messages[0]["To"] == email
            token = parse_qs(urlparse(link).query)["token"][0]
            confirm = {"token": token, "newPassword": "second-pass"}
            confirmed = api_b.post("/auth/password-reset/confirm", json=confirm)
            assert confirmed.status_code == 204, confirmed.text
            assert login(api_a, email, "second-pass", confirmed).status_code == 200

            with operator(a) as op_a, operator(b) as op_b:
                sent = outbox_once(op_a, lambda mails: mails[0][1] == "SENT")
                queued = outbox_once(op_b, lambda mails: True)
            assert sent == [(email, "SENT")]
            assert queued == [(email, "PENDING")], "queued there too, never sent from there"
            assert len(inbox.messages) == 1


def outbox_once(
    api: httpx.Client, settled: Callable[[list[tuple[str, str]]], bool]
) -> list[tuple[str, str]]:
    """An instance's outbox (recipient, status) once it holds a message and `settled` says so."""
    deadline = time.monotonic() + CROSS_INSTANCE_TIMEOUT
    while True:
        mails = [(m["to"], m["status"]) for m in api.get("/admin/outbox").json()]
        if (mails and settled(mails)) or time.monotonic() > deadline:
            return mails
        time.sleep(0.05)
