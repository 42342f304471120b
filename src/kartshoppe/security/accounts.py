"""Accounts, shared by every instance: sign-up, password changes and roles are commands decided
per e-mail (`ShopService.register_account` ...) and folded from the accounts topic, so a shopper
registered through one instance signs in on all of them. Passwords are hashed here (argon2id)
before anything leaves the process: commands, events and the topic carry hashes only.

Two demo accounts are seeded on first start (see `DEMO_USERS`); the passwords are public and
documented, so a real deployment turns seeding off (`KARTSHOPPE_DEMO_USERS=0`). Accounts of an
older data directory (`users.sqlite`, one file per instance) are registered once on start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from kartshoppe.application.commands import COMMAND_WAIT_S
from kartshoppe.application.shop import SEED_WAIT_S, ShopService
from kartshoppe.domain.accounts import Account, AccountBook, password_fingerprint
from kartshoppe.domain.errors import DomainError
from kartshoppe.events import Role, new_id

if TYPE_CHECKING:
    from argon2 import PasswordHasher

LEGACY_FILE: Final = "users.sqlite"


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    email: str
    password: str
    role: Role
    name: str
    password_hash: str
    """`password` hashed once with `default_hasher()`: seeding a fresh shop hashes nothing (two
    argon2id hashes were about 0.1 s of its start-up CPU). The password is public; so is this."""


DEMO_USERS: Final[tuple[DemoUser, ...]] = (
    DemoUser(
        "user_demo_shopper",
        "shopper@kartshoppe.dev",
        "shopper-demo-pass",
        Role.SHOPPER,
        "Demo Shopper",
        "$argon2id$v=19$m=19456,t=2,p=1$89TzeRV/u3LPsOMt+PWtYw$pg8Ij5FhK/UCufTh1Oqd1VValufxcVS0I4MiOm1+Wx0",
    ),
    DemoUser(
        "user_demo_operator",
        "operator@kartshoppe.dev",
        "operator-demo-pass",
        Role.OPERATOR,
        "Demo Operator",
        "$argon2id$v=19$m=19456,t=2,p=1$dCP95kypT6tBwyUEt0xg2w$do2XRK+ax1ZXK70AOUpjMedKfckSY1DctPJ9WLoWPD0",
    ),
)


def default_hasher() -> PasswordHasher:
    """argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): a sign-in costs tens of
    milliseconds rather than the library default's hundreds on a busy two-core machine.
    argon2 is imported here, by the first hash or check (a start hashes nothing)."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class Accounts:
    """Sign-up, sign-in and account changes. Hashing runs in a worker thread."""

    def __init__(
        self, service: ShopService, book: AccountBook, hasher: PasswordHasher | None = None
    ) -> None:
        self._service = service
        self._book = book
        self._given_hasher = hasher
        self._decoy: str | None = None

    @functools.cached_property
    def _hasher(self) -> PasswordHasher:
        return self._given_hasher or default_hasher()

    def by_id(self, user_id: str) -> Account | None:
        return self._book.by_id.get(user_id)

    def by_email(self, email: str) -> Account | None:
        return self._book.get(email)

    async def register(
        self,
        email: str,
        password: str,
        name: str,
        role: Role = Role.SHOPPER,
        user_id: str | None = None,
    ) -> Account:
        """A new account (`account_exists`, 409, when the e-mail has one)."""
        digest = await asyncio.to_thread(self._hasher.hash, password)
        return await self._register(Account(user_id or new_id("user"), email, name, role, digest))

    async def _register(self, account: Account, timeout: float = COMMAND_WAIT_S) -> Account:
        await self._service.register_account(account, timeout)
        registered = self._book.get(account.email)
        assert registered is not None, "an acknowledged registration is folded"
        return registered

    async def authenticate(self, email: str, password: str) -> Account | None:
        """The account if `password` is its password, else None."""
        return await asyncio.to_thread(self._verify, self._book.get(email), password)

    def _verify(self, account: Account | None, password: str) -> Account | None:
        # verifying against a throwaway hash for unknown emails keeps the answer time the same,
        # so sign-in does not reveal which emails have accounts
        if account is None and self._decoy is None:
            self._decoy = self._hasher.hash("no such account")
        digest = account.password_hash if account is not None else str(self._decoy)
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            self._hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return None
        return account

    async def change_password(self, account: Account, current: str, new: str) -> bool:
        """Set a new password if `current` is the account's password; False if it is not."""
        checked = await self.authenticate(account.email, current)
        if checked is None:
            return False
        return await self._replace(checked.email, password_fingerprint(checked.password_hash), new)

    async def reset_password(self, email: str, fingerprint: str, new: str) -> bool:
        """Set a new password for the account a reset link names, if its password is still the
        one the link was issued for; False otherwise (no such account, or already changed)."""
        account = self._book.get(email)
        if account is None or password_fingerprint(account.password_hash) != fingerprint:
            return False
        return await self._replace(account.email, fingerprint, new)

    async def _replace(self, email: str, replacing: str, new: str) -> bool:
        """Hash `new` and set it, decided against the account's own fold while `replacing` is
        still its password's fingerprint; False when it no longer is (changed meanwhile, on
        any instance)."""
        digest = await asyncio.to_thread(self._hasher.hash, new)
        try:
            await self._service.change_password(email, digest, replacing)
        except DomainError as refused:
            if refused.code != "password_changed":
                raise
            return False
        return True

    async def ask_reset(self, email: str) -> None:
        """Have a link that sets a new password mailed to the account at `email`, if there is
        one; decided on the account's key whatever the e-mail, so the answer does not tell."""
        await self._service.ask_password_reset(email)

    async def set_role(self, email: str, role: Role) -> Account:
        await self._service.set_role(email, role)
        changed = self._book.get(email)
        assert changed is not None, "an acknowledged change is folded"
        return changed

    async def seed_demo_users(self) -> None:
        """The demo accounts, unless they exist; instances starting together race harmlessly:
        the e-mail's owner registers the first and refuses the others."""
        for demo in DEMO_USERS:
            if self._book.get(demo.email) is None:
                account = Account(
                    demo.user_id, demo.email, demo.name, demo.role, demo.password_hash
                )
                with contextlib.suppress(DomainError):
                    await self._register(account, SEED_WAIT_S)

    async def import_legacy(self, data_dir: Path) -> int:
        """Register the accounts of a per-instance `users.sqlite` (hashes as they are), then
        rename the file so it is read once; the number registered."""
        path = data_dir / LEGACY_FILE
        if not path.exists():
            return 0
        imported = 0
        for account in await asyncio.to_thread(_legacy_accounts, path):
            if self._book.get(account.email) is None and account.user_id not in self._book.by_id:
                with contextlib.suppress(DomainError):
                    await self._register(account, SEED_WAIT_S)
                    imported += 1
        path.rename(path.with_name(LEGACY_FILE + ".imported"))
        return imported


def _legacy_accounts(path: Path) -> list[Account]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT user_id, email, name, role, password_hash FROM users ORDER BY created_at"
        ).fetchall()
    return [Account(r[0], r[1].lower(), r[2], Role(r[3]), r[4]) for r in rows]
