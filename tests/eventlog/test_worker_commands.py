"""Workers on one embedded log: the holder of the leader lock decides, the others forward.

Two "workers" in one test process, each with its own connection to the SQLite file, its own
fold and its own bus, exactly as two processes of `serve --workers 2` have them (the lock is an
`flock`, which two opens of the file contend for even within one process). The real processes
are in `tests/integration/test_workers.py`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest

from kartshoppe.application.commands import LocalCommandBus
from kartshoppe.application.projection import Projection
from kartshoppe.application.shop import ShopService, route
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.reservations import ReservationBook
from kartshoppe.eventlog import sqlite
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.eventlog.worker_commands import (
    LOCK_NAME,
    SOCKET_PATH_MAX,
    WorkerCommandBus,
    socket_path,
)
from kartshoppe.events import Product

Worker = tuple[ShopService, WorkerCommandBus]


@asynccontextmanager
async def worker(data_dir: Path) -> AsyncIterator[Worker]:
    log = SqliteEventLog(data_dir / "log.sqlite")
    await log.start()
    projection = Projection(log)
    book = ReservationBook()
    projection.subscribe(lambda _, event: book.apply(event))
    bus = WorkerCommandBus(data_dir, LocalCommandBus(log, projection, book, route), projection, log)
    await projection.start()
    await projection.ready.wait()
    await bus.start()
    try:
        yield ShopService(log, projection, bus), bus
    finally:
        await bus.close()
        await projection.stop()
        await log.close()


def product(product_id: str, stock: int) -> Product:
    return Product(
        id=product_id,
        name=product_id,
        category="Test",
        price=10.0,
        original_price=10.0,
        stock=stock,
    )


async def buy(shop: ShopService, session: str, product_id: str) -> bool:
    """One unit into a fresh cart and checked out; False if refused for want of stock."""
    try:
        await shop.add_to_cart(session, None, product_id, 1)
        await shop.checkout(session, None, f"key-{session}")
    except DomainError as refusal:
        assert refusal.code == "insufficient_stock"
        return False
    return True


async def until(check: Callable[[], bool], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not check():
            await asyncio.sleep(0.01)


async def test_the_first_worker_leads_and_a_second_forwards_without_overselling(
    tmp_path: Path,
) -> None:
    async with worker(tmp_path) as (first, first_bus), worker(tmp_path) as (second, second_bus):
        assert first_bus.leading and not second_bus.leading
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
        await second.launch_product(product("lamp", stock=5))
        # the forwarding worker's answer came after its own fold applied the launch
        assert second.state.stock["lamp"].available == 5
        bought = await asyncio.gather(
            *(buy((first, second)[i % 2], f"shopper-{i}", "lamp") for i in range(16))
        )
        assert sum(bought) == 5
        for shop in (first, second):

            def sold_out(shop: ShopService = shop) -> bool:
                return shop.state.stock["lamp"].available == 0

            await until(sold_out)
            assert len(shop.state.orders) == 5


async def test_a_write_the_leader_decides_reaches_the_other_workers_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the log's own looks for another process's commits, made rare: only the leader's word
    # that it has decided can bring the write to the other worker within the test
    monkeypatch.setattr(sqlite, "FOREIGN_WRITE_POLL_S", 600.0)
    monkeypatch.setattr(sqlite, "FALLBACK_READ_S", 600.0)
    async with worker(tmp_path) as (first, first_bus), worker(tmp_path) as (second, _):
        assert first_bus.leading
        await until(lambda: len(first_bus._workers) == 1)  # the other worker's link is up
        await first.launch_product(product("vase", stock=2))
        await until(lambda: "vase" in second.state.products, within=5.0)


async def test_when_the_leader_goes_the_other_worker_catches_up_and_decides(
    tmp_path: Path,
) -> None:
    async with AsyncExitStack() as stack:
        first, first_bus = await stack.enter_async_context(worker(tmp_path))
        second, second_bus = await stack.enter_async_context(worker(tmp_path))
        await first.launch_product(product("kettle", stock=3))
        assert await buy(first, "early", "kettle")
        await first_bus.close()
        # (a command sent while the leader was closing its connections would get a 503)
        await until(lambda: second_bus._link is None or not second_bus._link.open)

        # asked as soon as the old leader is gone: the command waits for a leader, which is
        # then the asking worker itself
        assert await buy(second, "meanwhile", "kettle")
        assert second_bus.leading
        # it folded everything the old leader decided before deciding itself
        bought = [await buy(second, f"late-{i}", "kettle") for i in range(3)]
        assert bought == [True, False, False]
        assert second.state.stock["kettle"].available == 0


async def test_only_one_of_three_workers_leads_and_one_of_the_others_follows_it(
    tmp_path: Path,
) -> None:
    async with AsyncExitStack() as stack:
        buses = [(await stack.enter_async_context(worker(tmp_path)))[1] for _ in range(3)]
        assert [bus.leading for bus in buses] == [True, False, False]
        await buses[0].close()
        await until(lambda: any(bus.leading for bus in buses[1:]), within=5.0)
        assert sum(bus.leading for bus in buses) == 1


def test_a_data_directory_too_deep_for_a_socket_address_gets_a_short_one(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 5)
    path = socket_path(deep)
    assert len(os.fsencode(path)) <= SOCKET_PATH_MAX
    assert path == socket_path(deep)
    assert socket_path(tmp_path) == str(tmp_path.resolve() / "leader.sock")
