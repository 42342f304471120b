"""Retries with exponential backoff (tenacity), a circuit breaker, and a supervisor that
restarts a task.

Used around the calls to things that can be down for a while: the log producer's append and the
event store's writes. The breaker keeps a dead dependency from being hammered (and callers from
waiting on it): after `failure_threshold` consecutive failures it opens and fails fast with
`CircuitOpenError` for `reset_timeout` seconds, then lets one trial call through (half-open).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")
logger = logging.getLogger(__name__)


class CircuitOpenError(RuntimeError):
    """The breaker is open: the dependency failed repeatedly and is not being called."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"{name} is unavailable (circuit open, retry in {retry_after:.1f}s)")
        self.name = name
        self.retry_after = retry_after


@dataclass(frozen=True)
class Backoff:
    """Delays `initial * multiplier**n`, capped at `maximum`, with up to `jitter` (a fraction)
    added at random so that many retrying clients do not fall into step."""

    initial: float = 0.05
    maximum: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.multiplier**attempt)
        return base * (1 + random.uniform(0, self.jitter))


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures of the calls it guards; see the module docstring."""

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        reset_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self.on_change: Callable[[State], None] | None = None

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return State.CLOSED
        if self._clock() - self._opened_at >= self.reset_timeout:
            return State.HALF_OPEN
        return State.OPEN

    def check(self) -> None:
        """Raise `CircuitOpenError` unless a call may go through now."""
        if self.state is State.OPEN:
            assert self._opened_at is not None
            left = self.reset_timeout - (self._clock() - self._opened_at)
            raise CircuitOpenError(self.name, max(0.0, left))

    def record_success(self) -> None:
        changed = self._opened_at is not None
        self._failures = 0
        self._opened_at = None
        if changed:
            logger.warning("circuit %s closed", self.name)
            self._notify()

    def record_failure(self) -> None:
        self._failures += 1
        # a failed half-open trial re-opens at once; a closed breaker opens at the threshold
        if self._opened_at is not None or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            logger.warning("circuit %s open after %d failures", self.name, self._failures)
            self._notify()

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        self.check()
        try:
            result = await fn()
        except Exception:
            self.record_failure()
            raise
        self.record_success()
        return result

    def call_sync(self, fn: Callable[[], T]) -> T:
        self.check()
        try:
            result = fn()
        except Exception:
            self.record_failure()
            raise
        self.record_success()
        return result

    def _notify(self) -> None:
        if self.on_change is not None:
            self.on_change(self.state)


def _policy(
    attempts: int, backoff: Backoff, retry_on: tuple[type[BaseException], ...]
) -> dict[str, Any]:
    """tenacity's settings for `attempts` tries with `backoff` while `retry_on` is raised. An
    open circuit is never retried here: waiting is the caller's decision. tenacity is imported
    here, on the first failure (a server's start imports it for nothing otherwise)."""
    from tenacity import (
        before_sleep_log,
        retry_if_exception_type,
        retry_if_not_exception_type,
        stop_after_attempt,
    )

    return {
        "stop": stop_after_attempt(attempts),
        "wait": lambda state: backoff.delay(state.attempt_number - 1),
        "retry": retry_if_exception_type(retry_on) & retry_if_not_exception_type(CircuitOpenError),
        "before_sleep": before_sleep_log(logger, logging.INFO),
        "reraise": True,
    }


async def retry(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int = 3,
    backoff: Backoff = Backoff(),
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """`fn()`, tried up to `attempts` times while it raises one of `retry_on`; the last error
    is raised as is."""
    try:
        # tried once before tenacity is set up: most calls succeed, and then cost no more
        return await fn()
    except retry_on as exc:
        failed: list[BaseException] = [exc]

    async def attempt() -> T:
        # tenacity sees the first failure as its first attempt (and waits, logs, or gives up on
        # it as on any other); a coroutine function, whatever `fn` is: tenacity awaits only
        # what it sees as one
        if failed:
            raise failed.pop()
        return await fn()

    from tenacity import AsyncRetrying

    retrying = AsyncRetrying(sleep=sleep, **_policy(attempts, backoff, retry_on))
    result: T = await retrying(attempt)
    return result


def retry_sync(
    fn: Callable[[], T],
    *,
    attempts: int = 3,
    backoff: Backoff = Backoff(),
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`retry` for blocking calls (run in a worker thread)."""
    from tenacity import Retrying

    return Retrying(sleep=sleep, **_policy(attempts, backoff, retry_on))(fn)


async def supervise(
    run: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    *,
    name: str,
    backoff: Backoff = Backoff(initial=0.2, maximum=10.0),
) -> int:
    """Run `run()` until `stop` is set, restarting it with backoff whenever it fails.

    For consumers that restart safely from their committed position (the event-store sink):
    while their dependency is down they fail, wait, and start again, catching up once it is
    back. Returns the number of restarts."""
    restarts = 0
    while not stop.is_set():
        try:
            await run()
            if stop.is_set():
                break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("%s failed (%s); restarting", name, exc)
        delay = backoff.delay(min(restarts, 16))
        restarts += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
    return restarts
