"""The shop service over a real SQLite event log: concurrent checkouts of the last units never
oversell, a refused checkout writes nothing, a retried checkout gives back the same order, and a
fresh fold of the log rebuilds the same shop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from kartshoppe.application.projection import Projection
from kartshoppe.application.shop import ShopService
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.orders import Order
from kartshoppe.eventlog.port import ALL_TOPICS
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import InventoryChanged, OrderStatus, Topic, decode_event
from tests.domain.domain_support import product

SHOPPERS = 40


@dataclass
class Shop:
    log: SqliteEventLog
    projection: Projection
    service: ShopService


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    log = SqliteEventLog(tmp_path / "log.sqlite")
    await log.start()
    projection = Projection(log)
    await projection.start()
    await projection.ready.wait()
    try:
        yield Shop(log, projection, ShopService(log, projection))
    finally:
        await projection.stop()
        await log.close()


async def checkout_all(
    service: ShopService, sessions: list[str]
) -> tuple[list[Order], list[DomainError]]:
    results = await asyncio.gather(
        *(service.checkout(s, None, f"key-{s}") for s in sessions), return_exceptions=True
    )
    placed = [r[0] for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, DomainError)]
    unexpected = [r for r in results if isinstance(r, BaseException) and r not in refused]
    assert unexpected == []
    return placed, refused


async def log_sizes(log: SqliteEventLog) -> dict[str, int]:
    return {topic: sum((await log.end_offsets(topic)).values()) for topic in ALL_TOPICS}


@pytest.mark.parametrize(("units", "per_cart"), [(5, 1), (7, 2), (1, 1)])
async def test_concurrent_checkouts_of_the_last_units_place_exactly_as_many_orders_as_fit(
    shop: Shop, units: int, per_cart: int
) -> None:
    service = shop.service
    await service.launch_product(product("last", 20.0, units))
    sessions = [f"shopper-{i}" for i in range(SHOPPERS)]
    added = await asyncio.gather(
        *(service.add_to_cart(s, None, "last", per_cart) for s in sessions)
    )
    assert all(c.item_count == per_cart for c in added)

    placed, refused = await checkout_all(service, sessions)

    assert len(placed) == units // per_cart
    assert len(refused) == SHOPPERS - units // per_cart
    assert {e.code for e in refused} == {"insufficient_stock"}
    level = service.state.stock["last"]
    assert level.reserved == len(placed) * per_cart
    assert level.available >= 0
    assert level.stock == units
    for order in placed:
        await service.set_order_status(order.order_id, OrderStatus.PAID)
    sold = service.state.stock["last"]
    assert (sold.stock, sold.reserved) == (units - len(placed) * per_cart, 0)


async def test_stock_never_goes_negative_on_the_log_under_concurrent_checkouts(shop: Shop) -> None:
    service = shop.service
    await service.launch_product(product("hot", 5.0, 3))
    sessions = [f"s{i}" for i in range(SHOPPERS)]
    await asyncio.gather(*(service.add_to_cart(s, None, "hot", 1) for s in sessions))
    await checkout_all(service, sessions)
    records = await shop.log.read(Topic.INVENTORY_UPDATES, 0, 10_000)
    levels = [decode_event(r.value) for r in records]
    available = [e.available for e in levels if isinstance(e, InventoryChanged)]
    assert min(available) == 0
    assert all(a >= 0 for a in available)


async def test_a_refused_checkout_appends_no_event_at_all(shop: Shop) -> None:
    service = shop.service
    await service.launch_product(product("few", 5.0, 2))
    await service.add_to_cart("a", None, "few", 2)
    await service.add_to_cart("b", None, "few", 1)
    await service.checkout("a", None, "ka")
    before = await log_sizes(shop.log)
    with pytest.raises(DomainError) as info:
        await service.checkout("b", None, "kb")
    assert info.value.code == "insufficient_stock"
    assert await log_sizes(shop.log) == before
    assert service.state.cart("b").item_count == 1


async def test_a_retried_checkout_gives_back_the_first_order_without_a_second_one(
    shop: Shop,
) -> None:
    service = shop.service
    await service.launch_product(product("p", 5.0, 10))
    await service.add_to_cart("s", "u", "p", 2)
    results = await asyncio.gather(*(service.checkout("s", "u", "same-key") for _ in range(5)))
    order_ids = {order.order_id for order, _ in results}
    assert len(order_ids) == 1
    assert sorted(created for _, created in results) == [False, False, False, False, True]
    again, created = await service.checkout("s", "u", "same-key")
    assert (again.order_id, created) == (order_ids.pop(), False)
    records = await shop.log.read(Topic.EVENTS, 0, 10_000)
    placed = [r for r in records if decode_event(r.value).event_type == "ORDER_PLACED"]
    assert len(placed) == 1
    assert service.state.stock["p"].reserved == 2


async def test_checkout_of_an_empty_cart_is_refused(shop: Shop) -> None:
    with pytest.raises(DomainError) as info:
        await shop.service.checkout("nobody", None, "k")
    assert info.value.code == "empty_cart"


async def test_a_fresh_fold_of_the_log_rebuilds_the_same_shop(shop: Shop, tmp_path: Path) -> None:
    service = shop.service
    await service.launch_product(product("p", 5.0, 10))
    await service.add_to_cart("s1", None, "p", 3)
    await service.merge_carts("s1", "u1")
    order, _ = await service.checkout("s2", "u1", "k")
    await service.set_order_status(order.order_id, OrderStatus.PAID)
    await service.change_price("p", Decimal("6.00"))
    rebuilt = Projection(shop.log)
    await rebuilt.start()
    try:
        await asyncio.wait_for(rebuilt.ready.wait(), 10)
        assert rebuilt.state == service.state
    finally:
        await rebuilt.stop()


async def test_a_recovery_coupon_issued_twice_for_one_signal_exists_once(shop: Shop) -> None:
    first, again = await asyncio.gather(
        shop.service.issue_recovery_coupon("signal-1", Decimal(10)),
        shop.service.issue_recovery_coupon("signal-1", Decimal(10)),
    )
    assert first == again
    records = await shop.log.read(Topic.EVENTS, 0, 10_000)
    created = [r for r in records if decode_event(r.value).event_type == "COUPON_CREATED"]
    assert len(created) == 1 and shop.service.state.coupons[first].coupon.max_redemptions == 1


async def test_creating_a_coupon_whose_code_exists_is_refused(shop: Shop) -> None:
    code = await shop.service.issue_recovery_coupon("signal-2", Decimal(10))
    coupon = shop.service.state.coupons[code].coupon
    with pytest.raises(DomainError) as refused:
        await shop.service.create_coupon(coupon)
    assert refused.value.code == "coupon_exists"
