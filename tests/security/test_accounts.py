"""Accounts are shared state: sign-up, password changes and roles are events on their own topic,
carrying argon2 hashes only, and never reach the shop's events (issue 12, item 6).

The two-instance half (registered on one, signed in on the other) is in
`tests/integration/test_kafka_instances.py`."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from tests.security.security_support import (
    API,
    OPERATOR,
    SECRET,
    assert_error,
    bearer,
    fresh,
    sign_in,
)
from tests.support.server import ServerProcess, running_server


def _new_account(api: httpx.Client, password: str = "first-password") -> tuple[str, dict[str, str]]:
    email = f"{fresh('acct')}@test.kartshoppe.dev"
    response = api.post(f"{API}/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return email, response.json()


def _login(api: httpx.Client, email: str, password: str) -> httpx.Response:
    return api.post(f"{API}/auth/login", json={"email": email, "password": password})


def _log_values(server: ServerProcess, topic: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(server.data_dir / "log.sqlite")) as conn:
        rows = conn.execute("SELECT value FROM records WHERE topic = ?", (topic,)).fetchall()
    return [bytes(r[0]).decode() for r in rows]


def test_a_changed_password_replaces_the_old_one(api: httpx.Client) -> None:
    email, token = _new_account(api)
    changed = api.post(
        f"{API}/auth/password",
        json={"currentPassword": "first-password", "newPassword": "second-password"},
        headers=bearer(token["token"]),
    )
    assert changed.status_code == 204, changed.text
    assert_error(_login(api, email, "first-password"), 401, "invalid_credentials")
    assert _login(api, email, "second-password").json()["userId"] == token["userId"]


def test_a_password_change_needs_the_current_password(api: httpx.Client) -> None:
    email, token = _new_account(api)
    refused = api.post(
        f"{API}/auth/password",
        json={"currentPassword": "not-it", "newPassword": "second-password"},
        headers=bearer(token["token"]),
    )
    body = assert_error(refused, 403, "invalid_credentials")
    assert body["details"][0]["field"] == "currentPassword"
    assert _login(api, email, "first-password").status_code == 200


def test_an_operator_makes_a_shopper_an_operator_for_their_next_sign_in(
    api: httpx.Client,
) -> None:
    email, token = _new_account(api)
    operator = sign_in(api, OPERATOR)["token"]
    role_url = f"{API}/auth/accounts/{email}/role"
    shopper_try = api.put(role_url, json={"role": "operator"}, headers=bearer(token["token"]))
    assert_error(shopper_try, 403, "forbidden")

    changed = api.put(role_url, json={"role": "operator"}, headers=bearer(operator))
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "userId": token["userId"],
        "email": email,
        "name": "Shopper",
        "role": "operator",
    }
    assert _login(api, email, "first-password").json()["role"] == "operator"


def test_changing_the_role_of_an_unknown_account_is_404(api: httpx.Client) -> None:
    operator = sign_in(api, OPERATOR)["token"]
    missing = api.put(
        f"{API}/auth/accounts/nobody-{fresh('x')}@test.kartshoppe.dev/role",
        json={"role": "operator"},
        headers=bearer(operator),
    )
    assert_error(missing, 404, "unknown_account")


def test_accounts_live_on_their_own_topic_as_hashes_never_among_the_shops_events(
    api: httpx.Client, server: ServerProcess
) -> None:
    email, _ = _new_account(api, password="a-secret-password")
    accounts = [v for v in _log_values(server, "ecommerce_accounts") if email in v]
    assert len(accounts) == 1
    assert '"eventType":"ACCOUNT_REGISTERED"' in accounts[0]
    assert "$argon2id$" in accounts[0]
    assert "a-secret-password" not in accounts[0]
    everything_else = [
        v
        for topic in ("ecommerce_events", "product_updates", "inventory_updates")
        for v in _log_values(server, topic)
    ]
    assert not [v for v in everything_else if email in v or "argon2" in v]


def test_accounts_survive_a_restart(tmp_path: Path) -> None:
    with running_server(tmp_path, env={"KARTSHOPPE_JWT_SECRET": SECRET}) as server:
        with httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as api:
            email, token = _new_account(api)
        server.restart()
        with httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as api:
            assert _login(api, email, "first-password").json()["userId"] == token["userId"]


def test_the_accounts_of_an_older_per_instance_user_file_are_registered_once(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    legacy = data / "users.sqlite"
    digest = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("old-password")
    with contextlib.closing(sqlite3.connect(legacy)) as conn, conn:
        conn.execute(
            "CREATE TABLE users (user_id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, "
            "password_hash TEXT NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL, "
            "created_at INTEGER NOT NULL)"
        )
        conn.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
            ("user_legacy_1", "old@test.kartshoppe.dev", digest, "shopper", "Old Timer", 1),
        )
    with running_server(tmp_path, env={"KARTSHOPPE_JWT_SECRET": SECRET}) as server:
        with httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as api:
            signed_in = _login(api, "old@test.kartshoppe.dev", "old-password")
            assert signed_in.status_code == 200, signed_in.text
            assert signed_in.json()["userId"] == "user_legacy_1"
        assert not legacy.exists()
        assert (data / "users.sqlite.imported").exists()
