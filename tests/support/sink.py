"""Waiting for a server's event-store sink: under load the store opens long after `/ready`,
so a test that stops a server and then reads its store first waits for the sink."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from kartshoppe.eventstore.schema import SINK_GROUP, STORED_TOPICS


def wait_stored(log_path: Path, within_s: float = 240.0) -> None:
    """Wait until the server's sink has put every record of the stored topics into the store
    (under load the store loads long after the server is ready)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with sqlite3.connect(f"file:{log_path}?mode=ro", uri=True) as conn:
            ends = dict(conn.execute("SELECT topic, next_offset FROM partitions"))
            sunk = dict(
                conn.execute(
                    "SELECT topic, next_offset FROM group_offsets WHERE group_id = ?",
                    (SINK_GROUP,),
                )
            )
        if all(sunk.get(topic, 0) >= ends[topic] for topic in STORED_TOPICS):
            return
        time.sleep(0.5)
    raise AssertionError(f"the sink did not store the log within {within_s} s")
