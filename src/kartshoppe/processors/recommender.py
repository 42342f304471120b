"""The recommendation algorithm: online item-to-item co-occurrence in three keyed stages.

No I/O and no runner knowledge; every function is pure over its arguments. The model is split
so that no state lives under one global key:

1. **Shopper stage, keyed by shopper** (user id, else session id): `ShopperState` holds the
   shopper's recent products, cart, purchases and what was last sent. `ShopperState.observe`
   folds one shopper event in and returns the `ProductDelta`s it causes: the co-occurrence
   evidence the event adds, one delta per product whose row changes.
2. **Product stage, keyed by product**: `ProductState` holds one product's co-occurrence row
   (with every product seen near it), its "bought together" row and its decayed popularity.
   `ProductState.apply` adds a delta; `ProductState.entry` is the product's published
   neighbour list: its top `neighbours` neighbours and masses, a small JSON value that others
   read as a table (`NeighbourTable`).
3. **List assembly, keyed by shopper**: `assemble` builds a shopper's lists from the shopper's
   state and the neighbour table.
`recommendations` runs them as keyed stages of their own (and calibrates in two more);
`RecommenderState` composes the three in one process (a dict per stage), as the model's unit
tests drive it.

How it learns
- Every interaction carries a weight: view or click 1, cart add 3, purchase 5.
- A product the shopper turns to co-occurs with each of the shopper's previous `pair_span`
  (30) distinct products touched within `pair_window_ms` (30 days), with strength
  sqrt(w_a * w_b) / d ** `distance_decay`, d the distance in the shopper's sequence (1 for the
  product just before). The shipped `distance_decay` is 0: every product in the span counts the
  same, as in item-kNN's co-occurrence. Measured on MovieLens 100K, SR-style decay (1: what came
  right before counts most) lost to item-kNN on the last-item protocol, because it throws away
  most of the evidence shoppers share; 0 beats item-kNN on both protocols and keeps the
  simulator's score (`bench/results/recommendations.md`). The order still counts through the
  span, the window and the recency weights of the context (below). The row of the earlier
  product gets the full amount (it was followed by the new one); the row of the new one
  `backward_weight` (1.0) times it. Only the growth of an
  interaction's weight counts (view -> cart adds the difference), so a redelivered or repeated
  event adds nothing.
- Products of one order also feed the "bought together" rows.
- Evidence decays with half-life `half_life_ms` (90 days; popularity for TRENDING
  `trending_half_life_ms`, 6 hours), by forward decay: values are stored multiplied by
  2^((t - landmark) / half_life) against each product's own landmark, read back only at or
  after the latest time the product saw (`ProductState.clock`), so every exponent is <= 0 and
  no timestamp, 0 or far in the future, early or late, can overflow. An event far ahead moves
  the landmark and rescales the row (old evidence may underflow to 0, which is what its age
  means).

How it recommends. Nothing the shopper already has is offered: products in the cart, the last
`bought_size` (100) purchases, and every product the shopper interacted with in the last
`exclude_for_ms` (30 days, up to `seen_size` = 500 products). Out-of-stock and unknown
products are left out too.
- PERSONAL: candidates j scored by sum over the shopper's last `context_size` (8) products c
  (the latest weight 1, each older `recency_factor` (0.4) times that, times the action weight)
  of c(c, j) / sqrt(m_c * m_j), m the row masses (a cosine over the co-occurrence evidence).
  Reason: "Because you viewed <the context product contributing most to the whole list>".
- BOUGHT_TOGETHER (on cart add): the products most often in the same order as the product
  added; reason "Often bought with <name>".
- NEXT_BEST_OFFER (on cart add and order): the best-scored product the shopper has not
  considered, favouring discounts (score x (1 + discount)); failing evidence, the most
  discounted product in the shopper's favourite category.
- TRENDING: when co-occurrence gives fewer than `list_size` products, the list is filled with
  what is popular (decayed) in the category of the product just touched, then overall, then
  from the catalog; a list of only those is TRENDING ("Trending in <category>").
A recommendation is emitted only when its list changed (PERSONAL and TRENDING share the
shopper's main list).

Confidence is the probability that the shopper's next new product is on the main list. The
model's estimate (`estimate`: the share of the context rows' mass the listed products hold,
P(next = j) as a recency-weighted mixture of each context product's row, renormalised over the
products still open to the shopper, times m / (m + `evidence_prior`) for the evidence mass m)
picks a cell (kind and band of the estimate); `Calibration` learns online how often lists of
each cell were hit by the next new product the shopper turned to, and the confidence is that
hit rate, smoothed towards the kind's overall hit rate while the cell has few outcomes (and that
towards the estimate while the kind has few). It is not forced to rise with the estimate: on
real data the highest estimates (thin evidence) hit less often than middling ones.
BOUGHT_TOGETHER and NEXT_BEST_OFFER report the estimate.
`bench/results/recommendations.md` shows reliability tables on the simulator and on real data.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from itertools import islice
from operator import truediv
from typing import Any, Final, Protocol

import orjson

from kartshoppe.events import (
    CATALOG_EVENTS,
    SCHEMA_VERSION,
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
    RelatedProducts,
    RemoveFromCart,
    event_key,
    json_number,
)
from kartshoppe.processors.model import (
    OUTPUT_ID,
    CatalogEntry,
    TableView,
    apply_catalog_event,
    catalog_entry,
    iter_catalog,
)
from kartshoppe.processors.ranking import RisingTop

DAY_MS: Final = 24 * 3600 * 1000
HOUR_MS: Final = 3600 * 1000
_RESCALE_EXPONENT: Final = 400.0
"""Move a landmark before 2**exponent nears the float range (about 2**1023)."""

_VERBS: Final[Mapping[str, str]] = {"view": "viewed", "cart": "added", "purchase": "bought"}


@dataclass(frozen=True, slots=True)
class RecommenderConfig:
    view_weight: float = 1.0
    cart_weight: float = 3.0
    purchase_weight: float = 5.0
    half_life_ms: int = 90 * DAY_MS
    trending_half_life_ms: int = 6 * HOUR_MS
    history_size: int = 30
    pair_span: int = 30
    pair_window_ms: int = 30 * DAY_MS
    distance_decay: float = 0.0
    backward_weight: float = 1.0
    recency_factor: float = 0.4
    context_size: int = 8
    neighbours: int = 50
    row_size: int = 200
    exclude_for_ms: int = 30 * DAY_MS
    seen_size: int = 500
    bought_size: int = 100
    list_size: int = 10
    bought_together_size: int = 4
    shopper_state_ttl_ms: int | None = None
    """The shopper-keyed stages forget a shopper idle this long (`Stage.state_ttl_ms`)."""
    evidence_prior: float = 2.0
    related_size: int = 8
    """Length of each product's published related lists (`RELATED_PRODUCTS`)."""
    window_ms: int = 100
    """The staged processor's unit of event time (`recommendations`): a product's rows take
    the evidence of one window at its end and publish once, a shopper's lists are assembled
    once, after the shopper's last event of the window. 1 assembles after every event."""


