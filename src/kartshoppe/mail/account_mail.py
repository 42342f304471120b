"""The e-mail an account sends its owner: the link that sets a new password, queued by every
instance that folds the request (`reset_mailer`), so the one that sends mail sends it."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from kartshoppe.events import AccountChange, PasswordResetAsked, now_ms
from kartshoppe.mail.mailer import Mailer
from kartshoppe.mail.outbox import Draft
from kartshoppe.security.tokens import RESET_TTL_SECONDS


def reset_mailer(mailer: Mailer) -> Callable[[AccountChange], None]:
    """Queues the link each reset request asks for while it can still be used, also when the
    request is folded on start (asked while this instance was down); a request queued before
    is not queued again (the outbox is keyed by the request)."""

    def on_account(change: AccountChange) -> None:
        if not isinstance(change, PasswordResetAsked):
            return
        if change.timestamp + RESET_TTL_SECONDS * 1000 <= now_ms():
            return
        token = mailer.tokens.issue_reset(change.email, change.password_hash, change.timestamp)
        mailer.outbox.enqueue(password_reset(change, mailer.reset_link(token)))

    return on_account


def password_reset(asked: PasswordResetAsked, link: str) -> Draft:
    """The reset `link` for the account that `asked`; one message per request."""
    minutes = RESET_TTL_SECONDS // 60
    said = [
        f"Hello {asked.name},",
        "someone (we hope you) asked to set a new password for your KartShoppe account.",
        f"Set it here within {minutes} minutes: {link}",
        "If it was not you, ignore this message: your password stays as it is.",
    ]
    html = (
        "<html><body><h1>Set a new password</h1>"
        f"<p>Hello {escape(asked.name)},</p>"
        f"<p>{escape(said[1])}</p>"
        f"<p><a href='{escape(link, quote=True)}'>Set a new password</a>"
        f" (within {minutes} minutes)</p>"
        f"<p>{escape(said[3])}</p></body></html>"
    )
    return Draft(
        key=f"password-reset:{asked.event_id}",
        to=asked.email,
        subject="Set a new password for your KartShoppe account",
        text="\n\n".join(said) + "\n",
        html=html,
    )
