"""Snapshots of the views: a server restarted from a snapshot and the log's tail holds the same
views as one that folded the whole log, and a snapshot it may not trust is ignored.

Each test runs the platform as the server composes it (`api.app.assemble`) over a real embedded
log in a temporary directory, without HTTP: a random stream of shop commands (carts, checkouts,
payments, coupons, reviews, wishlists, accounts, tracking) and processor outputs on the fan-out
topic (redeliveries included) goes in, a snapshot is taken somewhere in the middle, more of the
stream follows, and a second platform starts from the snapshot while a third folds everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import logging
import random
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from kartshoppe.api.app import assemble, restore_views, snapshot_committer
from kartshoppe.api.deps import Platform
from kartshoppe.application import snapshots as snapshot_format
from kartshoppe.application.decoding import Decoding
from kartshoppe.application.shop import ShopService
from kartshoppe.application.snapshots import ViewSnapshots
from kartshoppe.config import Settings
from kartshoppe.demo import seed_products
from kartshoppe.domain.accounts import Account
from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.payment import Card
from kartshoppe.domain.reviews import Draft
from kartshoppe.eventlog.port import Message
from kartshoppe.eventlog.retention import LogRetention, RetentionPolicy
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.events import (
    AnalyticsUpdated,
    Coupon,
    CouponKind,
    OrderStatus,
    Recommendation,
    RelatedProducts,
    Role,
    ScoredProduct,
    Topic,
    TrendingUpdated,
    encode_event,
)
from kartshoppe.views.catalog import ProductQuery

PRODUCTS = seed_products()[:6]
CARD = Card("4242424242424242", "12/40", "123")


def settings_for(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, processors="off", seed=False)


class Running:
    """A platform over a log, its followers started from its snapshot if it may use one."""

    def __init__(self, log: SqliteEventLog, data_dir: Path) -> None:
        self.log = log
        self.platform: Platform = assemble(log, settings_for(data_dir))
        assert self.platform.snapshots is not None
        self.snapshots: ViewSnapshots = self.platform.snapshots

    async def start(self) -> Running:
        await restore_views(self.snapshots, self.log)
        await self.platform.projection.start()
        await self.platform.fanout.start()
        await self.platform.projection.ready.wait()
        await self.platform.fanout.ready.wait()
        await self.platform.bus.start()  # the decider of this data directory (its lock)
        return self

    async def stop(self) -> None:
        await self.platform.bus.close()
        await self.platform.fanout.stop()
        await self.platform.projection.stop()

    async def snapshot(self) -> None:
        await self.snapshots.save(self.log.record_at, snapshot_committer(self.log))

    async def caught_up(self) -> None:
        """Wait until both followers have folded the whole log."""
        for follower, topics in (
            (self.platform.projection, self.platform.projection._topics),
            (self.platform.fanout, (Topic.FANOUT,)),
        ):
            positions = []
            for topic in topics:
                end = (await self.log.end_offsets(topic))[0]
                if end:
                    positions.append((topic, 0, end - 1))
            await follower.wait_positions(positions)


def views_of(platform: Platform) -> dict[str, Any]:
    """Everything the views hold, in comparable form."""
    snapshots = platform.snapshots
    assert snapshots is not None
    book = snapshots._book
    return {
        "state": platform.projection.state,
        "accounts": platform.projection.accounts,
        "reservations": sorted(book.holdings()),
        "live": platform.live.image(),
        "trending": platform.catalog.trending_scores,
        "delivered": snapshots._delivered.ids(),
        "applied": dict(platform.projection.applied),
        "fanout applied": dict(platform.fanout.applied),
    }


def reads_of(platform: Platform, stream: Stream) -> list[Any]:
    """What the API answers from the views: catalog, carts, orders, outputs, wishlists."""
    catalog, service = platform.catalog, platform.service
    return [
        catalog.search_bytes(ProductQuery()),
        catalog.trending_bytes(5),
        [catalog.product_bytes(p.id) for p in PRODUCTS],
        [service.state.cart(f"s{n}") for n in range(12)],
        [service.order(order_id) for order_id in stream.orders],
        [platform.live.recommendations(f"s{n}", None) for n in range(12)],
        [platform.live.related(p.id) for p in PRODUCTS],
        platform.live.analytics,
        [service.state.wishlists.get(f"u{n}") for n in range(4)],
        [platform.projection.accounts.get(f"u{n}@example.com") for n in range(6)],
    ]


KINDS = {
    "add": 8,
    "remove": 2,
    "checkout": 3,
    "pay": 3,
    "ship": 1,
    "coupon": 1,
    "review": 1,
    "wish": 2,
    "account": 1,
    "track": 3,
    "output": 4,
    "redeliver": 1,
}
"""Kinds of traffic and their weights."""


class Stream:
    """Random shop traffic, seeded: commands through the service, outputs on the fan-out."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.orders: list[str] = []
        self.outputs: list[Message] = []

    async def run(self, platform: Platform, log: SqliteEventLog, steps: int) -> None:
        service = platform.service
        await service.seed_catalog(PRODUCTS)
        for _ in range(steps):
            # a refused command (out of stock, nothing to pay) is part of the traffic
            with contextlib.suppress(DomainError):
                await self._one(platform, log)

    async def _one(self, platform: Platform, log: SqliteEventLog) -> None:
        rng = self.rng
        service = platform.service
        session = f"s{rng.randrange(12)}"
        user = rng.choice([None, f"u{rng.randrange(4)}"])
        product = rng.choice(PRODUCTS).id
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        if kind == "add":
            await service.add_to_cart(session, user, product, rng.randint(1, 3))
        elif kind == "remove":
            await service.remove_from_cart(session, user, product)
        elif kind == "checkout":
            order, _ = await service.checkout(session, user, f"k{rng.randrange(10_000)}")
            self.orders.append(order.order_id)
        elif kind == "pay" and self.orders:
            order_id = rng.choice(self.orders)
            await service.pay(order_id, CARD, service.order(order_id).total)
        elif kind == "ship" and self.orders:
            await service.set_order_status(rng.choice(self.orders), OrderStatus.SHIPPED)
        elif kind == "coupon":
            code = f"SAVE{rng.randrange(3)}"
            coupon = Coupon(code=code, kind=CouponKind.PERCENT, value=10, max_redemptions=5)
            await service.create_coupon(coupon)
        elif kind == "review" and user is not None:
            draft = Draft(rating=rng.randint(1, 5), title="ok", body="fine", author=user)
            await service.post_review(user, product, draft)
        elif kind == "wish" and user is not None:
            await service.change_wishlist(user, product, rng.random() < 0.7)
        elif kind == "account":
            n = rng.randrange(6)
            account = Account(f"u{n}", f"u{n}@example.com", "U", Role.SHOPPER, "$argon2id$x")
            await service.register_account(account)
        elif kind == "track":
            view = {"eventType": "PRODUCT_VIEW", "sessionId": session, "productId": product}
            await service.track([view])
        elif kind == "output":
            await self._output(log, session, product)
        elif kind == "redeliver" and self.outputs:
            # a processor that crashed before its checkpoint emits the same output again
            await log.append([rng.choice(self.outputs)])

    async def _output(self, log: SqliteEventLog, session: str, product: str) -> None:
        rng = self.rng
        others = tuple(p.id for p in PRODUCTS if p.id != product)
        event = rng.choice(
            [
                Recommendation(
                    session_id=session, product_ids=others[:3], confidence=0.5, reason="r"
                ),
                RelatedProducts(product_id=product, bought_together=others[:2]),
                TrendingUpdated(products=(ScoredProduct(product_id=product, score=rng.random()),)),
                AnalyticsUpdated(analytics={"totalOrders": rng.randrange(100)}),
            ]
        )
        message = Message(Topic.FANOUT, session, encode_event(event))
        self.outputs.append(message)
        await log.append([message])


