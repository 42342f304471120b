"""The per-request rate-limit decision: KartShoppe's token buckets against the `limits` library.

Every API request asks the limiter once, so the decision's cost sits on the hot path. Both
limiters answer the same stream of (route class, client) keys, 1,000 clients, a limit no key
reaches (so every answer is "go ahead", as for almost all real traffic). `limits` offers fixed
and moving windows, not a token bucket; its in-memory moving window is the closest in behaviour
(a burst no larger than the limit), the fixed window the cheapest it has.

Run: `.venv/bin/python bench/ratelimit_bench.py` (needs `pip install limits`, not a dependency).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from kartshoppe.api.ratelimit import Limit, RateLimiter, RouteClass

CALLS = 200_000
CLIENTS = 1_000
RATE = 1_000_000


def per_call_ns(decide: Callable[[str], bool]) -> float:
    keys = [f"ip:10.0.{i // 256}.{i % 256}" for i in range(CLIENTS)]
    for key in keys:
        decide(key)
    start = time.perf_counter_ns()
    for i in range(CALLS):
        decide(keys[i % CLIENTS])
    return (time.perf_counter_ns() - start) / CALLS


def main() -> None:
    ours = RateLimiter({RouteClass.CART: Limit(RATE, RATE)})
    item = RateLimitItemPerSecond(RATE)
    moving = MovingWindowRateLimiter(MemoryStorage())
    fixed = FixedWindowRateLimiter(MemoryStorage())
    results = {
        "kartshoppe TokenBucket (RateLimiter.take_or_wait)": per_call_ns(
            lambda k: ours.take_or_wait(RouteClass.CART, k) == 0
        ),
        "limits MovingWindowRateLimiter.hit (memory)": per_call_ns(
            lambda k: moving.hit(item, "cart", k)
        ),
        "limits FixedWindowRateLimiter.hit (memory)": per_call_ns(
            lambda k: fixed.hit(item, "cart", k)
        ),
    }
    reference = next(iter(results.values()))
    print(f"{CALLS} decisions over {CLIENTS} clients, load average {os.getloadavg()}")
    print("| limiter | ns per decision | x kartshoppe |")
    print("|---|---:|---:|")
    for name, ns in results.items():
        print(f"| {name} | {ns:,.0f} | {ns / reference:.1f} |")


if __name__ == "__main__":
    main()
