"""The e-mail a wishlist alert sends its shopper: a product they wished for got cheaper or is
back in stock. At most one a day per shopper, product and reason (the outbox key says which
day, so a price cut three times in a morning is one message)."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from kartshoppe.domain.accounts import Account
from kartshoppe.events import WishlistAlert
from kartshoppe.mail.format import money
from kartshoppe.mail.outbox import Draft


def _news(alert: WishlistAlert, name: str) -> tuple[str, str]:
    """The subject and the sentence that says what happened."""
    if alert.reason == "PRICE_DROP" and alert.new_price is not None:
        was = f" (was {money(alert.old_price)})" if alert.old_price is not None else ""
        now = money(alert.new_price)
        return f"{name} is now {now}", f"{name} is now {now}{was}."
    return f"{name} is back in stock", f"{name} is back in stock."


def wishlist_alert(
    alert: WishlistAlert, account: Account, name: str, link: str, wishlist: str
) -> Draft:
    """The message for the account whose wishlist holds the product `name`, with the `link` to
    its page and to the `wishlist`, where taking the product off stops these messages."""
    subject, news = _news(alert, name)
    day = datetime.fromtimestamp(alert.timestamp / 1000, UTC).date().isoformat()
    said = [
        f"Hello {account.name},",
        f"good news about a product on your wishlist: {news}",
        f"See it here: {link}",
        f"To hear no more about it, take it off your wishlist: {wishlist}",
    ]
    html = (
        f"<html><body><h1>{escape(subject)}</h1>"
        f"<p>Hello {escape(account.name)},</p>"
        f"<p>good news about a product on your wishlist: {escape(news)}</p>"
        f"<p><a href='{escape(link, quote=True)}'>See {escape(name)}</a></p>"
        f"<p>To hear no more about it, take it off <a href='{escape(wishlist, quote=True)}'>"
        "your wishlist</a>.</p></body></html>"
    )
    return Draft(
        key=f"wishlist:{account.user_id}:{alert.product_id}:{alert.reason}:{day}",
        to=account.email,
        subject=subject,
        text="\n\n".join(said) + "\n",
        html=html,
    )
