"""Honest confidence: the main list's confidence is the hit rate learned from what shoppers did
next, monotone in the model's estimate, and close to the hit rate it claims."""

from __future__ import annotations

import random

from kartshoppe.processors.recommender import Calibration

BANDS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.01)


def record(calibration: Calibration, estimate: float, lists: int, hits: int) -> None:
    cell = Calibration.cell("PERSONAL", estimate)
    for n in range(lists):
        calibration.record(cell, hit=n < hits)


def test_with_no_outcomes_the_confidence_is_the_models_estimate() -> None:
    calibration = Calibration()
    for estimate in (0.03, 0.12, 0.3, 0.55, 0.8):
        assert abs(calibration.confidence("PERSONAL", estimate) - estimate) < 1e-9


def test_a_band_with_many_outcomes_reports_its_own_hit_rate() -> None:
    calibration = Calibration()
    record(calibration, 0.3, lists=2000, hits=100)
    assert abs(calibration.confidence("PERSONAL", 0.35) - 0.05) < 0.005


def test_an_overconfident_model_is_scaled_down_in_bands_it_has_no_outcomes_for_yet() -> None:
    calibration = Calibration()
    record(calibration, 0.3, lists=1000, hits=35)  # estimates about 10 times too high
    assert calibration.confidence("PERSONAL", 0.6) < 0.1
    assert calibration.confidence("TRENDING", 0.6) == 0.6  # each kind learns on its own


def test_a_band_moves_from_its_kinds_average_to_its_own_hit_rate_as_its_outcomes_grow() -> None:
    calibration = Calibration()
    record(calibration, 0.06, lists=2000, hits=180)  # 0.09
    record(calibration, 0.12, lists=2000, hits=260)  # 0.13
    average = calibration.confidence("PERSONAL", 0.45)  # a band with no outcomes yet
    assert 0.10 < average < 0.12
    record(calibration, 0.45, lists=10, hits=10)  # a few lucky lists
    lucky = calibration.confidence("PERSONAL", 0.45)
    assert average < lucky < 0.3  # still much nearer the average than to 1
    record(calibration, 0.45, lists=2000, hits=990)
    assert abs(calibration.confidence("PERSONAL", 0.45) - 0.5) < 0.02


def test_lists_that_hit_more_often_get_more_confidence_whatever_the_models_estimate() -> None:
    calibration = Calibration()
    record(calibration, 0.35, lists=1000, hits=50)  # thin evidence: a high estimate, few hits
    record(calibration, 0.06, lists=1000, hits=200)
    assert calibration.confidence("PERSONAL", 0.06) > 0.18
    assert calibration.confidence("PERSONAL", 0.35) < 0.07


def test_on_a_synthetic_stream_confidence_is_within_1_5x_of_hit_rate_and_bands_ordered() -> None:
    """A model that overrates its lists, and its highest estimates (thin evidence) most, as on
    real data: confidence is learned online from outcomes and scored on
    later lists, as the evaluations do."""
    rng = random.Random(11)
    calibration = Calibration()
    claimed = hits = 0.0
    bands: dict[int, list[int]] = {}
    for n in range(20_000):
        estimate = min(1.0, rng.betavariate(2, 8) * 1.5)
        hit = rng.random() < (estimate * 0.6 if estimate < 0.4 else 0.05)
        if n >= 10_000:  # scored like the evaluations: the confidence as of the list
            confidence = calibration.confidence("PERSONAL", estimate)
            claimed += confidence
            hits += hit
            band = next(b for b in range(len(BANDS) - 1) if confidence < BANDS[b + 1])
            counts = bands.setdefault(band, [0, 0])
            counts[0] += 1
            counts[1] += hit
        calibration.record(Calibration.cell("PERSONAL", estimate), hit)
    assert 1 / 1.5 < claimed / hits < 1.5
    rates = [h / lists for _, (lists, h) in sorted(bands.items()) if lists >= 200]
    assert len(rates) >= 3
    assert rates == sorted(rates)


def test_outcomes_recorded_after_a_confidence_was_read_count_as_in_a_fresh_copy() -> None:
    calibration = Calibration()
    record(calibration, 0.06, lists=100, hits=10)
    calibration.confidence("PERSONAL", 0.3)  # sums the kind's outcomes once
    record(calibration, 0.3, lists=100, hits=40)
    fresh = Calibration({cell: list(counts) for cell, counts in calibration.cells.items()})
    for estimate in (0.06, 0.3, 0.6):
        assert calibration.confidence("PERSONAL", estimate) == fresh.confidence(
            "PERSONAL", estimate
        )
