"""Checkout rules: the shipping address per country, delivery options and dates, tax by
destination, and the quote (subtotal, discount, shipping, tax, total) an order is placed at.

Rounding (docs/ARCHITECTURE.md, Money): line totals are exact; a percentage coupon is rounded
once on the eligible subtotal; tax is computed once per order on (subtotal - discount +
shipping) of the destination's rate and rounded half away from zero. The web app shows the
quote, sends its total back as `expectedTotal`, and an order is placed only at that total.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from kartshoppe.domain.errors import DomainError
from kartshoppe.domain.money import ZERO, amount, apply_rate, total
from kartshoppe.domain.pricing import PricedLine, subtotal
from kartshoppe.events import Address, Delivery


@dataclass(frozen=True, slots=True)
class CountryRule:
    name: str
    postal_code: re.Pattern[str]
    postal_example: str
    regions: frozenset[str] = frozenset()
    """The states or provinces a region must be one of; empty when the country has none."""


ORDER_HOLD_MS = 15 * 60 * 1000
"""How long a placed order holds its items unpaid, unless the shop sets otherwise."""

US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
)
CA_PROVINCES = frozenset(
    ["AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"]
)

COUNTRIES: Mapping[str, CountryRule] = {
    "US": CountryRule("United States", re.compile(r"\d{5}(-\d{4})?"), "94105", US_STATES),
    "CA": CountryRule("Canada", re.compile(r"[A-Z]\d[A-Z] ?\d[A-Z]\d"), "K1A 0B1", CA_PROVINCES),
    "GB": CountryRule(
        "United Kingdom", re.compile(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"), "SW1A 1AA"
    ),
    "DE": CountryRule("Germany", re.compile(r"\d{5}"), "10115"),
    "FR": CountryRule("France", re.compile(r"\d{5}"), "75001"),
    "NL": CountryRule("Netherlands", re.compile(r"\d{4} ?[A-Z]{2}"), "1012 AB"),
}


PLACE_FIRST_LINE: frozenset[str] = frozenset(["US", "CA"])
"""Where the post writes "City, ST 94105"; the UK writes the city, then the postcode on a line of
its own; the rest of the countries shipped to, "10115 Berlin"."""


def address_lines(address: Address) -> list[str]:
    """A shipping address as the destination's post writes it, one line each, ending with the
    country's name."""
    a = address
    if a.country in PLACE_FIRST_LINE:
        place = [f"{a.city}, " + " ".join(p for p in (a.region, a.postal_code) if p)]
    elif a.country == "GB":
        place = [a.city, a.postal_code]
    else:
        place = [f"{a.postal_code} {a.city}"]
    rule = COUNTRIES.get(a.country)
    return [
        a.name,
        a.line1,
        *([a.line2] if a.line2 else []),
        *place,
        rule.name if rule else a.country,
    ]


def validate_address(address: Address) -> Address:
    """The address normalised (upper-case country, region and postal code), or `invalid_address`
    naming the field."""
    country = address.country.upper()
    rule = COUNTRIES.get(country)
    if rule is None:
        shipped = ", ".join(sorted(COUNTRIES))
        raise DomainError(
            "invalid_address",
            f"we do not ship to '{country}' (we ship to {shipped})",
            "address.country",
        )
    postal = address.postal_code.upper()
    if not rule.postal_code.fullmatch(postal):
        raise DomainError(
            "invalid_address",
            f"'{address.postal_code}' is not a {rule.name} postal code "
            f"(like {rule.postal_example})",
            "address.postalCode",
        )
    region = address.region.upper()
    if rule.regions and region not in rule.regions:
        raise DomainError(
            "invalid_address",
            f"a {rule.name} address needs its state or province code (like "
            f"{sorted(rule.regions)[0]})",
            "address.region",
        )
    return address.model_copy(update={"country": country, "postal_code": postal, "region": region})


@dataclass(frozen=True, slots=True)
class DeliveryOption:
    id: str
    label: str
    cost: Decimal
    business_days: int
    free_over_threshold: bool = False
    """Free when the discounted subtotal reaches the shop's free-shipping threshold."""


