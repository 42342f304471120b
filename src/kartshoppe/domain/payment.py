"""Simulated card payment, the way payment providers' test modes work (docs/API.md, Payment).

A card is checked locally first (number by Luhn, expiry not past, CVC of 3 or 4 digits); the
simulated processor then answers by card number: the documented test numbers decline or fail
transiently, any other valid number is approved. Every attempt gets a transaction id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from kartshoppe.domain.errors import DomainError


class Outcome(StrEnum):
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    UNAVAILABLE = "UNAVAILABLE"


TEST_CARDS: dict[str, tuple[Outcome, str]] = {
    "4242424242424242": (Outcome.APPROVED, "approved"),
    "5555555555554444": (Outcome.APPROVED, "approved"),
    "4000000000000002": (Outcome.DECLINED, "the card was declined by its bank"),
    "4000000000009995": (Outcome.DECLINED, "the card has insufficient funds"),
    "4000000000000119": (Outcome.UNAVAILABLE, "the payment processor did not answer"),
}


@dataclass(frozen=True, slots=True)
class Card:
    number: str
    expiry: str
    """MM/YY"""
    cvc: str

    @property
    def digits(self) -> str:
        return re.sub(r"[ -]", "", self.number)

    @property
    def last4(self) -> str:
        return self.digits[-4:]


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    checksum = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        checksum += value
    return checksum % 10 == 0


def validate_card(card: Card, at_ms: int) -> None:
    digits = card.digits
    if not (12 <= len(digits) <= 19 and luhn_valid(digits)):
        raise DomainError("invalid_card", "the card number is not valid", "card.number")
    match = re.fullmatch(r"(\d{2})\s*/\s*(\d{2})", card.expiry.strip())
    if match is None or not 1 <= int(match[1]) <= 12:
        raise DomainError("invalid_card", "the expiry date is MM/YY", "card.expiry")
    now = datetime.fromtimestamp(at_ms / 1000, UTC)
    if (2000 + int(match[2]), int(match[1])) < (now.year, now.month):
        raise DomainError("invalid_card", "the card has expired", "card.expiry")
    if not re.fullmatch(r"\d{3,4}", card.cvc.strip()):
        raise DomainError("invalid_card", "the security code is 3 or 4 digits", "card.cvc")


def authorize(card: Card) -> tuple[Outcome, str]:
    """The simulated processor's answer for a card that passed `validate_card`."""
    return TEST_CARDS.get(card.digits, (Outcome.APPROVED, "approved"))
