"""Helpers of the security suite: demo accounts, signing in, tokens minted with the secret."""

from __future__ import annotations

import uuid
from typing import Any, Final

import httpx

from kartshoppe.events import Role
from kartshoppe.security.tokens import TokenService

API: Final = "/api/ecommerce"
SECRET: Final = "test-secret-for-the-security-suite-0123456789"
SHOPPER: Final = ("shopper@kartshoppe.dev", "shopper-demo-pass")
OPERATOR: Final = ("operator@kartshoppe.dev", "operator-demo-pass")


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def sign_in(api: httpx.Client, account: tuple[str, str]) -> dict[str, Any]:
    response = api.post(f"{API}/auth/login", json={"email": account[0], "password": account[1]})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_for(user_id: str, role: Role = Role.SHOPPER, ttl: int = 3600) -> str:
    """A token signed with the server's secret (`KARTSHOPPE_JWT_SECRET`), as sign-in would give."""
    return TokenService(SECRET.encode()).issue(user_id, role, ttl).token


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert body["message"]
    return body


def a_product(api: httpx.Client) -> dict[str, Any]:
    items: list[dict[str, Any]] = api.get(f"{API}/products", params={"pageSize": 50}).json()[
        "items"
    ]
    product = max(items, key=lambda p: p["available"])
    return product
