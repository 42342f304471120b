"""Offline recommendation quality: the recommender against a popularity baseline.

Sessions come from the simulator's shopper model (`shoppers`, planted affinities documented
there) over the seed catalog. The first `--train` sessions are fed, event by event, through
`RecommendationsProcessor.on_event` (no HTTP, no log). For each of the next `--test` sessions the
last product the shopper turned to (its first touch, when no earlier event of the session touched
it) is hidden: the events before it are fed, then both rankers name 10 products and we score
hit rate@10 (the hidden product is listed) and MRR@10 (1/rank, 0 when missing). The rest of the
session is fed afterwards, so the model keeps learning as it would live.

The baseline ranks by all-time interaction counts (view, cart add and purchase weighted 1/3/5 as in
the recommender) and leaves out the same products the recommender must (the shopper's history,
cart, purchases and out-of-stock products), so both face the same candidates.
"""

from __future__ import annotations

import argparse
import datetime
import heapq
import os
import platform
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kartshoppe.demo.seed import seed_products
from kartshoppe.events import (
    AddToCart,
    BaseEvent,
    Event,
    OrderPlaced,
    ProductClick,
    ProductLaunched,
    ProductView,
)
from kartshoppe.processors.model import GLOBAL_KEY, Context
from kartshoppe.processors.recommendations import RecommendationsProcessor
from kartshoppe.processors.recommender import Catalog, RecommenderState
from kartshoppe.simulate.shoppers import ShopperModel, catalog_items, session_events

SESSION_SPACING_MS = 30_000
START_MS = 1_767_225_600_000
"""2026-01-01T00:00:00Z: a fixed event-time origin, so runs are reproducible."""


class LocalContext(Context):
    """The smallest runner context: collects emits, keeps timers, serves a broadcast dict."""

    def __init__(self, broadcast: dict[str, Any]) -> None:
        self._broadcast = broadcast
        self._timestamp = 0
        self.emitted: list[tuple[str, str | None, BaseEvent]] = []
        self.timers: set[int] = set()

    @property
    def key(self) -> str:
        return GLOBAL_KEY

    @property
    def timestamp(self) -> int:
        return self._timestamp

    @property
    def watermark(self) -> int:
        return self._timestamp

    @property
    def broadcast(self) -> Mapping[str, Any]:
        return self._broadcast

    def at(self, timestamp: int) -> LocalContext:
        self._timestamp = timestamp
        return self

    def emit(self, topic: str, key: str | None, event: BaseEvent) -> None:
        self.emitted.append((topic, key, event))

    def set_timer(self, timestamp: int) -> None:
        self.timers.add(timestamp)

    def delete_timer(self, timestamp: int) -> None:
        self.timers.discard(timestamp)


def popularity_ranking(
    counts: Mapping[str, float], exclude: Iterable[str], size: int = 10
) -> list[str]:
    """The popularity baseline: the most interacted-with products, leaving out `exclude`."""
    skip = set(exclude)
    ranked = heapq.nlargest(
        size, ((p, c) for p, c in counts.items() if p not in skip), key=lambda kv: (kv[1], kv[0])
    )
    return [pid for pid, _ in ranked]


def _touched(event: BaseEvent) -> list[str]:
    if isinstance(event, ProductView | ProductClick | AddToCart):
        return [event.product_id]
    if isinstance(event, OrderPlaced):
        return [line.product_id for line in event.lines]
    return []


@dataclass(slots=True)
class Score:
    hits: int = 0
    reciprocal_ranks: float = 0.0

    def add(self, ranking: list[str], target: str) -> None:
        if target in ranking:
            self.hits += 1
            self.reciprocal_ranks += 1.0 / (ranking.index(target) + 1)


@dataclass(slots=True)
class Evaluation:
    train_sessions: int
    test_sessions: int
    targets: int = 0
    events: int = 0
    seconds: float = 0.0
    recommender: Score = field(default_factory=Score)
    baseline: Score = field(default_factory=Score)
    trending_fallbacks: int = 0
    confidence_sum: float = 0.0
    calibration: dict[int, list[int]] = field(default_factory=dict)
    """Confidence bucket (tenths) -> [lists, hits]."""

    def rate(self, score: Score) -> tuple[float, float]:
        n = max(1, self.targets)
        return score.hits / n, score.reciprocal_ranks / n

    def markdown(self, command: str) -> str:
        rec_hit, rec_mrr = self.rate(self.recommender)
        base_hit, base_mrr = self.rate(self.baseline)
        n = max(1, self.targets)
        return (
            "# Recommendation quality (offline)\n\n"
            f"Command: `{command}` (the same options work with "
            "`.venv/bin/python bench/recs_eval.py`, which writes this file)  \n"
            f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
            f"machine: {platform.machine()}, {os.cpu_count()} cores shared with other work, "
            f"Python {platform.python_version()}\n\n"
            f"Training sessions: {self.train_sessions}; held-out sessions: {self.test_sessions}; "
            f"hidden targets scored: {self.targets}; events fed through the processor: "
            f"{self.events} in {self.seconds:.1f} s of CPU time, including session generation "
            f"and scoring ({self.events / max(self.seconds, 1e-9):,.0f} events/s).\n\n"
            "| ranker | hit rate@10 | MRR@10 |\n|---|---|---|\n"
            f"| recommender (`RecommendationsProcessor`) | {rec_hit:.3f} | {rec_mrr:.3f} |\n"
            f"| popularity baseline | {base_hit:.3f} | {base_mrr:.3f} |\n\n"
            f"Lift: hit rate x{rec_hit / max(base_hit, 1e-9):.2f}, "
            f"MRR x{rec_mrr / max(base_mrr, 1e-9):.2f}. "
            f"The recommender fell back to TRENDING for {self.trending_fallbacks / n:.1%} of "
            f"targets. Mean confidence of the lists scored: {self.confidence_sum / n:.3f} "
            f"(confidence estimates the probability that the next product is listed; compare "
            f"with the hit rate).\n\n"
            "Hit rate by confidence (the ordering is what matters: higher confidence, more hits):"
            "\n\n| confidence | lists | hit rate@10 |\n|---|---|---|\n"
            + "".join(
                f"| {b / 10:.1f}-{(b + 1) / 10:.1f} | {lists} | {hits / lists:.3f} |\n"
                for b, (lists, hits) in sorted(self.calibration.items())
            )
        )