def window_end(at: int, window_ms: int) -> int:
    """The end of the window of event time `at` falls in: windows are aligned to time 0, so
    every stage and runner cuts the same ones."""
    return (at // window_ms + 1) * window_ms


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
        entry = self.entries.get(product_id) or {}  # `catalog_entry`, a call less per candidate
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


# --- stage 1: the shopper ---------------------------------------------------------------------


@dataclass(slots=True)
class Touch:
    """A product in a shopper's history: strongest action so far and when it was last seen."""

    action: str
    weight: float
    at: int


@dataclass(slots=True)
class ProductDelta:
    """Evidence for one product's row, caused by one shopper event (stage 1 -> stage 2)."""

    product: str
    at: int
    pairs: dict[str, float] = field(default_factory=dict)
    together: dict[str, float] = field(default_factory=dict)
    popularity: float = 0.0
    orders: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "p": self.product,
            "at": self.at,
            "c": self.pairs,
            "t": self.together,
            "w": self.popularity,
            "o": self.orders,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProductDelta:
        return cls(data["p"], data["at"], dict(data["c"]), dict(data["t"]), data["w"], data["o"])


@dataclass(frozen=True, slots=True)
class ShopperAction:
    """What the shopper stage takes of a shopper event: small enough to hand on between stages
    (a signed-in shopper's events go on to the user stage as this, not as the whole event)."""

    kind: str
    """view, cart (added), uncart (removed), clear, merge (signed in, the cart's lines), order"""
    products: tuple[str, ...]
    session_id: str | None = None
    user_id: str | None = None

    @classmethod
    def of(cls, event: BaseEvent) -> ShopperAction | None:
        """The action of a shopper event; None for any other event."""
        who = (event.session_id, event.user_id)
        if isinstance(event, ProductView | ProductClick):
            return cls("view", (event.product_id,), *who)
        if isinstance(event, AddToCart):
            return cls("cart", (event.product_id,), *who)
        if isinstance(event, RemoveFromCart):
            return cls("uncart", (event.product_id,), *who)
        if isinstance(event, CartCleared):
            return cls("clear", (), *who)
        if isinstance(event, CartMerged):
            return cls("merge", tuple(line.product_id for line in event.lines), *who)
        if isinstance(event, OrderPlaced):
            return cls("order", tuple(line.product_id for line in event.lines), *who)
        return None

    def to_json(self) -> list[Any]:
        return [self.kind, list(self.products), self.session_id, self.user_id]

    @classmethod
    def from_json(cls, data: list[Any]) -> ShopperAction:
        kind, products, session_id, user_id = data
        return cls(kind, tuple(products), session_id, user_id)


@dataclass(slots=True)
class ShopperState:
    session_id: str | None = None
    user_id: str | None = None
    history: dict[str, Touch] = field(default_factory=dict)
    """The last `history_size` products; insertion order is recency order."""
    seen: dict[str, int] = field(default_factory=dict)
    """Every product touched (last time), for the exclusion window; insertion order = recency."""
    cart: set[str] = field(default_factory=set)
    bought: list[str] = field(default_factory=list)
    last: dict[str, list[str]] = field(default_factory=dict)
    """The last list emitted per slot, so that an unchanged list is not sent again."""
    shown: str | None = None
    """The calibration cell (`Calibration.cell`) of the main list last emitted."""
    shown_at: int | None = None
    """When that list was emitted: an event of the same millisecond does not count as its
    outcome (the stages build a window's lists on a table holding all its events)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "s": self.session_id,
            "u": self.user_id,
            "h": [[pid, t.action, t.weight, t.at] for pid, t in self.history.items()],
            # {pid: at} in recency order (a copy in C: up to 500 products, and the list stage's
            # trigger carries one per shopper event); states written before were [[pid, at]]
            "v": dict(self.seen),
            "c": sorted(self.cart),
            "b": self.bought,
            "l": self.last,
            "k": self.shown,
            "kt": self.shown_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShopperState:
        return cls(
            session_id=data["s"],
            user_id=data["u"],
            history={pid: Touch(action, weight, at) for pid, action, weight, at in data["h"]},
            seen=dict(data["v"]),
            cart=set(data["c"]),
            bought=list(data["b"]),
            last={kind: list(ids) for kind, ids in data["l"].items()},
            shown=data["k"],
            shown_at=data.get("kt"),
        )

    def has(self, pid: str, at: int, config: RecommenderConfig) -> bool:
        """Whether the shopper already has `pid`: in the cart, bought, or touched recently."""
        if pid in self.cart or pid in self.bought:
            return True
        touched = self.seen.get(pid)
        return touched is not None and at - touched <= config.exclude_for_ms

    def split(
        self, scores: Mapping[str, float], at: int, config: RecommenderConfig
    ) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
        """The candidates as (-score, id), those the shopper has (`has`) or has in the history,
        and the others: `has` for many candidates at once."""
        seen = self.seen
        since = at - config.exclude_for_ms
        # set operations in C over the candidates (a hundred or more a list)
        shut = scores.keys() & (self.cart | self.history.keys() | set(self.bought))
        shut.update(pid for pid in scores.keys() & seen.keys() if seen[pid] >= since)
        closed = [(-scores[pid], pid) for pid in shut]
        still_open = [(-score, pid) for pid, score in scores.items() if pid not in shut]
        return closed, still_open

    def new_product(self, action: ShopperAction, at: int, config: RecommenderConfig) -> str | None:
        """The product a view, click or cart add turns to, if it is new to the shopper (lists
        never offer the others): what tells whether the main list last shown was hit."""
        if action.kind not in ("view", "cart"):
            return None
        pid = action.products[0]
        return None if pid in self.history or self.has(pid, at, config) else pid

    def merge(self, other: ShopperState, config: RecommenderConfig) -> None:
        """Take over an anonymous session's history, cart and purchases (signing in)."""
        merged = sorted([*self.history.items(), *other.history.items()], key=lambda kv: kv[1].at)
        self.history = dict(merged[-config.history_size :])
        seen = sorted([*self.seen.items(), *other.seen.items()], key=lambda kv: kv[1])
        self.seen = dict(seen[-config.seen_size :])
        self.cart |= other.cart
        bought = [p for p in self.bought if p not in other.bought] + other.bought
        self.bought = bought[-config.bought_size :]

    def is_empty(self) -> bool:
        return not (self.history or self.seen or self.cart or self.bought)

    def observe(
        self, action: ShopperAction, at: int, config: RecommenderConfig
    ) -> list[ProductDelta]:
        """Fold a shopper's action in; the evidence it adds to product rows."""
        deltas: dict[str, ProductDelta] = {}
        kind, products = action.kind, action.products
        self.session_id = action.session_id or self.session_id
        self.user_id = action.user_id or self.user_id
        if kind == "view":
            self._touch(products[0], "view", at, config, deltas)
        elif kind == "cart":
            self._touch(products[0], "cart", at, config, deltas)
            self.cart.add(products[0])
        elif kind == "uncart":
            self.cart.discard(products[0])
        elif kind == "clear":
            self.cart.clear()
        elif kind == "merge":
            self.cart.update(products)
        elif kind == "order":
            self._order(list(products), at, config, deltas)
        return list(deltas.values())

    def _delta(self, deltas: dict[str, ProductDelta], pid: str, at: int) -> ProductDelta:
        delta = deltas.get(pid)
        if delta is None:
            delta = deltas[pid] = ProductDelta(pid, at)
        return delta

    def _touch(
        self,
        pid: str,
        action: str,
        at: int,
        config: RecommenderConfig,
        deltas: dict[str, ProductDelta],
    ) -> None:
        weight = _weight(action, config)
        old = self.history.pop(pid, None)
        old_weight = old.weight if old else 0.0
        new_weight = max(old_weight, weight)
        self._delta(deltas, pid, at).popularity += weight
        growth = math.sqrt(new_weight) - math.sqrt(old_weight)
        if growth > 0:
            span = list(reversed(self.history.items()))[: config.pair_span]
            for distance, (other, touch) in enumerate(span, start=1):
                if abs(at - touch.at) > config.pair_window_ms:
                    continue
                amount = growth * math.sqrt(touch.weight) / distance**config.distance_decay
                forward = self._delta(deltas, other, at).pairs
                forward[pid] = forward.get(pid, 0.0) + amount
                backward = self._delta(deltas, pid, at).pairs
                backward[other] = backward.get(other, 0.0) + amount * config.backward_weight
        strongest = old.action if old and old.weight >= weight else action
        self.history[pid] = Touch(strongest, new_weight, max(at, old.at if old else at))
        if len(self.history) > config.history_size:
            del self.history[next(iter(self.history))]
        self.seen.pop(pid, None)
        self.seen[pid] = at
        if len(self.seen) > config.seen_size:
            del self.seen[next(iter(self.seen))]

    def _order(
        self, lines: list[str], at: int, config: RecommenderConfig, deltas: dict[str, ProductDelta]
    ) -> None:
        products = list(dict.fromkeys(lines))
        for pid in products:
            self._touch(pid, "purchase", at, config, deltas)
        fresh = [p for p in products if p not in self.bought]
        for pid in fresh:
            delta = self._delta(deltas, pid, at)
            delta.orders += 1
            for other in products:
                if other != pid:
                    delta.together[other] = delta.together.get(other, 0.0) + 1.0
        self.cart.clear()
        self.bought = [p for p in self.bought if p not in products] + products
        del self.bought[: -config.bought_size]


def _weight(action: str, config: RecommenderConfig) -> float:
    if action == "view":
        return config.view_weight
    return config.cart_weight if action == "cart" else config.purchase_weight


# --- stage 2: the product ---------------------------------------------------------------------


def _factor(exponent: float) -> float:
    """2**exponent for exponent <= 0, never raising (tiny values underflow to 0)."""
    return 0.0 if exponent < -1074 else float(2.0 ** min(0.0, exponent))


@dataclass(slots=True)
class Decaying:
    """Forward-decayed values against one landmark, read back at or after `clock`."""

    half_life_ms: int
    landmark: int | None = None
    clock: int = 0
    """The latest event time applied: values are read as of max(at, clock)."""
    values: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    ranking: RisingTop | None = field(default=None, compare=False, repr=False)
    """The keys `top` returned last, kept up as `add_all` raises keys (not serialised)."""
    scaled: dict[str, float] | None = field(default=None, compare=False, repr=False)
    """What `scaled_top` returned last, until a value, the clock or the landmark changes (not
    serialised): a product's bought-together row is published unchanged with every co-view."""

    def scale_in(self, at: int) -> float:
        """The stored weight of one unit of evidence at time `at` (moves the landmark ahead
        when `at` is far past it)."""
        if self.landmark is None:
            self.landmark = at
        self.clock = max(self.clock, at)
        self.scaled = None
        exponent = (at - self.landmark) / self.half_life_ms
        if exponent > _RESCALE_EXPONENT:
            factor = _factor(-exponent)
            self.values = {k: v * factor for k, v in self.values.items() if v * factor > 0}
            self.total *= factor
            self.landmark = at
            self._forget_ranking()  # rounding may have made values equal
            exponent = 0.0
        return _factor(exponent) if exponent <= 0 else float(2.0**exponent)

    def scale_out(self, at: int) -> float:
        """The factor turning stored values into their decayed value now."""
        if self.landmark is None:
            return 0.0
        return _factor((self.landmark - max(at, self.clock)) / self.half_life_ms)

    def add_all(self, amounts: Mapping[str, float], scale: float, to_total: bool) -> None:
        """Add each amount times `scale` to its key (and to `total` if `to_total`). Amounts
        are never negative, so a key only rises (what `top` relies on)."""
        values, total = self.values, self.total
        for key, amount in amounts.items():
            scaled = amount * scale
            values[key] = values.get(key, 0.0) + scaled
            if to_total:
                total += scaled
        self.total = total
        self.scaled = None
        if self.ranking is not None:
            self.ranking.raised(amounts)

    def prune(self, cap: int) -> None:
        if len(self.values) > 2 * cap:
            # amortised top-K: prune to `cap` once the row doubles (the total keeps it all)
            kept = heapq.nlargest(cap, self.values.items(), key=lambda kv: (kv[1], kv[0]))
            self.values = dict(kept)
            self._forget_ranking()

    def _forget_ranking(self) -> None:
        self.ranking, self.scaled = None, None

    def scaled_top(self, size: int) -> dict[str, float]:
        """The `size` largest values (`top`), decayed to `clock` (a published row)."""
        scaled = self.scaled
        if scaled is None or self.ranking is None or self.ranking.size != size:
            c = self.scale_out(self.clock)
            values = self.values
            scaled = self.scaled = {key: values[key] * c for key in self.top(size)}
        return scaled

    def top(self, size: int) -> list[str]:
        """The keys of the `size` largest values, largest first, ties in insertion order
        (which the JSON state keeps too, so the order is the same after a restart): values
        only rise between calls (`add_all`), so the last top is kept (`RisingTop`)."""
        ranking = self.ranking
        if ranking is None or ranking.size != size:
            ranking = self.ranking = RisingTop(self.values, size)
        return ranking.top()

    def to_json(self) -> list[Any]:
        return [self.landmark, self.clock, self.values, self.total]

    @classmethod
    def from_json(cls, half_life_ms: int, data: list[Any]) -> Decaying:
        landmark, clock, values, total = data
        return cls(half_life_ms, landmark, clock, dict(values), total)


@dataclass(slots=True)
class ProductState:
    """One product's rows; `entry` is what it publishes to the neighbour table."""

    cooc: Decaying
    together: Decaying
    popularity: Decaying

    @classmethod
    def new(cls, config: RecommenderConfig) -> ProductState:
        return cls(
            Decaying(config.half_life_ms),
            Decaying(config.half_life_ms),
            Decaying(config.trending_half_life_ms),
        )

    def apply(self, delta: ProductDelta, config: RecommenderConfig) -> None:
        if delta.pairs:
            scale = self.cooc.scale_in(delta.at)
            self.cooc.add_all(delta.pairs, scale, to_total=True)
            self.cooc.prune(config.row_size)
        if delta.orders:
            scale = self.together.scale_in(delta.at)
            self.together.total += delta.orders * scale
            self.together.add_all(delta.together, scale, to_total=False)
            self.together.prune(config.row_size)
        if delta.popularity:
            self.popularity.total += delta.popularity * self.popularity.scale_in(delta.at)

    def mass(self) -> float:
        return self.cooc.total * self.cooc.scale_out(self.cooc.clock)

    def entry(self, config: RecommenderConfig) -> dict[str, Any]:
        """The published neighbour list, in decayed units as of the product's last change
        (`at`): mass `m`, neighbours `n`, orders `o` and bought-together `t`, popularity `p`."""
        c = self.cooc.scale_out(self.cooc.clock)
        t = self.together.scale_out(self.together.clock)
        return {
            "m": self.cooc.total * c,
            "n": self.cooc.scaled_top(config.neighbours),
            "o": self.together.total * t,
            "t": self.together.scaled_top(config.neighbours),
            "p": self.popularity.total * self.popularity.scale_out(self.popularity.clock),
            "pc": self.popularity.clock,
            "at": max(self.cooc.clock, self.together.clock, self.popularity.clock),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "c": self.cooc.to_json(),
            "t": self.together.to_json(),
            "p": self.popularity.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], config: RecommenderConfig) -> ProductState:
        return cls(
            Decaying.from_json(config.half_life_ms, data["c"]),
            Decaying.from_json(config.half_life_ms, data["t"]),
            Decaying.from_json(config.trending_half_life_ms, data["p"]),
        )


