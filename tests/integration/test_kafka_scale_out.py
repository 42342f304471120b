"""Any instance takes any write on Kafka, and the shop never oversells.

Three instances on one broker; shoppers go through whichever instance, with no routing rule.
Every write is a command decided by the owner of its key's partition, in one Kafka transaction
with the consumed command offset (docs/ARCHITECTURE.md, "Write side on Kafka").
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, Producer

from kartshoppe.eventlog.kafka_commands import COMMAND_PARTITIONS, COMMANDS_TOPIC
from kartshoppe.events import Topic
from tests.api.api_support import fresh, launch
from tests.support.accounts import OPERATOR
from tests.support.server import ServerProcess, running_server

SHARED_ENV = {
    "KARTSHOPPE_JWT_SECRET": "a-secret-every-instance-of-this-test-shares-0123456789",
    "KARTSHOPPE_RATE_SIGNIN": "off",
    "KARTSHOPPE_RATE_CART": "off",
    "KARTSHOPPE_RATE_CHECKOUT": "off",
    "KARTSHOPPE_RATE_BROWSE": "off",
    # processors and sink are not what these tests are about; they would only load the machine
    "KARTSHOPPE_PROCESSORS": "off",
    "KARTSHOPPE_SINK": "0",
}
SETTLE_TIMEOUT = 30.0
READY_TIMEOUT = 120.0
"""Generous: three servers start on a shared two-core machine."""


def _instances(
    tmp_path: Path, fresh_kafka: Callable[[], str], names: tuple[str, ...]
) -> Iterator[list[ServerProcess]]:
    bootstrap = fresh_kafka()
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                running_server(
                    tmp_path / name,
                    "--bus",
                    "kafka",
                    "--bootstrap",
                    bootstrap,
                    env=SHARED_ENV,
                    ready_timeout=READY_TIMEOUT,
                )
            )
            for name in names
        ]


@pytest.fixture
def instances(tmp_path: Path, fresh_kafka: Callable[[], str]) -> Iterator[list[ServerProcess]]:
    yield from _instances(tmp_path, fresh_kafka, ("a", "b", "c"))


@pytest.fixture
def two_instances(tmp_path: Path, fresh_kafka: Callable[[], str]) -> Iterator[list[ServerProcess]]:
    yield from _instances(tmp_path, fresh_kafka, ("a", "b"))


def api(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url("/api/ecommerce"), timeout=30.0, trust_env=False)


def operator(server: ServerProcess) -> httpx.Client:
    with api(server) as client:
        token = client.post("/auth/login", json=OPERATOR).json()["token"]
    admin = api(server)
    admin.headers["Authorization"] = f"Bearer {token}"
    return admin


def add(server: ServerProcess, session: str, product_id: str, quantity: int = 1) -> int:
    with api(server) as client:
        body = {"productId": product_id, "quantity": quantity}
        return client.post(f"/cart/{session}/add", json=body).status_code


def checkout(server: ServerProcess, session: str, key: str) -> httpx.Response:
    with api(server) as client:
        return client.post("/checkout", json={"sessionId": session, "idempotencyKey": key})


def redeemed(server: ServerProcess, code: str) -> int | None:
    with operator(server) as admin:
        found = {c["code"]: c["redeemed"] for c in admin.get("/admin/coupons").json()}
    return found.get(code)


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not check():
        assert time.monotonic() < deadline, f"not within {SETTLE_TIMEOUT:g}s: {what}"
        time.sleep(0.2)


def level(server: ServerProcess, product_id: str) -> dict[str, Any]:
    with api(server) as client:
        found: dict[str, Any] = client.get(f"/product/{product_id}").json()
    return found


def shows_available(server: ServerProcess, product_id: str, units: int) -> Callable[[], bool]:
    """The check for `eventually` that `server` shows `units` of the product available, bound to
    this server (a lambda made in a loop over servers would see the loop's last)."""
    return lambda: level(server, product_id)["available"] == units


def shows_redeemed(server: ServerProcess, code: str, times: int) -> Callable[[], bool]:
    """The check for `eventually` that `server` shows the coupon redeemed `times` times."""
    return lambda: redeemed(server, code) == times


def test_thirty_shoppers_checking_out_five_units_through_three_instances_buy_exactly_five(
    instances: list[ServerProcess],
) -> None:
    with operator(instances[0]) as admin:
        product = launch(admin, stock=5)
    shoppers = [fresh("shopper") for _ in range(30)]
    through = dict(zip(shoppers, itertools.cycle(instances), strict=False))
    with ThreadPoolExecutor(30) as pool:
        added = list(pool.map(lambda s: add(through[s], s, product["id"]), shoppers))
        assert added == [200] * 30
        # the checkout goes through another instance than the add: no stickiness needed
        answers = list(
            pool.map(
                lambda s: checkout(instances[(instances.index(through[s]) + 1) % 3], s, s),
                shoppers,
            )
        )

    codes = Counter(a.status_code for a in answers)
    assert codes == {201: 5, 409: 25}, [a.text for a in answers if a.status_code not in (201, 409)]
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {"insufficient_stock"}
    assert len({a.json()["orderId"] for a in answers if a.status_code == 201}) == 5
    for server in instances:
        eventually(shows_available(server, product["id"], 0), f"available 0 on {server.base_url}")
        assert level(server, product["id"])["stock"] == 5


def test_twenty_checkouts_through_two_instances_redeem_a_three_use_coupon_three_times(
    two_instances: list[ServerProcess],
) -> None:
    code = "THREE" + fresh("x").split("-")[1].upper()
    with operator(two_instances[0]) as admin:
        product = launch(admin, stock=100)
        body = {"code": code, "kind": "PERCENT", "value": 10, "maxRedemptions": 3}
        assert admin.post("/admin/coupons", json=body).status_code == 201
    for server in two_instances:
        eventually(shows_redeemed(server, code, 0), f"{code} on {server}")
    shoppers = [fresh("shopper") for _ in range(20)]
    through = dict(zip(shoppers, itertools.cycle(two_instances), strict=False))

    def buy(shopper: str) -> httpx.Response:
        # the checkout goes through the other instance than the add
        server = two_instances[1 - two_instances.index(through[shopper])]
        with api(server) as client:
            body = {"sessionId": shopper, "idempotencyKey": shopper, "couponCode": code}
            return client.post("/checkout", json=body)

    with ThreadPoolExecutor(20) as pool:
        added = list(pool.map(lambda s: add(through[s], s, product["id"]), shoppers))
        assert added == [200] * 20
        answers = list(pool.map(buy, shoppers))

    codes = Counter(a.status_code for a in answers)
    assert codes == {201: 3, 422: 17}, [a.text for a in answers if a.status_code not in (201, 422)]
    assert {a.json()["error"] for a in answers if a.status_code == 422} == {"coupon_exhausted"}
    for server in two_instances:
        eventually(shows_redeemed(server, code, 3), f"3 redeemed on {server}")
        eventually(
            shows_available(server, product["id"], 97),
            f"only the 3 orders hold units on {server.base_url}",
        )


def checkout_until_answered(servers: list[ServerProcess], shopper: str) -> httpx.Response:
    """The shopper's checkout (one idempotency key), tried on `servers` in turn while they
    answer 503, after the Retry-After they give."""
    for retry in itertools.count():
        answer = checkout(servers[retry % len(servers)], shopper, f"key-{shopper}")
        if answer.status_code != 503:
            return answer
        time.sleep(float(answer.headers.get("Retry-After", "1")))
    raise AssertionError("unreachable")


def test_a_retry_elsewhere_after_an_instance_is_killed_mid_checkout_never_buys_twice(
    instances: list[ServerProcess],
) -> None:
    with operator(instances[0]) as admin:
        product = launch(admin, stock=5)
    shoppers = [fresh("shopper") for _ in range(30)]
    with ThreadPoolExecutor(30) as pool:
        assert set(pool.map(lambda s: add(instances[0], s, product["id"]), shoppers)) == {200}
    victim = instances[2]
    survivors = instances[:2]

    def attempt(index_and_shopper: tuple[int, str]) -> httpx.Response:
        index, shopper = index_and_shopper
        first = instances[index % 3]
        try:
            answer = checkout(first, shopper, f"key-{shopper}")
            if answer.status_code != 503:
                return answer
        except httpx.TransportError:
            pass  # the instance died under the request: try another with the same key
        return checkout_until_answered(survivors, shopper)

    with ThreadPoolExecutor(30) as pool:
        futures = [pool.submit(attempt, pair) for pair in enumerate(shoppers)]
        time.sleep(0.3)
        victim.kill()
        answers = [f.result(timeout=180) for f in futures]

    placed = [a.json()["orderId"] for a in answers if a.status_code in (200, 201)]
    refused = [a for a in answers if a.status_code == 409]
    assert len(placed) == 5 and len(set(placed)) == 5, [a.text for a in answers]
    assert len(refused) == 25
    assert {a.json()["error"] for a in refused} == {"insufficient_stock"}
    for server in survivors:
        eventually(shows_available(server, product["id"], 0), f"available 0 on {server.base_url}")
    # a late retry of every shopper anywhere gives back the same answer, never a new order (a
    # 503 while the survivors still take over the victim's share is retried, as a client would)
    for shopper in shoppers:
        again = checkout_until_answered(survivors[:1], shopper)
        assert again.status_code in (200, 409), again.text
        if again.status_code == 200:
            assert again.json()["orderId"] in placed
    # the killed instance comes back under its transactional id: its transaction left open is
    # fenced and aborted now (not by the broker's timeout, in the middle of a later test), and
    # it serves what the others decided
    victim.restart()
    eventually(
        lambda: level(victim, product["id"])["available"] == 0, f"available 0 on {victim.base_url}"
    )


def test_concurrent_adds_to_one_cart_through_two_instances_sum_up(
    instances: list[ServerProcess],
) -> None:
    with operator(instances[0]) as admin:
        product = launch(admin, stock=1000)
    session = fresh("shared-cart")
    through = [instances[i % 2] for i in range(40)]
    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda s: add(s, session, product["id"]), through))
    acknowledged = codes.count(200)
    assert acknowledged == 40, codes

    def quantity(server: ServerProcess) -> int:
        with api(server) as client:
            lines = client.get(f"/cart/{session}").json()["lines"]
        return sum(line["quantity"] for line in lines)

    for server in instances:

        def summed_up(server: ServerProcess = server) -> bool:
            return quantity(server) == acknowledged

        try:
            eventually(summed_up, "the sum of the adds")
        except AssertionError as exc:
            shown = [quantity(s) for s in instances]
            raise AssertionError(f"{exc}; the instances show {shown} of {acknowledged}") from exc


