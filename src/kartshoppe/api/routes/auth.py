"""Sign-in routes: exchange an email and password for a token, register, and say who I am."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import ConfigDict, Field, field_validator
from starlette.responses import Response

from kartshoppe.api.routes._responses import ERRORS, json
from kartshoppe.events import Model, new_id
from kartshoppe.security.guards import AccessError, Auth, Caller, auth_of
from kartshoppe.security.tokens import IssuedToken
from kartshoppe.security.users import DuplicateUserError, Role

router = APIRouter(
    prefix="/auth", tags=["auth"], responses={**ERRORS, 401: ERRORS[400], 409: ERRORS[400]}
)
Authority = Annotated[Auth, Depends(auth_of)]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Credentials(Model):
    # a password is taken exactly as typed
    model_config = ConfigDict(**{**Model.model_config, "str_strip_whitespace": False})


class LoginBody(Credentials):
    email: Annotated[str, Field(min_length=3, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class RegisterBody(Credentials):
    email: Annotated[str, Field(min_length=3, max_length=254)]
    password: Annotated[str, Field(min_length=8, max_length=256)]
    name: Annotated[str, Field(min_length=1, max_length=100)] = "Shopper"

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise ValueError("not an email address")
        return value


class TokenOut(Model):
    token: str
    user_id: str
    role: Role
    expires_at: int
    """Epoch milliseconds."""


class MeOut(Model):
    user_id: str
    role: Role
    email: str | None
    name: str | None
    expires_at: int


def _token(issued: IssuedToken) -> dict[str, object]:
    p = issued.principal
    return {"token": issued.token, "userId": p.user_id, "role": p.role, "expiresAt": p.expires_at}


@router.post("/login", response_model=TokenOut)
async def login(auth: Authority, body: LoginBody) -> Response:
    user = await asyncio.to_thread(auth.users.authenticate, body.email, body.password)
    if user is None:
        raise AccessError(401, "invalid_credentials", "wrong email or password")
    return json(_token(auth.tokens.issue(user.user_id, user.role)))


@router.post("/register", response_model=TokenOut, status_code=201)
async def register(auth: Authority, body: RegisterBody) -> Response:
    try:
        user = await asyncio.to_thread(
            auth.users.add, new_id("user"), body.email, body.password, Role.SHOPPER, body.name
        )
    except DuplicateUserError as exc:
        raise AccessError(409, "account_exists", f"an account for {body.email} exists") from exc
    return json(_token(auth.tokens.issue(user.user_id, user.role)), 201)


@router.get("/me", response_model=MeOut)
async def me(auth: Authority, principal: Caller) -> Response:
    if principal is None:
        raise AccessError(401, "unauthorized", "send 'Authorization: Bearer <token>'")
    user = await asyncio.to_thread(auth.users.by_id, principal.user_id)
    return json(
        {
            "userId": principal.user_id,
            "role": principal.role,
            "email": user.email if user else None,
            "name": user.name if user else None,
            "expiresAt": principal.expires_at,
        }
    )
