"""The top keys of a dict of rising values, kept from one call to the next instead of sorted.

Stages that publish a top list after every change of a large dict (a product's neighbour row,
the trending scores) would otherwise sort the whole dict each time, though only one or two
values moved. Pure and engine-agnostic: a `RisingTop` is a cache beside a stage's state (not
serialised); a stage that has none (a restored state, every call on Flink, which decodes the
state per call) starts one with one full sort, and the lists are the same either way.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from operator import itemgetter


class RisingTop:
    """The keys of the `size` largest values of `values`, largest first, ties in insertion
    order: what `sorted(values.items(), key=value, reverse=True)[:size]` gives.

    Between two calls of `top`, values may only rise and keys keep their places (new keys go
    to the end of the dict), and every key raised or added is named to `raised`. A key neither
    in the last top nor raised since then still ranks below every key of the last top, so the
    last top is kept and only the raised keys are placed again. A dict whose values may fall
    or whose keys are removed needs a new `RisingTop`."""

    __slots__ = ("changed", "members", "position", "ranked", "ranks", "size", "values")

    def __init__(self, values: dict[str, float], size: int) -> None:
        self.values = values
        self.size = size
        self.ranked: list[str] | None = None
        self.ranks: list[tuple[float, int]] | None = None
        """(-value, position) of each key of `ranked` when it was placed, in its order: the
        keys are placed by bisecting these tuples, without a key function called per probe
        (built on the first top after a sort)."""
        self.members: set[str] = set()
        """The keys of `ranked`."""
        self.changed: dict[str, None] = {}
        """The keys raised since the last `top`, in the order they were raised."""
        self.position: dict[str, int] | None = None
        """Each key's place in `values` (insertion order, the tie-break)."""

    def raised(self, keys: Iterable[str]) -> None:
        """`keys` rose (or were added) since the last `top`."""
        changed = self.changed
        for key in keys:
            changed[key] = None

    def top(self) -> list[str]:
        values, size, ranked = self.values, self.size, self.ranked
        if ranked is None:
            best = sorted(values.items(), key=itemgetter(1), reverse=True)[:size]
            self.ranked = [k for k, _ in best]
            self.ranks = None
            self.members = set(self.ranked)
            self.changed.clear()
            return self.ranked
        changed = self.changed
        if not changed:
            return ranked
        position = self._positions()
        members = self.members
        ranks = self.ranks
        if ranks is None:  # the unraised keys' values are those they were sorted by
            ranks = self.ranks = [(-values[key], position[key]) for key in ranked]
        # the raised keys of the last top leave it first (their places are stale), then all
        # raised keys are placed: the last top's by bisection, the others only if they beat
        # its last key
        risen = [key for key in changed if key in members]
        entering = [key for key in changed if key not in members] if risen else list(changed)
        for key in risen:
            index = ranked.index(key)
            del ranked[index]
            del ranks[index]
        for key in risen:
            rank = (-values[key], position[key])
            index = bisect_right(ranks, rank)
            ranks.insert(index, rank)
            ranked.insert(index, key)
        for key in entering:
            rank = (-values[key], position[key])
            if len(ranked) >= size:
                if rank > ranks[-1]:
                    continue
                ranks.pop()
                members.discard(ranked.pop())
            index = bisect_right(ranks, rank)
            ranks.insert(index, rank)
            ranked.insert(index, key)
            members.add(key)
        changed.clear()
        return ranked

    def _positions(self) -> dict[str, int]:
        """Each key's place in `values`, kept up as keys are added."""
        position = self.position
        if position is None:
            position = self.position = {k: i for i, k in enumerate(self.values)}
        else:
            for key in self.changed:  # new keys went to the end of `values` in this order
                if key not in position:
                    position[key] = len(position)
        return position
