"""The Paimon event table (`eventstore.schema` defines it): created on first open, written by the
sink, read by audit, time travel, replay and reports through pypaimon.

`StoreConfig` says where it lives and how: `warehouse` is a local directory (default
`<data-dir>/warehouse`) or an object-store URI (`s3://bucket/prefix`, `oss://...`, only the local
filesystem is tested) with `catalog_options` passed to `pypaimon.CatalogFactory.create`;
`table_options` override `schema.TABLE_OPTIONS` when the table is created. pypaimon 2.1 neither
expires snapshots nor compacts: `EventStore.expire_snapshots()` applies the retention options
(removing snapshot metadata only), `EventStore.compact(dt)` rewrites one day as one overwrite.

`StoreConfig` also says where the derived SQLite index (`eventstore.index`) lives:
`<warehouse>.index/<db>.<table>.sqlite` beside a local warehouse (`index_path` places it elsewhere
and is required for an object-store warehouse; `use_index=False` reads the table for everything).
This module knows nothing of the index: `eventstore.indexed.IndexedStore` opens, catches up and
rebuilds it beside an `EventStore`. Layout, keys and the reasons behind them:
docs/ARCHITECTURE.md, "Event store".
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson
import pyarrow as pa
from pypaimon import CatalogFactory, Schema

from kartshoppe.eventstore import schema
from kartshoppe.eventstore.schema import DATABASE, POSITIONS_PROPERTY, TABLE, SqlType

ARROW_TYPES: Final[Mapping[SqlType, pa.DataType]] = {
    "STRING": pa.string(),
    "INT": pa.int32(),
    "BIGINT": pa.int64(),
}
ARROW_SCHEMA: Final = pa.schema(
    [pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in schema.COLUMNS]
)
COLUMNS: Final = schema.COLUMN_NAMES
DEFAULT_TABLE_OPTIONS: Final = schema.TABLE_OPTIONS


class SnapshotUnavailableError(LookupError):
    """A time-travel target that cannot be read: never existed (404) or expired (410)."""

    def __init__(self, message: str, *, expired: bool) -> None:
        super().__init__(message)
        self.expired = expired

    @property
    def status_code(self) -> int:
        return 410 if self.expired else 404


@dataclass(frozen=True)
class StoreConfig:
    """Where the table lives and how it is configured."""

    warehouse: str
    catalog_options: Mapping[str, str] = field(default_factory=dict)
    table_options: Mapping[str, str] = field(default_factory=dict)
    database: str = DATABASE
    table: str = TABLE
    index_path: str | None = None
    """The SQLite index file (see `eventstore.index`); default: beside a local warehouse."""
    use_index: bool = True

    @classmethod
    def for_data_dir(cls, data_dir: str | Path, **kwargs: Any) -> StoreConfig:
        return cls(warehouse=str(Path(data_dir) / "warehouse"), **kwargs)

    @property
    def identifier(self) -> str:
        return f"{self.database}.{self.table}"

    def options(self) -> dict[str, str]:
        return {**DEFAULT_TABLE_OPTIONS, **self.table_options}

    def index_file(self) -> Path | None:
        """Where the index lives: `<warehouse>.index/<db>.<table>.sqlite` for a local warehouse.

        Never inside the table directory, where Paimon's orphan-file cleanup would remove it. An
        object-store warehouse needs an explicit local `index_path`; without one there is no
        index and every query reads the table.
        """
        if not self.use_index:
            return None
        if self.index_path is not None:
            return Path(self.index_path)
        scheme, sep, rest = self.warehouse.partition("://")
        if sep and scheme != "file":
            return None
        local = Path(rest if sep else self.warehouse)
        return local.with_name(local.name + ".index") / f"{self.identifier}.sqlite"


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    snapshot_id: int
    commit_time: int
    record_count: int
    delta_record_count: int
    commit_kind: str

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshotId": self.snapshot_id,
            "commitTime": self.commit_time,
            "recordCount": self.record_count,
            "deltaRecordCount": self.delta_record_count,
            "commitKind": self.commit_kind,
        }


DAY_MS: Final = 86_400_000


@functools.lru_cache(maxsize=4096)
def _day_name(day_number: int) -> str:
    return dt.datetime.fromtimestamp(day_number * 86_400, tz=dt.UTC).strftime("%Y-%m-%d")


def day_of(timestamp_ms: int) -> str:
    """The UTC day (`yyyy-MM-dd`) of an epoch-millisecond timestamp: the partition value."""
    return _day_name(timestamp_ms // DAY_MS)


def parse_duration_ms(text: str) -> int:
    """Paimon durations: `30 s`, `1 h`, `7 d`, `500 ms`, `10min`."""
    units = {"ms": 1, "s": 1000, "min": 60_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    raw = text.strip().lower().replace(" ", "")
    for unit in sorted(units, key=len, reverse=True):
        if raw.endswith(unit) and raw[: -len(unit)].isdigit():
            return int(raw[: -len(unit)]) * units[unit]
    if raw.isdigit():
        return int(raw)
    raise ValueError(f"not a duration: {text!r}")


class EventStore:
    """The event table: created on first open, written by the sink, read by everything else."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        catalog = CatalogFactory.create({"warehouse": config.warehouse, **config.catalog_options})
        catalog.create_database(config.database, True)
        definition = Schema.from_pyarrow_schema(
            ARROW_SCHEMA,
            partition_keys=list(schema.PARTITION),
            primary_keys=list(schema.PRIMARY_KEY),
            options=config.options(),
        )
        catalog.create_table(config.identifier, definition, True)
        self._catalog = catalog
        self.table: Any = catalog.get_table(config.identifier)
        self._write_lock = threading.Lock()
        self._write_builder: Any = None
        self._writer: Any = None
        self._committer: Any = None

    @property
    def table_path(self) -> str:
        return str(self.table.table_path)

    # --- writing ------------------------------------------------------------------------------

    def write(self, rows: pa.Table) -> list[Any]:
        """Write data files for `rows`; they stay invisible until `commit` of the messages."""
        with self._write_lock:
            if self._writer is None:
                self._write_builder = self.table.new_stream_write_builder()
                self._writer = self._write_builder.new_write()
                self._committer = self._write_builder.new_commit()
            self._writer.write_arrow(rows.select(COLUMNS).cast(ARROW_SCHEMA))
            return list(self._writer.prepare_commit(self._next_identifier()))

    def commit(self, messages: list[Any], positions: Mapping[tuple[str, int], int]) -> int | None:
        """Publish `messages` as one snapshot carrying the sink's log `positions`; its id.

        None when no snapshot of this commit can be found (nothing to commit, or another writer
        committed so many snapshots meanwhile that it is out of sight).
        """
        with self._write_lock:
            merged = {**self.committed_positions(), **positions}
            properties = {POSITIONS_PROPERTY: encode_positions(merged)}
            identifier = self._next_identifier()
            self._committer.commit(messages, identifier, snapshot_properties=properties)
            return self._own_snapshot(str(self._write_builder.commit_user), identifier)

    def _own_snapshot(self, commit_user: str, identifier: int, lookback: int = 16) -> int | None:
        manager = self.table.snapshot_manager()
        latest = manager.get_latest_snapshot()
        if latest is None:
            return None
        for snapshot_id in range(int(latest.id), max(0, int(latest.id) - lookback), -1):
            snapshot = (
                latest if snapshot_id == latest.id else manager.get_snapshot_by_id(snapshot_id)
            )
            if snapshot is None:
                return None
            if snapshot.commit_user == commit_user and snapshot.commit_identifier == identifier:
                return snapshot_id
        return None

    def close(self) -> None:
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._committer.close()
            self._writer = self._committer = self._write_builder = None

    def _next_identifier(self) -> int:
        latest = self.table.snapshot_manager().get_latest_snapshot()
        return 1 if latest is None else int(latest.commit_identifier) % (1 << 62) + 1

    def committed_positions(self) -> dict[tuple[str, int], int]:
        """The log positions recorded by the newest snapshot that has them (the sink's truth)."""
        manager = self.table.snapshot_manager()
        latest = manager.get_latest_snapshot()
        if latest is None:
            return {}
        for snapshot_id in range(int(latest.id), 0, -1):
            snapshot = (
                latest if snapshot_id == latest.id else manager.get_snapshot_by_id(snapshot_id)
            )
            if snapshot is None:
                break
            props = snapshot.properties or {}
            if POSITIONS_PROPERTY in props:
                return decode_positions(props[POSITIONS_PROPERTY])
        return {}

    # --- snapshots ----------------------------------------------------------------------------

    def snapshots(self) -> list[SnapshotInfo]:
        return [
            SnapshotInfo(
                snapshot_id=int(s.id),
                commit_time=int(s.time_millis),
                record_count=int(s.total_record_count),
                delta_record_count=int(s.delta_record_count),
                commit_kind=str(s.commit_kind),
            )
            for s in self.table.snapshot_manager().list_snapshots()
        ]

    def latest_snapshot_id(self) -> int | None:
        latest = self.table.snapshot_manager().get_latest_snapshot()
        return None if latest is None else int(latest.id)

    def snapshot_info(self, snapshot_id: int) -> SnapshotInfo:
        snapshot = self.table.snapshot_manager().get_snapshot_by_id(snapshot_id)
        if snapshot is None:
            raise self._unavailable(snapshot_id)
        return SnapshotInfo(
            snapshot_id=int(snapshot.id),
            commit_time=int(snapshot.time_millis),
            record_count=int(snapshot.total_record_count),
            delta_record_count=int(snapshot.delta_record_count),
            commit_kind=str(snapshot.commit_kind),
        )

    def retained_snapshot_ids(self) -> list[int]:
        """Ids of the retained snapshots, ascending, from the directory listing alone."""
        return self._snapshot_ids()

    def _snapshot_ids(self) -> list[int]:
        """Ids of the retained snapshots, ascending, from the directory listing alone."""
        manager = self.table.snapshot_manager()
        if not self.table.file_io.exists(manager.snapshot_dir):
            return []
        names = (
            str(f.path).rsplit("/", 1)[-1]
            for f in self.table.file_io.list_status(manager.snapshot_dir)
        )
        return sorted(int(n[len("snapshot-") :]) for n in names if n.startswith("snapshot-"))

    def _unavailable(self, snapshot_id: int) -> SnapshotUnavailableError:
        existing = self._snapshot_ids()
        if not existing:
            return SnapshotUnavailableError("the event store has no snapshot yet", expired=False)
        earliest, latest = existing[0], existing[-1]
        if 0 < snapshot_id < earliest:
            return SnapshotUnavailableError(
                f"snapshot {snapshot_id} has expired; the earliest retained is {earliest}",
                expired=True,
            )
        return SnapshotUnavailableError(
            f"snapshot {snapshot_id} does not exist; snapshots are {earliest}..{latest}",
            expired=False,
        )

    def resolve_snapshot(self, snapshot_id: int | None = None, as_of: int | None = None) -> int:
        """The snapshot id to read for `snapshot_id`, `as_of` (epoch ms), or the latest."""
        if snapshot_id is not None and as_of is not None:
            raise ValueError("give snapshotId or asOf, not both")
        existing = self._snapshot_ids()
        if not existing:
            raise SnapshotUnavailableError("the event store has no snapshot yet", expired=False)
        earliest, latest = existing[0], existing[-1]
        if snapshot_id is not None:
            if snapshot_id in existing:
                return snapshot_id
            raise self._unavailable(snapshot_id)
        if as_of is None:
            return latest
        snapshot = self.table.snapshot_manager().earlier_or_equal_time_mills(as_of)
        if snapshot is not None and int(snapshot.id) in existing:
            return int(snapshot.id)
        if earliest > 1:
            raise SnapshotUnavailableError(
                f"the snapshots as of {as_of} have expired; the earliest retained is {earliest}",
                expired=True,
            )
        raise SnapshotUnavailableError(f"the table had no snapshot at {as_of}", expired=False)

    def expire_snapshots(self, now_ms: int | None = None) -> list[int]:
        """Apply the table's snapshot retention options; the ids of the removed snapshots."""
        options = self.table.options.options.to_map()
        keep_min = int(options.get("snapshot.num-retained.min", "10"))
        keep_max = int(options.get("snapshot.num-retained.max", "1000"))
        retained_ms = parse_duration_ms(options.get("snapshot.time-retained", "1 h"))
        now = int(time.time() * 1000) if now_ms is None else now_ms
        snapshots = self.snapshots()
        removable = max(0, len(snapshots) - max(1, keep_min))
        expired: list[int] = []
        for index, snapshot in enumerate(snapshots[:removable]):
            over_max = len(snapshots) - index > keep_max
            if not over_max and now - snapshot.commit_time <= retained_ms:
                break
            expired.append(snapshot.snapshot_id)
        return self._delete_snapshots(expired)

    def _delete_snapshots(self, snapshot_ids: Sequence[int]) -> list[int]:
        if not snapshot_ids:
            return []
        manager = self.table.snapshot_manager()
        file_io = self.table.file_io
        # EARLIEST first, so a reader never follows the hint to a deleted file
        earliest = max(snapshot_ids) + 1
        file_io.overwrite_file_utf8(f"{manager.snapshot_dir}/EARLIEST", str(earliest))
        for snapshot_id in snapshot_ids:
            file_io.delete_quietly(manager.get_snapshot_path(snapshot_id))
        return list(snapshot_ids)

    # --- reading ------------------------------------------------------------------------------

    def read(
        self,
        snapshot_id: int | None = None,
        *,
        where: Any | None = None,
        partitions: Any | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """Rows of the table as of `snapshot_id` (latest if None), merged by primary key."""
        table = self.table
        if snapshot_id is not None:
            if snapshot_id not in self._snapshot_ids():
                raise self._unavailable(snapshot_id)
            table = table.copy({"scan.snapshot-id": str(snapshot_id)})
        builder = table.new_read_builder()
        if where is not None:
            builder = builder.with_filter(where)
        if partitions is not None:
            builder = builder.with_partition_filter(partitions)
        if columns is not None:
            builder = builder.with_projection(list(columns))
        try:
            splits = builder.new_scan().plan().splits()
            result: pa.Table = builder.new_read().to_arrow(splits)
        except (ValueError, FileNotFoundError) as exc:
            if snapshot_id is not None and snapshot_id not in self._snapshot_ids():
                raise self._unavailable(snapshot_id) from exc
            raise
        if result is None:
            schema = (
                ARROW_SCHEMA
                if columns is None
                else pa.schema([ARROW_SCHEMA.field(c) for c in columns])
            )
            return schema.empty_table()
        return result

    def read_delta(self, snapshot_id: int) -> pa.Table:
        """The rows an APPEND snapshot added (its delta manifests), without merging by key."""
        from pypaimon.manifest.manifest_list_manager import ManifestListManager
        from pypaimon.read.scanner.file_scanner import FileScanner

        snapshot = self.table.snapshot_manager().get_snapshot_by_id(snapshot_id)
        if snapshot is None:
            raise self._unavailable(snapshot_id)
        manifests = ManifestListManager(self.table)
        # a streaming scan reads the delta files as written: what this snapshot made visible
        scanner = FileScanner(
            self.table, lambda: (manifests.read_delta(snapshot), snapshot), is_streaming=True
        )
        splits = scanner.scan().splits()
        if not splits:
            return ARROW_SCHEMA.empty_table()
        result: pa.Table | None = self.table.new_read_builder().new_read().to_arrow(splits)
        return ARROW_SCHEMA.empty_table() if result is None else result

    def predicates(self) -> Any:
        """A pypaimon `PredicateBuilder` over the table's columns."""
        return self.table.new_read_builder().new_predicate_builder()

    def compact(self, day: str) -> int | None:
        """Rewrite the partition `day` as one file per bucket (an OVERWRITE snapshot)."""
        pb = self.predicates()
        rows = self.read(partitions=pb.equal("dt", day))
        with self._write_lock:
            builder = self.table.new_batch_write_builder().overwrite({"dt": day})
            writer = builder.new_write()
            committer = builder.new_commit()
            try:
                writer.write_arrow(rows.select(COLUMNS).cast(ARROW_SCHEMA))
                properties = {POSITIONS_PROPERTY: encode_positions(self.committed_positions())}
                committer.commit(writer.prepare_commit(), snapshot_properties=properties)
            finally:
                writer.close()
                committer.close()
        return self.latest_snapshot_id()


def encode_positions(positions: Mapping[tuple[str, int], int]) -> str:
    return orjson.dumps(
        {f"{topic}:{part}": off for (topic, part), off in positions.items()}
    ).decode()


def decode_positions(text: str) -> dict[tuple[str, int], int]:
    decoded: dict[str, int] = orjson.loads(text)
    positions = {}
    for key, offset in decoded.items():
        topic, _, part = key.rpartition(":")
        positions[(topic, int(part))] = int(offset)
    return positions
