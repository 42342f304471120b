"""Loaded at interpreter start when this folder is on PYTHONPATH (`bench/write_bench.py
--profile`): SIGUSR1 starts cProfile on the main thread (the event loop), SIGUSR2 stops it and
writes its stats to the file named by `KARTSHOPPE_BENCH_PROFILE`. A server profiled this way
is profiled over the timed writes only, not its start-up. The clock is the thread's CPU time:
on a shared machine, wall time would charge a function for the time the server was not
running at all (a socket write that wakes the client is preempted by it)."""

import cProfile
import os
import signal
import time
from typing import Any

_profile = cProfile.Profile(time.thread_time_ns, 1e-9)


def _start(*_: Any) -> None:
    _profile.enable()


def _stop(*_: Any) -> None:
    _profile.disable()
    _profile.dump_stats(os.environ["KARTSHOPPE_BENCH_PROFILE"])


if "KARTSHOPPE_BENCH_PROFILE" in os.environ:
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
