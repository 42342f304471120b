"""Snapshots of the views: what a server's followers hold, saved with the log positions it
covers, so that a restart folds only the tail of the log instead of all of it.

An image holds everything the two followers of a server have folded: the projection's
(`ShopState`, the accounts, the reservations book) and the fan-out's (the live view's analytics,
recommendations and related products, the trending scores, the ids already delivered). It is
encoded by type, as JSON: a pydantic `TypeAdapter` over the domain's own classes, so every field
of every class is in it and none is copied by hand. The file is one header line (format version,
a fingerprint of those types, each follower's positions and a mark of the last record below
each, the body's parts and checksum) and the body. It is written to a temporary file, synced and
renamed over the previous one.

The body has three parts: the image's JSON without its largest dictionaries (`ENTRIES`: the
carts, the orders, the kept recommendations), an index of those (per dictionary its keys and
the length of each entry's JSON) and the entries' JSON one after the other. A restore reads and
decodes the first two parts only; the entries stay in the file, which the restored views keep
open (`application/stored.py`): the carts and orders go in place as entry numbers
(`application/decoding.Decoding`, each read and decoded when first read) and so do the kept
recommendations in the live view. Decoding them all was most of a restart's work, holding them
in memory most of a restarted server's, and most of them are never read again.

A snapshot is used only if every check holds; otherwise it is ignored with a log line and the
followers fold from the beginning, as without one (never a wrong state):
- the file exists, its header parses, its version and type fingerprint are this code's (a field
  added or changed anywhere makes older snapshots unreadable, not wrong), the checksum of the
  whole body (the entries left in the file included) matches and the body decodes;
- no position is past the log's end, and the record just below each position is still the one
  the snapshot saw (a log deleted or replaced under the snapshot fails one or the other; a
  record retention has removed since cannot be compared and is not held against it).

Once a snapshot is on disk its positions are committed as the consumer group `SNAPSHOT_GROUP`:
the log's retention then keeps every record above them, which a restart folds, and may remove
those below, which the snapshot holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gc
import hashlib
import logging
import os
import pathlib
import re
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal
from functools import cache
from itertools import accumulate, chain, islice
from types import NoneType, UnionType
from typing import Any, BinaryIO, Final, Protocol, Union, get_args, get_origin, get_type_hints

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from kartshoppe import heap
from kartshoppe.application.decoding import Decoding
from kartshoppe.application.dedup import RecentIds
from kartshoppe.application.follower import LogFollower
from kartshoppe.application.projection import Projection
from kartshoppe.application.stored import OpenFile, StoredEntries
from kartshoppe.domain.accounts import AccountBook
from kartshoppe.domain.cart import Cart
from kartshoppe.domain.orders import Order
from kartshoppe.domain.reservations import Holding, ReservationBook
from kartshoppe.domain.state import ShopState
from kartshoppe.eventlog.port import Positions, Record, TopicPartition
from kartshoppe.events import Recommendation, RelatedProducts

logger = logging.getLogger(__name__)

FORMAT_VERSION: Final = 2
MAGIC: Final = b"KARTSHOPPE-VIEWS-SNAPSHOT"
SNAPSHOT_GROUP: Final = "views.snapshot"
"""The consumer group at the newest snapshot's positions: retention keeps what lies above."""


@dataclass(slots=True)
class FoldImage:
    """The projection's fold."""

    state: ShopState
    accounts: AccountBook
    reservations: list[Holding]


@dataclass(slots=True)
class FanoutImage:
    """What the fan-out follower's listeners keep."""

    analytics: dict[str, Any]
    recommendations: dict[str, tuple[int, bytes]]
    """Empty in a body: the kept recommendations are entries (`KEPT`, `Restored.kept`)."""
    related: dict[str, RelatedProducts]
    trending: dict[str, float]
    delivered: list[str]
    """The ids already delivered, oldest first: a redelivered output is still dropped."""


@dataclass(slots=True)
class ViewsImage:
    fold: FoldImage
    fanout: FanoutImage


