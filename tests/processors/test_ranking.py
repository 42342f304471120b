"""`RisingTop`: the top keys of rising values, kept from call to call, as sorting gives them."""

from __future__ import annotations

import random

import pytest

from kartshoppe.processors.ranking import RisingTop


@pytest.mark.parametrize("seed", range(60))
def test_the_kept_top_equals_sorting_the_whole_dict_after_every_rise(seed: int) -> None:
    # many equal values (ties keep insertion order), several keys raised at once, new keys
    # that enter the top and push its last key out, and keys of the top raised past others
    rng = random.Random(seed)
    size = rng.randint(1, 8)
    values: dict[str, float] = {}
    top = RisingTop(values, size)
    for _ in range(rng.randint(1, 25)):
        raised = rng.sample("abcdefghijklmnopqrst", rng.randint(0, 8))
        for key in raised:
            values[key] = values.get(key, 0.0) + rng.choice([0.0, 0.5, 1.0, 1.0, 3.0])
        top.raised(raised)
        whole = sorted(values.items(), key=lambda kv: kv[1], reverse=True)[:size]
        assert top.top() == [key for key, _ in whole]


def test_a_new_ranking_of_the_same_dict_starts_from_a_sort() -> None:
    values = {"a": 1.0, "b": 3.0, "c": 2.0}
    assert RisingTop(values, 2).top() == ["b", "c"]