async def open_log(data_dir: Path) -> SqliteEventLog:
    log = SqliteEventLog(data_dir / "log.sqlite")
    await log.start()
    return log


@pytest.mark.parametrize("seed", range(4))
async def test_a_restart_from_a_snapshot_and_the_tail_holds_what_a_full_fold_holds(
    tmp_path: Path, seed: int
) -> None:
    log = await open_log(tmp_path)
    stream = Stream(seed)
    first = await Running(log, tmp_path).start()
    await stream.run(first.platform, log, steps=stream.rng.randint(20, 120))
    await first.caught_up()
    await first.snapshot()
    await stream.run(first.platform, log, steps=stream.rng.randint(0, 80))  # the tail
    await first.caught_up()
    await first.stop()

    restarted = await Running(log, tmp_path).start()
    assert restarted.snapshots.restored is not None
    await restarted.caught_up()
    (tmp_path / "views.snapshot").unlink()
    refolded = await Running(log, tmp_path).start()
    assert refolded.snapshots.restored is None
    await refolded.caught_up()

    assert views_of(restarted.platform) == views_of(refolded.platform)
    assert views_of(restarted.platform) == views_of(first.platform)
    tail = sum(restarted.platform.projection.applied.values()) - sum(
        offset for offset, _ in restarted.snapshots.restored.fold.values()
    )
    assert restarted.platform.projection.records_applied == tail
    await restarted.stop()
    await refolded.stop()
    await log.close()