class LiveParts(Protocol):
    """The live view as a snapshot reads and restores it (`views.live.LiveView`)."""

    def captured(self) -> tuple[dict[str, Any], Mapping[str, Any], dict[str, RelatedProducts]]:
        """Detached from the view: what folding on changes is copied."""

    def held(self, kept: Any) -> tuple[int, bytes | int]:
        """A value of `captured`'s kept recommendations: its newest one's timestamp and the
        list's JSON, or the number of its entry in the file restored from (`restore`'s)."""

    def restore(
        self,
        analytics: dict[str, Any],
        recommendations: Mapping[str, tuple[int, int]],
        related: dict[str, RelatedProducts],
        read: Callable[[int], bytes],
    ) -> None:
        """The recommendations as the newest one's timestamp and their JSON's entry number,
        which `read` gives the JSON of."""


class TrendingParts(Protocol):
    """The catalog view's trending scores (`views.catalog.CatalogView`)."""

    trending_scores: dict[str, float]


@cache
def _adapter() -> TypeAdapter[ViewsImage]:
    return TypeAdapter(ViewsImage)


ENCODED: Final = (list[Recommendation],)
"""The types an image holds encoded inside it (the live view's kept recommendations)."""


@cache
def schema_fingerprint() -> str:
    """A fingerprint of every type an image holds: their fields, types and validators."""
    schema = repr([_adapter().core_schema, *(TypeAdapter(t).core_schema for t in ENCODED)])
    # what differs between two runs of the same code: addresses, and the ids in schema refs
    stable = re.sub(r"0x[0-9a-f]+|:\d{6,}", "", schema)
    return hashlib.sha256(stable.encode()).hexdigest()[:32]


def record_mark(record: Record) -> int:
    """What tells a record from another one at the same position (a replaced log)."""
    return zlib.crc32(record.value, record.timestamp & 0xFFFFFFFF)


class SnapshotError(ValueError):
    """Why a snapshot cannot be used."""


Covered = dict[TopicPartition, tuple[int, int]]
"""Per partition, the next offset to fold and the `record_mark` of the record below it (0 at 0)."""


@dataclass(frozen=True, slots=True)
class Header:
    fold: Covered
    fanout: Covered
    taken_at: int
    """Wall-clock epoch ms of the capture."""


def _covered_json(covered: Covered) -> list[list[Any]]:
    return [[t, p, offset, mark] for (t, p), (offset, mark) in sorted(covered.items())]


def _covered_of(rows: Any) -> Covered:
    if not isinstance(rows, list):
        raise SnapshotError("unreadable header: positions")
    covered: Covered = {}
    for row in rows:
        match row:
            case [str(topic), int(partition), int(offset), int(mark)] if offset >= 0:
                covered[(topic, partition)] = (offset, mark)
            case _:
                raise SnapshotError(f"unreadable header: position {row!r}")
    return covered


def _head(header: Header, image: int, index: int, length: int, crc: int) -> bytes:
    """The header line's JSON (without the line's end)."""
    head = {
        "format": FORMAT_VERSION,
        "schema": schema_fingerprint(),
        "takenAt": header.taken_at,
        "fold": _covered_json(header.fold),
        "fanout": _covered_json(header.fanout),
        "image": image,
        "index": index,
        "length": length,
        "crc": crc,
    }
    return orjson.dumps(head)


LARGEST: Final = 10**15 - 1
"""A body part's length with the most digits a header leaves room for."""


def write_body(out: BinaryIO, header: Header, body: Body, stored: StoredEntries | None) -> None:
    """Write the file: the header line, then the body streamed piece by piece (`stored`'s
    entries copied from their file run by run), never all of it in memory. The header holds
    the body's lengths and checksum, known only at the end: its line is written first as
    room (spaces, which JSON allows around a value), then filled in."""
    room = len(_head(header, LARGEST, LARGEST, LARGEST, 0xFFFFFFFF))
    out.write(MAGIC + b"\n" + b" " * room + b"\n")
    crc = image = 0
    for piece in body.image:
        out.write(piece)
        crc = zlib.crc32(piece, crc)
        image += len(piece)
    out.write(body.index)
    crc = zlib.crc32(body.index, crc)
    length = image + len(body.index)
    for piece in _entry_pieces(body.entries, stored):
        out.write(piece)
        crc = zlib.crc32(piece, crc)
        length += len(piece)
    out.seek(len(MAGIC) + 1)
    out.write(_head(header, image, len(body.index), length, crc).ljust(room))


