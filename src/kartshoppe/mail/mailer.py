"""What the shop's e-mails are queued with: the outbox, and the links they carry, to the shop's
public address (`KARTSHOPPE_PUBLIC_URL`) and opened by keys signed with its secret."""

from __future__ import annotations

from dataclasses import dataclass

from kartshoppe.mail.outbox import Outbox
from kartshoppe.security.tokens import TokenService


@dataclass(frozen=True, slots=True)
class Mailer:
    outbox: Outbox
    tokens: TokenService
    shop_url: str

    def order_link(self, order_id: str) -> str:
        """The order's page, open to whoever has the e-mail (the order's key)."""
        return f"{self.shop_url}/orders/{order_id}?key={self.tokens.order_key(order_id)}"

    def product_link(self, product_id: str) -> str:
        return f"{self.shop_url}/product/{product_id}"

    def wishlist_link(self) -> str:
        return f"{self.shop_url}/wishlist"

    def reset_link(self, token: str) -> str:
        return f"{self.shop_url}/reset-password?token={token}"