async def test_a_restart_with_a_snapshot_answers_reads_as_before(tmp_path: Path) -> None:
    log = await open_log(tmp_path)
    stream = Stream(7)
    first = await Running(log, tmp_path).start()
    await stream.run(first.platform, log, steps=80)
    await first.caught_up()
    await first.snapshot()
    before = first.platform
    reads = reads_of(before, stream)
    await first.stop()
    again = await Running(log, tmp_path).start()
    restarted = again.platform
    assert restarted.projection.records_applied == 0
    assert restarted.fanout.records_applied == 0
    assert reads_of(restarted, stream) == reads
    await again.stop()
    await log.close()


@pytest.mark.parametrize("seed", range(3))
async def test_a_snapshot_holds_the_views_as_captured_though_folding_goes_on_while_it_is_written(
    tmp_path: Path, seed: int
) -> None:
    log = await open_log(tmp_path)
    stream = Stream(seed)
    first = await Running(log, tmp_path).start()
    await stream.run(first.platform, log, steps=60)
    await first.caught_up()
    capture = first.snapshots.capture()
    as_captured = copy.deepcopy(views_of(first.platform))
    # carts, orders of a shopper, reviews, wishlists, kept recommendations change in place
    await stream.run(first.platform, log, steps=60)
    await first.caught_up()
    assert views_of(first.platform) != as_captured
    await asyncio.to_thread(first.snapshots.write, capture, log.record_at)
    await first.stop()

    restarted = Running(log, tmp_path)
    ends: dict[tuple[str, int], int] = {(t, 0): (await log.end_offsets(t))[0] for t in Topic}
    image = restarted.snapshots.load(ends, log.record_at)
    assert image is not None
    restarted.snapshots.restore(image)
    assert views_of(restarted.platform) == as_captured
    await log.close()


async def test_an_image_encoded_in_pieces_is_the_image_encoded_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot_format, "ENCODED_AT_ONCE", 3)
    log = await open_log(tmp_path)
    stream = Stream(5)
    first = await Running(log, tmp_path).start()
    await stream.run(first.platform, log, steps=80)
    await first.caught_up()
    image = first.snapshots.capture().image
    assert len(image.fold.state.carts) > 3
    whole = TypeAdapter(snapshot_format.ViewsImage).dump_json(image)
    assert b"".join(snapshot_format.encode_image(image)) == whole
    await first.stop()
    await log.close()


