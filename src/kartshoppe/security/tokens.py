"""Signed access tokens: HS256 JWTs carrying the user id (`sub`), the role and an expiry;
password-reset tokens, signed by the same secret for another issuer (so neither passes for the
other), naming an e-mail and a fingerprint of the account's password hash: setting a password
voids every reset link issued before; and order keys, the HMAC of an order's id under the same
secret, which open that order's page from the links its e-mails carry.

The secret comes from `KARTSHOPPE_JWT_SECRET`; without it one is generated on first start and
kept in `<data dir>/jwt_secret` (mode 0600), so tokens survive a restart of the same install.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kartshoppe.domain.accounts import password_fingerprint
from kartshoppe.events import Role

ALGORITHM: Final = "HS256"
ISSUER: Final = "kartshoppe"
RESET_ISSUER: Final = "kartshoppe-password-reset"
RESET_TTL_SECONDS: Final = 30 * 60
ORDER_KEY_PREFIX: Final = b"kartshoppe-order-key\0"
"""Keeps an order key from being any other MAC made with the secret."""
SECRET_FILE: Final = "jwt_secret"
DEFAULT_TTL_SECONDS: Final = 12 * 3600
MIN_SECRET_BYTES: Final = 32
VERIFIED_KEPT: Final = 4096
"""How many verified tokens are remembered until they expire: every request of a signed-in
client carries the same token, and the rate limiter and the route's guard both ask who it is."""


class TokenError(Exception):
    """The token is missing its parts, badly signed, expired or otherwise unusable."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Principal:
    """Who a valid token says the caller is."""

    user_id: str
    role: Role
    expires_at: int
    """Epoch milliseconds."""

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR


@dataclass(frozen=True)
class ResetRequest:
    """What a valid reset token names."""

    email: str
    fingerprint: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    principal: Principal


def load_secret(data_dir: Path, configured: str | None = None) -> bytes:
    """`configured` (`KARTSHOPPE_JWT_SECRET`), else the install's generated secret (created if
    missing)."""
    if configured:
        return configured.encode()
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # written aside, then linked in whole: workers starting together (`serve --workers`)
        # all read the one secret that got there first, never a half-written file
        fd, draft = tempfile.mkstemp(prefix=f".{SECRET_FILE}.", dir=data_dir)  # mode 0600
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            os.unlink(draft)
    return path.read_text().strip().encode()


class TokenService:
    def __init__(self, secret: bytes, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._verified: dict[str, Principal] = {}
        """Tokens whose signature and claims were checked, oldest first."""

    def issue(self, user_id: str, role: Role, ttl_seconds: int | None = None) -> IssuedToken:
        """A token for `user_id`; a negative `ttl_seconds` gives an already expired one."""
        now = int(time.time())
        exp = now + (self.ttl_seconds if ttl_seconds is None else ttl_seconds)
        claims = {"sub": user_id, "role": role.value, "iat": now, "exp": exp, "iss": ISSUER}
        # PyJWT (and the cryptography it loads, about 4 MB) only once a token is used
        import jwt

        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token, Principal(user_id, role, exp * 1000))

    def verify(self, token: str) -> Principal:
        """Who a valid token names; `TokenError` for any other. A token checked before is not
        checked again until it expires (it cannot change: it is signed)."""
        known = self._verified.pop(token, None)
        if known is not None and time.time() * 1000 < known.expires_at:
            self._verified[token] = known
            return known
        principal = self._check(token)
        if len(self._verified) >= VERIFIED_KEPT:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = principal
        return principal

    def order_key(self, order_id: str) -> str:
        """What opens the order `order_id` to whoever has it (the links in its e-mails): 128
        bits of its HMAC, never expiring, as an order's page does not."""
        digest = hmac.new(self._secret, ORDER_KEY_PREFIX + order_id.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:16]).decode().rstrip("=")

    def opens_order(self, order_id: str, key: str) -> bool:
        # as bytes: `compare_digest` refuses a str with other than ASCII in it, which anyone
        # may send
        return hmac.compare_digest(self.order_key(order_id).encode(), key.encode())

    def issue_reset(self, email: str, password_hash: str, asked_at_ms: int) -> str:
        """A reset token for the account at `email` with its password as it is now, good for
        `RESET_TTL_SECONDS` from when it was asked for (the same token wherever it is made)."""
        import jwt

        asked = asked_at_ms // 1000
        claims = {
            "sub": email,
            "pw": password_fingerprint(password_hash),
            "iat": asked,
            "exp": asked + RESET_TTL_SECONDS,
            "iss": RESET_ISSUER,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def read_reset(self, token: str) -> ResetRequest:
        """What a reset token names; `TokenError` when it is badly signed, expired or not one."""
        import jwt

        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=RESET_ISSUER,
                options={"require": ["sub", "pw", "exp", "iat", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenError("invalid_token", f"not a valid reset token: {exc}") from exc
        return ResetRequest(str(claims["sub"]), str(claims["pw"]))

    def _check(self, token: str) -> Principal:
        import jwt

        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["sub", "exp", "iat", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token_expired", "the token has expired; sign in again") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("invalid_token", f"the token is not valid: {exc}") from exc
        try:
            role = Role(str(claims.get("role")))
        except ValueError as exc:
            raise TokenError("invalid_token", "the token names no known role") from exc
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise TokenError("invalid_token", "the token names no user")
        return Principal(subject, role, int(claims["exp"]) * 1000)


def mint_token(data_dir: Path, user_id: str, role: Role = Role.SHOPPER, ttl: int = 3600) -> str:
    """A token for any user id, signed with the install's secret: for tests and load tools that
    act as many shoppers without signing each one in."""
    return TokenService(load_secret(data_dir)).issue(user_id, role, ttl).token
