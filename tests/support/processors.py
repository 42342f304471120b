"""Waiting for a server's processors: they run in a child process the server starts once it
serves, so a test that needs their outputs waits for their first report first."""

from __future__ import annotations

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