def _entry_pieces(entries: Sequence[Held], stored: StoredEntries | None) -> Iterator[bytes]:
    """The entries' bytes: JSON as it is, stored entries read from their file, a run of
    consecutive ones (as a restored dictionary's entries mostly are) in few reads."""
    n = 0
    while n < len(entries):
        entry = entries[n]
        n += 1
        if type(entry) is bytes:
            yield entry
            continue
        assert stored is not None and type(entry) is int, "a stored entry of no restore"
        last = entry
        while n < len(entries) and entries[n] == last + 1 and type(entries[n]) is int:
            last += 1
            n += 1
        yield from stored.read_run(entry, last + 1 - entry)


Held = bytes | int
"""An entry as a body writes it: its JSON, or the number of an entry left in the file the views
were restored from (`StoredEntries`), copied from there."""


ENTRIES: Final = {"carts": Cart, "orders": Order}
"""The `ShopState` dictionaries a body holds entry by entry (see the module), each with its
values' type; the live view's kept recommendations (`KEPT`) are held so too."""
KEPT: Final = "recommendations"


@dataclass(frozen=True, slots=True)
class Body:
    """A snapshot's body as written: the image's JSON (in pieces) without the dictionaries
    held entry by entry, their index, and their entries (JSON, or left in the file restored
    from)."""

    image: Iterable[bytes]
    index: bytes
    entries: list[Held]


def _entries_held(entries: Mapping[str, Any], tp: Any) -> tuple[list[str], list[Held]]:
    """The keys and each value's JSON; a value still stored (`Decoding`) by its number, copied
    as it is."""
    dump = _adapter_of(tp).dump_json
    held = entries.held_entries() if isinstance(entries, Decoding) else entries.items()
    keys: list[str] = []
    values: list[Held] = []
    for key, value in held:
        keys.append(key)
        values.append(value if type(value) is int else dump(value))
    return keys, values


def encode_body(
    image: ViewsImage, kept: Mapping[str, tuple[int, Held]], stored: StoredEntries | None
) -> Body:
    """The body of `image` with the live view's kept recommendations `kept` (each one's newest
    timestamp and JSON or stored entry); the image's `ENTRIES` are emptied (it is a capture's,
    written once). The image's pieces are encoded as they are written."""
    state = image.fold.state

    def length(entry: Held) -> int:
        if type(entry) is bytes:
            return len(entry)
        assert stored is not None and type(entry) is int, "a stored entry of no restore"
        return stored.length(entry)

    index: dict[str, dict[str, list[Any]]] = {}
    entries: list[Held] = []
    for name, tp in ENTRIES.items():
        keys, values = _entries_held(getattr(state, name), tp)
        setattr(state, name, {})
        index[name] = {"keys": keys, "lengths": [length(v) for v in values]}
        entries += values
    index[KEPT] = {
        "keys": list(kept),
        "lengths": [length(json) for _, json in kept.values()],
        "newest": [newest for newest, _ in kept.values()],
    }
    entries += [json for _, json in kept.values()]
    image.fanout.recommendations = {}
    return Body(encode_image(image), orjson.dumps(index), entries)


ENCODED_AT_ONCE: Final = 1_000
"""Entries of a dictionary encoded in one call. An encoding call holds the interpreter's lock
throughout; between two calls the writing thread gives it up, so the event loop waits for one
call at most, not for the whole image."""