def corrupted(data: bytes) -> bytes:
    middle = len(data) - len(data) // 3
    return data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1 :]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (corrupted, "corrupt"),
        # the entries are left in the file at a restore, and checked there
        (lambda data: data[:-1] + bytes([data[-1] ^ 0x20]), "corrupt"),
        (lambda data: data[: len(data) // 2], "corrupt"),
        (lambda data: b"", "not a views snapshot"),
        (lambda data: data.replace(b'"format":2', b'"format":99', 1), "format 99"),
        (lambda data: data.replace(b'"schema":"', b'"schema":"0', 1), "other view types"),
    ],
    ids=[
        "a flipped byte",
        "a flipped byte in the last entry",
        "cut short",
        "empty",
        "another format version",
        "other types",
    ],
)
async def test_a_snapshot_this_code_cannot_trust_is_ignored_and_the_log_folded_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, change: Any, reason: str
) -> None:
    log = await open_log(tmp_path)
    first = await Running(log, tmp_path).start()
    await Stream(3).run(first.platform, log, steps=40)
    await first.caught_up()
    await first.snapshot()
    await first.stop()
    path = tmp_path / "views.snapshot"
    path.write_bytes(change(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger=snapshot_format.__name__):
        again = await Running(log, tmp_path).start()
    assert again.snapshots.restored is None
    assert reason in caplog.text
    assert again.platform.projection.records_applied == sum(
        again.platform.projection.applied.values()
    )
    assert views_of(again.platform)["state"] == first.platform.projection.state
    await again.stop()
    await log.close()


async def test_a_body_that_decodes_but_fails_its_checksum_is_refused_as_corrupt(
    tmp_path: Path,
) -> None:
    """The checksum is computed beside the decoding: what the decoding made of a changed body
    is never used."""
    log = await open_log(tmp_path)
    first = await Running(log, tmp_path).start()
    await Stream(3).run(first.platform, log, steps=20)
    await first.caught_up()
    await first.snapshot()
    await first.stop()
    await log.close()
    written = snapshot_format.read_file(tmp_path / "views.snapshot")
    assert snapshot_format.check_and_decode(written).image.fold.state.products
    at = written.image.index(b'"name":"') + len(b'"name":"')
    letter = written.image[at : at + 1]
    image = written.image[:at] + letter.swapcase() + written.image[at + 1 :]
    changed = dataclasses.replace(written, image=image)

    assert letter.isalpha()
    assert snapshot_format.decode(changed).image.fold.state.products  # it decodes...
    with pytest.raises(snapshot_format.SnapshotError, match="corrupt"):
        snapshot_format.check_and_decode(changed)  # ...and is refused


async def test_a_snapshot_ahead_of_the_log_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = tmp_path / "old"
    log = await open_log(old)
    first = await Running(log, old).start()
    await Stream(5).run(first.platform, log, steps=60)
    await first.caught_up()
    await first.snapshot()
    await first.stop()
    await log.close()
    # the log is replaced by a shorter one; the data directory keeps the snapshot
    new = tmp_path / "new"
    log = await open_log(new)
    first = await Running(log, new).start()
    await Stream(6).run(first.platform, log, steps=5)
    await first.caught_up()
    await first.stop()
    (new / "views.snapshot").write_bytes((old / "views.snapshot").read_bytes())
    with caplog.at_level(logging.WARNING, logger=snapshot_format.__name__):
        again = await Running(log, new).start()
    assert again.snapshots.restored is None
    assert "ahead of the log" in caplog.text
    assert views_of(again.platform)["state"] == first.platform.projection.state
    await again.stop()
    await log.close()


async def test_a_snapshot_of_another_log_of_the_same_length_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logs = []
    for name, seed in (("a", 1), ("b", 2)):
        log = await open_log(tmp_path / name)
        first = await Running(log, tmp_path / name).start()
        await first.platform.service.seed_catalog(PRODUCTS)
        await first.platform.service.add_to_cart("s1", None, PRODUCTS[seed].id, seed)
        await first.caught_up()
        await first.snapshot()
        await first.stop()
        logs.append((log, first))
    copied = (tmp_path / "a" / "views.snapshot").read_bytes()
    (tmp_path / "b" / "views.snapshot").write_bytes(copied)
    log, first = logs[1]
    with caplog.at_level(logging.WARNING, logger=snapshot_format.__name__):
        again = await Running(log, tmp_path / "b").start()
    assert again.snapshots.restored is None
    assert "the log changed under it" in caplog.text
    assert again.platform.projection.state == first.platform.projection.state
    await again.stop()
    for log, _ in logs:
        await log.close()


async def test_retention_keeps_what_the_snapshot_does_not_cover_and_trims_below_it(
    tmp_path: Path,
) -> None:
    log = await open_log(tmp_path)
    stream = Stream(9)
    first = await Running(log, tmp_path).start()
    await stream.run(first.platform, log, steps=60)
    await first.caught_up()
    await first.snapshot()
    covered = dict(first.platform.projection.applied)
    await stream.run(first.platform, log, steps=40)
    await first.caught_up()
    await first.stop()
    # only the snapshot's group holds the log: the records it covers may go, no others
    policy = RetentionPolicy(retention_ms=1, required={})
    retention = LogRetention(log, policy, clock=lambda: log.clock() + 1000)
    await asyncio.to_thread(retention.sweep)
    start = (await log.start_offsets(Topic.EVENTS))[0]
    assert start == covered[(Topic.EVENTS, 0)]
    restarted = await Running(log, tmp_path).start()
    assert restarted.snapshots.restored is not None
    await restarted.caught_up()
    assert restarted.platform.projection.state == first.platform.projection.state
    await restarted.stop()
    await log.close()


def still_encoded(entries: Any) -> set[str]:
    """The keys of a restored dictionary whose values have not been decoded yet."""
    assert isinstance(entries, Decoding)
    return {key for key, value in entries.held_entries() if type(value) is int}


async def shop_with_orders(log: SqliteEventLog, data_dir: Path) -> tuple[Running, list[str]]:
    """A platform whose shoppers s0..s3 each placed an order and s4, s5 hold a cart."""
    first = await Running(log, data_dir).start()
    service = first.platform.service
    await service.seed_catalog(PRODUCTS)
    orders = []
    for n in range(6):
        await service.add_to_cart(f"s{n}", None, PRODUCTS[n].id, 1)
        if n < 4:
            order, _ = await service.checkout(f"s{n}", None, f"key-{n}")
            orders.append(order.order_id)
    await first.caught_up()
    return first, orders


@dataclasses.dataclass
class Restarted:
    """A `shop_with_orders` snapshotted, stopped and started again from its snapshot."""

    log: SqliteEventLog
    before: ShopService
    """The stopped shop's service, to compare with."""
    shop: Running
    orders: list[str]


async def restarted(data_dir: Path) -> Restarted:
    log = await open_log(data_dir)
    first, orders = await shop_with_orders(log, data_dir)
    await first.snapshot()
    await first.stop()
    return Restarted(log, first.platform.service, await Running(log, data_dir).start(), orders)


async def test_a_restart_decodes_no_cart_or_order_until_one_is_read(tmp_path: Path) -> None:
    restart = await restarted(tmp_path)
    again, before, orders = restart.shop, restart.before, restart.orders
    state = again.platform.service.state
    assert still_encoded(state.orders) == set(orders)
    assert still_encoded(state.carts) == set(state.carts)
    assert again.platform.service.order(orders[1]) == before.order(orders[1])
    assert state.cart("s5") == before.state.cart("s5")
    assert still_encoded(state.orders) == set(orders) - {orders[1]}
    assert "s5" not in still_encoded(state.carts)
    assert state.orders == before.state.orders  # decodes the rest
    assert not still_encoded(state.orders)
    await again.stop()
    await restart.log.close()


async def test_an_entry_restored_encoded_receives_the_events_folded_after_the_snapshot(
    tmp_path: Path,
) -> None:
    log = await open_log(tmp_path)
    first, orders = await shop_with_orders(log, tmp_path)
    await first.snapshot()
    service = first.platform.service
    # the tail: an order paid, another cancelled, a cart changed, another emptied by a checkout
    await service.pay(orders[0], CARD, service.order(orders[0]).total)
    await service.set_order_status(orders[2], OrderStatus.CANCELLED)
    await service.add_to_cart("s4", None, PRODUCTS[0].id, 2)
    placed, _ = await service.checkout("s5", None, "key-5")
    await first.caught_up()
    await first.stop()

    again = await Running(log, tmp_path).start()
    assert again.platform.projection.records_applied > 0
    state = again.platform.service.state
    # the tail's events decoded what they changed, before changing it; the rest waits
    assert still_encoded(state.orders) == {orders[1], orders[3]}
    assert again.platform.service.order(orders[0]).status == OrderStatus.PAID
    assert again.platform.service.order(orders[2]).status == OrderStatus.CANCELLED
    assert again.platform.service.order(placed.order_id) == placed
    assert state.cart("s4") == service.state.cart("s4")
    assert not state.cart("s5").lines
    assert views_of(again.platform) == views_of(first.platform)
    await again.stop()
    await log.close()


async def test_a_snapshot_of_a_restored_shop_writes_its_undecoded_entries_as_they_were_read(
    tmp_path: Path,
) -> None:
    restart = await restarted(tmp_path)
    again, orders = restart.shop, restart.orders
    service = again.platform.service
    await service.pay(orders[3], CARD, service.order(orders[3]).total)
    await again.caught_up()
    assert still_encoded(service.state.orders) == set(orders[:3])
    await again.snapshot()
    # neither the capture nor the writing decoded an entry
    assert still_encoded(service.state.orders) == set(orders[:3])
    assert still_encoded(service.state.carts)
    await again.stop()

    third = await Running(restart.log, tmp_path).start()
    assert third.snapshots.restored is not None
    assert third.platform.projection.records_applied == 0
    assert views_of(third.platform) == views_of(again.platform)
    assert third.platform.service.order(orders[3]).status == OrderStatus.PAID
    await third.stop()
    await restart.log.close()


async def test_an_entry_left_in_the_file_is_read_from_it_though_a_newer_snapshot_replaced_it(
    tmp_path: Path,
) -> None:
    restart = await restarted(tmp_path)
    again, before, orders = restart.shop, restart.before, restart.orders
    service = again.platform.service
    await service.pay(orders[3], CARD, service.order(orders[3]).total)
    await again.caught_up()
    await again.snapshot()  # a new file renamed over the one restored
    (tmp_path / "views.snapshot").unlink()
    assert still_encoded(service.state.orders) == set(orders[:3])
    assert [service.order(o) for o in orders[:3]] == [before.order(o) for o in orders[:3]]
    assert service.state.cart("s5") == before.state.cart("s5")
    await again.stop()
    await restart.log.close()
