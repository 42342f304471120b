"""Recommendation quality on real public interaction data (`datasets`), against baselines.

Every interaction of the data set becomes a `PRODUCT_VIEW` of that user (user id and session
id = the data set's user), and the whole stream is fed in time order to the recommender (the
real processor code, its shipped defaults) and to the baselines. A seeded sample of
`holdout` users is scored; at the moment of each of their target interactions, before it is
fed, every ranker names `k` products and we count hit rate@k and MRR@k. Two protocols, scored in
the same pass (targets of both are predicted from everything before them, so they do not
interfere):

- leave-one-out: the user's last interaction is the target (one per held-out user);
- last-item: the last interaction of each of the user's sessions (a session ends after a gap of
  `session_gap_ms`, one hour; sessions of a single interaction are not scored).

Baselines, learning from the same stream at the same moments:
- popularity: the most interacted-with products so far;
- item-kNN: cosine similarity of products over the users who interacted with both
  (c(i, j) / sqrt(n_i n_j)), candidates scored by summed similarity to the user's last 6
  products;
- session-kNN (SKNN, Jannach and Ludewig, "When recurrent neural networks meet the neighborhood
  for session-based recommendation", RecSys 2017): sessions split by the same `session_gap_ms`;
  the user's latest session is compared with the `sample` most recent sessions that share a
  product with it (cosine over their product sets), and candidates are scored by the summed
  similarity of the `neighbours` most similar sessions that contain them.
All leave out every product the user has already interacted with (the recommender applies its
own rule, `recommender` module doc), so the baselines face the fewest wrong candidates.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Protocol

from kartshoppe.events import Product, ProductLaunched, ProductView
from kartshoppe.simulate.datasets import Dataset, Interaction

HOUR_MS: Final = 3600 * 1000
K: Final = 10


class Ranker(Protocol):
    name: str

    def observe(self, user: str, item: str, at: int) -> None: ...

    def rank(self, user: str, at: int) -> list[str]: ...


@dataclass(slots=True)
class Popularity:
    name: str = "popularity"
    counts: dict[str, int] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=dict)

    def observe(self, user: str, item: str, at: int) -> None:
        self.counts[item] = self.counts.get(item, 0) + 1
        self.seen.setdefault(user, set()).add(item)

    def rank(self, user: str, at: int) -> list[str]:
        seen = self.seen.get(user, set())
        top = heapq.nlargest(
            K, ((c, i) for i, c in self.counts.items() if i not in seen), key=lambda ci: ci
        )
        return [i for _, i in top]


@dataclass(slots=True)
class ItemKNN:
    """Cosine co-occurrence over users, summed over the user's last `context` products."""

    name: str = "item-kNN"
    context: int = 6
    counts: dict[str, int] = field(default_factory=dict)
    cooc: dict[str, dict[str, int]] = field(default_factory=dict)
    history: dict[str, list[str]] = field(default_factory=dict)

    def observe(self, user: str, item: str, at: int) -> None:
        history = self.history.setdefault(user, [])
        if item in history:
            return
        row = self.cooc.setdefault(item, {})
        for other in history:
            row[other] = row.get(other, 0) + 1
            other_row = self.cooc[other]
            other_row[item] = other_row.get(item, 0) + 1
        self.counts[item] = self.counts.get(item, 0) + 1
        history.append(item)

    def rank(self, user: str, at: int) -> list[str]:
        history = self.history.get(user, [])
        seen = set(history)
        scores: dict[str, float] = {}
        for item in history[-self.context :]:
            n_i = self.counts[item]
            for other, c in self.cooc.get(item, {}).items():
                if other not in seen:
                    sim = c / math.sqrt(n_i * self.counts[other])
                    scores[other] = scores.get(other, 0.0) + sim
        top = heapq.nlargest(K, scores.items(), key=lambda kv: (kv[1], kv[0]))
        return [i for i, _ in top]


