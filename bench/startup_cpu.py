"""CPU time a fresh `kartshoppe serve` spends before it is ready, in-process and in phases:
importing the app, `create_app`, its lifespan up to the point it serves (log opened, views
folded, demo users and catalog seeded, processors started), and the first `GET /ready` through
the app (FastAPI builds the included routers' routes on the first request, whichever it is).
No HTTP server and no socket, so what is measured is the app's own start-up; CPU time
(`time.process_time`), which the machine's load inflates far less than the seconds of
`bench/startup_bench.py`.

`.venv/bin/python bench/startup_cpu.py [--runs 5] [--compare-src DIR] [--profile]`

Each start is a fresh interpreter on a fresh data directory, bytecode compiled first. With
`--compare-src` (the `src` folder of another checkout, unpacked with `git archive`), that code
is started in turn with this one, so both see the same load; medians are printed side by side.
`--profile` prints the 25 most expensive functions (cumulative) of one start of this checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

from startup_bench import ROOT, compile_bytecode

PHASES = ("imports", "create_app", "lifespan", "first /ready", "total")

# run in the child: the phases' CPU seconds as one JSON line; it exits at the point the app
# would serve (the sink's child and the background tasks are never started)
CHILD = r"""
import asyncio, cProfile, json, os, pathlib, pstats, sys, time
profile = cProfile.Profile() if os.environ.get("STARTUP_CPU_PROFILE") else None
if profile is not None:
    profile.enable()
t0 = time.process_time()
import uvloop
from kartshoppe.api.app import create_app
from kartshoppe.config import Settings
t1 = time.process_time()
app = create_app(Settings(data_dir=pathlib.Path(os.environ["STARTUP_CPU_DATA"])))
t2 = time.process_time()

# the CPU time when the first `GET /ready` has been answered (what the app does in the
# background after its answer is not waited for)
async def first_ready():
    answered = []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": "/ready", "raw_path": b"/ready", "root_path": "",
             "query_string": b"", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80), "state": {}}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message
        elif not message.get("more_body"):
            answered.append(time.process_time())

    await app(scope, receive, send)
    return answered[0]

async def until_ready():
    async with app.router.lifespan_context(app):
        t3 = time.process_time()
        t4 = await first_ready()
        if profile is not None:
            profile.disable()
            pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        print(json.dumps({"imports": t1 - t0, "create_app": t2 - t1, "lifespan": t3 - t2,
                          "first /ready": t4 - t3, "total": t4 - t0}), flush=True)
        os._exit(0)

uvloop.run(until_ready())
"""


def one_start(src: pathlib.Path | None, profile: bool = False) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    if profile:
        env["STARTUP_CPU_PROFILE"] = "1"
    with tempfile.TemporaryDirectory(prefix="startup-cpu-") as data:
        env["STARTUP_CPU_DATA"] = data
        command = [sys.executable, "-c", CHILD]
        out = subprocess.run(
            command, env=env, check=True, capture_output=not profile, text=True
        ).stdout
    if profile:
        return {}
    phases: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare-src", type=pathlib.Path, help="src folder of the 'before'")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    codes: dict[str, pathlib.Path | None] = {"this checkout": None}
    if args.compare_src is not None:
        codes = {"before (--compare-src)": args.compare_src.resolve(), **codes}
    compile_bytecode([src or ROOT / "src" for src in codes.values()])
    if args.profile:
        one_start(None, profile=True)
        return
    results: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
    for _ in range(args.runs):
        for name, src in codes.items():
            results[name].append(one_start(src))
    print(f"| code | {' | '.join(PHASES)} |")
    print(f"|---|{'---:|' * len(PHASES)}")
    for name, runs in results.items():
        medians = [statistics.median(run[phase] for run in runs) for phase in PHASES]
        print(f"| {name} | {' | '.join(f'{m:.2f} s' for m in medians)} |")
    print(f"median of {args.runs} starts each, CPU seconds; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
