"""Redelivered processor outputs are recognised by their event id."""

from kartshoppe.application.dedup import RecentIds


def test_an_id_is_new_only_the_first_time() -> None:
    recent = RecentIds()
    assert recent.first_time("out_1")
    assert not recent.first_time("out_1")
    assert recent.first_time("out_2")


def test_ids_older_than_the_window_are_forgotten() -> None:
    recent = RecentIds(capacity=2)
    for event_id in ("a", "b", "c"):
        assert recent.first_time(event_id)
    assert recent.first_time("a")
    assert not recent.first_time("c")
