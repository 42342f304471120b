"""The real-data evaluation: protocols, baselines and the recommender on one time-ordered stream."""

from __future__ import annotations

from kartshoppe.simulate.datasets import Dataset, Interaction
from kartshoppe.simulate.evaluate import ProcessorDriver
from kartshoppe.simulate.realdata import (
    ItemKNN,
    Popularity,
    catalog_events,
    evaluate_dataset,
    targets,
)

HOUR = 3600 * 1000


def test_leave_one_out_scores_each_users_last_item_and_last_item_each_sessions_last() -> None:
    stream = [
        Interaction("u1", "a", 0),
        Interaction("u1", "b", 1),  # end of u1's first session
        Interaction("u1", "c", 3 * HOUR),  # a session of one: not scored
        Interaction("u2", "a", 4 * HOUR),
        Interaction("u2", "b", 4 * HOUR + 1),
    ]
    loo, last_item = targets(stream, {"u1", "u2"}, HOUR)
    assert loo == {2, 4}
    assert last_item == {1, 4}


def test_the_baselines_leave_out_what_the_user_has_and_rank_by_their_evidence() -> None:
    knn, popularity = ItemKNN(), Popularity()
    for user, items in {"u1": "abc", "u2": "ab", "u3": "ad", "u4": "dd"}.items():
        for item in items:
            knn.observe(user, item, 0)
            popularity.observe(user, item, 0)
    assert popularity.rank("u2", 0) == ["d", "c"]
    assert knn.rank("u2", 0)[0] == "c"  # c co-occurs with both a and b, d only with a


def test_one_run_scores_the_recommender_and_both_baselines_under_both_protocols() -> None:
    interactions = [
        Interaction(f"u{u}", item, u * 10 * HOUR + i * 1000)
        for u in range(30)
        for i, item in enumerate(("a", "b", "c") if u % 2 else ("a", "d", "e"))
    ]
    dataset = Dataset("tiny", interactions, {}, {})
    result = evaluate_dataset(dataset, ProcessorDriver(catalog_events(dataset)), holdout=10, seed=1)
    for protocol in result.protocols.values():
        assert set(protocol.scores) == {"recommender", "popularity", "item-kNN"}
        assert protocol.scores["recommender"].targets == 10
        assert protocol.scores["recommender"].hit_rate > 0.8
        assert protocol.calibration.lists == 10
    assert "| item-kNN |" in result.markdown()
