"""The recommendation algorithm: online item-to-item co-occurrence, pure and serialisable.

No I/O and no runner knowledge: `RecommenderState.observe(event, catalog, at)` folds one shopper
event (at event time `at`) into the model and returns the `Recommendation` events it causes; the
processor wrapper in `recommendations.py` only routes them. Output ids and timestamps derive from
the input event, never from the clock, so any runner gets the same outputs.

How it learns
- Every shopper interaction carries a weight: view or click 1, cart add 3, purchase 5
  (`RecommenderConfig.view_weight`, `cart_weight`, `purchase_weight`).
- Per shopper (user id, else session id) the last `history_size` (20) distinct products are kept
  with the strongest weight seen and the last time. Two products of one shopper touched within
  `pair_window_ms` (2 h) of each other co-occur with strength sqrt(w_a * w_b): a viewed pair
  counts 1, a pair added to the cart 3, a pair bought 5. Only the growth of that strength is added
  when an interaction repeats or upgrades (view -> cart), so a session contributes the same
  evidence in any order and a redelivered event adds nothing.
- Products bought in one order also feed a separate "frequently bought together" matrix.
- Evidence decays exponentially with half-life `half_life_ms` (7 days; the popularity behind
  TRENDING uses `trending_half_life_ms`, 6 hours). Decay is forward decay: each weight is stored
  multiplied by 2^((t - landmark) / half_life), so old and new evidence compare correctly without
  touching stored values; they are rescaled only when the multiplier grows large.

How it recommends (lists never hold products in the cart, already bought, out of stock or
unknown to the catalog)
- PERSONAL: a mixture over the shopper's last `context_size` (6) products of each product's
  co-occurrence distribution, P(next = j) = sum_i r_i * cooc(i, j) / mass(i), with recency
  weights r_i (the latest 1, each older one `recency_factor` (0.4) times that, scaled by the
  action weight) normalised to sum 1. Products in the history are left out: these lists are for
  discovery. Reason: "Because you viewed <the history product contributing most to the top item>"
  (or "added <name> to your cart", "bought <name>").
- BOUGHT_TOGETHER (on cart add): the products most often in the same order as the product added;
  reason "Often bought with <name>".
- NEXT_BEST_OFFER (on cart add and order): the best product the shopper has not yet considered,
  scored as PERSONAL plus the cart's bought-together shares, favouring discounted products
  (score x (1 + discount)); failing any evidence, the most discounted product in the shopper's
  favourite category. Reason "Goes well with <name>" or "<n>% off: ...", "On sale in <category>".
- TRENDING (cold start, when no co-occurrence evidence applies): the decayed most popular products
  in the category of the product just touched (else overall); reason "Trending in <category>".
A recommendation is emitted only when its list changed (PERSONAL and TRENDING share one slot, the
shopper's main list). A list holding a product that sells out is refreshed on the shopper's next
event.

Confidence: an estimate of the probability that the shopper takes up at least one listed product
(the next new product for PERSONAL, the next interaction for TRENDING, the same order for
BOUGHT_TOGETHER, the offer itself for NEXT_BEST_OFFER), shrunk towards 0 while the evidence is
thin: the model's probability mass on the list times m / (m + `evidence_prior`), m being the
decayed evidence mass behind it. TRENDING uses the list's share of all recent popularity. It is a
conservative estimate: offline (bench/results/recommendations.md) lists are hit more often than
their confidence says, and higher confidence goes with more hits.

Keying: one global key holds the whole model. Co-occurrence is shared by every shopper, and a
keyed engine (Flink) cannot share keyed state across keys, so per-shopper history lives in the
same state in a bounded LRU. The price is one task for this operator; the state stays bounded
(top-`neighbours` per product, `history_size` per shopper, `max_shoppers` shoppers, `max_items`
products). Scaling out would split it in two stages: pair extraction keyed by shopper, then pair
counts keyed by product.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections import OrderedDict
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final

from kartshoppe.events import (
    CATALOG_EVENTS,
    AddToCart,
    BaseEvent,
    CartCleared,
    CartMerged,
    Event,
    OrderPlaced,
    ProductClick,
    ProductView,
    Recommendation,
    RecommendationKind,
    RemoveFromCart,
    event_key,
    json_number,
)
from kartshoppe.processors.model import (
    CatalogEntry,
    apply_catalog_event,
    catalog_entry,
    iter_catalog,
)

DAY_MS: Final = 24 * 3600 * 1000
HOUR_MS: Final = 3600 * 1000
_RESCALE_EXPONENT: Final = 400.0
"""Rescale forward-decayed values before 2**exponent nears the float range (about 2**1023)."""

_VERBS: Final[Mapping[str, str]] = {"view": "viewed", "cart": "added", "purchase": "bought"}


@dataclass(frozen=True, slots=True)
class RecommenderConfig:
    view_weight: float = 1.0
    cart_weight: float = 3.0
    purchase_weight: float = 5.0
    half_life_ms: int = 7 * DAY_MS
    trending_half_life_ms: int = 6 * HOUR_MS
    history_size: int = 20
    pair_window_ms: int = 2 * HOUR_MS
    recency_factor: float = 0.4
    context_size: int = 6
    neighbours: int = 30
    max_items: int = 20_000
    max_shoppers: int = 10_000
    bought_size: int = 100
    list_size: int = 10
    bought_together_size: int = 4
    evidence_prior: float = 2.0


# --- catalog: the broadcast side (product_updates, inventory_updates) ------------------------

ORIGINAL_PRICE: Final = "originalPrice"
"""The extra catalog field this processor keeps, to tell discounted products."""


def apply_catalog_update(event: Event, broadcast: MutableMapping[str, Any]) -> None:
    """The shared catalog entry (`model.apply_catalog_event`) plus the original price."""
    apply_catalog_event(event, broadcast)
    if isinstance(event, CATALOG_EVENTS):
        product = event.product
        entry = dict(broadcast[product.id])
        entry[ORIGINAL_PRICE] = json_number(max(product.original_price, product.price))
        broadcast[product.id] = entry


@dataclass(frozen=True, slots=True)
class Catalog:
    """A read-only view of the broadcast catalog: names, categories, prices, availability."""

    entries: Mapping[str, Any]

    def recommendable(self, product_id: str) -> bool:
        entry = catalog_entry(self.entries, product_id)
        return "name" in entry and entry.get("available", 0) > 0 and not entry.get("soldOut")

    def name(self, product_id: str) -> str:
        return catalog_entry(self.entries, product_id).get("name", product_id)

    def category(self, product_id: str) -> str | None:
        return catalog_entry(self.entries, product_id).get("category")

    def discount(self, product_id: str) -> float:
        """The fraction off the original price, 0 when not discounted."""
        entry = self.entries.get(product_id) or {}
        original = float(entry.get(ORIGINAL_PRICE, 0.0))
        price = float(entry.get("price", original))
        return 1.0 - price / original if original > 0 and price < original else 0.0

    def products(self) -> Iterator[tuple[str, CatalogEntry]]:
        return iter_catalog(self.entries)


# --- per-shopper state ------------------------------------------------------------------------


@dataclass(slots=True)
class Touch:
    """A product in a shopper's history: strongest action so far and when it was last seen."""

    action: str
    weight: float
    at: int


