"""Offline recommendation quality: the recommender against a popularity baseline.

Sessions come from the simulator's shopper model (`shoppers`, planted affinities documented
there) over the seed catalog. The first `--train` sessions are fed, event by event, through
the recommendations processor's stages as the embedded runner runs them (`ProcessorDriver`: the
runner's own `ProcessorInstance` over a temporary state file; no HTTP, no log). For each of the
next `--test` sessions the last product the shopper turned to (its first touch, when no earlier
event of the session touched it) is hidden: the events before it are fed, then both rankers
name 10 products and we score hit rate@10 (the hidden product is listed) and MRR@10 (1/rank, 0
when missing). The rest of the session is fed afterwards, so the model keeps learning as it
would live.

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
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from kartshoppe.demo.seed import seed_products
from kartshoppe.eventlog.port import Record
from kartshoppe.events import (
    AddToCart,
    BaseEvent,
    Event,
    OrderPlaced,
    ProductClick,
    ProductLaunched,
    ProductView,
    RecommendationKind,
    Topic,
    encode_event,
)
from kartshoppe.processors.recommendations import (
    CALIBRATION,
    PRODUCTS,
    USERS,
    RecommendationsProcessor,
)
from kartshoppe.processors.recommender import (
    Calibration,
    Catalog,
    PublishedTable,
    Scored,
    ShopperState,
    confidence,
    main_list,
)
from kartshoppe.processors.runner import ProcessorInstance, ProcessorStateDb
from kartshoppe.simulate import datasets, realdata
from kartshoppe.simulate.shoppers import ShopperModel, catalog_items, session_events

SESSION_SPACING_MS = 30_000
START_MS = 1_767_225_600_000
"""2026-01-01T00:00:00Z: a fixed event-time origin, so runs are reproducible."""


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
    driver = ProcessorDriver(
        ProductLaunched(product_id=product.id, product=product) for product in products
    )
    counts: dict[str, float] = {}
    weights = {ProductView: 1.0, ProductClick: 1.0, AddToCart: 3.0, OrderPlaced: 5.0}
    result = Evaluation(train, test)
    returning: list[tuple[str, Any]] = []
    started = time.process_time()

    def feed(event: Event) -> None:
        driver.feed(event)
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
        _score(result, driver, user_id, target, counts, events[index].timestamp)
        for event in events[index:]:
            feed(event)
    result.seconds = time.process_time() - started
    driver.close()
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
    driver: ProcessorDriver,
    key: str,
    target: str,
    counts: Mapping[str, float],
    at: int,
) -> None:
    kind, scored, confidence, shopper = driver.main_list(key, at)
    catalog = driver.catalog
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
    result.confidence_sum += confidence
    bucket = result.calibration.setdefault(min(9, int(confidence * 10)), [0, 0])
    bucket[0] += 1
    bucket[1] += target in scored.ids


FAR_FUTURE_MS: Final = 2**53
"""Append time of the fed records, so that event time is the event's own timestamp."""
COMMIT_EVERY: Final = 5000
"""Records between state commits (a commit also folds the stages' published tables)."""


