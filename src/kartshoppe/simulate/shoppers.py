"""The shopper model: personas and planted affinities that generate realistic sessions.

Pure and seeded: the same catalog and seed give the same shoppers and sessions, so the traffic
simulator (over HTTP) and the offline recommendation evaluation (straight into the processor)
draw from one model. Sessions are lists of `Action`s; `session_events` turns one into the events
the shop would record.

Planted affinities (what a recommender can learn and a popularity ranking cannot):
- Personas. Each shopper has a persona with two preferred categories; a fresh category choice
  picks a preferred one with probability `PREFERRED_CATEGORY_P` (0.8), else any category.
- Bundles. The catalog is split at random into hidden bundles of `BUNDLE_SIZE` (3) products,
  across categories. After touching a bundle member the shopper's next view is one of its
  partners with probability `BUNDLE_NEXT_P` (0.55); right after adding a member to the cart the
  shopper adds a partner too with probability `BUNDLE_ADD_P` (0.5), so bundles are viewed and
  bought together.
- Popularity. Within a category products are picked by a Zipf-like law (weight 1/rank^0.8 over a
  fixed random order), so some products are plainly more popular than others.

Session shape: start by browsing a category or searching; 2 to 14 product views (geometric, mean
about 7); each view leads to a cart add with probability `ADD_P` (0.22), a cart line is removed
now and then (`REMOVE_P`, 0.06); a shopper with a cart checks out with probability `CHECKOUT_P`
(0.6) and pays with probability `PAY_P` (0.9), else abandons. A shopper returns for another
session with probability `RETURN_P` (0.35).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

from kartshoppe.events import (
    AddToCart,
    BaseEvent,
    OrderLine,
    OrderPlaced,
    ProductView,
    RemoveFromCart,
    Search,
)

PREFERRED_CATEGORY_P: Final = 0.8
BUNDLE_SIZE: Final = 3
BUNDLE_NEXT_P: Final = 0.55
BUNDLE_ADD_P: Final = 0.5
ZIPF_EXPONENT: Final = 0.8
ADD_P: Final = 0.22
REMOVE_P: Final = 0.06
CHECKOUT_P: Final = 0.6
PAY_P: Final = 0.9
RETURN_P: Final = 0.35
SEARCH_P: Final = 0.3
MAX_VIEWS: Final = 14

ActionKind = Literal["browse", "search", "view", "add", "remove", "checkout", "pay", "leave"]


@dataclass(frozen=True, slots=True)
class CatalogItem:
    id: str
    name: str
    category: str
    price: Decimal
    stock: int


def catalog_items(products: Iterable[Any]) -> list[CatalogItem]:
    """Catalog items from `events.Product` objects or their camelCase JSON (`GET /products`)."""
    items = []
    for p in products:
        if isinstance(p, Mapping):
            items.append(
                CatalogItem(
                    p["id"], p["name"], p["category"], Decimal(repr(p["price"])), p.get("stock", 0)
                )
            )
        else:
            items.append(CatalogItem(p.id, p.name, p.category, p.price, p.stock))
    return items


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    product_id: str | None = None
    category: str | None = None
    query: str | None = None
    quantity: int = 1
    pause_ms: int = 0
    """Think time before this action."""


@dataclass(frozen=True, slots=True)
class Affinities:
    """The planted structure: personas, hidden bundles and per-category popularity order."""

    personas: tuple[Persona, ...]
    bundles: tuple[tuple[str, ...], ...]
    partners: Mapping[str, tuple[str, ...]]
    by_category: Mapping[str, tuple[str, ...]]
    """Products of each category, most popular first."""


def plant_affinities(catalog: list[CatalogItem], seed: int = 7) -> Affinities:
    rng = random.Random(seed)
    categories = sorted({item.category for item in catalog})
    personas = []
    shuffled = categories[:]
    rng.shuffle(shuffled)
    for i in range(len(shuffled)):
        pair = (shuffled[i], shuffled[(i + 1) % len(shuffled)])
        personas.append(Persona(f"{pair[0]} & {pair[1]} fan", pair))
    ids = [item.id for item in catalog]
    rng.shuffle(ids)
    bundles = tuple(
        tuple(ids[i : i + BUNDLE_SIZE]) for i in range(0, len(ids) - BUNDLE_SIZE + 1, BUNDLE_SIZE)
    )
    partners = {pid: tuple(p for p in bundle if p != pid) for bundle in bundles for pid in bundle}
    by_category: dict[str, tuple[str, ...]] = {}
    for category in categories:
        members = [item.id for item in catalog if item.category == category]
        rng.shuffle(members)
        by_category[category] = tuple(members)
    return Affinities(tuple(personas), bundles, partners, by_category)


class ShopperModel:
    """Draws personas and sessions from the planted affinities with its own random stream."""

    def __init__(self, catalog: list[CatalogItem], seed: int = 7) -> None:
        self.catalog = {item.id: item for item in catalog}
        self.affinities = plant_affinities(catalog, seed)
        self.rng = random.Random(seed + 1)
        self._zipf = {
            category: [1.0 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(members))]
            for category, members in self.affinities.by_category.items()
        }

    def persona(self) -> Persona:
        return self.rng.choice(self.affinities.personas)

    def returns(self) -> bool:
        return self.rng.random() < RETURN_P

    def _category(self, persona: Persona) -> str:
        if self.rng.random() < PREFERRED_CATEGORY_P:
            return self.rng.choice(persona.categories)
        return self.rng.choice(sorted(self.affinities.by_category))

    def _in_category(self, category: str) -> str:
        members = self.affinities.by_category[category]
        return self.rng.choices(members, weights=self._zipf[category])[0]

    def _pause(self) -> int:
        return int(self.rng.expovariate(1 / 4000)) + 300

    def _next_product(self, last: str | None, category: str) -> str:
        partners = self.affinities.partners.get(last, ()) if last else ()
        if partners and self.rng.random() < BUNDLE_NEXT_P:
            return self.rng.choice(partners)
        return self._in_category(category)

    def session(self, persona: Persona) -> list[Action]:
        """One visit: browse or search, views, cart changes, then checkout and pay or leave."""
        rng = self.rng
        category = self._category(persona)
        actions: list[Action] = []
        if rng.random() < SEARCH_P:
            word = self.catalog[self._in_category(category)].name.split()[-1]
            actions.append(Action("search", query=word, category=category, pause_ms=500))
        else:
            actions.append(Action("browse", category=category, pause_ms=500))
        cart: list[str] = []
        last: str | None = None
        views = min(MAX_VIEWS, 2 + int(rng.expovariate(1 / 5)))
        for _ in range(views):
            if rng.random() < 0.25:
                category = self._category(persona)
            product = self._next_product(last, category)
            actions.append(Action("view", product_id=product, pause_ms=self._pause()))
            last = product
            if product not in cart and rng.random() < ADD_P:
                actions.append(Action("add", product_id=product, quantity=1, pause_ms=800))
                cart.append(product)
                partners = [p for p in self.affinities.partners.get(product, ()) if p not in cart]
                if partners and rng.random() < BUNDLE_ADD_P:
                    partner = rng.choice(partners)
                    actions.append(Action("view", product_id=partner, pause_ms=self._pause()))
                    actions.append(Action("add", product_id=partner, quantity=1, pause_ms=800))
                    cart.append(partner)
                    last = partner
            if cart and rng.random() < REMOVE_P:
                removed = rng.choice(cart)
                cart.remove(removed)
                actions.append(Action("remove", product_id=removed, pause_ms=700))
        if cart and rng.random() < CHECKOUT_P:
            actions.append(Action("checkout", pause_ms=1500))
            if rng.random() < PAY_P:
                actions.append(Action("pay", pause_ms=1500))
        else:
            actions.append(Action("leave", pause_ms=500))
        return actions


def session_events(
    actions: list[Action],
    catalog: Mapping[str, CatalogItem],
    session_id: str,
    user_id: str | None,
    start_ms: int,
) -> list[BaseEvent]:
    """The events the shop records for a session (its tracking and domain events)."""
    events: list[BaseEvent] = []
    cart: dict[str, int] = {}
    at = start_ms
    ids = {"session_id": session_id, "user_id": user_id}
    for n, action in enumerate(actions):
        at += action.pause_ms
        base: dict[str, Any] = {**ids, "timestamp": at, "event_id": f"{session_id}_{n}"}
        pid = action.product_id
        if action.kind == "search" and action.query:
            events.append(Search(query=action.query, **base))
        elif action.kind == "view" and pid:
            events.append(ProductView(product_id=pid, **base))
        elif action.kind == "add" and pid:
            cart[pid] = cart.get(pid, 0) + action.quantity
            price = catalog[pid].price
            events.append(AddToCart(product_id=pid, quantity=action.quantity, price=price, **base))
        elif action.kind == "remove" and pid and pid in cart:
            del cart[pid]
            events.append(RemoveFromCart(product_id=pid, **base))
        elif action.kind == "checkout" and cart:
            lines = tuple(
                OrderLine(
                    product_id=p, quantity=q, unit_price=catalog[p].price, name=catalog[p].name
                )
                for p, q in cart.items()
            )
            total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
            order_id = f"ord_{session_id}"
            events.append(
                OrderPlaced(
                    order_id=order_id, idempotency_key=order_id, lines=lines, total=total, **base
                )
            )
            cart.clear()
    return events
