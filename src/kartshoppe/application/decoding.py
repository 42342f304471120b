"""A dictionary whose values may still be stored: the shop state's carts and orders as a
snapshot restores them (`application/snapshots.py`), each entry's JSON left in the snapshot's
file (`application/stored.py`), read and decoded when the entry is first read.

A restart then waits for none of the decoding (most of a restored snapshot's entries are
never asked for again), and an entry is decoded before anything reads or changes it: the
fold's `get` of an order a new event changes decodes it first, then stores the new value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_values

V = TypeVar("V")
D = TypeVar("D")

Decoder = Callable[[bytes], Any]
"""An entry's JSON -> its value."""
Reader = Callable[[int], bytes]
"""A stored entry's number -> its JSON."""


class _Missing:
    pass


_MISSING: Any = _Missing()
_MISSING_ARG: Any = _Missing()


class Decoding(dict[str, V]):
    """A `dict` of which some values are still stored: the number (`int`, never a value's type)
    of an entry that `read` gives the JSON of, decoded and put in place by the first read
    through `[]`, `get`, `pop`, `setdefault`, `values`, `items`, comparison or copy. `in`,
    `len`, iteration over the keys and writes need no decoding. `held_entries` gives the
    entries without reading any (a snapshot copies an undecoded entry's JSON as it is);
    `detached` copies the dictionary as it is held, which is how a snapshot's capture
    detaches it."""

    __slots__ = ("_decode", "_read")

    def __init__(self, entries: Iterable[tuple[str, int]], read: Reader, decode: Decoder) -> None:
        super().__init__(cast(Iterable[tuple[str, V]], entries))
        self._read = read
        self._decode = decode

    def _decoded(self, key: str, value: object) -> V:
        if type(value) is int:
            value = self._decode(self._read(value))
            dict.__setitem__(self, key, cast(V, value))
        return cast(V, value)

    def _value(self, value: object) -> V:
        return cast(V, self._decode(self._read(value)) if type(value) is int else value)

    def _decode_all(self) -> None:
        for key, value in dict.items(self):
            if type(value) is int:
                # a value replaced in place: the dictionary's size does not change
                dict.__setitem__(self, key, self._value(value))

    def __getitem__(self, key: str) -> V:
        return self._decoded(key, dict.__getitem__(self, key))

    @overload
    def get(self, key: str, default: None = None, /) -> V | None: ...
    @overload
    def get(self, key: str, default: V, /) -> V: ...
    @overload
    def get(self, key: str, default: D, /) -> V | D: ...
    def get(self, key: str, default: Any = None, /) -> Any:
        value = dict.get(self, key, _MISSING)
        return default if value is _MISSING else self._decoded(key, value)

    @overload
    def pop(self, key: str, /) -> V: ...
    @overload
    def pop(self, key: str, default: V, /) -> V: ...
    @overload
    def pop(self, key: str, default: D, /) -> V | D: ...
    def pop(self, key: str, default: Any = _MISSING_ARG, /) -> Any:
        if default is _MISSING_ARG:
            value = dict.pop(self, key)
        else:
            value = dict.pop(self, key, _MISSING)
            if value is _MISSING:
                return default
        return self._value(value)

    def setdefault(self, key: str, default: V, /) -> V:
        return self._decoded(key, dict.setdefault(self, key, default))

    def popitem(self) -> tuple[str, V]:
        key, value = dict.popitem(self)
        return key, self._value(value)

    def values(self) -> dict_values[str, V]:
        self._decode_all()
        return dict.values(self)

    def items(self) -> dict_items[str, V]:
        self._decode_all()
        return dict.items(self)

    def copy(self) -> dict[str, V]:
        self._decode_all()
        return dict(dict.items(self))

    def held_entries(self) -> Iterable[tuple[str, object]]:
        """The entries as held: a value, or the number of one still stored (read nothing)."""
        return dict.items(self)

    def detached(self) -> Decoding[V]:
        """A copy as held (no entry read or decoded): later writes to either do not show in
        the other."""
        copy: Decoding[V] = Decoding((), self._read, self._decode)
        dict.update(copy, self)
        return copy

    def __eq__(self, other: object) -> bool:
        self._decode_all()
        if isinstance(other, Decoding):
            other._decode_all()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __repr__(self) -> str:
        self._decode_all()
        return dict.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # a copy (copy, deepcopy, pickle) is a plain dictionary of the decoded values
        return (dict, (self.copy(),))
