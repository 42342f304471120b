"""The recommendations processor: the `recommender` model as a chain of keyed stages.

No stage keeps state under one global key (`model` module doc, stage chains):

1. `recommendations`, keyed by shopper (user id, else session id; `CART_MERGED` by the session
   it merges from): an anonymous shopper's history, cart and purchases (`ShopperState`). Each
   anonymous shopper event is folded in there (`shopper_step`); a signed-in shopper's event
   goes on to stage 2 as a `ShopperAction`, with whatever the key holds: on `CART_MERGED` (the
   session signs in) the anonymous session's history, which stage 2 joins to the user's
   (`ShopperState.merge`), and the session's state is forgotten. A stage only sends to later
   stages, so the history a sign-in joins must be held one stage before the user's.
2. `recommendations.users`, keyed by user id: a signed-in shopper's `ShopperState`, folded by
   the same `shopper_step`. Stages 1 and 2 send the co-occurrence evidence each event adds
   (`ProductDelta`) to stage 3 keyed by product, and a trigger (the shopper as of the event,
   the cart add or order, the product the shopper turned to) to stage 4 keyed by shopper.
3. `recommendations.products`, keyed by product: the product's rows (`ProductState`). The
   deltas of one window of event time (`RecommenderConfig.window_ms`, 100 ms, aligned to time
   0: `Collected`) are applied at its end, sorted by shopper, so that the float sums do not
   depend on the order in which deltas of different shoppers arrive; then the
   product publishes its neighbour list (`ProductState.entry`) to the stage's table, and, when
   its related lists changed, `RELATED_PRODUCTS` to the fan-out keyed by product (the product
   page's "Often bought with" and "Customers also viewed").
4. `recommendations.lists`, keyed by shopper: the lists last sent and the calibration cell of
   the main list. The triggers of a window are handled at its end, when the neighbour table is
   complete up to it (the deltas of the shopper's own events included): each trigger's outcome
   of the main list last shown (hit or not) goes to stage 5 keyed by its cell, in order; then
   the lists are assembled once, as of the last trigger (a shopper's burst of clicks gets one
   list), and those that changed (`changed_lists`, reading the table and the catalog) go to
   stage 6.
5. `recommendations.calibration`, keyed by calibration cell (at most 20): counts outcomes and
   publishes them to its table.
6. `recommendations.publish`, keyed by shopper, no state: calibrates each list's confidence
   from stage 5's table as of the lists' time and emits the `RECOMMENDATION` to
   `recommendations` keyed by the shopper and to `ecommerce_processing_fanout` keyed by session
   id, which feeds the shopper's WebSocket.

The tables are the runner's broadcast side of the later stages (not a Kafka topic read back):
both runners then give the same lists for the same stream. A recommendation leaves at the end
of its event's window of event time, once the watermark is there (the allowed lateness,
1 s by default, later than the event). The catalog arrives on the broadcast side from
`product_updates` and `inventory_updates`.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Final

import orjson

from kartshoppe.events import (
    SCHEMA_VERSION,
    AddToCart,
    CartCleared,
    CartMerged,
    Event,
    OrderPlaced,
    ProductClick,
    ProductView,
    RemoveFromCart,
    Topic,
    event_key,
    owner_key,
)
from kartshoppe.processors.model import (
    CATALOG_TOPICS,
    OUTPUT_ID,
    Context,
    Merger,
    Processor,
    TableView,
    WireEvent,
)
from kartshoppe.processors.recommender import (
    Calibration,
    Catalog,
    Draft,
    ProductDelta,
    ProductState,
    PublishedTable,
    RecommenderConfig,
    ShopperAction,
    ShopperState,
    apply_catalog_update,
    changed_lists,
    window_end,
)

SHOPPER_EVENTS: Final = (
    ProductView,
    ProductClick,
    AddToCart,
    RemoveFromCart,
    CartCleared,
    CartMerged,
    OrderPlaced,
)

USERS: Final = "recommendations.users"
PRODUCTS: Final = "recommendations.products"
LISTS: Final = "recommendations.lists"
CALIBRATION: Final = "recommendations.calibration"
PUBLISH: Final = "recommendations.publish"


class RecommendationsProcessor(Processor[ShopperState]):
    """Stage 1, keyed by shopper: anonymous shoppers' history; signed-in shoppers' actions go
    on to stage 2."""

    name = "recommendations"
    cost = 14
    input_topics = (Topic.EVENTS.value,)
    broadcast_topics = CATALOG_TOPICS

    def __init__(self, config: RecommenderConfig | None = None) -> None:
        self.config = config or RecommenderConfig()

    @property
    def state_ttl_ms(self) -> int | None:
        return self.config.shopper_state_ttl_ms

    def merger(self) -> UserStage:
        return UserStage(self.config)

    def key(self, event: Event) -> str | None:
        if not isinstance(event, SHOPPER_EVENTS):
            return None
        if isinstance(event, CartMerged):
            return event.from_session_id  # where the anonymous history is
        return event_key(event)

    def initial_state(self) -> ShopperState:
        return ShopperState()

    def on_event(self, state: ShopperState, event: Event, ctx: Context) -> ShopperState | None:
        action = ShopperAction.of(event)
        if action is None:
            return state
        if event.user_id is None:
            return shopper_step(state, action, ctx, self.config)
        # signed in: the user's stage takes the action and whatever this key holds (on
        # CART_MERGED the anonymous session's history; else, from state written before the
        # user stage existed, the user's own)
        handoff: dict[str, Any] = {"a": action.to_json()}
        if not state.is_empty():
            handoff["m"] = state.to_json()
        ctx.send(event.user_id, handoff)
        return None

    def on_broadcast(self, event: Event, broadcast: MutableMapping[str, Any]) -> None:
        apply_catalog_update(event, broadcast)

    def encode_state(self, state: ShopperState) -> bytes:
        return orjson.dumps(state.to_json())

    def decode_state(self, data: bytes) -> ShopperState:
        return ShopperState.from_json(orjson.loads(data))


def shopper_step(
    state: ShopperState, action: ShopperAction, ctx: Context, config: RecommenderConfig
) -> ShopperState:
    """Stages 1 and 2: fold the action into the shopper's state, send the evidence it adds to
    the product stage and a trigger to the list stage."""
    at = ctx.timestamp
    new = state.new_product(action, at, config)
    for delta in state.observe(action, at, config):
        ctx.send(delta.product, {"shopper": ctx.key, "delta": delta.to_json()}, stage=PRODUCTS)
    trigger = {
        "at": at,
        "shopper": state.to_json(),
        "added": action.products[0] if action.kind == "cart" else None,
        "ordered": action.kind == "order",
        "new": new,
    }
    ctx.send(ctx.key, trigger, stage=LISTS)
    return state


@dataclass(frozen=True)
class UserStage(Merger[ShopperState]):
    """Stage 2, keyed by user: a signed-in shopper's history, joined by what stage 1 hands on
    (`RecommendationsProcessor.on_event`)."""

    config: RecommenderConfig

    name = USERS

    def merger(self) -> ProductStage:
        return ProductStage(self.config)

    @property
    def state_ttl_ms(self) -> int | None:
        return self.config.shopper_state_ttl_ms

    def initial_state(self) -> ShopperState:
        return ShopperState()

    def on_partial(
        self, state: ShopperState, partial: dict[str, Any], ctx: Context
    ) -> ShopperState:
        handed = partial.get("m")
        if handed is not None:
            state.merge(ShopperState.from_json(handed), self.config)
        return shopper_step(state, ShopperAction.from_json(partial["a"]), ctx, self.config)

    def encode_state(self, state: ShopperState) -> bytes:
        return orjson.dumps(state.to_json())

    def decode_state(self, data: bytes) -> ShopperState:
        return ShopperState.from_json(orjson.loads(data))


@dataclass(slots=True)
class Collected:
    """A stage's inputs of one window of event time (`RecommenderConfig.window_ms`), handled
    together at the window's end (`due`). Inputs of the time `due` itself arrive before its
    timer (a stage's inputs at t come before its timers at t) but belong to the next window:
    they wait in `following`."""

    inbox: list[dict[str, Any]]
    due: int | None
    following: list[dict[str, Any]] = field(default_factory=list)

    def add(self, partial: dict[str, Any], ctx: Context, window_ms: int) -> None:
        if self.due is None:
            self.due = window_end(ctx.timestamp, window_ms)
            ctx.set_timer(self.due)
        if ctx.timestamp < self.due:
            self.inbox.append(partial)
        else:
            self.following.append(partial)

    def take(self, ctx: Context, window_ms: int) -> list[dict[str, Any]]:
        """The window's inputs (its timer fired); the next window's, if any, wait for theirs."""
        inbox = self.inbox
        self.inbox, self.following, self.due = self.following, [], None
        if self.inbox:
            self.due = window_end(ctx.timestamp, window_ms)
            ctx.set_timer(self.due)
        return inbox

    def to_json(self) -> dict[str, Any]:
        return {"i": self.inbox, "d": self.due, "f": self.following}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Collected:
        return cls(list(data["i"]), data["d"], list(data.get("f", [])))


@dataclass(slots=True)
class ProductRows:
    rows: ProductState
    collected: Collected
    related: list[list[str]]
    """The related lists last sent ([bought together, also viewed]), sent again only changed."""


@dataclass(frozen=True)
class ProductStage(Merger[ProductRows]):
    """Stage 3, keyed by product."""

    config: RecommenderConfig

    name = PRODUCTS

    def merger(self) -> ListStage:
        return ListStage(self.config)

    def initial_state(self) -> ProductRows:
        return ProductRows(ProductState.new(self.config), Collected([], None), [[], []])

    def on_partial(self, state: ProductRows, partial: dict[str, Any], ctx: Context) -> ProductRows:
        state.collected.add(partial, ctx, self.config.window_ms)
        return state

    def on_timer(self, state: ProductRows, timestamp: int, ctx: Context) -> ProductRows:
        # one shopper's deltas keep their order (one key, one route); shoppers are sorted
        inbox = state.collected.take(ctx, self.config.window_ms)
        if len(inbox) > 1:
            inbox.sort(key=lambda p: str(p["shopper"]))
        at = max((partial["delta"]["at"] for partial in inbox), default=timestamp)
        for partial in inbox:
            state.rows.apply(ProductDelta.from_json(partial["delta"]), self.config)
        entry = state.rows.entry(self.config)
        ctx.publish(ctx.key, entry)
        size = self.config.related_size
        related = [list(islice(entry["t"], size)), list(islice(entry["n"], size))]
        if related != state.related:
            state.related = related
            together, viewed = related
            # in its wire form (`model.WireEvent`): one for about every product change
            update = WireEvent(
                {
                    "eventId": OUTPUT_ID,
                    "schemaVersion": SCHEMA_VERSION,
                    "timestamp": at,
                    "eventType": "RELATED_PRODUCTS",
                    "productId": ctx.key,
                    "boughtTogether": together,
                    "alsoViewed": viewed,
                }
            )
            ctx.emit(Topic.FANOUT.value, ctx.key, update)
        return state

    def encode_state(self, state: ProductRows) -> bytes:
        return orjson.dumps(
            {"r": state.rows.to_json(), "c": state.collected.to_json(), "x": state.related}
        )

    def decode_state(self, data: bytes) -> ProductRows:
        raw = orjson.loads(data)
        return ProductRows(
            ProductState.from_json(raw["r"], self.config),
            Collected.from_json(raw["c"]),
            [list(ids) for ids in raw["x"]],
        )


@dataclass(slots=True)
class ShownLists:
    last: dict[str, list[str]]
    shown: str | None
    collected: Collected
    shown_at: int | None = None


@dataclass(frozen=True)
class ListStage(Merger[ShownLists]):
    """Stage 4, keyed by shopper."""

    config: RecommenderConfig

    name = LISTS
    reads = (PRODUCTS,)
    reads_catalog = True

    def merger(self) -> CalibrationStage:
        return CalibrationStage()

    @property
    def state_ttl_ms(self) -> int | None:
        return self.config.shopper_state_ttl_ms

    def initial_state(self) -> ShownLists:
        return ShownLists({}, None, Collected([], None))

    def on_partial(self, state: ShownLists, partial: dict[str, Any], ctx: Context) -> ShownLists:
        state.collected.add(partial, ctx, self.config.window_ms)
        return state

    def on_timer(self, state: ShownLists, timestamp: int, ctx: Context) -> ShownLists:
        catalog = Catalog(ctx.broadcast)
        entries = ctx.table(PRODUCTS)
        triggers = state.collected.take(ctx, self.config.window_ms)
        # what the shopper did in the window, in order: each product turned to is an outcome
        # of the list shown before the window; then the lists once, as of the latest event
        added, ordered = None, False
        for trigger in triggers:
            at = trigger["at"]
            if trigger["new"] is not None and state.shown is not None:
                if state.shown_at != at:  # a list of this window knew this event
                    hit = trigger["new"] in state.last.get("MAIN", [])
                    ctx.send(state.shown, {"lists": 1, "hits": int(hit)})
                state.shown = None
            added = trigger["added"] or added
            ordered = ordered or trigger["ordered"]
        last = triggers[-1]
        at = last["at"]
        shopper = ShopperState.from_json(last["shopper"])
        shopper.last, shopper.shown, shopper.shown_at = state.last, state.shown, state.shown_at
        table = PublishedTable(entries, at, self.config)
        drafts = changed_lists(shopper, catalog, table, at, self.config, added, ordered)
        state.last, state.shown, state.shown_at = shopper.last, shopper.shown, shopper.shown_at
        lists = [
            [at, shopper.session_id, shopper.user_id, d.kind, d.ids, d.estimate, d.reason]
            for d in drafts
        ]
        if lists:
            ctx.send(ctx.key, {"lists": lists}, stage=PUBLISH)
        return state

    def encode_state(self, state: ShownLists) -> bytes:
        return orjson.dumps(
            {"l": state.last, "s": state.shown, "t": state.shown_at, "c": state.collected.to_json()}
        )

    def decode_state(self, data: bytes) -> ShownLists:
        raw = orjson.loads(data)
        return ShownLists(dict(raw["l"]), raw["s"], Collected.from_json(raw["c"]), raw.get("t"))


class CalibrationStage(Merger[dict[str, int]]):
    """Stage 5, keyed by calibration cell: [lists, hits] published as counted (sums of
    integers: equal-time outcomes may arrive in any order)."""

    name = CALIBRATION

    def merger(self) -> PublishStage:
        return PublishStage()

    def initial_state(self) -> dict[str, int]:
        return {"lists": 0, "hits": 0}

    def on_partial(
        self, state: dict[str, int], partial: dict[str, Any], ctx: Context
    ) -> dict[str, int]:
        state["lists"] += partial["lists"]
        state["hits"] += partial["hits"]
        ctx.publish(ctx.key, [state["lists"], state["hits"]])
        return state


class PublishStage(Merger[None]):
    """Stage 6, keyed by shopper: calibrates and emits."""

    name = PUBLISH
    reads = (CALIBRATION,)

    def initial_state(self) -> None:
        return None

    def on_partial(self, state: None, partial: dict[str, Any], ctx: Context) -> None:
        table = ctx.table(CALIBRATION)
        counted = table.snapshot() if isinstance(table, TableView) else table
        calibration = Calibration({cell: list(counts) for cell, counts in counted.items()})
        for at, session_id, user_id, kind, ids, estimate, reason in partial["lists"]:
            shopper = ShopperState(session_id=session_id, user_id=user_id)
            draft = Draft(kind, tuple(ids), estimate, reason)
            # in its wire form (`model.WireEvent`): one for about every shopper event
            rec = WireEvent(draft.wire(shopper, at, calibration))
            ctx.emit(Topic.RECOMMENDATIONS.value, owner_key(user_id, session_id), rec)
            ctx.emit(Topic.FANOUT.value, session_id, rec)
        return None