@dataclass(slots=True)
class SessionKNN:
    """SKNN over sessions cut at gaps longer than `gap_ms` (module doc)."""

    name: str = "session-kNN"
    gap_ms: int = HOUR_MS
    neighbours: int = 100
    sample: int = 500
    sessions: list[set[str]] = field(default_factory=list)
    latest: dict[str, tuple[int, int]] = field(default_factory=dict)
    """User -> (index of the user's latest session, time of its latest interaction)."""
    containing: dict[str, list[int]] = field(default_factory=dict)
    """Product -> the sessions that contain it, oldest first."""
    seen: dict[str, set[str]] = field(default_factory=dict)

    def observe(self, user: str, item: str, at: int) -> None:
        latest = self.latest.get(user)
        if latest is None or at - latest[1] > self.gap_ms:
            self.sessions.append(set())
            index = len(self.sessions) - 1
        else:
            index = latest[0]
        self.latest[user] = (index, at)
        session = self.sessions[index]
        if item not in session:
            session.add(item)
            self.containing.setdefault(item, []).append(index)
        self.seen.setdefault(user, set()).add(item)

    def rank(self, user: str, at: int) -> list[str]:
        latest = self.latest.get(user)
        if latest is None:
            return []
        current = self.sessions[latest[0]]
        overlap: dict[int, int] = {}
        for item in current:
            for index in self.containing[item][-self.sample :]:
                if index != latest[0]:
                    overlap[index] = overlap.get(index, 0) + 1
        recent = heapq.nlargest(self.sample, overlap)
        similar = heapq.nlargest(
            self.neighbours,
            ((overlap[i] / math.sqrt(len(self.sessions[i]) * len(current)), i) for i in recent),
        )
        seen = self.seen[user]
        scores: dict[str, float] = {}
        for similarity, index in similar:
            for item in self.sessions[index]:
                if item not in seen:
                    scores[item] = scores.get(item, 0.0) + similarity
        top = heapq.nlargest(K, scores.items(), key=lambda kv: (kv[1], kv[0]))
        return [i for i, _ in top]


@dataclass(slots=True)
class Score:
    targets: int = 0
    hits: int = 0
    reciprocal_ranks: float = 0.0

    def add(self, ranking: list[str], target: str) -> None:
        self.targets += 1
        if target in ranking[:K]:
            self.hits += 1
            self.reciprocal_ranks += 1.0 / (ranking.index(target) + 1)

    @property
    def hit_rate(self) -> float:
        return self.hits / max(1, self.targets)

    @property
    def mrr(self) -> float:
        return self.reciprocal_ranks / max(1, self.targets)


BANDS: Final = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0001)


@dataclass(slots=True)
class Calibration:
    """Confidence against outcome: mean confidence and hit rate per confidence band."""

    confidence_sum: float = 0.0
    lists: int = 0
    bands: dict[int, list[float]] = field(default_factory=dict)
    """Band index -> [lists, hits, confidence sum]."""

    def add(self, confidence: float, hit: bool) -> None:
        self.confidence_sum += confidence
        self.lists += 1
        band = next(b for b in range(len(BANDS) - 1) if confidence < BANDS[b + 1])
        row = self.bands.setdefault(band, [0, 0, 0.0])
        row[0] += 1
        row[1] += hit
        row[2] += confidence

    @property
    def mean(self) -> float:
        return self.confidence_sum / max(1, self.lists)


@dataclass(slots=True)
class ProtocolResult:
    name: str
    scores: dict[str, Score]
    calibration: Calibration = field(default_factory=Calibration)


@dataclass(slots=True)
class RealEvaluation:
    dataset: str
    users: int
    holdout: int
    events: int = 0
    recommender_seconds: float = 0.0
    seconds: float = 0.0
    protocols: dict[str, ProtocolResult] = field(default_factory=dict)

    def markdown(self) -> str:
        lines = [
            f"Data set `{self.dataset}`: {self.events:,} interactions of {self.users} users, "
            f"{self.holdout} held-out users scored. Recommender: {self.events:,} events in "
            f"{self.recommender_seconds:.1f} s of CPU "
            f"({self.events / max(self.recommender_seconds, 1e-9):,.0f} events/s); "
            f"whole run {self.seconds:.0f} s.\n",
        ]
        for protocol in self.protocols.values():
            any_score = next(iter(protocol.scores.values()))
            lines.append(f"\n**{protocol.name}** ({any_score.targets} targets)\n")
            lines.append("| ranker | hit rate@10 | MRR@10 |\n|---|---:|---:|")
            for name, score in protocol.scores.items():
                lines.append(f"| {name} | {score.hit_rate:.3f} | {score.mrr:.3f} |")
            lines.append(_calibration_table(protocol, protocol.scores["recommender"]))
        return "\n".join(lines) + "\n"


