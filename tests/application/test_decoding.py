"""`Decoding`: a dictionary restored with its values still stored reads as the dictionary of
the decoded values, reading and decoding each value once, when first read, and no other."""

from __future__ import annotations

import copy
import pickle

import orjson
import pytest

from kartshoppe.application.decoding import Decoding


class Counting:
    def __init__(self) -> None:
        self.decoded: list[bytes] = []

    def __call__(self, data: bytes) -> object:
        self.decoded.append(data)
        return orjson.loads(data)


STORED = [b"[1]", b"[2]", b"[3]"]
"""The entries' JSON by number, as a snapshot's file holds them."""


def restored() -> tuple[Decoding[list[int]], Counting]:
    decode = Counting()
    return Decoding([("a", 0), ("b", 1), ("c", 2)], STORED.__getitem__, decode), decode


def test_keys_length_and_membership_need_no_decoding() -> None:
    entries, decode = restored()
    assert list(entries) == ["a", "b", "c"]
    assert len(entries) == 3
    assert "b" in entries
    assert "z" not in entries
    assert not decode.decoded


def test_a_value_is_decoded_on_its_first_read_and_kept_decoded() -> None:
    entries, decode = restored()
    assert entries["b"] == [2]
    assert entries.get("b") == [2]
    assert entries["b"] is entries.get("b")
    assert decode.decoded == [b"[2]"]
    assert dict(entries.held_entries()) == {"a": 0, "b": [2], "c": 2}


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (lambda d: d.get("a"), [1]),
        (lambda d: d.get("z"), None),
        (lambda d: d.get("z", [0]), [0]),
        (lambda d: d.pop("a"), [1]),
        (lambda d: d.pop("z", None), None),
        (lambda d: d.setdefault("a", [9]), [1]),
        (lambda d: d.setdefault("z", [9]), [9]),
        (lambda d: d.popitem(), ("c", [3])),
        (lambda d: list(d.values()), [[1], [2], [3]]),
        (lambda d: list(d.items()), [("a", [1]), ("b", [2]), ("c", [3])]),
        (lambda d: d.copy(), {"a": [1], "b": [2], "c": [3]}),
        (lambda d: copy.deepcopy(d), {"a": [1], "b": [2], "c": [3]}),
        (lambda d: pickle.loads(pickle.dumps(d)), {"a": [1], "b": [2], "c": [3]}),
        (repr, "{'a': [1], 'b': [2], 'c': [3]}"),
    ],
    ids=[
        "get",
        "get missing",
        "get default",
        "pop",
        "pop missing",
        "setdefault present",
        "setdefault missing",
        "popitem",
        "values",
        "items",
        "copy",
        "deepcopy",
        "pickle",
        "repr",
    ],
)
def test_every_read_answers_the_decoded_value(read: object, expected: object) -> None:
    entries, _ = restored()
    assert callable(read)
    assert read(entries) == expected


def test_it_equals_the_dictionary_of_its_decoded_values_from_either_side() -> None:
    entries, _ = restored()
    decoded = {"a": [1], "b": [2], "c": [3]}
    assert entries == decoded
    other, _ = restored()
    assert decoded == other
    assert (other,) == (decoded,)
    assert entries != {"a": [1]}
    unequal = entries != decoded
    assert unequal is False


def test_a_write_replaces_an_encoded_value_without_decoding_it() -> None:
    entries, decode = restored()
    entries["a"] = [7]
    del entries["b"]
    assert entries == {"a": [7], "c": [3]}
    assert decode.decoded == [b"[3]"]


def test_a_detached_copy_holds_the_entries_as_they_are_and_goes_its_own_way() -> None:
    entries, decode = restored()
    assert entries["a"] == [1]
    copy_ = entries.detached()
    assert isinstance(copy_, Decoding)
    assert decode.decoded == [b"[1]"]
    assert dict(copy_.held_entries()) == {"a": [1], "b": 1, "c": 2}
    entries["b"] = [8]
    del copy_["c"]
    assert copy_ == {"a": [1], "b": [2]}
    assert entries == {"a": [1], "b": [8], "c": [3]}
