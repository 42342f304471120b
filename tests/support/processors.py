"""Waiting for a server's processors: they run in a child process the server starts once it
serves, so a test that needs their outputs waits for their first report first."""

from __future__ import annotations

import re
import time

import httpx

REPORTED = "kartshoppe_processor_lag_records"


def wait_for_processors(base_url: str, within_s: float = 120.0) -> None:
    """Until the server's `/metrics` shows the processors' lag (their process has reported)."""
    deadline = time.monotonic() + within_s
    with httpx.Client(base_url=base_url, trust_env=False, timeout=10) as client:
        while REPORTED + "{" not in client.get("/metrics").text:
            assert time.monotonic() < deadline, f"no processors reported within {within_s} s"
            time.sleep(0.1)


LAG_LINE = re.compile(REPORTED + r"\{[^}]*\} ([0-9.e+]+)")


def wait_caught_up(base_url: str, within_s: float = 120.0) -> None:
    """Until every processor has committed all its input (each lag 0 in `/metrics`): a test
    timing a processor's answer to its own write must not time the seed's backlog with it."""
    deadline = time.monotonic() + within_s
    with httpx.Client(base_url=base_url, trust_env=False, timeout=10) as client:
        while True:
            lags = [float(v) for v in LAG_LINE.findall(client.get("/metrics").text)]
            if lags and not any(lags):
                return
            assert time.monotonic() < deadline, f"processors behind after {within_s} s: {lags}"
            time.sleep(0.1)
