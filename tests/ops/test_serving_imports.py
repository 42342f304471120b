"""The serving process reaches ready without the heavy modules: pyarrow, pypaimon (and the
polars, pandas and numpy it brings), duckdb, confluent-kafka and the OpenTelemetry SDK are
loaded only where they are used (the event store's sink in a process of its own, its read
routes on first use, Kafka mode, a trace exporter); Pillow on the first image upload, PyJWT
(and cryptography) on the first token, argon2 on the first password hashed or checked, tenacity
on the first failed attempt of a retried call, and rich not at all (structlog would load it for a
console renderer the JSON logs do not use). Start-up and the idle footprint do not pay for
them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = (
    "pyarrow",
    "pypaimon",
    "polars",
    "pandas",
    "numpy",
    "duckdb",
    "confluent_kafka",
    "opentelemetry.sdk",
    "PIL",
    "jwt",
    "cryptography",
    "rich",
    "argon2",
    "tenacity",
    "kartshoppe.eventstore.table",
)


def test_an_embedded_server_is_ready_without_loading_the_heavy_modules(tmp_path: Path) -> None:
    started = textwrap.dedent(
        """
        import asyncio, json, os, pathlib, sys
        from kartshoppe.api.app import create_app
        from kartshoppe.config import Settings

        heavy = sys.argv[2].split(",")
        app = create_app(Settings(data_dir=pathlib.Path(sys.argv[1])))

        async def start() -> None:
            async with app.router.lifespan_context(app):
                # ready: the log folded, the catalog seeded, the processors running
                loaded = [m for m in sys.modules if m.split(".")[0] in heavy or m in heavy]
                print(json.dumps(sorted(loaded)), flush=True)
                # not the clean stop: that stores the seeded catalog in the event store
                os._exit(0)

        asyncio.run(start())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", started, str(tmp_path), ",".join(HEAVY)],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