# --- stage 3: the shopper's lists -------------------------------------------------------------


class NeighbourTable(Protocol):
    """Each product's published neighbour list (`ProductState.entry`), read by stage 3."""

    def get(self, pid: str) -> Mapping[str, Any] | None: ...

    def mass(self, pid: str) -> float:
        """The product's co-occurrence mass (`m` of its entry), 0 when unknown."""
        ...

    def masses(self, pids: Iterable[str]) -> list[float]:
        """`mass` of each of `pids`, in their order (the list stage asks for hundreds)."""
        ...

    def popularity(self) -> Iterator[tuple[str, float]]:
        """Every product's decayed popularity (`p` of its entry)."""
        ...


@dataclass(frozen=True, slots=True)
class PublishedTable:
    """The neighbour table as the product stage publishes it (`ProductState.entry` per product),
    read at event time `at`."""

    entries: Mapping[str, Any]
    at: int
    config: RecommenderConfig

    def get(self, pid: str) -> Mapping[str, Any] | None:
        entry: Mapping[str, Any] | None = self.entries.get(pid)
        return entry

    def mass(self, pid: str) -> float:
        entry = self.entries.get(pid)
        return float(entry["m"]) if entry else 0.0

    def masses(self, pids: Iterable[str]) -> list[float]:
        entries = self.entries
        if isinstance(entries, TableView):
            masses: list[float] = entries.fields(pids, "m", 0.0)
            return masses
        return [float(entry["m"]) if (entry := entries.get(pid)) else 0.0 for pid in pids]

    def popularity(self) -> Iterator[tuple[str, float]]:
        half_life = self.config.trending_half_life_ms
        entries = self.entries
        items = entries.snapshot().items() if isinstance(entries, TableView) else entries.items()
        for pid, entry in items:
            clock = entry["pc"]
            yield pid, entry["p"] * _factor((clock - max(self.at, clock)) / half_life)