@cache
def _adapter_of(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def _pieces(value: Any, tp: Any) -> Iterator[bytes]:
    """The JSON of `value` as `_adapter` would write it, in pieces of one call each."""
    if is_dataclass(tp):
        hints = get_type_hints(tp)
        for n, f in enumerate(fields(tp)):
            yield (b"," if n else b"{") + orjson.dumps(f.name) + b":"
            yield from _pieces(getattr(value, f.name), hints[f.name])
        yield b"}"
    elif get_origin(tp) is dict and len(value) > ENCODED_AT_ONCE:
        # sliced off the items' iterator: no list of every entry (tracked tuples by the
        # thousand, which would wake the collector)
        entries = iter(value.items())
        for start in range(0, len(value), ENCODED_AT_ONCE):
            part = _adapter_of(tp).dump_json(dict(islice(entries, ENCODED_AT_ONCE)))
            yield (b"," if start else b"{") + part[1:-1]
        yield b"}"
    else:
        yield _adapter_of(tp).dump_json(value)


def encode_image(image: ViewsImage) -> Iterator[bytes]:
    """The image's JSON, in pieces (`_pieces`), each encoded when it is asked for."""
    return _pieces(image, ViewsImage)


HEADER_MAX: Final = 1 << 20
"""The longest header line a snapshot file may have (positions of a few partitions)."""


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    """A snapshot file as read, not yet checked against its checksum: its header, the body's
    image and index read, and the file still open, its entries (the rest of the body) in it."""

    header: Header
    file: OpenFile
    image: bytes
    index: bytes
    crc: int
    entries_at: int
    """Where in the file the entries begin; they end with it."""
    end: int


def read_file(path: pathlib.Path) -> SnapshotFile:
    """The header and the body's first two parts of a snapshot file; `SnapshotError` says why it
    is not one this code may use (the body's checksum is `check_and_decode`'s). The entries are
    not read: the file stays open for them."""
    file = OpenFile(path)
    try:
        return _read(file)
    except BaseException:
        file.close()
        raise


def _read(file: OpenFile) -> SnapshotFile:
    size = file.size()
    first = file.read(0, min(size, len(MAGIC) + 1 + HEADER_MAX))
    head_at = first.find(b"\n", 0, len(MAGIC) + 1) + 1
    body_at = first.find(b"\n", head_at) + 1
    if first[:head_at] != MAGIC + b"\n" or not body_at:
        raise SnapshotError("not a views snapshot")
    try:
        fields_ = orjson.loads(first[head_at:body_at])
    except orjson.JSONDecodeError as exc:
        raise SnapshotError(f"unreadable header: {exc}") from None
    if not isinstance(fields_, dict):
        raise SnapshotError("unreadable header")
    if fields_.get("format") != FORMAT_VERSION:
        raise SnapshotError(f"format {fields_.get('format')!r}, this code reads {FORMAT_VERSION}")
    if fields_.get("schema") != schema_fingerprint():
        raise SnapshotError("written for other view types (the code changed since)")
    crc, image, index = fields_.get("crc"), fields_.get("image"), fields_.get("index")
    if not (isinstance(crc, int) and isinstance(image, int) and isinstance(index, int)):
        raise SnapshotError("unreadable header: the body's parts")
    length = size - body_at
    if fields_.get("length") != length or not 0 <= image <= image + index <= length:
        raise SnapshotError("corrupt: the body does not match its checksum")
    taken_at = fields_.get("takenAt")
    header = Header(
        _covered_of(fields_.get("fold")),
        _covered_of(fields_.get("fanout")),
        taken_at if isinstance(taken_at, int) else 0,
    )
    image_json = file.read(body_at, image)
    index_json = file.read(body_at + image, index)
    return SnapshotFile(header, file, image_json, index_json, crc, body_at + image + index, size)


CHECKED_AT_ONCE: Final = 1 << 20
"""Bytes of the entries read into the checksum's buffer at a time."""


def _body_matches(snapshot: SnapshotFile) -> bool:
    """Whether the body's checksum matches: the image and index as read, then the entries read
    from the file piece by piece into one buffer (none of it kept)."""
    crc = zlib.crc32(snapshot.index, zlib.crc32(snapshot.image))
    buffer = bytearray(CHECKED_AT_ONCE)
    at = snapshot.entries_at
    while at < snapshot.end:
        read = os.preadv(snapshot.file.fd, [buffer], at)
        if not read:
            return False
        crc = zlib.crc32(memoryview(buffer)[:read], crc)
        at += read
    return crc == snapshot.crc


@dataclass(frozen=True, slots=True)
class Restored:
    """A snapshot's body as a restore puts it in place: the image, and the entries left in the
    file (`stored`) by number."""

    image: ViewsImage
    """Its `ENTRIES` are `Decoding`s of `stored`'s entries."""
    kept: dict[str, tuple[int, int]]
    """Each shopper's kept recommendations: the newest one's timestamp and the number of the
    list's entry."""
    stored: StoredEntries


def check_and_decode(snapshot: SnapshotFile) -> Restored:
    """The body, once its checksum matches. The checksum is computed in a thread beside the
    decoding (zlib and the file's reads let go of the interpreter's lock), so a restart on two
    cores waits for the longer of the two, not for both; a body that fails it is refused as
    corrupt, whatever the decoding made of it."""
    with ThreadPoolExecutor(1, thread_name_prefix="snapshot-crc") as pool:
        matches = pool.submit(_body_matches, snapshot)
        try:
            restored = decode(snapshot)
        except SnapshotError:
            if not matches.result():
                raise SnapshotError("corrupt: the body does not match its checksum") from None
            raise
        if not matches.result():
            raise SnapshotError("corrupt: the body does not match its checksum")
    return restored


def decode(snapshot: SnapshotFile) -> Restored:
    """The body: its image decoded, the entries of `ENTRIES` and `KEPT` numbered in the file."""
    # millions of new objects, none of them garbage, most of them living as long as the
    # process: the collector's passes over them (each full one over everything made so far)
    # would cost more than the decoding itself, during the decoding and after it. So it is
    # paused, and what the decoding made is frozen (out of the collector's sight) before it
    # resumes; the objects are still freed when nothing refers to them any more.
    collecting = gc.isenabled()
    gc.disable()
    try:
        image = _adapter().validate_json(snapshot.image)
        return _put_entries(image, orjson.loads(snapshot.index), snapshot)
    except ValidationError as exc:
        raise SnapshotError(f"undecodable body: {exc.error_count()} errors") from None
    except SnapshotError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise SnapshotError(f"undecodable index: {exc}") from None
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def _keyed(part: Any) -> tuple[list[str], list[int]]:
    """One dictionary of the index: its keys and the length of each entry."""
    keys, lengths = part["keys"], part["lengths"]
    if len(keys) != len(lengths) or not all(type(k) is str for k in keys):
        raise SnapshotError("undecodable index: keys and lengths differ")
    return keys, lengths


def _put_entries(image: ViewsImage, index: Any, snapshot: SnapshotFile) -> Restored:
    """Number the entries in the file's order, each dictionary's after the one before."""
    parts = [_keyed(index[name]) for name in (*ENTRIES, KEPT)]
    bounds = list(accumulate(chain.from_iterable(ls for _, ls in parts), initial=0))
    if bounds[-1] != snapshot.end - snapshot.entries_at:
        raise SnapshotError("undecodable index: the entries do not fill the body")
    stored = StoredEntries(snapshot.file, (snapshot.entries_at + at for at in bounds))
    state = image.fold.state
    first = 0
    for (name, tp), (keys, _) in zip(ENTRIES.items(), parts, strict=False):
        numbers = range(first, first + len(keys))
        entries: Decoding[Any] = Decoding(
            zip(keys, numbers, strict=True), stored.read, _adapter_of(tp).validate_json
        )
        setattr(state, name, entries)
        first += len(keys)
    owners, _ = parts[-1]
    newest = index[KEPT]["newest"]
    if len(newest) != len(owners):
        raise SnapshotError("undecodable index: the entries do not fill the body")
    numbers = range(first, first + len(owners))
    kept = dict(zip(owners, zip(newest, numbers, strict=True), strict=True))
    return Restored(image, kept, stored)


ReadRecord = Callable[[str, int], Record | None]
"""The record at (topic, offset) of partition 0, if the log still holds it; blocking."""


def check_against_log(header: Header, ends: Mapping[TopicPartition, int], read: ReadRecord) -> None:
    """Refuse a snapshot the log no longer matches: a position past the log's end, or another
    record than the snapshot's last one below a position."""
    for covered in (header.fold, header.fanout):
        for (topic, partition), (offset, mark) in covered.items():
            end = ends.get((topic, partition), 0)
            if offset > end:
                raise SnapshotError(f"ahead of the log: {topic} at {offset}, log end {end}")
            if offset == 0:
                continue
            record = read(topic, offset - 1)
            if record is not None and record_mark(record) != mark:
                raise SnapshotError(f"the log changed under it: {topic}@{offset - 1} differs")


def write_file(path: pathlib.Path, write: Callable[[BinaryIO], None]) -> None:
    """Replace `path` with what `write` writes, atomically and durably (temporary file,
    fsync, rename): a file once renamed is never changed in place (`application/stored.py`
    reads restored entries from it for as long as the process lives)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as out:
        write(out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@dataclass(frozen=True, slots=True)
class SnapshotPolicy:
    every_s: float = 60.0
    """How often a periodic snapshot is considered; 0 or less: only at a clean stop."""
    min_records: int = 10_000
    """A periodic snapshot is written once the followers applied this many records since."""


@dataclass(frozen=True, slots=True)
class Capture:
    """The followers' state as of a moment, detached from the live objects (a later fold does
    not change it), with the positions it covers (marks still to read)."""

    image: ViewsImage
    kept: Mapping[str, Any]
    """The live view's kept recommendations, still to encode (`LiveParts.encoded`)."""
    fold: dict[TopicPartition, int]
    fanout: dict[TopicPartition, int]
    taken_at: int


