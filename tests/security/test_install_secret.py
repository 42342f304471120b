"""The install's generated JWT secret: one per data directory, also when the workers of
`serve --workers` start together on a fresh one."""

from __future__ import annotations

import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kartshoppe.security.tokens import MIN_SECRET_BYTES, SECRET_FILE, load_secret

WORKERS = 16


def test_workers_starting_together_on_a_fresh_directory_all_get_the_one_secret(
    tmp_path: Path,
) -> None:
    for attempt in range(20):  # the race is a matter of timing: run it on many fresh directories
        data_dir = tmp_path / f"data-{attempt}"
        together = threading.Barrier(WORKERS)

        def start(data_dir: Path = data_dir, together: threading.Barrier = together) -> bytes:
            together.wait()
            return load_secret(data_dir)

        with ThreadPoolExecutor(WORKERS) as pool:
            secrets = list(pool.map(lambda _: start(), range(WORKERS)))

        assert len(set(secrets)) == 1
        assert len(secrets[0]) >= MIN_SECRET_BYTES
        assert [p.name for p in data_dir.iterdir()] == [SECRET_FILE]  # no draft left behind
        assert stat.S_IMODE((data_dir / SECRET_FILE).stat().st_mode) == 0o600
        assert load_secret(data_dir) == secrets[0]  # and it stays the install's secret