@dataclass(frozen=True, slots=True)
class ShopRules:
    """The shop's configurable checkout rules (`KARTSHOPPE_TAX_RATES`, `..._FREE_SHIPPING_OVER`)."""

    tax_rates: Mapping[str, Decimal] = field(default_factory=dict)
    """Percent by destination: "US-CA" (country-region) before "US" (country)."""
    free_shipping_over: Decimal = Decimal("50.00")
    delivery_options: Sequence[DeliveryOption] = (
        DeliveryOption("standard", "Standard (3-5 business days)", amount("4.99"), 5, True),
        DeliveryOption("express", "Express (1-2 business days)", amount("14.99"), 2),
    )
    hold_ms: int = ORDER_HOLD_MS
    """How long a placed order holds its items unpaid (`KARTSHOPPE_RESERVATION_TTL_S`)."""


DEFAULT_TAX_RATES = "GB=20,DE=19,FR=20,NL=21,CA=5,US=0,US-CA=7.25,US-NY=4,US-TX=6.25,US-WA=6.5"


def parse_tax_rates(text: str) -> dict[str, Decimal]:
    """`"GB=20,US-CA=7.25"` → {"GB": 20, "US-CA": 7.25}; a malformed entry is a ValueError."""
    rates = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        where, _, rate = entry.partition("=")
        value = Decimal(rate)
        if not where or not Decimal(0) <= value < Decimal(100):
            raise ValueError(f"tax rate entry '{entry}' is not DEST=PERCENT")
        rates[where.strip().upper()] = value
    return rates


def tax_rate(rules: ShopRules, address: Address | None) -> Decimal:
    if address is None:
        return Decimal(0)
    regional = rules.tax_rates.get(f"{address.country}-{address.region}")
    return regional if regional is not None else rules.tax_rates.get(address.country, Decimal(0))


def add_business_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def delivery_for(
    rules: ShopRules, option_id: str, discounted_subtotal: Decimal, at_ms: int
) -> Delivery:
    option = next((o for o in rules.delivery_options if o.id == option_id), None)
    if option is None:
        known = ", ".join(o.id for o in rules.delivery_options)
        raise DomainError(
            "invalid_delivery",
            f"unknown delivery option '{option_id}' (one of {known})",
            "delivery",
        )
    free = option.free_over_threshold and discounted_subtotal >= rules.free_shipping_over
    day = datetime.fromtimestamp(at_ms / 1000, UTC).date()
    return Delivery(
        option=option.id,
        label=option.label,
        cost=ZERO if free else option.cost,
        estimated_date=add_business_days(day, option.business_days).isoformat(),
    )


def delivery_options(rules: ShopRules, discounted_subtotal: Decimal, at_ms: int) -> list[Delivery]:
    return [delivery_for(rules, o.id, discounted_subtotal, at_ms) for o in rules.delivery_options]


@dataclass(frozen=True, slots=True)
class CheckoutDetails:
    """What the shopper filled in. All optional for a quote; the web app sends them all."""

    email: str | None = None
    address: Address | None = None
    delivery: str | None = None
    coupon_code: str | None = None
    expected_total: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    coupon_code: str | None = None
    address: Address | None = None
    delivery: Delivery | None = None


def make_quote(
    lines: tuple[PricedLine, ...],
    discount: Decimal,
    coupon_code: str | None,
    address: Address | None,
    delivery_option: str | None,
    rules: ShopRules,
    at_ms: int,
) -> Quote:
    """The whole bill. Without an address there is no delivery and no tax (a cart preview)."""
    items = subtotal(lines)
    discounted = items - discount
    delivery = None
    if address is not None:
        delivery = delivery_for(rules, delivery_option or "standard", discounted, at_ms)
    shipping = delivery.cost if delivery else ZERO
    tax = apply_rate(discounted + shipping, tax_rate(rules, address))
    return Quote(
        lines=lines,
        subtotal=items,
        discount=discount,
        shipping=shipping,
        tax=tax,
        total=total((discounted, shipping, tax)),
        coupon_code=coupon_code,
        address=address,
        delivery=delivery,
    )


def check_expected_total(quote: Quote, expected: Decimal | None) -> None:
    """Refuse to place an order at a total other than the one the shopper was shown."""
    if expected is not None and expected != quote.total:
        raise DomainError(
            "total_mismatch",
            f"the total is {quote.total}, not {expected}: prices or the cart changed, "
            "please review the order",
            "expectedTotal",
        )
