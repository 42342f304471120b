"""The demo accounts are seeded with hashes computed once (a fresh start hashes nothing): each
must be the default hasher's argon2id of the documented password, with its parameters."""

from __future__ import annotations

import pytest
from argon2.exceptions import VerificationError

from kartshoppe.security.accounts import DEMO_USERS, DemoUser, default_hasher


@pytest.mark.parametrize("demo", DEMO_USERS, ids=lambda demo: demo.email)
def test_a_demo_users_stored_hash_is_the_default_argon2id_of_its_password(demo: DemoUser) -> None:
    hasher = default_hasher()
    assert hasher.verify(demo.password_hash, demo.password)
    assert not hasher.check_needs_rehash(demo.password_hash)
    with pytest.raises(VerificationError):
        hasher.verify(demo.password_hash, "not-the-password")
