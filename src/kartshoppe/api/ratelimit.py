"""Rate limits: a token bucket per client and route class, and a message budget per WebSocket.

A client is the signed-in user (the token's `sub`) or else the peer address. Each class has its
own `rate/burst`, from `KARTSHOPPE_RATE_<CLASS>` (e.g. `KARTSHOPPE_RATE_CART=50/100`; `off`
turns a class off). The defaults sit well above a person's pace and the traffic simulator's
default 50 requests a second from one address, so only floods are cut.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class RouteClass(StrEnum):
    BROWSE = "browse"
    CART = "cart"
    CHECKOUT = "checkout"
    EVENTS = "events"
    SIGNIN = "signin"
    WS = "ws"
    """Messages a second on one WebSocket connection."""


@dataclass(frozen=True)
class Limit:
    rate: float
    """Tokens added a second."""
    burst: float
    """Bucket size: how many requests may come at once."""

    @classmethod
    def parse(cls, text: str) -> Limit | None:
        """`rate/burst` (burst defaults to rate); None for `off`."""
        if text.strip().lower() == "off":
            return None
        rate_text, _, burst_text = text.partition("/")
        rate = float(rate_text)
        burst = float(burst_text) if burst_text else rate
        if rate <= 0 or burst < 1:
            raise ValueError(f"a rate limit needs rate > 0 and burst >= 1, not {text!r}")
        return cls(rate, burst)


DEFAULTS: Final[Mapping[RouteClass, str]] = {
    RouteClass.BROWSE: "300/600",
    RouteClass.CART: "200/400",
    RouteClass.CHECKOUT: "50/100",
    RouteClass.EVENTS: "100/200",
    RouteClass.SIGNIN: "5/20",
    RouteClass.WS: "50/200",
}


def limits_from_env(source: Mapping[str, str]) -> dict[RouteClass, Limit | None]:
    """The limit of each class from `KARTSHOPPE_RATE_<CLASS>` in `source` (see
    `Settings.rate_limits`), else its default."""
    limits: dict[RouteClass, Limit | None] = {}
    for route_class, default in DEFAULTS.items():
        name = f"KARTSHOPPE_RATE_{route_class.value.upper()}"
        try:
            limits[route_class] = Limit.parse(source.get(name, default))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from exc
    return limits


class TokenBucket:
    """`take_or_wait()` spends one token if there is one; tokens come back at `rate` a second."""

    __slots__ = ("_clock", "burst", "rate", "stamp", "tokens")

    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = limit.rate
        self.burst = limit.burst
        self.tokens = limit.burst
        self._clock = clock
        self.stamp = clock()

    def take_or_wait(self) -> float:
        """Spend a token and return 0.0; with none left, the seconds until one is back."""
        return self.take(self._clock())

    def take(self, now: float) -> float:
        """`take_or_wait` as of `now` (a reading of the bucket's clock)."""
        tokens = self.tokens + (now - self.stamp) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        self.stamp = now
        if tokens >= 1:
            self.tokens = tokens - 1
            return 0.0
        self.tokens = tokens
        return (1 - tokens) / self.rate


class RateLimiter:
    """Buckets per class and client; the least recently used of a class are forgotten past
    `max_clients` (a forgotten client starts again with a full bucket, which only errs on the
    lenient side). A request from a known client is a lookup, a move to the recent end and
    the bucket's arithmetic: nothing is allocated but the floats."""

    def __init__(
        self,
        limits: Mapping[RouteClass, Limit | None],
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = dict(limits)
        self._max = max_clients
        self._clock = clock
        self._buckets: dict[RouteClass, OrderedDict[str, TokenBucket]] = {
            route_class: OrderedDict() for route_class in RouteClass
        }

    def take_or_wait(self, route_class: RouteClass, client: str) -> float:
        """0.0 if the request may go ahead (a token spent), else the seconds to wait (for
        `Retry-After`)."""
        limit = self.limits.get(route_class)
        if limit is None:
            return 0.0
        buckets = self._buckets[route_class]
        bucket = buckets.get(client)
        if bucket is None:
            bucket = buckets[client] = TokenBucket(limit, self._clock)
            if len(buckets) > self._max:
                buckets.popitem(last=False)
        else:
            buckets.move_to_end(client)
        return bucket.take(self._clock())

    def message_budget(self) -> TokenBucket | None:
        """A fresh budget for one WebSocket connection (None when unlimited)."""
        limit = self.limits.get(RouteClass.WS)
        return TokenBucket(limit, self._clock) if limit else None


def retry_after_header(wait: float) -> str:
    return str(max(1, math.ceil(wait)))


def route_class(method: str, path: str, prefix: str = "/api/ecommerce") -> RouteClass | None:
    """The class a request counts against; None for paths that are not limited (health,
    metrics, the web app)."""
    if not path.startswith(prefix + "/"):
        return None
    rest = path[len(prefix) :]
    if rest.startswith("/auth/") and method == "POST":
        return RouteClass.SIGNIN
    if rest.startswith("/cart/"):
        return RouteClass.CART
    if method == "POST" and (rest == "/checkout" or rest.startswith("/orders/")):
        return RouteClass.CHECKOUT
    if rest == "/events" and method == "POST":
        return RouteClass.EVENTS
    return RouteClass.BROWSE