@dataclass(frozen=True, slots=True)
class Scored:
    """A ranked list with its probability estimate, evidence mass and explanation."""

    ids: list[str]
    probability: float
    evidence: float
    because: str | None


@dataclass(slots=True)
class Mixture:
    scores: dict[str, float] = field(default_factory=dict)
    """Ranking score of each candidate (cosine-weighted)."""
    sources: list[tuple[str, float, Mapping[str, float]]] = field(default_factory=list)
    """(context product, its share / sqrt(its mass), its neighbours) to explain a list."""
    shares: list[float] = field(default_factory=list)
    """Each source's share / its mass: its weight in `probability`."""
    evidence: float = 0.0
    masses: dict[str, float] = field(default_factory=dict)

    def contribution(
        self, source: tuple[str, float, Mapping[str, float]], ids: list[str], roots: list[float]
    ) -> float:
        """What `source` adds to the scores of `ids`, `roots` the square roots of their masses
        (`roots_of`: computed once for all sources)."""
        _, weight, row = source
        get = row.get
        return sum(weight * get(pid, 0.0) / root for pid, root in zip(ids, roots, strict=True))

    def roots_of(self, ids: list[str]) -> list[float]:
        masses = self.masses
        return [math.sqrt(masses[pid]) for pid in ids]

    def probability(self, pid: str) -> float:
        """P(next = pid): the recency-weighted mixture of the context rows (computed for the
        few candidates that need it, not for every one)."""
        p = 0.0
        for (_, _, row), share in zip(self.sources, self.shares, strict=True):
            value = row.get(pid)
            if value is not None:
                p = p + share * value
        return p

    def probabilities(self) -> dict[str, float]:
        """`probability` of every candidate."""
        out: dict[str, float] = {}
        for (_, _, row), share in zip(self.sources, self.shares, strict=True):
            for other, value in row.items():
                out[other] = out.get(other, 0.0) + share * value
        return out


