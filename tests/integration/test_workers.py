"""`kartshoppe serve --workers 2`: two processes on one port and one embedded log keep the
guarantees of one (docs/ARCHITECTURE.md, "Workers"), under uvicorn's supervisor and granian's.

Each test chooses the worker of every request (`tests/support/workers.py`) and of every
WebSocket (its handshake names the worker too).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.api.api_support import fresh, of_type, receive_until
from tests.support import workers
from tests.support.accounts import OPERATOR
from tests.support.server import READY_TIMEOUT, ServerProcess, running_server
from tests.support.workers import CONNECT_ATTEMPTS, Worker

ENV = {
    "KARTSHOPPE_RATE_SIGNIN": "off",
    "KARTSHOPPE_RATE_CART": "off",
    "KARTSHOPPE_RATE_CHECKOUT": "off",
    "KARTSHOPPE_RATE_BROWSE": "off",
    "KARTSHOPPE_RATE_WS": "off",
    # the sink is not what these tests are about (the processors are: the leader runs them)
    "KARTSHOPPE_SINK": "0",
}
API = "/api/ecommerce"
SETTLE_S = 30.0


def on(server: ServerProcess, pid: int, token: str | None = None) -> Worker:
    return workers.on(server.host, server.port, pid, token)


def worker_pids(server: ServerProcess, count: int = 2) -> list[int]:
    return workers.worker_pids(server.host, server.port, count, READY_TIMEOUT)


def leader_pid(server: ServerProcess) -> int:
    return workers.leader_pid(server.data_dir)


def operator_token(server: ServerProcess) -> str:
    worker = Worker(server.host, server.port)
    try:
        answer = worker.call("POST", f"{API}/auth/login", OPERATOR)
        assert answer.status == 200, answer.body
        token: str = answer.body["token"]
        return token
    finally:
        worker.close()


def launch(worker: Worker, stock: int) -> str:
    product_id = fresh("prod-workers")
    body = {"id": product_id, "name": product_id, "category": "Test Lab", "price": 10.0}
    answer = worker.call("POST", f"{API}/admin/products", {**body, "stock": stock})
    assert answer.status == 201, answer.body
    return product_id


def add_one(server: ServerProcess, adding_on: int, product_id: str) -> tuple[str, str]:
    """A new shopper's cart with one unit, added on `adding_on`: (shopper, its log position)."""
    shopper = fresh("shopper")
    adding = on(server, adding_on)
    try:
        added = adding.call("POST", f"{API}/cart/{shopper}/add", {"productId": product_id})
        assert added.status == 200, added.body
        return shopper, added.headers["x-log-position"]
    finally:
        adding.close()


def check_out(server: ServerProcess, paying_on: int, shopper: str, position: str) -> int:
    """The shopper's checkout on `paying_on`, which reads the cart at `position`: its status."""
    paying = on(server, paying_on)
    try:
        body = {"sessionId": shopper, "idempotencyKey": shopper}
        paid = paying.call("POST", f"{API}/checkout", body, {"X-Log-Position": position})
        assert paid.status in (201, 409), paid.body
        if paid.status == 409:
            assert paid.body["error"] == "insufficient_stock", paid.body
        return paid.status
    finally:
        paying.close()


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_S
    while not check():
        assert time.monotonic() < deadline, f"not within {SETTLE_S:g}s: {what}"
        time.sleep(0.05)


def available(server: ServerProcess, pid: int, product_id: str) -> int:
    worker = on(server, pid)
    try:
        found: int = worker.call("GET", f"{API}/product/{product_id}").body["available"]
        return found
    finally:
        worker.close()


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
def two_workers(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    """`serve --workers 2` on each server the flag `--server` offers."""
    tmp_path = tmp_path_factory.mktemp("workers")
    args = ("--workers", "2", "--server", request.param)
    with running_server(tmp_path, *args, env=ENV) as server:
        worker_pids(server)
        yield server


def test_checkouts_spread_over_two_workers_never_sell_more_than_the_stock(
    two_workers: ServerProcess,
) -> None:
    pids = worker_pids(two_workers)
    admin = on(two_workers, pids[1], operator_token(two_workers))
    product_id = launch(admin, stock=5)
    admin.close()
    # every shopper adds on one worker and checks out on the other, half of them each way; all
    # carts are filled first (a cart cannot take a unit once the product has sold out)
    routes = list(itertools.islice(itertools.cycle([pids, pids[::-1]]), 16))
    with ThreadPoolExecutor(16) as pool:
        carts = list(pool.map(lambda r: add_one(two_workers, r[0], product_id), routes))
        statuses = list(
            pool.map(
                lambda rc: check_out(two_workers, rc[0][1], *rc[1]), zip(routes, carts, strict=True)
            )
        )

    assert Counter(statuses) == {201: 5, 409: 11}
    for pid in pids:

        def sold_out(pid: int = pid) -> bool:
            return available(two_workers, pid, product_id) == 0

        eventually(sold_out, f"worker {pid} shows the 5 units held")


@pytest.mark.parametrize("direction", ["leader to follower", "follower to leader"])
def test_a_write_answered_by_one_worker_is_read_on_the_other_with_its_log_position(
    two_workers: ServerProcess, direction: str
) -> None:
    leader = leader_pid(two_workers)
    follower = next(pid for pid in worker_pids(two_workers) if pid != leader)
    writing_on, reading_on = (leader, follower) if direction[0] == "l" else (follower, leader)
    shopper = fresh("shopper")
    admin = on(two_workers, writing_on, operator_token(two_workers))
    product_id = launch(admin, stock=9)
    admin.close()
    # the writer is used at once: an idle keep-alive connection is closed after 5 s
    reader = on(two_workers, reading_on)
    writer = on(two_workers, writing_on)
    try:
        for quantity in (1, 2, 3):
            body = {"productId": product_id, "quantity": quantity}
            written = writer.call("POST", f"{API}/cart/{shopper}/add", body)
            assert written.status == 200, written.body
            position = {"X-Log-Position": written.headers["x-log-position"]}
            cart = reader.call("GET", f"{API}/cart/{shopper}", headers=position)
            assert cart.status == 200, cart.body
            lines = {line["productId"]: line["quantity"] for line in cart.body["lines"]}
            assert lines == {product_id: sum(range(1, quantity + 1))}
    finally:
        writer.close()
        reader.close()


def sockets_open(server: ServerProcess, pid: int) -> int:
    worker = on(server, pid)
    try:
        lines = worker.call("GET", "/metrics").body.decode().splitlines()
    finally:
        worker.close()
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in lines
        if line.startswith("kartshoppe_websocket_connections ")
    )


