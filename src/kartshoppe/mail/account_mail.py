"""The e-mail an account sends its owner: the link that sets a new password."""

from __future__ import annotations

from html import escape

from kartshoppe.mail.outbox import Draft
from kartshoppe.security.tokens import RESET_TTL_SECONDS


def password_reset(email: str, name: str, link: str) -> Draft:
    """The reset link for the account at `email`; one message per link."""
    minutes = RESET_TTL_SECONDS // 60
    said = [
        f"Hello {name},",
        "someone (we hope you) asked to set a new password for your KartShoppe account.",
        f"Set it here within {minutes} minutes: {link}",
        "If it was not you, ignore this message: your password stays as it is.",
    ]
    html = (
        "<html><body><h1>Set a new password</h1>"
        f"<p>Hello {escape(name)},</p>"
        f"<p>{escape(said[1])}</p>"
        f"<p><a href='{escape(link, quote=True)}'>Set a new password</a>"
        f" (within {minutes} minutes)</p>"
        f"<p>{escape(said[3])}</p></body></html>"
    )
    return Draft(
        key=f"password-reset:{email}:{link[-24:]}",
        to=email,
        subject="Set a new password for your KartShoppe account",
        text="\n\n".join(said) + "\n",
        html=html,
    )