def test_overlapping_multi_product_checkouts_leave_no_reservation_without_an_order(
    instances: list[ServerProcess],
) -> None:
    with operator(instances[0]) as admin:
        products = [launch(admin, stock=4)["id"] for _ in range(3)]
    pairs = list(itertools.combinations(products, 2))
    shoppers = [(fresh("shopper"), pairs[i % 3]) for i in range(15)]
    with ThreadPoolExecutor(15) as pool:
        # each shopper's two lines are added through two different instances
        for line in (0, 1):
            added = pool.map(lambda sp, at=line: add(instances[at], sp[0], sp[1][at]), shoppers)
            assert set(added) == {200}
        answers = list(
            pool.map(
                lambda ip: checkout(instances[ip[0] % 3], ip[1][0], ip[1][0]), enumerate(shoppers)
            )
        )
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    sold: Counter[str] = Counter()
    for (_, pair), answer in zip(shoppers, answers, strict=True):
        if answer.status_code == 201:
            sold.update(pair)
    assert all(units <= 4 for units in sold.values())
    assert sum(sold.values()) > 0
    for server in instances:
        for product_id in products:
            eventually(
                shows_available(server, product_id, 4 - sold[product_id]),
                f"{product_id} on {server.base_url}: 4 - {sold[product_id]} available",
            )


