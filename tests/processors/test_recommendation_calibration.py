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


def test_a_higher_band_that_hit_less_often_is_pooled_with_the_band_below_not_inverted() -> None:
    calibration = Calibration()
    record(calibration, 0.12, lists=400, hits=52)  # 0.13
    record(calibration, 0.25, lists=100, hits=8)  # 0.08 on fewer lists
    record(calibration, 0.06, lists=400, hits=36)  # 0.09
    curve = calibration.curve("PERSONAL")
    assert curve == sorted(curve)
    low, high = calibration.confidence("PERSONAL", 0.125), calibration.confidence("PERSONAL", 0.25)
    assert abs(low - high) < 1e-9  # one pooled band
    assert 0.11 < high < 0.14
    assert calibration.confidence("PERSONAL", 0.075) < low


def test_confidence_never_falls_as_the_estimate_rises() -> None:
    rng = random.Random(3)
    calibration = Calibration()
    for _ in range(3000):
        estimate = rng.random()
        record(calibration, estimate, lists=1, hits=int(rng.random() < 0.5 - 0.3 * estimate))
    confidences = [calibration.confidence("PERSONAL", n / 200) for n in range(201)]
    assert confidences == sorted(confidences)


def test_on_a_synthetic_stream_confidence_is_within_1_5x_of_hit_rate_and_bands_ordered() -> None:
    """A model that overrates its lists three times over, on a skewed stream: confidence is
    learned online from outcomes and scored on later lists, as the evaluations do."""
    rng = random.Random(11)
    calibration = Calibration()
    claimed = hits = 0.0
    bands: dict[int, list[int]] = {}
    for n in range(20_000):
        estimate = min(1.0, rng.betavariate(2, 8) * 1.5)
        hit = rng.random() < estimate / 3
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
