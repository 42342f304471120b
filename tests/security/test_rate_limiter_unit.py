"""Unit specification of the token buckets, their configuration and the route classes."""

from __future__ import annotations

import pytest

from kartshoppe.api.ratelimit import (
    Limit,
    RateLimiter,
    RouteClass,
    limits_from_env,
    retry_after_header,
    route_class,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter({RouteClass.CART: Limit(rate=2, burst=3)}, clock=clock)
    assert [limiter.take_or_wait(RouteClass.CART, "ip:a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take_or_wait(RouteClass.CART, "ip:a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take_or_wait(RouteClass.CART, "ip:a") == 0
    assert limiter.take_or_wait(RouteClass.CART, "ip:b") == 0


def test_an_unlimited_class_never_waits() -> None:
    limiter = RateLimiter({RouteClass.BROWSE: None})
    assert all(limiter.take_or_wait(RouteClass.BROWSE, "ip:a") == 0 for _ in range(10_000))


def test_forgotten_clients_start_with_a_full_bucket() -> None:
    limiter = RateLimiter({RouteClass.CART: Limit(1, 1)}, max_clients=2, clock=Clock())
    limiter.take_or_wait(RouteClass.CART, "a")
    limiter.take_or_wait(RouteClass.CART, "b")
    limiter.take_or_wait(RouteClass.CART, "c")
    assert limiter.take_or_wait(RouteClass.CART, "a") == 0
    assert limiter.take_or_wait(RouteClass.CART, "c") > 0


def test_limits_come_from_the_environment_with_defaults() -> None:
    limits = limits_from_env({"KARTSHOPPE_RATE_CART": "5/10", "KARTSHOPPE_RATE_EVENTS": "off"})
    assert limits[RouteClass.CART] == Limit(5, 10)
    assert limits[RouteClass.EVENTS] is None
    assert limits[RouteClass.SIGNIN] == Limit(5, 20)
    assert limits_from_env({"KARTSHOPPE_RATE_WS": "7"})[RouteClass.WS] == Limit(7, 7)
    with pytest.raises(ValueError, match="KARTSHOPPE_RATE_CART"):
        limits_from_env({"KARTSHOPPE_RATE_CART": "0/1"})


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(2.2) == "3"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/ecommerce/products", RouteClass.BROWSE),
        ("GET", "/api/ecommerce/cart/s1", RouteClass.CART),
        ("POST", "/api/ecommerce/cart/s1/add", RouteClass.CART),
        ("POST", "/api/ecommerce/checkout", RouteClass.CHECKOUT),
        ("POST", "/api/ecommerce/orders/o1/pay", RouteClass.CHECKOUT),
        ("GET", "/api/ecommerce/orders/o1", RouteClass.BROWSE),
        ("POST", "/api/ecommerce/events", RouteClass.EVENTS),
        ("POST", "/api/ecommerce/auth/login", RouteClass.SIGNIN),
        ("GET", "/api/ecommerce/auth/me", RouteClass.BROWSE),
        ("GET", "/health", None),
        ("GET", "/metrics", None),
        ("GET", "/assets/app.js", None),
    ],
)
def test_requests_count_against_their_route_class(
    method: str, path: str, expected: RouteClass | None
) -> None:
    assert route_class(method, path) == expected
