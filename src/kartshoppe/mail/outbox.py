"""A durable outbox of e-mails and the sender that empties it over SMTP.

Enqueuing is one SQLite insert (keyed, so a message is queued once) and never waits for a mail
server: the order is never blocked or lost because mail is down. The sender retries a failed
send with exponential backoff (1 s doubling to 5 min) up to `MAX_ATTEMPTS`, then leaves the
message FAILED for the operator to see. Without an SMTP host (embedded mode) messages stay in the
local outbox as LOCAL, readable by the operator in the web app (`GET /admin/outbox`).
"""

from __future__ import annotations

import asyncio
import smtplib
import sqlite3
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

MAX_ATTEMPTS = 8
MAX_BACKOFF_S = 300.0
Security = Literal["none", "starttls", "ssl"]


@dataclass(frozen=True, slots=True)
class Draft:
    """One e-mail to queue."""

    key: str
    """One message per key: enqueuing the same key twice sends once."""
    to: str
    subject: str
    text: str
    html: str


SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    sent_at REAL
)
"""


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = ""
    port: int = 587
    security: Security = "starttls"
    username: str = ""
    password: str = ""
    sender: str = "KartShoppe <orders@kartshoppe.dev>"
    timeout_s: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.host)


def to_message(draft: Draft, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = draft.to
    message["Subject"] = draft.subject
    message.set_content(draft.text)
    message.add_alternative(draft.html, subtype="html")
    return message


def send(config: SmtpConfig, message: EmailMessage) -> None:
    """One blocking SMTP delivery (run in a thread)."""
    if config.security == "ssl":
        context = ssl.create_default_context()
        with smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout_s, context=context
        ) as smtp:
            _deliver(smtp, config, message)
        return
    with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
        if config.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        _deliver(smtp, config, message)


def _deliver(smtp: smtplib.SMTP, config: SmtpConfig, message: EmailMessage) -> None:
    if config.username:
        smtp.login(config.username, config.password)
    smtp.send_message(message)


class Outbox:
    def __init__(self, path: Path, config: SmtpConfig) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()
        self.config = config
        self.wake = asyncio.Event()

    def enqueue(self, draft: Draft) -> None:
        status = "PENDING" if self.config.enabled else "LOCAL"
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (key, recipient, subject, text, html, status,"
                " next_attempt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (draft.key, draft.to, draft.subject, draft.text, draft.html, status, now, now),
            )
        self.wake.set()

    def messages(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, recipient, subject, text, html, status, attempts, last_error,"
                " created_at, sent_at FROM outbox ORDER BY created_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        names = ("key", "to", "subject", "text", "html", "status", "attempts", "lastError")
        return [
            {
                **dict(zip(names, row[:8], strict=True)),
                "createdAt": int(row[8] * 1000),
                "sentAt": int(row[9] * 1000) if row[9] is not None else None,
            }
            for row in rows
        ]

    def _due(self) -> list[tuple[str, str, str, str, str, int]]:
        with self._lock:
            return self._db.execute(
                "SELECT key, recipient, subject, text, html, attempts FROM outbox"
                " WHERE status = 'PENDING' AND next_attempt <= ? ORDER BY created_at LIMIT 20",
                (time.time(),),
            ).fetchall()

    def _record(self, key: str, attempts: int, error: str | None) -> None:
        now = time.time()
        with self._lock:
            if error is None:
                self._db.execute(
                    "UPDATE outbox SET status = 'SENT', attempts = ?, sent_at = ? WHERE key = ?",
                    (attempts, now, key),
                )
                return
            status = "FAILED" if attempts >= MAX_ATTEMPTS else "PENDING"
            delay = min(MAX_BACKOFF_S, 2.0 ** (attempts - 1))
            self._db.execute(
                "UPDATE outbox SET status = ?, attempts = ?, next_attempt = ?, last_error = ?"
                " WHERE key = ?",
                (status, attempts, now + delay, error[:500], key),
            )

    async def send_due(self) -> int:
        """Send every message that is due; returns how many were sent."""
        sent = 0
        for key, to, subject, text, html, attempts in self._due():
            message = to_message(Draft(key, to, subject, text, html), self.config.sender)
            try:
                await asyncio.to_thread(send, self.config, message)
            except (OSError, smtplib.SMTPException) as exc:
                self._record(key, attempts + 1, f"{type(exc).__name__}: {exc}")
            else:
                self._record(key, attempts + 1, None)
                sent += 1
        return sent

    async def run(self, stop: asyncio.Event, poll_s: float = 1.0) -> None:
        """Send whatever is due, woken by each enqueue and at least every `poll_s`."""
        while not stop.is_set():
            if self.config.enabled:
                await self.send_due()
            self.wake.clear()
            waits = [asyncio.create_task(self.wake.wait()), asyncio.create_task(stop.wait())]
            await asyncio.wait(waits, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()

    def close(self) -> None:
        self._db.close()
