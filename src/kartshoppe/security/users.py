"""The user store: accounts with argon2-hashed passwords in a SQLite file under the data dir.

Two demo accounts are seeded on first start (see `DEMO_USERS`); the passwords are public and
documented, so a real deployment turns seeding off (`KARTSHOPPE_DEMO_USERS=0`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Role(StrEnum):
    SHOPPER = "shopper"
    OPERATOR = "operator"


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    role: Role
    name: str


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    email: str
    password: str
    role: Role
    name: str


DEMO_USERS: Final[tuple[DemoUser, ...]] = (
    DemoUser(
        "user_demo_shopper",
        "shopper@kartshoppe.dev",
        "shopper-demo-pass",
        Role.SHOPPER,
        "Demo Shopper",
    ),
    DemoUser(
        "user_demo_operator",
        "operator@kartshoppe.dev",
        "operator-demo-pass",
        Role.OPERATOR,
        "Demo Operator",
    ),
)

SCHEMA = """CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
)"""


def default_hasher() -> PasswordHasher:
    """argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): a sign-in costs tens of
    milliseconds rather than the library default's hundreds on a busy two-core machine."""
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class DuplicateUserError(ValueError):
    """An account with this email or user id exists already."""


class UserStore:
    """Accounts by email. Blocking (SQLite, argon2): call from a worker thread on hot paths."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(SCHEMA)
        self._lock = threading.Lock()
        self._hasher = hasher or default_hasher()
        self._decoy: str | None = None

    def close(self) -> None:
        self._conn.close()

    def add(self, user_id: str, email: str, password: str, role: Role, name: str) -> User:
        digest = self._hasher.hash(password)
        try:
            with self._lock:
                self._conn.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
                    (user_id, email.lower(), digest, role.value, name, int(time.time() * 1000)),
                )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUserError(f"an account for {email} or {user_id} exists") from exc
        return User(user_id, email.lower(), role, name)

    def seed_demo_users(self) -> None:
        for demo in DEMO_USERS:
            if self.by_email(demo.email) is None:
                self.add(demo.user_id, demo.email, demo.password, demo.role, demo.name)

    def by_email(self, email: str) -> User | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT user_id, email, role, name FROM users WHERE email = ?", (email.lower(),)
            ).fetchone()
        return User(row[0], row[1], Role(row[2]), row[3]) if row else None

    def by_id(self, user_id: str) -> User | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT user_id, email, role, name FROM users WHERE user_id = ?", (user_id,)
            ).fetchone()
        return User(row[0], row[1], Role(row[2]), row[3]) if row else None

    def authenticate(self, email: str, password: str) -> User | None:
        """The account if `password` is its password, else None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT user_id, email, role, name, password_hash FROM users WHERE email = ?",
                (email.lower(),),
            ).fetchone()
        # verifying against a throwaway hash for unknown emails keeps the answer time the same,
        # so sign-in does not reveal which emails have accounts
        if row is None and self._decoy is None:
            self._decoy = self._hasher.hash("no such account")
        digest = str(row[4] if row else self._decoy)
        try:
            self._hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(row[0], row[1], Role(row[2]), row[3]) if row else None