def test_a_read_on_another_instance_passing_the_writes_position_sees_the_write(
    instances: list[ServerProcess],
) -> None:
    with operator(instances[0]) as admin:
        product = launch(admin)
    for writer, reader in itertools.permutations(instances, 2):
        session = fresh("s")
        with api(writer) as client:
            body = {"productId": product["id"], "quantity": 2}
            added = client.post(f"/cart/{session}/add", json=body)
        assert added.status_code == 200, added.text
        with api(reader) as client:
            read = client.get(
                f"/cart/{session}", headers={"X-Log-Position": added.headers["X-Log-Position"]}
            )
        assert [(line["productId"], line["quantity"]) for line in read.json()["lines"]] == [
            (product["id"], 2)
        ]


def test_a_malformed_command_on_the_log_goes_to_the_dlq_and_blocks_nothing(
    instances: list[ServerProcess],
) -> None:
    bootstrap = instances[0].args[instances[0].args.index("--bootstrap") + 1]
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition in range(COMMAND_PARTITIONS):
        producer.produce(COMMANDS_TOPIC, b'{"kind": "cart.add", "oops"', partition=partition)
    assert producer.flush(10) == 0
    with operator(instances[1]) as admin:
        product = launch(admin)
    for server in instances:
        assert add(server, fresh("s"), product["id"]) == 200

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": fresh("dlq-reader"),
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([Topic.DLQ.value])
    dead: list[dict[str, Any]] = []
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while len(dead) < COMMAND_PARTITIONS and time.monotonic() < deadline:
        for record in consumer.consume(100, 0.5):
            if record.error() is None:
                dead.append(json.loads(record.value() or b"{}"))
    consumer.close()
    assert len(dead) == COMMAND_PARTITIONS
    assert {d["reason"] for d in dead} == {"malformed_command"}
    assert all(d["details"][0]["field"] == "command" and d["details"][0]["message"] for d in dead)
