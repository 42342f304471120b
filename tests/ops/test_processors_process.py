"""The embedded processors run in a child process of the server (their CPU off the serving
process's interpreter lock), with their lag in `/metrics`: a child that is killed is restarted
and resumes from its last commit without counting any input twice, and it stops with its
server (one that dies takes it along as it takes the sink: the same
`child_process.ChildProcess`, `test_sink_process.py`)."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import httpx

from kartshoppe.processors import default_processors
from tests.ops.ops_support import API, scrape, value
from tests.ops.test_event_store_outage import place_order
from tests.ops.test_sink_process import a_product, alive, parent_of, wait_until
from tests.support.server import ServerProcess, running_server

STARTED = re.compile(r"processors process started \(pid (\d+)\)")
LAG = "kartshoppe_processor_lag_records"
ENV = {"KARTSHOPPE_SINK": "0"}
ORDERS = 4


def processor_pids(server: ServerProcess) -> list[int]:
    """The processors' processes the server has started, in order (from its log)."""
    return [int(pid) for pid in STARTED.findall(server.log_text())]


def holds_open(pid: int, name: str) -> bool:
    """Whether the process has a file named `name` open."""
    fds = Path(f"/proc/{pid}/fd")
    return any(os.readlink(fd).endswith(name) for fd in fds.iterdir() if fd.is_symlink())


def lags(client: httpx.Client) -> dict[str, float]:
    return {
        dict(labels)["processor"]: v for (name, labels), v in scrape(client).items() if name == LAG
    }


def orders_counted(client: httpx.Client) -> int:
    """The orders the live analytics have counted (each `ORDER_PLACED` once)."""
    orders: int = client.get(f"{API}/analytics").json()["orders"]
    return orders


def caught_up(client: httpx.Client) -> bool:
    found = lags(client)
    return bool(found) and not any(found.values())


def test_the_processors_run_in_a_child_that_survives_being_killed_and_counts_each_input_once(
    tmp_path: Path,
) -> None:
    with (
        running_server(tmp_path, env=ENV) as server,
        httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as client,
    ):
        assert server.pid is not None
        wait_until("the processors started", lambda: processor_pids(server))
        first = processor_pids(server)[0]
        assert parent_of(first) == server.pid
        wait_until("the processors caught up", lambda: caught_up(client))
        assert holds_open(first, "processors.sqlite")
        assert not holds_open(server.pid, "processors.sqlite")
        assert orders_counted(client) == 0
        product = a_product(client)

        for _ in range(ORDERS):
            place_order(client, product)
        # killed while it processes them: what it had not committed, it processes again
        os.kill(first, signal.SIGKILL)
        wait_until("a new child started", lambda: len(processor_pids(server)) == 2)
        assert f"(pid {first}) exited with code -9" in server.log_text()
        wait_until("caught up again", lambda: caught_up(client))
        wait_until("the orders counted", lambda: orders_counted(client) >= ORDERS)
        assert orders_counted(client) == ORDERS
        processed = {"processor": "analytics", "result": "processed"}
        assert value(scrape(client), "kartshoppe_processor_events", **processed) > 0

        second = processor_pids(server)[1]
        server.stop(timeout=60)
        assert f"(pid {second}) exited with code 0" in server.log_text()
        assert not alive(second)


SHARES = re.compile(r"processors process (\d) of 2 started \(pid (\d+)\)")


def test_with_two_processes_each_runs_a_share_and_a_killed_one_is_restarted_alone(
    tmp_path: Path,
) -> None:
    env = {**ENV, "KARTSHOPPE_PROCESSOR_PROCESSES": "2"}
    with (
        running_server(tmp_path, env=env) as server,
        httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as client,
    ):
        wait_until("both started", lambda: len(SHARES.findall(server.log_text())) == 2)
        started = {int(share): int(pid) for share, pid in SHARES.findall(server.log_text())}
        assert all(parent_of(pid) == server.pid for pid in started.values())
        wait_until("both report", lambda: len(lags(client)) == len(default_processors()))
        wait_until("every processor caught up", lambda: caught_up(client))
        assert all(holds_open(pid, "processors.sqlite") for pid in started.values())
        product = a_product(client)

        for _ in range(ORDERS):
            place_order(client, product)
        # the share that counts the orders goes while it processes them; the recommender's
        # share runs on
        os.kill(started[2], signal.SIGKILL)
        wait_until("a new second share", lambda: len(SHARES.findall(server.log_text())) == 3)
        assert alive(started[1])
        wait_until("caught up again", lambda: caught_up(client))
        wait_until("the orders counted", lambda: orders_counted(client) >= ORDERS)
        assert orders_counted(client) == ORDERS