async def socket_on(server: ServerProcess, pid: int, session: str) -> ClientConnection:
    """A WebSocket on worker `pid`, its CONNECTED message read. The handshake names the worker
    (`x-worker`) under uvicorn; granian sends no header of the application's with it, so there
    the worker whose count of open sockets went up is the one."""
    for _ in range(CONNECT_ATTEMPTS):
        before = sockets_open(server, pid)
        ws = await connect(server.ws_url(session))
        assert ws.response is not None
        await receive_until(ws, of_type("CONNECTED"))
        named = ws.response.headers.get("x-worker")
        if int(named) == pid if named is not None else sockets_open(server, pid) > before:
            return ws
        await ws.close()
    raise AssertionError(f"no WebSocket reached worker {pid}")


def has(product_id: str, quantity: int) -> Callable[[dict[str, Any]], bool]:
    def accept(message: dict[str, Any]) -> bool:
        if message.get("type") != "CART_UPDATED":
            return False
        return {ln["productId"]: ln["quantity"] for ln in message["cart"]["lines"]} == {
            product_id: quantity
        }

    return accept


async def test_a_cart_change_on_one_worker_reaches_a_websocket_on_the_other(
    two_workers: ServerProcess,
) -> None:
    first, second = worker_pids(two_workers)
    admin = on(two_workers, first, operator_token(two_workers))
    product_id = launch(admin, stock=9)
    admin.close()
    for writing_on, watching_on in ((first, second), (second, first)):
        session = fresh("session")
        ws = await socket_on(two_workers, watching_on, session)
        try:
            await receive_until(ws, of_type("CART_UPDATED"))
            writer = on(two_workers, writing_on)
            body = {"productId": product_id, "quantity": 2}
            assert writer.call("POST", f"{API}/cart/{session}/add", body).status == 200
            writer.close()
            await receive_until(ws, has(product_id, 2), timeout=SETTLE_S)
        finally:
            await ws.close()


def processed(worker: Worker) -> int:
    """Events this worker's processors have handled since they started (0: it runs none)."""
    lines = worker.call("GET", "/metrics").body.decode().splitlines()
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in lines
        if line.startswith("kartshoppe_processor_events{") and 'result="processed"' in line
    )


def test_when_the_leader_is_killed_the_other_worker_decides_and_runs_the_processors(
    two_workers: ServerProcess,
) -> None:
    # last in this file: it kills a worker of the shared server (its supervisor starts another)
    server = two_workers
    pids = worker_pids(server)
    token = operator_token(server)
    admin = on(server, pids[0], token)
    product_id = launch(admin, stock=3)
    admin.close()
    assert check_out(server, pids[1], *add_one(server, pids[0], product_id)) == 201
    old = leader_pid(server)
    survivor = next(pid for pid in pids if pid != old)
    watcher = on(server, survivor)
    assert processed(watcher) == 0
    watcher.close()

    os.kill(old, signal.SIGKILL)
    eventually(lambda: leader_pid(server) == survivor, f"worker {survivor} leads")

    # the survivor decides (the supervisor's new worker may join meanwhile): still no oversell
    with ThreadPoolExecutor(6) as pool:
        carts = list(pool.map(lambda _: add_one(server, survivor, product_id), range(6)))
        statuses = list(pool.map(lambda cart: check_out(server, survivor, *cart), carts))
    assert Counter(statuses) == {201: 2, 409: 4}
    # and it has taken up the processors
    watcher = on(server, survivor)
    eventually(lambda: processed(watcher) > 0, f"worker {survivor} runs the processors")
    watcher.close()
