"""The demo operator every fresh shop starts with, as a sign-in body (`/auth/login`)."""

from __future__ import annotations

from typing import Final

from kartshoppe.events import Role
from kartshoppe.security.accounts import DEMO_USERS

_operator = next(u for u in DEMO_USERS if u.role == Role.OPERATOR)
OPERATOR: Final = {"email": _operator.email, "password": _operator.password}