def _shrunk(probability: float, evidence: float, prior: float) -> float:
    return max(0.0, min(1.0, probability)) * evidence / (evidence + prior)


def mixture(shopper: ShopperState, table: NeighbourTable, config: RecommenderConfig) -> Mixture:
    history = shopper.history
    weights: list[tuple[str, float, Mapping[str, Any]]] = []
    factor = 1.0
    for pid in islice(reversed(history), config.context_size):
        entry = table.get(pid)
        if entry and entry["m"] > 0:
            weights.append((pid, factor * history[pid].weight, entry))
        factor *= config.recency_factor
    total = sum(w for _, w, _ in weights)
    result = Mixture()
    raw, masses = result.scores, result.masses
    for pid, weight, entry in weights:
        share = weight / total
        mass = float(entry["m"])
        result.evidence += share * mass
        row: Mapping[str, float] = entry["n"]
        weight_sim = share / math.sqrt(mass)
        result.sources.append((pid, weight_sim, row))
        result.shares.append(share / mass)
        # the hot loop of the list stage: one dict update per (context row, neighbour)
        if not raw:
            raw.update({other: weight_sim * value for other, value in row.items()})
            continue
        raw_get = raw.get
        for other, value in row.items():
            raw[other] = raw_get(other, 0.0) + weight_sim * value
    # the candidate's half of the cosine, applied once per candidate rather than per context row
    found = table.masses(raw)
    masses.update(zip(raw, found, strict=True))
    if not all(found):
        for other, known in masses.items():
            if not known:  # not in the table yet: its strongest co-occurrence stands in
                masses[other] = max(row.get(other, 0.0) for _, _, row in result.sources)
    scores = map(truediv, raw.values(), map(math.sqrt, masses.values()))
    result.scores = dict(zip(raw, scores, strict=True))
    return result


def _top_personal(
    shopper: ShopperState, catalog: Catalog, mix: Mixture, at: int, config: RecommenderConfig
) -> Scored:
    # candidates best first (score, then id): the open ones popped from a heap until the list
    # is full, the closed ones summed in that order (a full sort of all of them cost most)
    closed_ones, open_ones = shopper.split(mix.scores, at, config)
    closed = 0.0
    for _, pid in sorted(closed_ones):
        closed += mix.probability(pid)
    top: list[str] = []
    heapq.heapify(open_ones)
    while open_ones and len(top) < config.list_size:
        _, pid = heapq.heappop(open_ones)
        if catalog.recommendable(pid):
            top.append(pid)
    # the list is for discovery: its probability is conditional on a product still open
    probability = sum(mix.probability(p) for p in top) / max(1e-12, 1.0 - closed)
    return Scored(top, probability, mix.evidence, _because(mix, top))


def _because(mix: Mixture, ids: list[str]) -> str | None:
    """The context product contributing most to the scores of `ids`."""
    roots = mix.roots_of(ids)
    best = max(((mix.contribution(src, ids, roots), src[0]) for src in mix.sources), default=None)
    return best[1] if best is not None and best[0] > 0 else None


def _trending(
    shopper: ShopperState,
    catalog: Catalog,
    table: NeighbourTable,
    at: int,
    config: RecommenderConfig,
    exclude: set[str],
    size: int,
) -> Scored:
    last = next(reversed(shopper.history), None) if shopper.history else None
    home = catalog.category(last) if last else None

    def eligible(pid: str) -> bool:
        return (
            pid not in exclude
            and pid not in shopper.history
            and not shopper.has(pid, at, config)
            and catalog.recommendable(pid)
        )

    popularity = {pid: p for pid, p in table.popularity() if p > 0}
    ranked = sorted(
        (pid for pid in popularity if eligible(pid)),
        key=lambda pid: (catalog.category(pid) != home, -popularity[pid], pid),
    )
    ids = ranked[:size]
    total = sum(popularity.values())
    probability = sum(popularity[p] for p in ids) / total if total else 0.0
    if len(ids) < size:
        # a shop with little traffic yet: fill up from the catalog, so a first visitor still
        # gets a list (these add nothing to the confidence)
        chosen = set(ids)
        fillers = sorted(
            (pid for pid, _ in catalog.products() if pid not in chosen),
            key=lambda pid: (catalog.category(pid) != home, pid),
        )
        ids += [pid for pid in fillers if eligible(pid)][: size - len(ids)]
    in_home = home is not None and any(catalog.category(p) == home for p in ids)
    return Scored(ids, probability, total, home if in_home else None)