def evaluate(train: int, test: int, seed: int) -> Evaluation:
    products = seed_products()
    catalog = catalog_items(products)
    by_id = {item.id: item for item in catalog}
    model = ShopperModel(catalog, seed)
    processor = RecommendationsProcessor()
    broadcast: dict[str, Any] = {}
    for product in products:
        processor.on_broadcast(ProductLaunched(product_id=product.id, product=product), broadcast)
    ctx = LocalContext(broadcast)
    state = processor.initial_state()
    counts: dict[str, float] = {}
    weights = {ProductView: 1.0, ProductClick: 1.0, AddToCart: 3.0, OrderPlaced: 5.0}
    result = Evaluation(train, test)
    returning: list[tuple[str, Any]] = []
    started = time.process_time()

    def feed(event: Event) -> None:
        nonlocal state
        state = processor.on_event(state, event, ctx.at(event.timestamp)) or state
        ctx.emitted.clear()
        for pid in _touched(event):
            counts[pid] = counts.get(pid, 0.0) + weights[type(event)]
        result.events += 1

    for n in range(train + test):
        if returning and model.returns():
            user_id, persona = returning[model.rng.randrange(len(returning))]
        else:
            user_id, persona = f"user_{n}", model.persona()
            returning.append((user_id, persona))
        start = START_MS + n * SESSION_SPACING_MS
        events: list[Any] = session_events(
            model.session(persona), by_id, f"sess_{n}", user_id, start
        )
        cut = _hidden_target(events) if n >= train else None
        if cut is None:
            for event in events:
                feed(event)
            continue
        index, target = cut
        for event in events[:index]:
            feed(event)
        _score(result, state, Catalog(broadcast), user_id, target, counts, events[index].timestamp)
        for event in events[index:]:
            feed(event)
    result.seconds = time.process_time() - started
    return result


def _hidden_target(events: list[BaseEvent]) -> tuple[int, str] | None:
    """(index, product) of the session's last first-touch, if some interaction precedes it."""
    seen: set[str] = set()
    found: tuple[int, str] | None = None
    for index, event in enumerate(events):
        for pid in _touched(event):
            if pid not in seen:
                if seen:
                    found = (index, pid)
                seen.add(pid)
    return found


def _score(
    result: Evaluation,
    state: RecommenderState,
    catalog: Catalog,
    key: str,
    target: str,
    counts: Mapping[str, float],
    at: int,
) -> None:
    kind, scored = state.recommend(key, catalog, at)
    shopper = state.shoppers[key]
    exclude = (
        set(shopper.history)
        | shopper.cart
        | set(shopper.bought)
        | {pid for pid in counts if not catalog.recommendable(pid)}
    )
    result.targets += 1
    result.recommender.add(scored.ids, target)
    result.baseline.add(popularity_ranking(counts, exclude), target)
    result.trending_fallbacks += kind == "TRENDING"
    confidence = state.confidence(scored)
    result.confidence_sum += confidence
    bucket = result.calibration.setdefault(min(9, int(confidence * 10)), [0, 0])
    bucket[0] += 1
    bucket[1] += target in scored.ids


def evaluate_main(argv: list[str]) -> int:
    """`kartshoppe evaluate-recs [--train N] [--test N] [--seed S] [--output FILE]`."""
    parser = argparse.ArgumentParser(
        prog="kartshoppe evaluate-recs",
        description="Hit rate@10 and MRR@10 of the recommender vs popularity, offline.",
    )
    parser.add_argument("--train", type=int, default=4000, help="training sessions")
    parser.add_argument("--test", type=int, default=1000, help="held-out sessions")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, help="also write the markdown report here")
    args = parser.parse_args(argv)
    if args.train < 1 or args.test < 1:
        parser.error("--train and --test must be at least 1")
    result = evaluate(args.train, args.test, args.seed)
    command = " ".join(["kartshoppe evaluate-recs", *argv])
    report = result.markdown(command)
    print(report)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    return 0
