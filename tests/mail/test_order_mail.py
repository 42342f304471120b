"""Order e-mail for real: the confirmation, shipped and cancelled notices, over SMTP to a real
in-process server, plain text and HTML, retried when the server is down, never holding up the
order; a local outbox otherwise."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from kartshoppe.domain.orders import Order, PaymentRecord
from kartshoppe.events import Address, Delivery, OrderLine, OrderStatus
from kartshoppe.mail.order_mail import cancelled, confirmation, order_mail, shipped
from kartshoppe.mail.outbox import Outbox, SmtpConfig
from tests.mail.smtp_support import SHOP, first_link, mailing_to, parts, smtp_server
from tests.support.accounts import OPERATOR
from tests.support.ports import LOOPBACK, free_port
from tests.support.server import running_server

D = Decimal
ORDER = Order(
    order_id="order_dd400c090f50635d12781b3b32d35920",
    idempotency_key="k1",
    lines=(OrderLine(product_id="p1", quantity=2, unit_price=D("19.99"), name="Lamp"),),
    total=D("52.96"),
    status=OrderStatus.PAID,
    created_at=0,
    updated_at=0,
    subtotal=D("39.98"),
    shipping=D("4.99"),
    tax=D("7.99"),
    email="ada@example.com",
    address=Address(name="Ada", line1="1 St", city="London", postal_code="SW1A 1AA", country="GB"),
    delivery=Delivery(
        option="standard", label="Standard", cost=D("4.99"), estimated_date="2026-12-01"
    ),
)


LINK = f"{SHOP}/orders/{ORDER.order_id}?key=k3y"


async def until(predicate: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.05)


async def test_a_paid_orders_confirmation_arrives_with_text_and_html(tmp_path: Path) -> None:
    with smtp_server() as (inbox, port):
        outbox = Outbox(tmp_path / "outbox.sqlite", SmtpConfig(LOOPBACK, port, "none"))
        draft = confirmation(ORDER, LINK)
        assert draft is not None
        outbox.enqueue(draft)
        outbox.enqueue(draft)  # queued once per order
        assert await outbox.send_due() == 1
        (message,) = inbox.messages
    text, html = parts(message)
    assert message["To"] == "ada@example.com"
    assert "$52.96" in message["Subject"]
    assert "DD40-0C09" in message["Subject"], "the order is named as the shopper quotes it"
    for figure in ("$39.98", "$4.99", "$7.99", "$52.96", "expected Tuesday, December 1, 2026"):
        assert figure in text and figure in html
    assert f"See your order: {LINK}" in text and f"href='{LINK}'" in html
    assert outbox.messages()[0]["status"] == "SENT"


def test_each_status_a_shopper_hears_of_sends_one_message_of_its_own() -> None:
    sent = {s: order_mail(replace(ORDER, status=s), LINK) for s in OrderStatus}
    assert {s for s, d in sent.items() if d is not None} == {
        OrderStatus.PAID,
        OrderStatus.SHIPPED,
        OrderStatus.CANCELLED,
    }, "placing waits for payment, and delivery the shopper sees at the door"
    keys = [d.key for d in sent.values() if d is not None]
    assert len(set(keys)) == 3 and all(k.endswith(ORDER.order_id) for k in keys)
    assert order_mail(replace(ORDER, email=None), LINK) is None


def test_the_shipped_notice_names_the_order_its_lines_and_when_it_arrives() -> None:
    draft = shipped(replace(ORDER, status=OrderStatus.SHIPPED), LINK)
    assert draft is not None
    assert draft.subject == "Your KartShoppe order DD40-0C09 has shipped"
    for said in ("is on its way", "2 x Lamp", "$39.98", "expected Tuesday, December 1, 2026"):
        assert said in draft.text and said in draft.html
    assert "Total" not in draft.text, "a notice, not a second bill"
    assert "tracking" not in draft.text
    tracked = shipped(replace(ORDER, status=OrderStatus.SHIPPED, tracking_number="1Z999AA1"), LINK)
    assert tracked is not None and "Its tracking number is 1Z999AA1." in tracked.text


def test_the_cancelled_notice_says_what_was_refunded_or_that_nothing_was_charged() -> None:
    paid = replace(
        ORDER,
        status=OrderStatus.CANCELLED,
        payments=(
            PaymentRecord("CAPTURED", "tx1", D("52.96"), 1, "4242"),
            PaymentRecord("REFUNDED", "tx1", D("52.96"), 2),
        ),
    )
    refunded = cancelled(paid, LINK)
    assert refunded is not None
    assert refunded.subject == "Your KartShoppe order DD40-0C09 is cancelled"
    assert "We refunded $52.96 to your card ending 4242." in refunded.text
    assert "We refunded $52.96 to your card ending 4242." in refunded.html
    unpaid = cancelled(replace(ORDER, status=OrderStatus.CANCELLED), LINK)
    assert unpaid is not None and "Nothing was charged." in unpaid.text
    assert "not paid within" not in unpaid.text, "no pay-by time: nothing to say why"
    assert "Ship to" not in unpaid.text


async def test_a_failed_send_is_retried_until_the_server_answers(tmp_path: Path) -> None:
    port = free_port(LOOPBACK)
    outbox = Outbox(tmp_path / "outbox.sqlite", SmtpConfig(LOOPBACK, port, "none", timeout_s=2))
    draft = confirmation(ORDER, LINK)
    assert draft is not None
    started = time.monotonic()
    outbox.enqueue(draft)
    assert time.monotonic() - started < 0.5, "queuing never waits for the mail server"
    stop = asyncio.Event()
    sender = asyncio.create_task(outbox.run(stop, poll_s=0.2))
    await until(lambda: outbox.messages()[0]["attempts"] >= 1)
    first = outbox.messages()[0]
    assert (first["status"], first["lastError"] != "") == ("PENDING", True)
    with smtp_server(port) as (inbox, _):
        await until(lambda: len(inbox.messages) == 1)
    stop.set()
    await sender
    assert outbox.messages()[0]["status"] == "SENT"
    assert outbox.messages()[0]["attempts"] >= 2


async def test_without_a_mail_server_messages_stay_in_the_local_outbox(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite", SmtpConfig())
    draft = confirmation(ORDER, LINK)
    assert draft is not None
    outbox.enqueue(draft)
    (kept,) = outbox.messages()
    assert (kept["status"], kept["to"]) == ("LOCAL", "ada@example.com")
    assert "$52.96" in kept["text"]


def wait_for_messages(messages: list[Any], count: int) -> None:
    deadline = time.monotonic() + 30
    while len(messages) < count:
        assert time.monotonic() < deadline, f"{len(messages)} of {count} e-mails arrived"
        time.sleep(0.1)


def test_paying_then_shipping_an_order_on_the_server_mails_the_confirmation_then_the_notice(
    tmp_path: Path,
) -> None:
    card = {"number": "4242424242424242", "expiry": "12/39", "cvc": "123"}
    address = {
        "name": "Ada",
        "line1": "1 St",
        "city": "Berlin",
        "postalCode": "10115",
        "country": "DE",
    }
    with smtp_server() as (inbox, port):
        env = mailing_to(port)
        with (
            running_server(tmp_path, "--bus", "embedded", env=env) as server,
            httpx.Client(base_url=server.url("/api/ecommerce"), timeout=30) as api,
        ):
            product = api.get("/products", params={"pageSize": 1}).json()["items"][0]
            api.post("/cart/s-mail/add", json={"productId": product["id"]})
            body = {
                "sessionId": "s-mail",
                "idempotencyKey": "k-mail",
                "email": "bo@example.com",
            }
            order = api.post("/checkout", json={**body, "address": address}).json()
            paid = api.post(
                f"/orders/{order['orderId']}/pay",
                params={"sessionId": "s-mail"},
                json={"card": card},
            )
            assert paid.status_code == 200, paid.text
            wait_for_messages(inbox.messages, 1)
            operator = api.post("/auth/login", json=OPERATOR).json()["token"]
            as_operator = {"Authorization": f"Bearer {operator}"}
            status = f"/admin/orders/{order['orderId']}/status"
            for wrong in (
                {"status": "SHIPPED", "trackingNumber": "no spaces"},
                {"status": "DELIVERED", "trackingNumber": "1Z999AA10123456784"},
            ):
                refused = api.post(status, json=wrong, headers=as_operator)
                assert refused.status_code == 422, refused.text
                assert refused.json()["details"][0]["field"] == "trackingNumber"
            tracked = {"status": "SHIPPED", "trackingNumber": "1Z999AA10123456784"}
            shipped_now = api.post(status, json=tracked, headers=as_operator)
            assert shipped_now.status_code == 200, shipped_now.text
            assert shipped_now.json()["trackingNumber"] == "1Z999AA10123456784"
            wait_for_messages(inbox.messages, 2)
            link = first_link(inbox)
            key = parse_qs(urlparse(link).query)["key"][0]
            assert urlparse(link).path == f"/orders/{order['orderId']}"
            with httpx.Client(base_url=server.url("/api/ecommerce"), timeout=30) as elsewhere:
                opened = elsewhere.get(f"/orders/{order['orderId']}", params={"key": key})
                assert (opened.status_code, opened.json()["status"]) == (200, "SHIPPED")
                forged = elsewhere.get(f"/orders/{order['orderId']}", params={"key": "x" + key})
                assert forged.status_code == 404, "another order's key, or none, opens nothing"
                assert elsewhere.get(f"/orders/{order['orderId']}").status_code == 404
    text, _ = parts(inbox.messages[0])
    assert inbox.messages[0]["To"] == "bo@example.com"
    assert f"${Decimal(repr(order['total'])):.2f}" in text
    assert inbox.messages[1]["To"] == "bo@example.com"
    assert inbox.messages[1]["Subject"] == f"Your KartShoppe order {order['reference']} has shipped"
    assert "Its tracking number is 1Z999AA10123456784." in parts(inbox.messages[1])[0]


def test_an_order_the_shop_cancelled_unpaid_after_its_pay_by_says_why() -> None:
    pay_by = 1_000 + 15 * 60_000
    held = replace(ORDER, created_at=1_000, pay_by=pay_by)
    expired = replace(
        held, status=OrderStatus.CANCELLED, history=((OrderStatus.CANCELLED, pay_by),)
    )
    draft = cancelled(expired, LINK)
    assert draft is not None
    assert "It was not paid within 15 minutes of being placed" in draft.text
    early = replace(expired, history=((OrderStatus.CANCELLED, 5_000),))
    by_shopper = cancelled(early, LINK)
    assert by_shopper is not None and "not paid within" not in by_shopper.text