def main_list(
    shopper: ShopperState,
    catalog: Catalog,
    table: NeighbourTable,
    at: int,
    config: RecommenderConfig,
    mix: Mixture | None = None,
) -> tuple[RecommendationKind, Scored]:
    """The shopper's main list: PERSONAL, filled up from TRENDING (or TRENDING alone); `mix`
    is `mixture(shopper, table, config)` if the caller has it."""
    mix = mixture(shopper, table, config) if mix is None else mix
    personal = _top_personal(shopper, catalog, mix, at, config)
    if len(personal.ids) >= config.list_size:
        return "PERSONAL", personal
    rest = _trending(
        shopper, catalog, table, at, config, set(personal.ids), config.list_size - len(personal.ids)
    )
    if not personal.ids:
        return "TRENDING", rest
    return "PERSONAL", Scored(
        personal.ids + rest.ids, personal.probability, personal.evidence, personal.because
    )


def _bought_together(
    shopper: ShopperState,
    catalog: Catalog,
    table: NeighbourTable,
    anchor: str,
    at: int,
    config: RecommenderConfig,
) -> Scored:
    entry = table.get(anchor) or {"t": {}, "o": 0.0}
    orders = float(entry["o"])
    top = [
        (pid, v)
        for pid, v in entry["t"].items()
        if not shopper.has(pid, at, config) and catalog.recommendable(pid)
    ][: config.bought_together_size]
    return Scored(
        ids=[pid for pid, _ in top],
        probability=sum(v for _, v in top) / orders if orders else 0.0,
        evidence=orders,
        because=anchor,
    )


def _next_best_offer(
    shopper: ShopperState,
    catalog: Catalog,
    table: NeighbourTable,
    at: int,
    config: RecommenderConfig,
    mix: Mixture,
) -> Scored:
    scores = mix.probabilities()
    evidence = mix.evidence
    anchors = sorted(shopper.cart)
    together_of: dict[str, dict[str, float]] = {}
    for anchor in anchors:
        entry = table.get(anchor)
        if not entry or not entry["o"]:
            continue
        orders = float(entry["o"])
        evidence += orders / len(anchors)
        together_of[anchor] = row = dict(entry["t"])
        for pid, value in row.items():
            scores[pid] = scores.get(pid, 0.0) + value / orders / len(anchors)
    best: tuple[str, float, float] | None = None
    for pid, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
        if best is not None and 2.0 * score <= best[1]:
            break  # a discount at most doubles a score: nothing further down can win
        if pid in shopper.history or shopper.has(pid, at, config) or not catalog.recommendable(pid):
            continue
        adjusted = score * (1.0 + catalog.discount(pid))
        if best is None or adjusted > best[1]:
            best = (pid, adjusted, score)
    if best is not None:
        pid, _, probability = best
        partner = max(together_of, key=lambda a: together_of[a].get(pid, 0.0), default=None)
        if partner is not None and together_of[partner].get(pid):
            return Scored([pid], probability, evidence, partner)
        return Scored([pid], probability, evidence, _because(mix, [pid]))
    return _discounted_in_favourite_category(shopper, catalog, at, config)


def _discounted_in_favourite_category(
    shopper: ShopperState, catalog: Catalog, at: int, config: RecommenderConfig
) -> Scored:
    affinity: dict[str, float] = {}
    for pid, touch in shopper.history.items():
        category = catalog.category(pid)
        if category is not None:
            affinity[category] = affinity.get(category, 0.0) + touch.weight
    if not affinity:
        return Scored([], 0.0, 0.0, None)
    favourite = max(affinity, key=lambda c: (affinity[c], c))
    in_category = [pid for pid, entry in catalog.products() if entry.get("category") == favourite]
    offers = [
        (catalog.discount(pid), pid)
        for pid in in_category
        if catalog.discount(pid) > 0
        and pid not in shopper.history
        and not shopper.has(pid, at, config)
        and catalog.recommendable(pid)
    ]
    if not offers:
        return Scored([], 0.0, 0.0, None)
    _, pid = max(offers)
    share = affinity[favourite] / sum(affinity.values())
    return Scored([pid], share / len(in_category), sum(affinity.values()), favourite)


def estimate(scored: Scored, config: RecommenderConfig) -> float:
    """The model's own estimate of a list's hit probability (module docstring)."""
    return _shrunk(scored.probability, scored.evidence, config.evidence_prior)


CALIBRATION_EDGES: Final = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7)
CALIBRATION_PRIOR: Final = 50.0
"""Outcomes a cell needs before its own hit rate outweighs its kind's overall hit rate."""
KIND_PRIOR: Final = 20.0
"""Outcomes a kind needs before its overall hit rate outweighs the model's estimate."""


@dataclass(slots=True)
class Calibration:
    """How often main lists were hit, per cell (kind, band of the model's estimate), learned
    online from what shoppers did next. A small aggregate (at most 2 x 10 cells) that keyed
    stages count in partials and merge.

    The confidence of a main list is its cell's hit rate, smoothed towards the hit rate of all
    lists of its kind while the cell has few outcomes (`CALIBRATION_PRIOR`), which itself starts
    at the model's estimate (`KIND_PRIOR`). So a band of a few lucky (or unlucky) lists stays
    near the kind's average instead of claiming the top (or bottom) of the scale, and lists
    that hit more often get a higher confidence whether or not the model's estimate ranked them
    higher: on real data it does not throughout (thin evidence inflates the estimate, see
    `bench/results/recommendations.md`)."""

    cells: dict[str, list[int]] = field(default_factory=dict)
    """Cell -> [lists followed by a new product, of which hits]."""
    totals: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)
    """Kind -> [lists, hits] over its cells: summed on first use, then kept up by `record`."""

    @staticmethod
    def cell(kind: str, estimate: float) -> str:
        band = sum(1 for edge in CALIBRATION_EDGES[1:] if estimate >= edge)
        return f"{kind}:{band}"

    def record(self, cell: str, hit: bool) -> None:
        counts = self.cells.setdefault(cell, [0, 0])
        counts[0] += 1
        counts[1] += hit
        total = self.totals.get(cell.partition(":")[0])
        if total is not None:
            total[0] += 1
            total[1] += hit

    def total(self, kind: str) -> list[int]:
        """[lists, hits] of every cell of `kind`."""
        total = self.totals.get(kind)
        if total is None:
            prefix = f"{kind}:"
            total = self.totals[kind] = [0, 0]
            for cell, (lists, hits) in self.cells.items():
                if cell.startswith(prefix):
                    total[0] += lists
                    total[1] += hits
        return total

    def confidence(self, kind: str, estimate: float) -> float:
        lists, hits = self.total(kind)
        overall = (hits + KIND_PRIOR * estimate) / (lists + KIND_PRIOR)
        lists, hits = self.cells.get(self.cell(kind, estimate), (0, 0))
        return (hits + CALIBRATION_PRIOR * overall) / (lists + CALIBRATION_PRIOR)


