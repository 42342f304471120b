"""Runs the Paimon sink in its own process and kills the process at one point of its cycle.

    python crashing_sink.py WAREHOUSE LOG_DB POINT BATCH

POINT is `before-write`, `before-commit` (data files written, snapshot not committed),
`before-index` (snapshot committed, index not written) or `before-log-commit` (snapshot committed
and indexed, consumer group not). The process dies with `os._exit`
at that point of batch number BATCH (1-based): no cleanup, no finally blocks, like a power cut.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from kartshoppe.eventlog.port import Consumer
from kartshoppe.eventlog.sqlite import SqliteEventLog
from kartshoppe.eventstore.indexed import IndexedStore
from kartshoppe.eventstore.sink import PaimonSink, SinkConfig
from kartshoppe.eventstore.table import StoreConfig

CRASHED = 3


class CrashingSink(PaimonSink):
    def __init__(self, *args: Any, point: str, batch: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.point = point
        self.crash_batch = batch
        self.batch_number = 0

    def _die_at(self, point: str) -> None:
        if point == self.point and self.batch_number == self.crash_batch:
            os._exit(CRASHED)

    def _write_files(self, rows: pa.Table) -> list[Any]:
        self.batch_number += 1
        self._die_at("before-write")
        return super()._write_files(rows)

    def _commit_snapshot(
        self, messages: list[Any], positions: Mapping[tuple[str, int], int]
    ) -> int | None:
        self._die_at("before-commit")
        return super()._commit_snapshot(messages, positions)

    def _index_snapshot(self, snapshot_id: int | None, rows: pa.Table) -> None:
        self._die_at("before-index")
        super()._index_snapshot(snapshot_id, rows)

    async def _commit_log(
        self, consumer: Consumer, positions: Mapping[tuple[str, int], int]
    ) -> None:
        self._die_at("before-log-commit")
        await super()._commit_log(consumer, positions)


async def main(warehouse: str, log_db: str, point: str, batch: int) -> None:
    store = IndexedStore.open(StoreConfig(warehouse))
    async with SqliteEventLog(pathlib.Path(log_db)) as log:
        sink = CrashingSink(
            # a delay long enough that every batch but the last fills to 10 even on a loaded
            # machine: the tests know which events each snapshot holds
            store,
            log,
            SinkConfig(max_events=10, max_delay_ms=1_000),
            point=point,
            batch=batch,
        )
        await sink.drain()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
