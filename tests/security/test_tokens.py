"""Signed tokens: a token verified once is known until it expires, and not after; reset tokens
name the password they replace and are no access tokens."""

from __future__ import annotations

import time

import pytest

from kartshoppe.domain.accounts import password_fingerprint
from kartshoppe.events import Role, now_ms
from kartshoppe.security.tokens import (
    RESET_TTL_SECONDS,
    ResetRequest,
    TokenError,
    TokenService,
)


def test_a_token_verified_while_valid_is_refused_once_it_has_expired() -> None:
    tokens = TokenService(b"k" * 40)
    issued = tokens.issue("user_1", Role.SHOPPER, ttl_seconds=2)
    assert tokens.verify(issued.token) == issued.principal
    assert tokens.verify(issued.token) == issued.principal

    while time.time() * 1000 < issued.principal.expires_at:
        time.sleep(0.05)

    with pytest.raises(TokenError) as refused:
        tokens.verify(issued.token)
    assert refused.value.reason == "token_expired"


def test_a_token_signed_with_another_secret_is_refused_after_a_valid_one_was_verified() -> None:
    tokens = TokenService(b"k" * 40)
    forged = TokenService(b"x" * 40).issue("user_1", Role.OPERATOR).token
    tokens.verify(tokens.issue("user_1", Role.SHOPPER).token)

    with pytest.raises(TokenError) as refused:
        tokens.verify(forged)
    assert refused.value.reason == "invalid_token"


def test_a_reset_token_names_the_email_and_the_password_it_replaces() -> None:
    tokens = TokenService(b"k" * 40)
    token = tokens.issue_reset("ada@example.com", "$argon2id$old", now_ms())
    assert tokens.read_reset(token) == ResetRequest(
        "ada@example.com", password_fingerprint("$argon2id$old")
    )
    assert password_fingerprint("$argon2id$old") != password_fingerprint("$argon2id$new")


def test_a_reset_token_is_the_same_wherever_it_is_made_and_dies_its_ttl_after_the_ask() -> None:
    asked = now_ms() - (RESET_TTL_SECONDS - 60) * 1000
    made_here = TokenService(b"k" * 40).issue_reset("ada@example.com", "h", asked)
    made_there = TokenService(b"k" * 40).issue_reset("ada@example.com", "h", asked)
    assert made_here == made_there
    assert TokenService(b"k" * 40).read_reset(made_here).email == "ada@example.com"

    too_old = asked - 120_000
    with pytest.raises(TokenError):
        TokenService(b"k" * 40).read_reset(
            TokenService(b"k" * 40).issue_reset("ada@example.com", "h", too_old)
        )


def test_a_reset_token_and_an_access_token_never_pass_for_each_other() -> None:
    tokens = TokenService(b"k" * 40)
    with pytest.raises(TokenError):
        tokens.read_reset(tokens.issue("user_1", Role.OPERATOR).token)
    with pytest.raises(TokenError):
        tokens.verify(tokens.issue_reset("ada@example.com", "$argon2id$old", now_ms()))
    with pytest.raises(TokenError):
        tokens.read_reset(TokenService(b"x" * 40).issue_reset("ada@example.com", "h", now_ms()))


def test_an_order_key_opens_its_order_only_and_any_other_text_is_refused_not_an_error() -> None:
    tokens = TokenService(b"k" * 40)
    key = tokens.order_key("order_1")
    assert tokens.opens_order("order_1", key)
    assert key == TokenService(b"k" * 40).order_key("order_1"), "the same on every instance"
    for other in (tokens.order_key("order_2"), key[:-1], "", "ключ", "\x00" * 22):
        assert not tokens.opens_order("order_1", other)
    assert not TokenService(b"x" * 40).opens_order("order_1", key)
