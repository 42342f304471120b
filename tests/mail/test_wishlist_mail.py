"""The wishlist alert's e-mail: what got cheaper or is back, a link to it, and at most one a day
per shopper, product and reason."""

from __future__ import annotations

from decimal import Decimal

from kartshoppe.domain.accounts import Account
from kartshoppe.events import Role, WishlistAlert
from kartshoppe.mail.format import money
from kartshoppe.mail.wishlist_mail import wishlist_alert

ADA = Account("user_ada", "ada@example.com", "Ada", Role.SHOPPER, "$argon2id$h")
LINK = "https://shop.example.com/product/p1"
WISHLIST = "https://shop.example.com/wishlist"
NOON = 1_795_000_000_000
"""An instant of a day (UTC)."""


def alert(timestamp: int = NOON, **fields: object) -> WishlistAlert:
    return WishlistAlert.model_validate(
        {"user_id": "user_ada", "product_id": "p1", "timestamp": timestamp, **fields}
    )


def test_a_price_drop_says_the_new_price_and_the_old_and_links_to_the_product() -> None:
    drop = alert(reason="PRICE_DROP", old_price=Decimal("1240"), new_price=Decimal("999.5"))
    draft = wishlist_alert(drop, ADA, "Lamp", LINK, WISHLIST)
    assert (draft.to, draft.subject) == ("ada@example.com", "Lamp is now $999.50")
    for said in ("Lamp is now $999.50 (was $1,240.00).", LINK, "Hello Ada"):
        assert said in draft.text
    assert f"take it off your wishlist: {WISHLIST}" in draft.text, "how to hear no more"
    assert f"href='{LINK}'" in draft.html


def test_stock_back_says_so() -> None:
    draft = wishlist_alert(alert(reason="BACK_IN_STOCK", available=5), ADA, "Lamp", LINK, WISHLIST)
    assert draft.subject == "Lamp is back in stock"


def test_one_message_a_day_per_product_and_reason() -> None:
    def key(timestamp: int, reason: str) -> str:
        return wishlist_alert(alert(timestamp, reason=reason), ADA, "Lamp", LINK, WISHLIST).key

    later_that_day = NOON + 3_600_000
    next_day = NOON + 86_400_000
    assert key(NOON, "PRICE_DROP") == key(later_that_day, "PRICE_DROP")
    assert (
        len({key(NOON, "PRICE_DROP"), key(next_day, "PRICE_DROP"), key(NOON, "BACK_IN_STOCK")}) == 3
    )


def test_money_reads_as_dollars_and_cents_with_the_sign_first() -> None:
    assert [money(Decimal(v)) for v in ("52.96", "-5", "-0.00", "1052.9")] == [
        "$52.96",
        "-$5.00",
        "$0.00",
        "$1,052.90",
    ]
