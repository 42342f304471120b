"""The account rules: one account per e-mail (any case), changes to existing accounts only."""

from __future__ import annotations

import pytest

from kartshoppe.domain.accounts import (
    Account,
    AccountBook,
    account_key,
    decide_ask_reset,
    decide_change_password,
    decide_register,
    decide_set_role,
    password_fingerprint,
)
from kartshoppe.domain.errors import DomainError, NotFoundError
from kartshoppe.domain.meta import Meta
from kartshoppe.events import PasswordChanged, PasswordResetAsked, Role, RoleChanged

META = Meta(1_700_000_000_000)
ANNA = Account("user_anna", "Anna@Example.com", "Anna", Role.SHOPPER, "$argon2id$hash-1")


def registered(*accounts: Account) -> AccountBook:
    book = AccountBook()
    for account in accounts:
        for event in decide_register(book, account, META):
            book.apply(event)
    return book


def test_a_registration_is_keyed_and_stored_by_the_lower_case_email() -> None:
    book = registered(ANNA)
    assert account_key(" Anna@Example.com ") == "account:anna@example.com"
    assert book.get("ANNA@example.com") == Account(
        "user_anna", "anna@example.com", "Anna", Role.SHOPPER, "$argon2id$hash-1"
    )


@pytest.mark.parametrize(
    "again",
    [
        Account("user_other", "anna@example.COM", "A", Role.SHOPPER, "h"),
        Account("user_anna", "someone@example.com", "A", Role.SHOPPER, "h"),
    ],
    ids=["same e-mail in another case", "same user id"],
)
def test_an_email_or_user_id_is_registered_once(again: Account) -> None:
    with pytest.raises(DomainError) as refused:
        decide_register(registered(ANNA), again, META)
    assert refused.value.code == "account_exists"


def test_a_password_change_carries_the_whole_account_with_the_new_hash() -> None:
    (event,) = decide_change_password(registered(ANNA), "anna@example.com", "$argon2id$h2", META)
    assert isinstance(event, PasswordChanged)
    assert (event.user_id, event.role, event.password_hash) == (
        "user_anna",
        "shopper",
        "$argon2id$h2",
    )


def test_a_change_from_a_password_no_longer_the_accounts_is_void() -> None:
    """Two uses of one reset link, or two changes from the same old password: the account's
    decider takes the first and refuses the second, whichever instance sent it."""
    book = registered(ANNA)
    first = password_fingerprint(ANNA.password_hash)
    (event,) = decide_change_password(book, "anna@example.com", "$argon2id$h2", META, first)
    book.apply(event)
    with pytest.raises(DomainError) as refused:
        decide_change_password(book, "anna@example.com", "$argon2id$h3", META, first)
    assert (refused.value.code, refused.value.field) == ("password_changed", "token")
    kept = book.get("anna@example.com")
    assert kept is not None and kept.password_hash == "$argon2id$h2"


def test_setting_the_role_an_account_has_changes_nothing() -> None:
    book = registered(ANNA)
    assert decide_set_role(book, "anna@example.com", Role.SHOPPER, META) == []
    (event,) = decide_set_role(book, "anna@example.com", Role.OPERATOR, META)
    assert isinstance(event, RoleChanged) and event.role is Role.OPERATOR


def test_changing_an_unknown_account_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        decide_set_role(AccountBook(), "nobody@example.com", Role.OPERATOR, META)


def test_a_reset_ask_carries_the_account_unchanged_and_one_for_no_account_is_nothing() -> None:
    book = registered(ANNA)
    (event,) = decide_ask_reset(book, " ANNA@example.com", META)
    assert isinstance(event, PasswordResetAsked)
    before = book.get("anna@example.com")
    book.apply(event)
    assert book.get("anna@example.com") == before, "the compacted topic still holds the account"
    assert decide_ask_reset(book, "nobody@example.com", META) == []
