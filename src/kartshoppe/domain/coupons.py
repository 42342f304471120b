"""Coupon rules: what a code takes off a cart, every reason it is refused, and its redemptions.

A redemption is decided together with the checkout that uses it, under the coupon code's key
(the same per-key decision path as stock), so limits hold under concurrent checkouts. A
cancelled order gives its redemption back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.meta import Meta
from kartshoppe.domain.money import ZERO, apply_rate, total
from kartshoppe.domain.pricing import PricedLine
from kartshoppe.events import (
    Coupon,
    CouponCreated,
    CouponKind,
    CouponRedeemed,
    CouponReleased,
    Event,
)

FIELD = "couponCode"
RECOVERY_VALID_MS = 48 * 3600 * 1000


def recovery_code(signal_event_id: str) -> str:
    """The one-time code of an abandoned-cart reminder, derived from the signal's id so that
    every instance (and a replay) names the same code."""
    return "BACK" + hashlib.sha256(signal_event_id.encode()).hexdigest()[:8].upper()


def recovery_coupon(signal_event_id: str, percent_off: Decimal, at_ms: int) -> Coupon:
    """A one-time code for one shopper: one redemption, valid for two days."""
    return Coupon(
        code=recovery_code(signal_event_id),
        kind=CouponKind.PERCENT,
        value=percent_off,
        starts_at=at_ms,
        ends_at=at_ms + RECOVERY_VALID_MS,
        max_redemptions=1,
        per_customer_limit=1,
    )


@dataclass(frozen=True, slots=True)
class CouponState:
    coupon: Coupon
    redemptions: dict[str, str] = field(default_factory=dict)
    """order id -> customer, for the live (not released) redemptions."""

    def used_by(self, customer: str) -> int:
        return sum(1 for who in self.redemptions.values() if who == customer)


def normalise_code(code: str) -> str:
    return code.strip().upper()


def customer_of(email: str | None, user_id: str | None, session_id: str | None) -> str:
    """Who a per-customer limit counts: the e-mail if given, else the account, else the session."""
    return (email or "").lower() or user_id or session_id or ""


def decide_create(existing: CouponState | None, coupon: Coupon, meta: Meta) -> list[Event]:
    if existing is not None:
        raise DomainError("coupon_exists", f"the code {coupon.code} already exists", "code")
    if coupon.kind == CouponKind.PERCENT and coupon.value > 100:
        raise DomainError("invalid_coupon", "a percentage is at most 100", "value")
    if coupon.ends_at is not None and coupon.ends_at <= coupon.starts_at:
        raise DomainError("invalid_coupon", "the coupon ends before it starts", "endsAt")
    return [CouponCreated(coupon=coupon, **meta.fields())]


def _eligible(coupon: Coupon, line: PricedLine) -> bool:
    if not (coupon.product_ids or coupon.categories):
        return True
    return line.product_id in coupon.product_ids or line.category in coupon.categories


def discount(
    state: CouponState | None,
    code: str,
    lines: Sequence[PricedLine],
    customer: str,
    at_ms: int,
) -> Decimal:
    """What the code takes off these lines now, or a DomainError giving the reason it does not."""
    if state is None:
        raise DomainError("unknown_coupon", f"there is no coupon {code}", FIELD)
    coupon = state.coupon
    if at_ms < coupon.starts_at:
        raise DomainError("coupon_not_started", f"the coupon {code} is not valid yet", FIELD)
    if coupon.ends_at is not None and at_ms >= coupon.ends_at:
        raise DomainError("coupon_expired", f"the coupon {code} has expired", FIELD)
    items = total(line.line_total for line in lines)
    if items < coupon.min_subtotal:
        raise DomainError(
            "coupon_below_minimum",
            f"the coupon {code} needs a subtotal of at least {coupon.min_subtotal} "
            f"(the cart is {items})",
            FIELD,
        )
    if coupon.max_redemptions is not None and len(state.redemptions) >= coupon.max_redemptions:
        raise DomainError("coupon_exhausted", f"the coupon {code} has been used up", FIELD)
    if coupon.per_customer_limit is not None and (
        state.used_by(customer) >= coupon.per_customer_limit
    ):
        raise DomainError(
            "coupon_customer_limit", f"you have already used the coupon {code}", FIELD
        )
    eligible = total(line.line_total for line in lines if _eligible(coupon, line))
    if eligible == ZERO:
        raise DomainError(
            "coupon_not_applicable", f"the coupon {code} applies to nothing in the cart", FIELD
        )
    if coupon.kind == CouponKind.PERCENT:
        return apply_rate(eligible, coupon.value)
    return min(coupon.value, eligible)


def evolve_coupon(state: CouponState | None, event: Event) -> CouponState | None:
    match event:
        case CouponCreated() if state is None:
            return CouponState(event.coupon)
        case CouponRedeemed() if state is not None:
            return replace(state, redemptions={**state.redemptions, event.order_id: event.customer})
        case CouponReleased() if state is not None:
            left = {k: v for k, v in state.redemptions.items() if k != event.order_id}
            return replace(state, redemptions=left)
        case _:
            return state