def confidence(
    scored: Scored, config: RecommenderConfig, kind: RecommendationKind, calibration: Calibration
) -> float:
    """The documented confidence of a list (module docstring), rounded to 4 places."""
    return calibrated(kind, estimate(scored, config), calibration)


def calibrated(kind: RecommendationKind, raw: float, calibration: Calibration) -> float:
    """The confidence of a list of `kind` whose model estimate is `raw`."""
    if kind in ("PERSONAL", "TRENDING"):
        raw = calibration.confidence(kind, raw)
    return round(max(0.0, min(1.0, raw)), 4)


def assemble(
    event: BaseEvent,
    shopper: ShopperState,
    catalog: Catalog,
    table: NeighbourTable,
    at: int,
    config: RecommenderConfig,
    calibration: Calibration,
) -> list[Recommendation]:
    """The shopper's lists that changed because of `event` (stage 3)."""
    added = event.product_id if isinstance(event, AddToCart) else None
    return [
        draft.recommendation(shopper, at, calibration)
        for draft in changed_lists(
            shopper, catalog, table, at, config, added, isinstance(event, OrderPlaced)
        )
    ]


@dataclass(frozen=True, slots=True)
class Draft:
    """A changed list before calibration: its kind, products, model estimate and reason."""

    kind: RecommendationKind
    ids: tuple[str, ...]
    estimate: float
    reason: str

    def recommendation(
        self, shopper: ShopperState, at: int, calibration: Calibration
    ) -> Recommendation:
        return Recommendation(
            event_id=OUTPUT_ID,
            timestamp=at,
            session_id=shopper.session_id,
            user_id=shopper.user_id,
            product_ids=self.ids,
            confidence=calibrated(self.kind, self.estimate, calibration),
            reason=self.reason,
            kind=self.kind,
        )

    def wire(self, shopper: ShopperState, at: int, calibration: Calibration) -> dict[str, Any]:
        """`recommendation` in its wire form (`model.WireEvent`), without building the model:
        one for about every shopper event."""
        wire: dict[str, Any] = {
            "eventId": OUTPUT_ID,
            "schemaVersion": SCHEMA_VERSION,
            "timestamp": at,
        }
        if shopper.session_id is not None:
            wire["sessionId"] = shopper.session_id
        if shopper.user_id is not None:
            wire["userId"] = shopper.user_id
        wire["eventType"] = "RECOMMENDATION"
        wire["productIds"] = list(self.ids)
        wire["confidence"] = calibrated(self.kind, self.estimate, calibration)
        wire["reason"] = self.reason
        wire["kind"] = self.kind
        return wire


def changed_lists(
    shopper: ShopperState,
    catalog: Catalog,
    table: NeighbourTable,
    at: int,
    config: RecommenderConfig,
    added: str | None,
    ordered: bool,
) -> list[Draft]:
    """The shopper's lists that changed after a shopper event: the main list always,
    BOUGHT_TOGETHER when `added` went to the cart, NEXT_BEST_OFFER then or when `ordered`.
    Records them as the shopper's last lists (and the main list's calibration cell)."""
    out: list[tuple[RecommendationKind, Scored, str]] = []
    mix = mixture(shopper, table, config)  # the main list's and the offer's
    kind, main = main_list(shopper, catalog, table, at, config, mix)
    out.append((kind, main, _reason(kind, main, shopper, catalog)))
    if added is not None:
        together = _bought_together(shopper, catalog, table, added, at, config)
        out.append(("BOUGHT_TOGETHER", together, f"Often bought with {catalog.name(added)}"))
    if added is not None or ordered:
        offer = _next_best_offer(shopper, catalog, table, at, config, mix)
        out.append(("NEXT_BEST_OFFER", offer, _offer_reason(offer, catalog)))
    drafts = []
    for kind, scored, reason in out:
        slot = "MAIN" if kind in ("PERSONAL", "TRENDING") else kind
        if not scored.ids or shopper.last.get(slot) == scored.ids:
            continue
        shopper.last[slot] = scored.ids
        raw = estimate(scored, config)
        if slot == "MAIN":
            shopper.shown = Calibration.cell(kind, raw)
            shopper.shown_at = at
        drafts.append(Draft(kind, tuple(scored.ids), raw, reason[:300]))
    return drafts


def _reason(
    kind: RecommendationKind, scored: Scored, shopper: ShopperState, catalog: Catalog
) -> str:
    if kind == "TRENDING" or scored.because is None:
        return f"Trending in {scored.because}" if scored.because else "Trending now"
    touch = shopper.history.get(scored.because)
    verb = _VERBS[touch.action] if touch else "viewed"
    suffix = " to your cart" if verb == "added" else ""
    return f"Because you {verb} {catalog.name(scored.because)}{suffix}"


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


# --- the three stages in one process ----------------------------------------------------------


@dataclass(slots=True)
class _LiveTable:
    """The neighbour table read straight from the product states, each entry computed when
    first read after its product changed."""

    state: RecommenderState
    at: int

    def get(self, pid: str) -> Mapping[str, Any] | None:
        return self.state.entry(pid, self.at)

    def mass(self, pid: str) -> float:
        return self.state.masses.get(pid, 0.0)

    def masses(self, pids: Iterable[str]) -> list[float]:
        get = self.state.masses.get
        return [get(pid, 0.0) for pid in pids]

    def popularity(self) -> Iterator[tuple[str, float]]:
        for pid, product in self.state.products.items():
            yield pid, product.popularity.total * product.popularity.scale_out(self.at)


