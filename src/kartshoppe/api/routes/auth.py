"""Account routes: exchange an email and password for a token, register, say who I am, change
my password or set a new one by a link sent by e-mail, and (operators) change someone's role."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends
from pydantic import ConfigDict, Field, field_validator
from starlette.responses import Response

from kartshoppe.api.declared import declared_router
from kartshoppe.api.deps import Live
from kartshoppe.api.routes._responses import ERRORS, json
from kartshoppe.api.schemas import Request
from kartshoppe.domain.accounts import Account
from kartshoppe.events import Email, LazyModel, Role
from kartshoppe.security.guards import OPERATOR, AccessError, Auth, Caller, auth_of
from kartshoppe.security.tokens import RESET_TTL_SECONDS, IssuedToken, Principal, TokenError
from kartshoppe.views.models import Out

router = declared_router(
    prefix="/auth", tags=["auth"], responses={**ERRORS, 401: ERRORS[400], 409: ERRORS[400]}
)
Authority = Annotated[Auth, Depends(auth_of)]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NewPassword = Annotated[str, Field(min_length=8, max_length=256)]
"""What a password set here must be (at sign-up, a change, a reset)."""


class Credentials(Request):
    # a password is taken exactly as typed
    model_config = ConfigDict(**{**Request.model_config, "str_strip_whitespace": False})


class LoginBody(Credentials):
    email: Annotated[str, Field(min_length=3, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class RegisterBody(Credentials):
    email: Annotated[str, Field(min_length=3, max_length=254)]
    password: NewPassword
    name: Annotated[str, Field(min_length=1, max_length=100)] = "Shopper"

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise ValueError("not an email address")
        return value


class PasswordBody(Credentials):
    current_password: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: NewPassword


class ResetAskBody(Request):
    email: Annotated[str, Field(min_length=3, max_length=254)]


class ResetBody(Credentials):
    token: Annotated[str, Field(min_length=1, max_length=2048)]
    new_password: NewPassword


class RoleBody(Request):
    role: Role


class AccountOut(Out):
    user_id: str
    email: str
    name: str
    role: Role

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            user_id=account.user_id, email=account.email, name=account.name, role=account.role
        )


class TokenOut(LazyModel):
    token: str
    user_id: str
    role: Role
    expires_at: int
    """Epoch milliseconds."""


class MeOut(LazyModel):
    user_id: str
    role: Role
    email: str | None
    name: str | None
    expires_at: int


def _token(issued: IssuedToken) -> dict[str, object]:
    p = issued.principal
    return {"token": issued.token, "userId": p.user_id, "role": p.role, "expiresAt": p.expires_at}


@router.post("/login", response_model=TokenOut)
async def login(auth: Authority, live: Live, body: LoginBody) -> Response:
    account = await live.accounts.authenticate(body.email, body.password)
    if account is None:
        raise AccessError(401, "invalid_credentials", "wrong email or password")
    return json(_token(auth.tokens.issue(account.user_id, account.role)))


@router.post("/register", response_model=TokenOut, status_code=201)
async def register(auth: Authority, live: Live, body: RegisterBody) -> Response:
    account = await live.accounts.register(body.email, body.password, body.name)
    return json(_token(auth.tokens.issue(account.user_id, account.role)), 201)


def _signed_in(live: Live, principal: Principal | None) -> Account:
    if principal is None:
        raise AccessError(401, "unauthorized", "send 'Authorization: Bearer <token>'")
    account = live.accounts.by_id(principal.user_id)
    if account is None:
        raise AccessError(401, "unauthorized", "this token's account no longer exists")
    return account


@router.get("/me", response_model=MeOut)
async def me(live: Live, principal: Caller) -> Response:
    account = _signed_in(live, principal)
    assert principal is not None
    return json(
        {
            "userId": account.user_id,
            "role": principal.role,
            "email": account.email,
            "name": account.name,
            "expiresAt": principal.expires_at,
        }
    )


@router.post("/password", status_code=204)
async def change_password(live: Live, principal: Caller, body: PasswordBody) -> Response:
    """Every instance accepts the new password, and only it, once this answers."""
    account = _signed_in(live, principal)
    if not await live.accounts.change_password(account, body.current_password, body.new_password):
        raise AccessError(
            403, "invalid_credentials", "the current password is wrong", "currentPassword"
        )
    return Response(status_code=204)


class ResetAskOut(LazyModel):
    message: str


@router.post("/password-reset", response_model=ResetAskOut, status_code=202)
async def ask_password_reset(live: Live, body: ResetAskBody) -> Response:
    """E-mail a link that sets a new password to the account at `email`. Answers the same
    whether or not there is one, so the form does not tell who has an account."""
    await live.accounts.ask_reset(body.email)
    said = "if an account has this e-mail, a link to set a new password is on its way there"
    return json({"message": said}, 202)


@router.post("/password-reset/confirm", status_code=204)
async def reset_password(auth: Authority, live: Live, body: ResetBody) -> Response:
    """Set the new password a reset link allows; a link stops working once used, after a
    newer password, and `RESET_TTL_SECONDS` after it was sent."""
    try:
        asked = auth.tokens.read_reset(body.token)
    except TokenError:
        asked = None
    if asked is None or not await live.accounts.reset_password(
        asked.email, asked.fingerprint, body.new_password
    ):
        raise AccessError(
            400,
            "invalid_token",
            "this link to set a new password is no longer valid (used, or older than"
            f" {RESET_TTL_SECONDS // 60} minutes): ask for a new one",
            "token",
        )
    return Response(status_code=204)


@router.put("/accounts/{email}/role", response_model=AccountOut, dependencies=OPERATOR)
async def set_role(live: Live, email: Email, body: RoleBody) -> Response:
    """An operator makes someone an operator or a shopper (effective with their next token)."""
    return json(AccountOut.of(await live.accounts.set_role(email, body.role)).to_json())
