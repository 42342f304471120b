"""A real SMTP server (aiosmtpd) in the test process, collecting what it receives."""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.ports import LOOPBACK, free_port

SHOP = "https://shop.example.com"
"""The shop's public address in the links a test server mails (`KARTSHOPPE_PUBLIC_URL`)."""


def mailing_to(port: int) -> dict[str, str]:
    """A server's settings to send its mail, links to `SHOP` in it, to the test SMTP server."""
    return {
        "KARTSHOPPE_SMTP_HOST": LOOPBACK,
        "KARTSHOPPE_SMTP_PORT": str(port),
        "KARTSHOPPE_SMTP_SECURITY": "none",
        "KARTSHOPPE_PUBLIC_URL": SHOP,
    }


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = port or free_port(LOOPBACK)
    controller = Controller(inbox, hostname=LOOPBACK, port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and the HTML body of a message."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def first_link(inbox: Inbox, timeout_s: float = 30.0) -> str:
    """The first https link in the first message, once one has arrived."""
    deadline = time.monotonic() + timeout_s
    while not inbox.messages:
        assert time.monotonic() < deadline, "no e-mail arrived"
        time.sleep(0.1)
    text, _ = parts(inbox.messages[0])
    found = re.search(r"https://\S+", text)
    assert found is not None, text
    return found.group(0)