@dataclass(slots=True)
class RecommenderState:
    """The three stages composed: shoppers by shopper key, products by product id."""

    config: RecommenderConfig = field(default_factory=RecommenderConfig)
    shoppers: dict[str, ShopperState] = field(default_factory=dict)
    products: dict[str, ProductState] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Published entries (derived, not serialised): recomputed on the first read after their
    product changed. An entry depends on its product's state only, so when it is computed does
    not change what is recommended."""
    calibration: Calibration = field(default_factory=Calibration)
    masses: dict[str, float] = field(default_factory=dict)
    """Each product's co-occurrence mass as of its last change (the `m` its entry publishes)."""
    changed: list[str] = field(default_factory=list)
    """The products whose rows the last observed event changed."""
    published: dict[str, list[list[str]]] = field(default_factory=dict)
    """The related lists last published per product ([bought together, also viewed]), so a
    list is published again only when it changed."""
    encoded: dict[str, dict[str, bytes]] = field(
        default_factory=lambda: {"shoppers": {}, "products": {}, "published": {}}
    )
    """Each shopper's and product's `[key, to_json()]` and each product's `"key": published`
    as JSON, kept until it changes: an event changes one shopper and a few products, so
    `encode` re-encodes only those."""

    def to_json(self) -> dict[str, Any]:
        return {
            "shoppers": [[key, s.to_json()] for key, s in self.shoppers.items()],
            "products": [[key, p.to_json()] for key, p in self.products.items()],
            "calibration": self.calibration.cells,
            "published": self.published,
        }

    def encode(self) -> bytes:
        """`orjson.dumps(self.to_json())`, re-encoding only what changed since the last call."""
        parts = []
        for name, items in (("shoppers", self.shoppers), ("products", self.products)):
            cache = self.encoded[name]
            fragments = []
            for key, value in items.items():
                fragment = cache.get(key)
                if fragment is None:
                    fragment = cache[key] = orjson.dumps([key, value.to_json()])
                fragments.append(fragment)
            parts.append(b'"%s":[%s]' % (name.encode(), b",".join(fragments)))
        parts.append(b'"calibration":' + orjson.dumps(self.calibration.cells))
        cache = self.encoded["published"]
        fragments = []
        for key, lists in self.published.items():
            fragment = cache.get(key)
            if fragment is None:
                fragment = cache[key] = orjson.dumps(key) + b":" + orjson.dumps(lists)
            fragments.append(fragment)
        parts.append(b'"published":{%s}' % b",".join(fragments))
        return b"{" + b",".join(parts) + b"}"

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], config: RecommenderConfig | None = None
    ) -> RecommenderState:
        state = cls(config or RecommenderConfig())
        state.shoppers = {k: ShopperState.from_json(v) for k, v in data["shoppers"]}
        state.products = {k: ProductState.from_json(v, state.config) for k, v in data["products"]}
        state.calibration = Calibration({k: list(v) for k, v in data["calibration"].items()})
        state.published = {
            k: [list(ids) for ids in v] for k, v in data.get("published", {}).items()
        }
        for pid, product in state.products.items():
            state.masses[pid] = product.mass()
        return state

    def entry(self, pid: str, at: int) -> dict[str, Any] | None:
        cached = self.entries.get(pid)
        if cached is None:
            product = self.products.get(pid)
            if product is None:
                return None
            cached = self.entries[pid] = product.entry(self.config)
        return cached

    def observe(self, event: BaseEvent, catalog: Catalog, at: int) -> list[Recommendation]:
        """Learn from one shopper event at event time `at`; the recommendations whose list
        changed because of it."""
        key = event_key(event)
        action = ShopperAction.of(event)
        if key is None or action is None:
            return []
        shopper = self.shoppers.get(key) or ShopperState()
        if isinstance(event, CartMerged) and event.from_session_id != key:
            source = self.shoppers.get(event.from_session_id)
            if source is not None:
                shopper.merge(source, self.config)
                del self.shoppers[event.from_session_id]
                self.encoded["shoppers"].pop(event.from_session_id, None)
        self.shoppers[key] = shopper
        self.encoded["shoppers"].pop(key, None)
        self._learn_calibration(shopper, action, at)
        self.changed = []
        for delta in shopper.observe(action, at, self.config):
            self.changed.append(delta.product)
            product = self.products.get(delta.product)
            if product is None:
                product = self.products[delta.product] = ProductState.new(self.config)
            product.apply(delta, self.config)
            self.entries.pop(delta.product, None)
            self.encoded["products"].pop(delta.product, None)
            self.masses[delta.product] = product.mass()
        table = _LiveTable(self, at)
        return assemble(event, shopper, catalog, table, at, self.config, self.calibration)

    def related(self, at: int) -> list[RelatedProducts]:
        """The products whose related lists the last observed event changed, with their lists:
        bought in the same orders ("Often bought with") and co-viewed ("Customers also
        viewed"), most related first."""
        out = []
        for pid in dict.fromkeys(self.changed):
            entry = self.entry(pid, at)
            if entry is None:
                continue
            together = list(entry["t"])[: self.config.related_size]
            viewed = list(entry["n"])[: self.config.related_size]
            if self.published.get(pid, [[], []]) == [together, viewed]:
                continue
            self.published[pid] = [together, viewed]
            self.encoded["published"].pop(pid, None)
            out.append(
                RelatedProducts(
                    event_id=OUTPUT_ID,
                    timestamp=at,
                    product_id=pid,
                    bought_together=tuple(together),
                    also_viewed=tuple(viewed),
                )
            )
        return out

    def _learn_calibration(self, shopper: ShopperState, action: ShopperAction, at: int) -> None:
        """Was the main list last shown hit by the product the shopper turned to now?"""
        new = shopper.new_product(action, at, self.config)
        if new is None or shopper.shown is None:
            return
        if shopper.shown_at != at:
            self.calibration.record(shopper.shown, new in shopper.last.get("MAIN", []))
        shopper.shown = None

    def recommend(self, key: str, catalog: Catalog, at: int) -> tuple[RecommendationKind, Scored]:
        """The shopper's current main list."""
        shopper = self.shoppers.get(key) or ShopperState()
        return main_list(shopper, catalog, _LiveTable(self, at), at, self.config)

    def confidence(self, scored: Scored, kind: RecommendationKind = "PERSONAL") -> float:
        return confidence(scored, self.config, kind, self.calibration)