Copier = Callable[[Any], Any]


@cache
def _copier(tp: Any) -> Copier | None:
    """How to copy a value of type `tp` so that folding on does not change the copy; None if
    it is never changed in place (frozen classes, scalars, tuples of such): shared, not copied.
    A view replaces its frozen values rather than changing them, so a capture copies only the
    containers: dictionaries of thousands of entries at C speed, the few mutable ones by hand."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, UnionType):
        copiers = [_copier(a) for a in args]
        if all(c is None for c in copiers):
            return None
        return copy.deepcopy
    if origin is tuple:
        return None if all(_copier(a) is None for a in args if a is not Ellipsis) else copy.deepcopy
    if origin is dict:
        value = _copier(args[1])
        if value is None:
            return _copied
        return lambda d: {k: value(v) for k, v in d.items()}
    if origin in (list, deque):
        item = _copier(args[0])
        if item is None:
            return list
        return lambda items: [item(v) for v in items]
    if tp is Any:
        return copy.deepcopy
    if is_dataclass(tp) and isinstance(tp, type):
        if tp.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return None
        hints = get_type_hints(tp)
        parts = [(f.name, _copier(hints[f.name])) for f in fields(tp)]
        return lambda obj: tp(
            **{
                name: getattr(obj, name) if c is None else c(getattr(obj, name))
                for name, c in parts
            }
        )
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return None if tp.model_config.get("frozen") else copy.deepcopy
    if isinstance(tp, type) and issubclass(tp, (str, int, float, bytes, Decimal, NoneType)):
        return None
    return copy.deepcopy


def _copied(entries: dict[Any, Any]) -> dict[Any, Any]:
    """A dictionary of values never changed in place, copied as held (a `Decoding`'s entries
    still stored)."""
    return entries.detached() if isinstance(entries, Decoding) else dict(entries)


def detached(value: Any, tp: Any) -> Any:
    """`value` (of type `tp`) as of now, unchanged by whatever is folded afterwards."""
    copier = _copier(tp)
    return value if copier is None else copier(value)


class ViewSnapshots:
    """Takes, writes, loads and restores the snapshots of one server's two followers.

    An image is captured on the event loop: a follower applies a record without giving the loop
    up, so between two records each follower's state is the fold of exactly its positions. The
    capture only detaches it (`detached`); it is encoded and written in a thread, and the
    positions committed afterwards."""

    def __init__(
        self,
        path: pathlib.Path,
        projection: Projection,
        book: ReservationBook,
        fanout: LogFollower,
        live: LiveParts,
        trending: TrendingParts,
        delivered: RecentIds,
    ) -> None:
        self.path = path
        self._projection = projection
        self._book = book
        self._fanout = fanout
        self._live = live
        self._trending = trending
        self._delivered = delivered
        self.written = 0
        self.restored: Header | None = None
        """The header of the snapshot restored at start, if one was."""
        self._stored: StoredEntries | None = None
        """The entries left in that snapshot's file."""
        self._applied_at_last = 0

    def _applied_total(self) -> int:
        return self._projection.records_applied + self._fanout.records_applied

    # --- writing ----------------------------------------------------------------------------

    def capture(self) -> Capture:
        """The followers' state as of now, detached (`detached`: copies of the containers,
        the frozen values shared); call on the event loop (see the class). Encoding it is
        `write`'s, in a thread."""
        analytics, kept, related = self._live.captured()
        image = ViewsImage(
            FoldImage(
                detached(self._projection.state, ShopState),
                detached(self._projection.accounts, AccountBook),
                self._book.holdings(),
            ),
            FanoutImage(
                analytics,
                {},
                related,
                dict(self._trending.trending_scores),
                self._delivered.ids(),
            ),
        )
        self._applied_at_last = self._applied_total()
        return Capture(
            image,
            kept,
            dict(self._projection.applied),
            dict(self._fanout.applied),
            time.time_ns() // 1_000_000,
        )

    def write(self, capture: Capture, read: ReadRecord) -> Header:
        """Write a capture to the file (blocking: run it in a thread); its header."""

        def covered(positions: Mapping[TopicPartition, int]) -> Covered:
            marks: Covered = {}
            for (topic, partition), offset in positions.items():
                record = read(topic, offset - 1) if offset > 0 else None
                marks[(topic, partition)] = (offset, 0 if record is None else record_mark(record))
            return marks

        kept = {owner: self._live.held(kept) for owner, kept in capture.kept.items()}
        body = encode_body(capture.image, kept, self._stored)
        header = Header(covered(capture.fold), covered(capture.fanout), capture.taken_at)
        write_file(self.path, lambda out: write_body(out, header, body, self._stored))
        self.written += 1
        return header

    def outdated(self) -> bool:
        """Whether the followers folded anything the file lacks (or there is no file)."""
        return self._applied_total() != self._applied_at_last or not self.path.exists()

    def due(self, policy: SnapshotPolicy) -> bool:
        return self._applied_total() - self._applied_at_last >= policy.min_records

    async def save(self, read: ReadRecord, commit: Callable[[Positions], Any]) -> Header:
        """Capture now, write the file, then commit its positions for retention."""
        started = time.perf_counter()
        capture = self.capture()
        captured_ms = (time.perf_counter() - started) * 1000
        header = await asyncio.to_thread(self.write, capture, read)
        # the body's pieces (tens of MB at a million events) are not kept mapped
        await asyncio.to_thread(heap.release_freed)
        logger.info("views snapshot written: %.0f ms of the event loop to capture", captured_ms)
        positions = {tp: offset for tp, (offset, _) in (header.fold | header.fanout).items()}
        await commit(positions)
        return header

    async def run(
        self,
        stop: asyncio.Event,
        policy: SnapshotPolicy,
        read: ReadRecord,
        commit: Callable[[Positions], Any],
    ) -> None:
        """A snapshot every `policy.every_s` seconds once `policy.min_records` were applied; a
        failed one is logged and the next one tries again."""
        if policy.every_s <= 0:
            return
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), policy.every_s)
            if stop.is_set() or not self.due(policy):
                continue
            try:
                await self.save(read, commit)
            except (OSError, ValueError, RuntimeError):
                logger.exception("views snapshot failed")

    # --- loading ----------------------------------------------------------------------------

    def load(self, ends: Mapping[TopicPartition, int], read: ReadRecord) -> Restored | None:
        """The snapshot's body if there is one this code and this log may use, else None
        with the reason logged (blocking: run it in a thread)."""
        try:
            snapshot = read_file(self.path)
        except FileNotFoundError:
            return None
        except (OSError, SnapshotError) as exc:
            logger.warning("views snapshot %s ignored, folding the whole log: %s", self.path, exc)
            return None
        try:
            check_against_log(snapshot.header, ends, read)
            restored = check_and_decode(snapshot)
        except (OSError, SnapshotError) as exc:
            snapshot.file.close()
            logger.warning("views snapshot %s ignored, folding the whole log: %s", self.path, exc)
            return None
        self.restored = snapshot.header
        return restored

    def restore(self, restored: Restored) -> None:
        """Put the body in place, in the objects the views already hold, and start both
        followers from its positions (before they start)."""
        assert self.restored is not None
        image = restored.image
        self._stored = restored.stored
        state = self._projection.state
        for f in fields(ShopState):
            setattr(state, f.name, getattr(image.fold.state, f.name))
        accounts = self._projection.accounts
        for f in fields(AccountBook):
            setattr(accounts, f.name, getattr(image.fold.accounts, f.name))
        self._book.restore(image.fold.reservations)
        fanout = image.fanout
        self._live.restore(fanout.analytics, restored.kept, fanout.related, restored.stored.read)
        self._trending.trending_scores = fanout.trending
        self._delivered.restore(fanout.delivered)
        self._projection.resume({tp: offset for tp, (offset, _) in self.restored.fold.items()})
        self._fanout.resume({tp: offset for tp, (offset, _) in self.restored.fanout.items()})
        self._applied_at_last = self._applied_total()
