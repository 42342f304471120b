"""The real-data evaluation: protocols, baselines and the recommender on one time-ordered stream."""

from __future__ import annotations

from kartshoppe.simulate.datasets import Dataset, Interaction
from kartshoppe.simulate.evaluate import ProcessorDriver
from kartshoppe.simulate.realdata import (
    ItemKNN,
    Popularity,
    SessionKNN,
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


def test_session_knn_ranks_what_the_sessions_most_like_the_users_latest_session_hold() -> None:
    sknn = SessionKNN(gap_ms=HOUR)
    sessions = {"u1": "abc", "u2": "abd", "u3": "aefgh", "u5": "xz"}
    for user, items in sessions.items():
        for item in items:
            sknn.observe(user, item, 0)
    sknn.observe("u4", "x", 0)  # an earlier session of u4: not part of the latest
    sknn.observe("u4", "a", 2 * HOUR)
    sknn.observe("u4", "b", 2 * HOUR + 1)
    ranking = sknn.rank("u4", 2 * HOUR + 2)
    assert set(ranking[:2]) == {"c", "d"}  # sessions sharing a and b, the most similar
    assert set(ranking[2:]) == {"e", "f", "g", "h"}  # a longer session sharing only a
    assert "z" not in ranking  # shares x with u4's earlier session only


def test_one_run_scores_the_recommender_and_every_baseline_under_both_protocols() -> None:
    interactions = [
        Interaction(f"u{u}", item, u * 10 * HOUR + i * 1000)
        for u in range(30)
        for i, item in enumerate(("a", "b", "c") if u % 2 else ("a", "d", "e"))
    ]
    dataset = Dataset("tiny", interactions, {}, {})
    result = evaluate_dataset(dataset, ProcessorDriver(catalog_events(dataset)), holdout=10, seed=1)
    for protocol in result.protocols.values():
        assert set(protocol.scores) == {"recommender", "popularity", "item-kNN", "session-kNN"}
        assert protocol.scores["recommender"].targets == 10
        assert protocol.scores["recommender"].hit_rate > 0.8
        assert protocol.calibration.lists == 10
    assert "| item-kNN |" in result.markdown()
    assert "| session-kNN |" in result.markdown()