class ProcessorDriver:
    """The recommendations processor's stages fed event by event as the embedded runner runs
    them: its own `ProcessorInstance` over a temporary state file, without the log or asyncio,
    the watermark following each event (no allowed lateness)."""

    def __init__(self, catalog: Iterable[Event]) -> None:
        self.processor = RecommendationsProcessor()
        self.config = self.processor.config
        self._directory = tempfile.TemporaryDirectory(prefix="kartshoppe-eval-")
        self.store = ProcessorStateDb(Path(self._directory.name) / "state.db")
        self.instance = ProcessorInstance(self.processor, self.store, lateness_ms=0)
        self._offsets: dict[str, int] = {}
        for event in catalog:
            self._record(Topic.PRODUCT_UPDATES.value, event)

    @property
    def catalog(self) -> Catalog:
        return Catalog(self.instance.broadcast)

    def _record(self, topic: str, event: Event) -> None:
        offset = self._offsets.get(topic, 0)
        self._offsets[topic] = offset + 1
        record = Record(topic, 0, offset, None, encode_event(event), FAR_FUTURE_MS)
        self.instance.process([record])
        self.instance.take_outputs()
        if sum(self._offsets.values()) % COMMIT_EVERY == 0:
            checkpoint, _ = self.instance.take_checkpoint()
            self.instance.commit(checkpoint)

    def feed(self, event: Event) -> None:
        self._record(Topic.EVENTS.value, event)

    def main_list(
        self, key: str, at: int
    ) -> tuple[RecommendationKind, Scored, float, ShopperState]:
        """The shopper's main list at `at` (what the list stage would assemble then), its
        confidence, and the shopper."""
        self.instance.advance_watermark(at)
        self.instance.take_outputs()
        chain = self.instance.chain
        assert chain is not None
        # a signed-in shopper's history is in the user stage, an anonymous one's in the first
        users = next(stage for stage in chain.stages if stage.name == USERS)
        shopper: ShopperState = users.state_of(key)
        if shopper.is_empty():
            shopper = self.instance.state_of(key)
        table = PublishedTable(chain.tables[PRODUCTS].view(at), at, self.config)
        kind, scored = main_list(shopper, self.catalog, table, at, self.config)
        cells = chain.tables[CALIBRATION].view(at)
        calibration = Calibration({cell: list(counts) for cell, counts in cells.items()})
        return kind, scored, confidence(scored, self.config, kind, calibration), shopper

    def recommend(self, user: str, at: int) -> tuple[list[str], float]:
        _, scored, listed_confidence, _ = self.main_list(user, at)
        return scored.ids, listed_confidence

    def close(self) -> None:
        self.store.close()
        self._directory.cleanup()


def _evaluate_dataset(args: argparse.Namespace, command: str) -> str:
    dataset = datasets.load(args.dataset)
    driver = ProcessorDriver(realdata.catalog_events(dataset))
    result = realdata.evaluate_dataset(
        dataset, driver, holdout=args.holdout, seed=args.seed, users=args.users
    )
    return (
        f"Command: `{command}`  \n"
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
        f"machine: {platform.machine()}, {os.cpu_count()} cores shared with other work, "
        f"load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}\n\n"
        + result.markdown()
    )


def _without_output(argv: list[str]) -> list[str]:
    """The options that decide the figures: where the report is written is not one of them."""
    shown: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--output":
            skip = True
        elif not arg.startswith("--output="):
            shown.append(arg)
    return shown


def evaluate_main(argv: list[str]) -> int:
    """`kartshoppe evaluate-recs [--dataset NAME] [--train N] [--test N] [--seed S] ...`."""
    parser = argparse.ArgumentParser(
        prog="kartshoppe evaluate-recs",
        description="Hit rate@10 and MRR@10 of the recommender vs popularity, offline.",
    )
    parser.add_argument("--train", type=int, default=4000, help="training sessions")
    parser.add_argument("--test", type=int, default=1000, help="held-out sessions")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, help="also write the markdown report here")
    parser.add_argument(
        "--dataset",
        choices=datasets.DATASETS,
        help="evaluate on this real data set instead of the simulator (make eval-data)",
    )
    parser.add_argument("--holdout", type=int, default=300, help="held-out users (--dataset)")
    parser.add_argument("--users", type=int, help="sample of users streamed (--dataset)")
    args = parser.parse_args(argv)
    if args.train < 1 or args.test < 1:
        parser.error("--train and --test must be at least 1")
    command = " ".join(["kartshoppe evaluate-recs", *_without_output(argv)])
    if args.dataset is not None:
        try:
            report = _evaluate_dataset(args, command)
        except datasets.DatasetUnavailable as exc:
            parser.error(str(exc))
    else:
        report = evaluate(args.train, args.test, args.seed).markdown(command)
    print(report)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    return 0