def _calibration_table(protocol: ProtocolResult, score: Score) -> str:
    cal = protocol.calibration
    ratio = cal.mean / max(score.hit_rate, 1e-9)
    rows = [
        f"\nRecommender mean confidence {cal.mean:.3f} against hit rate {score.hit_rate:.3f} "
        f"(ratio {ratio:.2f}).\n",
        "| confidence | lists | mean confidence | hit rate@10 |\n|---|---:|---:|---:|",
    ]
    for band, (lists, hits, conf) in sorted(cal.bands.items()):
        rows.append(
            f"| {BANDS[band]:.2f}-{min(BANDS[band + 1], 1.0):.2f} | {int(lists)} | "
            f"{conf / lists:.3f} | {hits / lists:.3f} |"
        )
    return "\n".join(rows)


def targets(
    interactions: Iterable[Interaction], holdout: set[str], session_gap_ms: int
) -> tuple[set[int], set[int]]:
    """Stream positions of the (leave-one-out, last-item) targets of the held-out users."""
    last: dict[str, int] = {}
    session_start: dict[str, int] = {}
    previous: dict[str, tuple[int, int]] = {}
    last_item: set[int] = set()
    for position, interaction in enumerate(interactions):
        user = interaction.user
        if user not in holdout:
            continue
        before = previous.get(user)
        if before is not None and interaction.at - before[1] > session_gap_ms:
            if before[0] != session_start[user]:
                last_item.add(before[0])
            session_start[user] = position
        session_start.setdefault(user, position)
        previous[user] = (position, interaction.at)
        last[user] = position
    for user, (position, _) in previous.items():
        if position != session_start[user]:
            last_item.add(position)
    return set(last.values()), last_item


class RecommenderUnderTest(Protocol):
    """The recommender fed event by event; `recommend` is its main list and confidence."""

    def feed(self, event: ProductView) -> None: ...

    def recommend(self, user: str, at: int) -> tuple[list[str], float]: ...


def catalog_events(dataset: Dataset) -> list[ProductLaunched]:
    items = sorted({i.item for i in dataset.interactions})
    return [
        ProductLaunched(
            product_id=item,
            timestamp=0,
            product=Product(
                id=item,
                name=dataset.titles.get(item, item)[:200],
                category=dataset.categories.get(item, "Other"),
                price=10.0,
                original_price=10.0,
                stock=1_000_000,
            ),
        )
        for item in items
    ]


def evaluate_dataset(
    dataset: Dataset,
    recommender: RecommenderUnderTest,
    *,
    holdout: int,
    seed: int,
    users: int | None = None,
    session_gap_ms: int = HOUR_MS,
) -> RealEvaluation:
    started = time.process_time()
    all_users = sorted({i.user for i in dataset.interactions})
    rng = random.Random(seed)
    if users is not None and users < len(all_users):
        all_users = sorted(rng.sample(all_users, users))
    kept = set(all_users)
    stream = [i for i in dataset.interactions if i.user in kept]
    held = set(rng.sample(all_users, min(holdout, len(all_users))))
    loo, last_item = targets(stream, held, session_gap_ms)
    baselines: list[Ranker] = [Popularity(), ItemKNN(), SessionKNN(gap_ms=session_gap_ms)]
    names = ["recommender", *(b.name for b in baselines)]
    result = RealEvaluation(dataset.name, len(all_users), len(held))
    result.protocols = {
        "loo": ProtocolResult("leave-one-out", {n: Score() for n in names}),
        "last": ProtocolResult("last-item", {n: Score() for n in names}),
    }
    spent = 0.0
    for position, interaction in enumerate(stream):
        protocols = [
            result.protocols[p]
            for p, positions in (("loo", loo), ("last", last_item))
            if position in positions
        ]
        if protocols:
            ranked, confidence = recommender.recommend(interaction.user, interaction.at)
            rankings = {b.name: b.rank(interaction.user, interaction.at) for b in baselines}
            rankings["recommender"] = ranked
            for protocol in protocols:
                for name, ranking in rankings.items():
                    protocol.scores[name].add(ranking, interaction.item)
                protocol.calibration.add(confidence, interaction.item in ranked[:K])
        event = ProductView(
            event_id=f"ev{position}",
            timestamp=interaction.at,
            session_id=interaction.user,
            user_id=interaction.user,
            product_id=interaction.item,
        )
        tick = time.process_time()
        recommender.feed(event)
        spent += time.process_time() - tick
        for baseline in baselines:
            baseline.observe(interaction.user, interaction.item, interaction.at)
    result.events = len(stream)
    result.recommender_seconds = spent
    result.seconds = time.process_time() - started
    return result
