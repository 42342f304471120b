"""Accounts: who may sign in, as what. Decided per e-mail (`account:<email>`), folded from the
accounts topic. Passwords never reach the domain: the rules see argon2 hashes only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from kartshoppe.domain.errors import DomainError, NotFoundError
from kartshoppe.domain.meta import Meta
from kartshoppe.events import (
    AccountEvent,
    AccountRegistered,
    PasswordChanged,
    PasswordResetAsked,
    Role,
    RoleChanged,
)


@dataclass(frozen=True, slots=True)
class Account:
    user_id: str
    email: str
    name: str
    role: Role
    password_hash: str


def password_fingerprint(password_hash: str) -> str:
    """What may stand for a password hash outside the accounts (a reset link): changes whenever
    the hash does, and tells nothing of it."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def normal_email(email: str) -> str:
    """The form an e-mail is keyed and compared by."""
    return email.strip().lower()


def account_key(email: str) -> str:
    """The command key that serialises every decision about one e-mail's account."""
    return f"account:{normal_email(email)}"


@dataclass
class AccountBook:
    """Every account by e-mail and by user id."""

    by_email: dict[str, Account] = field(default_factory=dict)
    by_id: dict[str, Account] = field(default_factory=dict)

    def apply(self, event: AccountEvent) -> None:
        account = Account(
            event.user_id, normal_email(event.email), event.name, event.role, event.password_hash
        )
        self.by_email[account.email] = account
        self.by_id[account.user_id] = account

    def get(self, email: str) -> Account | None:
        return self.by_email.get(normal_email(email))


def _fields(account: Account, meta: Meta) -> dict[str, object]:
    return {
        "user_id": account.user_id,
        "email": account.email,
        "name": account.name,
        "role": account.role,
        "password_hash": account.password_hash,
        "timestamp": meta.timestamp,
    }


def decide_register(book: AccountBook, wanted: Account, meta: Meta) -> list[AccountEvent]:
    """A new account; an e-mail or user id already taken is refused."""
    email = normal_email(wanted.email)
    if email in book.by_email:
        raise DomainError("account_exists", f"an account for {email} exists", "email")
    if wanted.user_id in book.by_id:
        raise DomainError("account_exists", f"user id {wanted.user_id} is taken", "userId")
    account = Account(wanted.user_id, email, wanted.name, wanted.role, wanted.password_hash)
    return [AccountRegistered.model_validate(_fields(account, meta))]


def _existing(book: AccountBook, email: str) -> Account:
    account = book.get(email)
    if account is None:
        raise NotFoundError("unknown_account", f"no account for {normal_email(email)}", "email")
    return account


def decide_change_password(
    book: AccountBook, email: str, password_hash: str, meta: Meta, replacing: str | None = None
) -> list[AccountEvent]:
    """The new password's hash; with `replacing` (the `password_fingerprint` of the password
    the caller checked or a reset link names) only while that is still the password, so two
    changes from the same old password, or two uses of one link, cannot both succeed."""
    account = _existing(book, email)
    if replacing is not None and password_fingerprint(account.password_hash) != replacing:
        raise DomainError(
            "password_changed", "the password changed meanwhile: this change is void", "token"
        )
    changed = Account(account.user_id, account.email, account.name, account.role, password_hash)
    return [PasswordChanged.model_validate(_fields(changed, meta))]


def decide_set_role(book: AccountBook, email: str, role: Role, meta: Meta) -> list[AccountEvent]:
    """A new role; setting the role it has already changes nothing."""
    account = _existing(book, email)
    if account.role == role:
        return []
    changed = Account(account.user_id, account.email, account.name, role, account.password_hash)
    return [RoleChanged.model_validate(_fields(changed, meta))]


def decide_ask_reset(book: AccountBook, email: str, meta: Meta) -> list[AccountEvent]:
    """A reset link asked for; nothing for an e-mail without an account, which the asker is
    never told."""
    account = book.get(email)
    if account is None:
        return []
    return [PasswordResetAsked.model_validate(_fields(account, meta))]
