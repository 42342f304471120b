"""Unit specification of the retry, circuit breaker and supervisor utilities."""

from __future__ import annotations

import asyncio

import pytest

from kartshoppe.resilience import (
    Backoff,
    CircuitBreaker,
    CircuitOpenError,
    State,
    retry,
    retry_sync,
    supervise,
)

NO_WAIT = Backoff(initial=0, maximum=0, jitter=0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Flaky:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"failure {self.calls}")
        return "ok"


def state_now(breaker: CircuitBreaker) -> State:
    """The breaker's state, read afresh: mypy keeps a property it saw asserted narrowed across
    the calls that change it, a function's result it does not."""
    return breaker.state


async def test_retry_succeeds_once_the_call_stops_failing() -> None:
    flaky = Flaky(2)

    async def call() -> str:
        return flaky()

    assert await retry(call, attempts=3, backoff=NO_WAIT) == "ok"
    assert flaky.calls == 3


async def test_retry_awaits_what_a_plain_callable_returns() -> None:
    flaky = Flaky(1)

    async def call() -> str:
        return flaky()

    assert await retry(lambda: call(), attempts=2, backoff=NO_WAIT) == "ok"
    assert flaky.calls == 2


async def test_retry_gives_up_after_its_attempts_with_the_last_error() -> None:
    flaky = Flaky(5)

    async def call() -> str:
        return flaky()

    with pytest.raises(ConnectionError, match="failure 3"):
        await retry(call, attempts=3, backoff=NO_WAIT)


async def test_retry_does_not_retry_errors_it_was_not_told_about() -> None:
    flaky = Flaky(1)

    async def call() -> str:
        return flaky()

    with pytest.raises(ConnectionError):
        await retry(call, attempts=3, backoff=NO_WAIT, retry_on=(TimeoutError,))
    assert flaky.calls == 1


def test_retry_sync_waits_with_growing_capped_delays() -> None:
    waits: list[float] = []
    flaky = Flaky(4)
    backoff = Backoff(initial=0.1, maximum=0.3, multiplier=2, jitter=0)
    assert retry_sync(flaky, attempts=5, backoff=backoff, sleep=waits.append) == "ok"
    assert waits == [0.1, 0.2, 0.3, 0.3]


def test_the_breaker_opens_after_the_threshold_and_fails_fast() -> None:
    clock = Clock()
    breaker = CircuitBreaker("store", failure_threshold=3, reset_timeout=10, clock=clock)
    flaky = Flaky(100)
    for _ in range(3):
        with pytest.raises(ConnectionError):
            breaker.call_sync(flaky)
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpenError) as open_error:
        breaker.call_sync(flaky)
    assert flaky.calls == 3
    assert open_error.value.retry_after == pytest.approx(10)


def test_a_half_open_breaker_closes_on_success_and_reopens_on_failure() -> None:
    clock = Clock()
    breaker = CircuitBreaker("store", failure_threshold=1, reset_timeout=5, clock=clock)
    with pytest.raises(ConnectionError):
        breaker.call_sync(Flaky(1))
    clock.now = 5
    assert state_now(breaker) is State.HALF_OPEN
    with pytest.raises(ConnectionError):
        breaker.call_sync(Flaky(1))
    assert state_now(breaker) is State.OPEN
    clock.now = 10
    assert breaker.call_sync(lambda: "ok") == "ok"
    assert state_now(breaker) is State.CLOSED


async def test_supervise_restarts_a_failing_task_until_it_runs_to_the_stop() -> None:
    stop = asyncio.Event()
    runs = 0

    async def run() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise ConnectionError("store down")
        stop.set()

    restarts = await supervise(run, stop, name="sink", backoff=NO_WAIT)
    assert runs == 3 and restarts == 2
