"""The event table with its derived SQLite index: the one owner of the index's lifecycle.

`IndexedStore` holds an `EventStore` (`events`) and the `StoreIndex` at its config's
`index_file()`, opened on first use and then checked against the table and caught up with it,
so a stale, foreign or partial file is never trusted. The sink records each committed snapshot
through it; audit, time travel and the dashboard's series ask it for an index caught up to the
snapshot they read (None when the config has no index: they read the table).
"""

from __future__ import annotations

import threading

import pyarrow as pa

from kartshoppe.eventstore.index import IndexConflictError, StoreIndex, snapshot_mark, sync
from kartshoppe.eventstore.table import EventStore, StoreConfig


class IndexedStore:
    """An `EventStore` and its secondary index, kept in step with it."""

    def __init__(self, events: EventStore) -> None:
        self.events = events
        self._lock = threading.Lock()
        self._index: StoreIndex | None = None

    @classmethod
    def open(cls, config: StoreConfig) -> IndexedStore:
        return cls(EventStore(config))

    @property
    def index(self) -> StoreIndex | None:
        """The SQLite index of the table, caught up on first use; None when not configured."""
        path = self.events.config.index_file()
        if path is None:
            return None
        with self._lock:
            if self._index is None:
                index = StoreIndex(path)
                sync(index, self.events)
                self._index = index
            return self._index

    def sync_index(self) -> int | None:
        """Catch the index up with the table (after a crash, another writer, a deleted file)."""
        index = self.index
        return None if index is None else sync(index, self.events)

    def index_at(self, snapshot_id: int) -> StoreIndex | None:
        """The index, caught up to at least `snapshot_id`; None when there is no index."""
        index = self.index
        if index is None:
            return None
        if index.high_water() < snapshot_id:
            self.sync_index()
        return index

    def index_committed(self, snapshot_id: int | None, rows: pa.Table) -> None:
        """Record the rows the sink has just committed as snapshot `snapshot_id` in the index.

        Directly when the index stands right before that snapshot; otherwise (a gap, another
        writer, an unknown id) by catching up from the table, which holds the same rows.
        """
        index = self.index
        if index is None:
            return
        if snapshot_id is not None:
            with index.write_lock:
                high = index.high_water()
                if high == snapshot_id - 1:
                    try:
                        index.ingest(snapshot_mark(self.events, snapshot_id), rows, after=high)
                        return
                    except IndexConflictError:
                        pass
        self.sync_index()

    def close_index(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
            self._index = None