@dataclass(slots=True)
class Shopper:
    session_id: str | None = None
    user_id: str | None = None
    history: dict[str, Touch] = field(default_factory=dict)
    """Insertion order is recency order: a touched product moves to the end."""
    cart: set[str] = field(default_factory=set)
    bought: list[str] = field(default_factory=list)
    last: dict[str, list[str]] = field(default_factory=dict)
    """The last list emitted per kind, so that an unchanged list is not sent again."""

    def to_json(self) -> dict[str, Any]:
        return {
            "s": self.session_id,
            "u": self.user_id,
            "h": [[pid, t.action, t.weight, t.at] for pid, t in self.history.items()],
            "c": sorted(self.cart),
            "b": self.bought,
            "l": self.last,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Shopper:
        return cls(
            session_id=data["s"],
            user_id=data["u"],
            history={pid: Touch(action, weight, at) for pid, action, weight, at in data["h"]},
            cart=set(data["c"]),
            bought=list(data["b"]),
            last={kind: list(ids) for kind, ids in data["l"].items()},
        )


# --- decayed sparse matrices ------------------------------------------------------------------


@dataclass(slots=True)
class Decayed:
    """Sparse rows of forward-decayed weights plus each row's total (including pruned entries)."""

    half_life_ms: int
    landmark: int | None = None
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    mass: dict[str, float] = field(default_factory=dict)

    def boost(self, at: int) -> float:
        if self.landmark is None:
            self.landmark = at
        exponent = (at - self.landmark) / self.half_life_ms
        if exponent > _RESCALE_EXPONENT:
            self._rescale(2.0**-exponent)
            self.landmark = at
            exponent = 0.0
        return float(2.0**exponent)

    def current(self, stored: float, at: int) -> float:
        """A stored weight as its decayed value at time `at`."""
        if self.landmark is None:
            return 0.0
        return float(stored * 2.0 ** ((self.landmark - at) / self.half_life_ms))

    def _rescale(self, factor: float) -> None:
        for row in self.rows.values():
            for key in row:
                row[key] *= factor
        for key in self.mass:
            self.mass[key] *= factor

    def add(self, a: str, b: str, amount: float, cap: int) -> None:
        row = self.rows.setdefault(a, {})
        row[b] = row.get(b, 0.0) + amount
        if len(row) > 2 * cap:
            # amortised top-K: prune to `cap` once the row doubles
            kept = heapq.nlargest(cap, row.items(), key=lambda kv: (kv[1], kv[0]))
            self.rows[a] = dict(kept)

    def add_mass(self, a: str, amount: float) -> None:
        self.mass[a] = self.mass.get(a, 0.0) + amount

    def bound(self, max_rows: int) -> None:
        if len(self.mass) <= max_rows:
            return
        keep = max_rows * 9 // 10
        kept = set(heapq.nlargest(keep, self.mass, key=lambda k: (self.mass[k], k)))
        self.mass = {k: v for k, v in self.mass.items() if k in kept}
        self.rows = {k: v for k, v in self.rows.items() if k in kept}

    def to_json(self) -> dict[str, Any]:
        return {"landmark": self.landmark, "rows": self.rows, "mass": self.mass}

    @classmethod
    def from_json(cls, half_life_ms: int, data: Mapping[str, Any]) -> Decayed:
        return cls(
            half_life_ms=half_life_ms,
            landmark=data["landmark"],
            rows={k: dict(v) for k, v in data["rows"].items()},
            mass=dict(data["mass"]),
        )


# --- the model --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scored:
    """A ranked list with its probability mass and the history item that explains its top."""

    ids: list[str]
    probability: float
    evidence: float
    because: str | None


@dataclass(slots=True)
class Mixture:
    """P(next = j) as a recency-weighted mixture of the history's co-occurrence rows."""

    scores: dict[str, float] = field(default_factory=dict)
    sources: list[tuple[str, float]] = field(default_factory=list)
    """(history product, its mixture weight divided by its row mass)."""
    evidence: float = 0.0
    """Mixture-weighted row mass, in stored (forward-decayed) units."""


def _rec_id(source_event_id: str, kind: str) -> str:
    digest = hashlib.blake2b(f"{source_event_id}:{kind}".encode(), digest_size=16).hexdigest()
    return f"rec_{digest}"


def _shrunk(probability: float, evidence: float, prior: float) -> float:
    return max(0.0, min(1.0, probability)) * evidence / (evidence + prior)


@dataclass(slots=True)
class RecommenderState:
    """The whole recommender model; `observe` is its only mutator besides the catalog."""

    config: RecommenderConfig = field(default_factory=RecommenderConfig)
    cooc: Decayed = field(init=False)
    together: Decayed = field(init=False)
    popularity: Decayed = field(init=False)
    shoppers: OrderedDict[str, Shopper] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self.cooc = Decayed(self.config.half_life_ms)
        self.together = Decayed(self.config.half_life_ms)
        self.popularity = Decayed(self.config.trending_half_life_ms)

    # -- serialisation

    def to_json(self) -> dict[str, Any]:
        return {
            "cooc": self.cooc.to_json(),
            "together": self.together.to_json(),
            "popularity": self.popularity.to_json(),
            "shoppers": [[key, s.to_json()] for key, s in self.shoppers.items()],
        }

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], config: RecommenderConfig | None = None
    ) -> RecommenderState:
        state = cls(config or RecommenderConfig())
        state.cooc = Decayed.from_json(state.config.half_life_ms, data["cooc"])
        state.together = Decayed.from_json(state.config.half_life_ms, data["together"])
        state.popularity = Decayed.from_json(state.config.trending_half_life_ms, data["popularity"])
        state.shoppers = OrderedDict((k, Shopper.from_json(v)) for k, v in data["shoppers"])
        return state

    # -- events in, recommendations out

    def observe(self, event: BaseEvent, catalog: Catalog, at: int) -> list[Recommendation]:
        """Learn from one shopper event at event time `at`; the recommendations whose list
        changed because of it."""
        key = event_key(event)
        if key is None:
            return []
        if isinstance(event, CartMerged):
            self._merge(event.from_session_id, key)
        shopper = self._shopper(key)
        shopper.session_id = event.session_id or shopper.session_id
        shopper.user_id = event.user_id or shopper.user_id
        added: str | None = None
        if isinstance(event, ProductView | ProductClick):
            self._touch(shopper, event.product_id, "view", at)
        elif isinstance(event, AddToCart):
            self._touch(shopper, event.product_id, "cart", at)
            shopper.cart.add(event.product_id)
            added = event.product_id
        elif isinstance(event, RemoveFromCart):
            shopper.cart.discard(event.product_id)
        elif isinstance(event, CartCleared):
            shopper.cart.clear()
        elif isinstance(event, CartMerged):
            shopper.cart.update(line.product_id for line in event.lines)
        elif isinstance(event, OrderPlaced):
            self._order(shopper, [line.product_id for line in event.lines], at)
        else:
            return []
        return self._emit(event, shopper, catalog, added, at)

    def recommend(self, key: str, catalog: Catalog, at: int) -> tuple[RecommendationKind, Scored]:
        """The shopper's current main list: PERSONAL, or TRENDING when evidence is missing."""
        return self._main_list(self.shoppers.get(key) or Shopper(), catalog, at)

    # -- learning

    def _shopper(self, key: str) -> Shopper:
        shopper = self.shoppers.get(key)
        if shopper is None:
            shopper = self.shoppers[key] = Shopper()
            if len(self.shoppers) > self.config.max_shoppers:
                self.shoppers.popitem(last=False)
        else:
            self.shoppers.move_to_end(key)
        return shopper

    def _merge(self, from_key: str, into_key: str) -> None:
        if from_key == into_key:
            return
        source = self.shoppers.pop(from_key, None)
        if source is None:
            return
        target = self._shopper(into_key)
        for pid, touch in source.history.items():
            if pid not in target.history or target.history[pid].at < touch.at:
                target.history[pid] = touch
        merged = sorted(target.history.items(), key=lambda kv: kv[1].at)
        target.history = dict(merged[-self.config.history_size :])
        bought = [p for p in target.bought if p not in source.bought] + source.bought
        target.bought = bought[-self.config.bought_size :]

    def _weight(self, action: str) -> float:
        cfg = self.config
        return {"view": cfg.view_weight, "cart": cfg.cart_weight}.get(action, cfg.purchase_weight)

    def _touch(self, shopper: Shopper, pid: str, action: str, at: int) -> None:
        cfg = self.config
        weight = self._weight(action)
        boost = self.cooc.boost(at)
        self.popularity.add_mass(pid, weight * self.popularity.boost(at))
        old = shopper.history.pop(pid, None)
        old_weight = old.weight if old else 0.0
        new_weight = max(old_weight, weight)
        growth = math.sqrt(new_weight) - math.sqrt(old_weight)
        if growth > 0:
            for other, touch in shopper.history.items():
                if at - touch.at > cfg.pair_window_ms:
                    continue
                amount = growth * math.sqrt(touch.weight) * boost
                self.cooc.add(pid, other, amount, cfg.neighbours)
                self.cooc.add(other, pid, amount, cfg.neighbours)
                self.cooc.add_mass(pid, amount)
                self.cooc.add_mass(other, amount)
        strongest = old.action if old and old.weight >= weight else action
        shopper.history[pid] = Touch(strongest, new_weight, at)
        if len(shopper.history) > cfg.history_size:
            del shopper.history[next(iter(shopper.history))]
        self.cooc.bound(cfg.max_items)
        self.popularity.bound(cfg.max_items)

    def _order(self, shopper: Shopper, lines: list[str], at: int) -> None:
        cfg = self.config
        products = list(dict.fromkeys(lines))
        for pid in products:
            self._touch(shopper, pid, "purchase", at)
        boost = self.together.boost(at)
        for pid in products:
            self.together.add_mass(pid, boost)
            for other in products:
                if other != pid:
                    self.together.add(pid, other, boost, cfg.neighbours)
        self.together.bound(cfg.max_items)
        shopper.cart.clear()
        shopper.bought = [p for p in shopper.bought if p not in products] + products
        del shopper.bought[: -cfg.bought_size]

    # -- scoring

    def _excluded(self, shopper: Shopper, catalog: Catalog, pid: str) -> bool:
        return pid in shopper.cart or pid in shopper.bought or not catalog.recommendable(pid)

    def _mixture(self, shopper: Shopper) -> Mixture:
        weights: list[tuple[str, float]] = []
        factor = 1.0
        for pid in list(reversed(shopper.history))[: self.config.context_size]:
            if self.cooc.mass.get(pid, 0.0) > 0:
                weights.append((pid, factor * shopper.history[pid].weight))
            factor *= self.config.recency_factor
        total = sum(w for _, w in weights)
        mixture = Mixture()
        scores = mixture.scores
        for pid, weight in weights:
            mass = self.cooc.mass[pid]
            mixture.evidence += weight / total * mass
            share = weight / total / mass
            mixture.sources.append((pid, share))
            for other, value in self.cooc.rows.get(pid, {}).items():
                scores[other] = scores.get(other, 0.0) + share * value
        return mixture

    def _because(self, mixture: Mixture, target: str) -> str | None:
        """The history product contributing most to `target`'s score."""
        best = max(
            mixture.sources,
            key=lambda src: src[1] * self.cooc.rows.get(src[0], {}).get(target, 0.0),
            default=None,
        )
        return best[0] if best else None

    def _personal(self, shopper: Shopper, catalog: Catalog, at: int) -> Scored:
        mixture = self._mixture(shopper)
        scores = mixture.scores
        considered = sum(
            s
            for pid, s in scores.items()
            if pid in shopper.history or pid in shopper.cart or pid in shopper.bought
        )
        top: list[tuple[str, float]] = []
        # checking exclusions best-first touches only a little more than the list size
        for pid, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
            if pid not in shopper.history and not self._excluded(shopper, catalog, pid):
                top.append((pid, score))
                if len(top) == self.config.list_size:
                    break
        ids = [pid for pid, _ in top]
        # the list is for discovery, so its probability is conditional on a new product
        return Scored(
            ids=ids,
            probability=sum(s for _, s in top) / max(1e-12, 1.0 - considered),
            evidence=self.cooc.current(mixture.evidence, at),
            because=self._because(mixture, ids[0]) if ids else None,
        )

    def _trending(self, shopper: Shopper, catalog: Catalog, at: int) -> Scored:
        last = next(reversed(shopper.history), None) if shopper.history else None
        category = home = catalog.category(last) if last else None
        pool = self.popularity.mass

        def eligible(pid: str) -> bool:
            if pid in shopper.history or self._excluded(shopper, catalog, pid):
                return False
            return category is None or catalog.category(pid) == category

        top = heapq.nlargest(
            self.config.list_size,
            ((pid, s) for pid, s in pool.items() if eligible(pid)),
            key=lambda kv: (kv[1], kv[0]),
        )
        if not top and category is not None:
            category = None
            top = heapq.nlargest(
                self.config.list_size,
                ((pid, s) for pid, s in pool.items() if eligible(pid)),
                key=lambda kv: (kv[1], kv[0]),
            )
        total = sum(pool.values())
        ids = [pid for pid, _ in top]
        if len(ids) < self.config.list_size:
            # a shop with little traffic yet: fill up from the catalog, so a first visitor
            # still gets a list (these add nothing to the confidence)
            chosen = set(ids)
            fillers = sorted(
                (pid for pid, _ in catalog.products() if pid not in chosen),
                key=lambda pid: (catalog.category(pid) != home, pid),
            )
            ids += [pid for pid in fillers if eligible(pid)][: self.config.list_size - len(ids)]
        return Scored(
            ids=ids,
            probability=sum(s for _, s in top) / total if total else 0.0,
            evidence=self.popularity.current(total, at),
            because=category,
        )

    def _bought_together(self, shopper: Shopper, catalog: Catalog, anchor: str, at: int) -> Scored:
        row = self.together.rows.get(anchor, {})
        mass = self.together.mass.get(anchor, 0.0)
        top = heapq.nlargest(
            self.config.bought_together_size,
            ((pid, s) for pid, s in row.items() if not self._excluded(shopper, catalog, pid)),
            key=lambda kv: (kv[1], kv[0]),
        )
        return Scored(
            ids=[pid for pid, _ in top],
            probability=sum(s for _, s in top) / mass if mass else 0.0,
            evidence=self.together.current(mass, at),
            because=anchor,
        )

    def _next_best_offer(self, shopper: Shopper, catalog: Catalog, at: int) -> Scored:
        mixture = self._mixture(shopper)
        scores = mixture.scores
        evidence = self.cooc.current(mixture.evidence, at)
        anchors = sorted(shopper.cart)
        for anchor in anchors:
            mass = self.together.mass.get(anchor, 0.0)
            evidence += self.together.current(mass, at) / len(anchors)
            for pid, value in self.together.rows.get(anchor, {}).items():
                scores[pid] = scores.get(pid, 0.0) + value / mass / len(anchors)
        best: tuple[str, float, float] | None = None
        for pid, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
            if best is not None and 2.0 * score <= best[1]:
                break  # a discount at most doubles a score: nothing further down can win
            if pid in shopper.history or self._excluded(shopper, catalog, pid):
                continue
            adjusted = score * (1.0 + catalog.discount(pid))
            if best is None or adjusted > best[1]:
                best = (pid, adjusted, score)
        if best is not None:
            pid, _, probability = best
            together = max(
                anchors, key=lambda a: self.together.rows.get(a, {}).get(pid, 0.0), default=None
            )
            if together is not None and self.together.rows.get(together, {}).get(pid):
                return Scored([pid], probability, evidence, together)
            return Scored([pid], probability, evidence, self._because(mixture, pid))
        return self._discounted_in_favourite_category(shopper, catalog)

    def _discounted_in_favourite_category(self, shopper: Shopper, catalog: Catalog) -> Scored:
        affinity: dict[str, float] = {}
        for pid, touch in shopper.history.items():
            category = catalog.category(pid)
            if category is not None:
                affinity[category] = affinity.get(category, 0.0) + touch.weight
        if not affinity:
            return Scored([], 0.0, 0.0, None)
        favourite = max(affinity, key=lambda c: (affinity[c], c))
        in_category = [
            pid for pid, entry in catalog.products() if entry.get("category") == favourite
        ]
        offers = [
            (catalog.discount(pid), pid)
            for pid in in_category
            if catalog.discount(pid) > 0
            and pid not in shopper.history
            and not self._excluded(shopper, catalog, pid)
        ]
        if not offers:
            return Scored([], 0.0, 0.0, None)
        _, pid = max(offers)
        share = affinity[favourite] / sum(affinity.values())
        return Scored([pid], share / len(in_category), sum(affinity.values()), favourite)

    # -- output

    def _emit(
        self, event: BaseEvent, shopper: Shopper, catalog: Catalog, added: str | None, at: int
    ) -> list[Recommendation]:
        out: list[tuple[RecommendationKind, Scored, str]] = []
        kind, main = self._main_list(shopper, catalog, at)
        out.append((kind, main, self._reason(kind, main, shopper, catalog)))
        if added is not None:
            together = self._bought_together(shopper, catalog, added, at)
            reason = f"Often bought with {catalog.name(added)}"
            out.append(("BOUGHT_TOGETHER", together, reason))
        if added is not None or isinstance(event, OrderPlaced):
            offer = self._next_best_offer(shopper, catalog, at)
            out.append(("NEXT_BEST_OFFER", offer, self._offer_reason(offer, catalog)))
        recommendations = []
        for kind, scored, reason in out:
            # PERSONAL and TRENDING share one slot: the shopper's main list
            slot = "MAIN" if kind in ("PERSONAL", "TRENDING") else kind
            if not scored.ids or shopper.last.get(slot) == scored.ids:
                continue
            shopper.last[slot] = scored.ids
            recommendations.append(
                Recommendation(
                    event_id=_rec_id(event.event_id, kind),
                    timestamp=at,
                    session_id=shopper.session_id,
                    user_id=shopper.user_id,
                    product_ids=tuple(scored.ids),
                    confidence=self.confidence(scored),
                    reason=reason[:300],
                    kind=kind,
                )
            )
        return recommendations

    def confidence(self, scored: Scored) -> float:
        """The documented confidence of a list (module docstring), rounded to 4 places."""
        return round(_shrunk(scored.probability, scored.evidence, self.config.evidence_prior), 4)

    def _main_list(
        self, shopper: Shopper, catalog: Catalog, at: int
    ) -> tuple[RecommendationKind, Scored]:
        personal = self._personal(shopper, catalog, at)
        if personal.ids:
            return "PERSONAL", personal
        return "TRENDING", self._trending(shopper, catalog, at)

    def _reason(
        self, kind: RecommendationKind, scored: Scored, shopper: Shopper, catalog: Catalog
    ) -> str:
        if kind == "TRENDING":
            return f"Trending in {scored.because}" if scored.because else "Trending now"
        because = scored.because or ""
        touch = shopper.history.get(because)
        verb = _VERBS[touch.action] if touch else "viewed"
        suffix = " to your cart" if verb == "added" else ""
        return f"Because you {verb} {catalog.name(because)}{suffix}"

    @staticmethod
    def _offer_reason(offer: Scored, catalog: Catalog) -> str:
        if not offer.ids:
            return ""
        discount = catalog.discount(offer.ids[0])
        sale = f"{round(discount * 100)}% off: " if discount > 0 else ""
        if offer.because is not None and catalog.category(offer.because) is not None:
            text = f"{sale}goes well with {catalog.name(offer.because)}"
        else:
            text = f"{sale}on sale in {offer.because}"
        return text[0].upper() + text[1:]
