"""The event-store sink runs in a child process of the server: the store's modules (pyarrow,
pypaimon) live there, not in the serving process, which forwards the store's read routes to
it; a sink that dies is restarted and catches up from the log; it stops with its server, after
storing what the log holds, even when the server died without a clean stop."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from kartshoppe.events import Role
from kartshoppe.security.tokens import mint_token
from tests.ops.test_event_store_outage import place_order
from tests.support.server import ServerProcess, running_server
from tests.support.sink import wait_stored

STARTED = re.compile(r"event-store sink process started \(pid (\d+)\)")
WITHIN_S = 60.0


def sink_pids(server: ServerProcess) -> list[int]:
    """The sink processes the server has started, in order (from its log)."""
    return [int(pid) for pid in STARTED.findall(server.log_text())]


def wait_until(condition: str, check: Callable[[], object], within_s: float = WITHIN_S) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"not within {within_s} s: {condition}"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def has_arrow_loaded(pid: int) -> bool:
    return "libarrow" in Path(f"/proc/{pid}/maps").read_text()


def a_product(client: httpx.Client) -> str:
    items = client.get("/api/ecommerce/products", params={"pageSize": 50}).json()["items"]
    product: str = max(items, key=lambda p: p["available"])["id"]
    return product


def test_the_sink_runs_in_a_child_that_is_restarted_when_killed_and_stops_with_the_server(
    tmp_path: Path,
) -> None:
    with (
        running_server(tmp_path) as server,
        httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as client,
    ):
        assert server.pid is not None
        log_path = server.data_dir / "log.sqlite"
        wait_until("the sink started", lambda: sink_pids(server))
        first = sink_pids(server)[0]
        assert parent_of(first) == server.pid
        wait_stored(log_path)
        assert has_arrow_loaded(first)
        assert not has_arrow_loaded(server.pid)

        os.kill(first, signal.SIGKILL)
        wait_until("a new sink started", lambda: len(sink_pids(server)) == 2)
        assert f"(pid {first}) exited with code -9" in server.log_text()
        place_order(client, a_product(client))
        wait_stored(log_path)

        second = sink_pids(server)[1]
        place_order(client, a_product(client))
        server.stop(timeout=60)
        assert f"(pid {second}) exited with code 0" in server.log_text()
        assert not alive(second)
        # stored on the way out: no wait
        wait_stored(log_path, within_s=0.5)


def test_the_store_routes_are_answered_by_the_sink_process_not_loaded_by_the_server(
    tmp_path: Path,
) -> None:
    with (
        running_server(tmp_path) as server,
        httpx.Client(base_url=server.base_url, trust_env=False, timeout=60) as client,
    ):
        assert server.pid is not None
        token = mint_token(server.data_dir, "user_demo_operator", Role.OPERATOR)
        client.headers["Authorization"] = f"Bearer {token}"
        order_id = place_order(client, a_product(client))
        wait_stored(server.data_dir / "log.sqlite")

        snapshots = client.get("/api/ecommerce/store/snapshots")
        history = client.get("/api/ecommerce/store/history", params={"orderId": order_id})
        unknown = client.get("/api/ecommerce/store/state/order/no-such-order")
        # forwarded as sent: decoded, the space would make an invalid request line
        spaced = client.get("/api/ecommerce/store/state/cart/a%20cart")
        refused = client.get("/api/ecommerce/store/history", params={"pageSize": 0})
        anonymous = httpx.get(server.url("/api/ecommerce/store/snapshots"), trust_env=False)

        assert snapshots.status_code == 200
        assert snapshots.json()["snapshots"][-1]["recordCount"] > 0
        assert history.status_code == 200
        assert "ORDER_PLACED" in {e["eventType"] for e in history.json()["events"]}
        assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
        assert spaced.headers["content-type"] == "application/json", spaced.text
        assert refused.status_code == 422
        assert anonymous.status_code == 401
        assert not has_arrow_loaded(server.pid)


def test_a_server_that_dies_takes_its_sink_with_it_once_the_log_is_stored(
    tmp_path: Path,
) -> None:
    with (
        running_server(tmp_path) as server,
        httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as client,
    ):
        assert server.pid is not None
        wait_until("the sink started", lambda: sink_pids(server))
        sink = sink_pids(server)[0]
        place_order(client, a_product(client))

        os.kill(server.pid, signal.SIGKILL)
        wait_until("the sink stopped", lambda: not alive(sink))
        wait_stored(server.data_dir / "log.sqlite", within_s=0.5)
