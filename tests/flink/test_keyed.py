"""The Flink job's engine-free parts: the event-time rules of `keyed` (driven here by a stand-in
for Flink's keyed state and timer service) and the Paimon table of `sql`, which must be the
store's own table."""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import Any

import orjson
import pytest

from kartshoppe.eventlog.port import Record
from kartshoppe.events import (
    AddToCart,
    CartMerged,
    InventoryChanged,
    PageView,
    Product,
    ProductLaunched,
    ProductView,
    Topic,
    encode_event,
)
from kartshoppe.eventstore.table import DEFAULT_TABLE_OPTIONS, EventStore, StoreConfig
from kartshoppe.flink import sql
from kartshoppe.flink.keyed import (
    MERGE,
    NO_TIME,
    PUBLISH,
    BroadcastMirror,
    KeyedCore,
    MergeCore,
    Output,
    Router,
    TableMirror,
    _EmitContext,
    chain_names,
    composite_key,
    level_reads,
    level_stages,
    levels,
    merge_route,
    merge_time,
    route_level,
)
from kartshoppe.processors.abandoned_carts import AbandonedCarts
from kartshoppe.processors.analytics import LiveAnalytics
from kartshoppe.processors.model import Merger, Processor, Published, chain, output_event_id
from kartshoppe.processors.recommendations import (
    CALIBRATION,
    PRODUCTS,
    RecommendationsProcessor,
)
from kartshoppe.processors.recommender import RecommenderConfig
from kartshoppe.processors.runner import ProcessorInstance, ProcessorStateDb
from kartshoppe.processors.trending import Trending

MINUTE = 60_000
T0 = 1_700_000_000_000


class FakeFlink:
    """Keyed state and event-time timers of one key, as Flink keeps them."""

    def __init__(self, lateness_ms: int) -> None:
        self.lateness_ms = lateness_ms
        self.value: bytes | None = None
        self.pending: dict[int, list[str]] = {}
        self.timers: set[int] = set()
        self.flink_timers: list[int] = []
        self.last_write: int | None = None
        self.cleanup_at: int | None = None

    def load(self) -> bytes | None:
        return self.value

    def store(self, data: bytes) -> None:
        self.value = data

    def clear(self) -> None:
        self.value = None

    def take_pending(self, timestamp: int) -> list[str]:
        return self.pending.pop(timestamp, [])

    def take_timer(self, timestamp: int) -> bool:
        found = timestamp in self.timers
        self.timers.discard(timestamp)
        return found

    def add_timer(self, timestamp: int) -> None:
        self.timers.add(timestamp)
        heapq.heappush(self.flink_timers, timestamp + self.lateness_ms)

    def remove_timer(self, timestamp: int) -> None:
        self.timers.discard(timestamp)

    def written(self) -> int | None:
        return self.last_write

    def set_written(self, timestamp: int | None) -> None:
        self.last_write = timestamp

    def cleanup(self) -> int | None:
        return self.cleanup_at

    def set_cleanup(self, timestamp: int | None) -> None:
        self.cleanup_at = timestamp
        if timestamp is not None:
            heapq.heappush(self.flink_timers, timestamp)

    def element(self, timestamp: int, raw: bytes) -> None:
        self.pending.setdefault(timestamp, []).append(raw.decode())
        heapq.heappush(self.flink_timers, timestamp)

    def advance(self, core: KeyedCore, pkey: str, watermark: int) -> list[Any]:
        outputs: list[Any] = []
        fired: set[int] = set()
        while self.flink_timers and self.flink_timers[0] <= watermark:
            timestamp = heapq.heappop(self.flink_timers)
            if timestamp in fired:
                continue  # Flink keeps one timer per key and timestamp
            fired.add(timestamp)
            outputs += core.fire(pkey, timestamp, self, {})
        return outputs


def test_a_processor_timer_fires_at_its_time_plus_the_allowed_lateness() -> None:
    processor = AbandonedCarts(timeout_ms=10 * MINUTE)
    core = KeyedCore([processor], lateness_ms=1000)
    flink = FakeFlink(lateness_ms=1000)
    add = AddToCart(session_id="s1", product_id="p1", quantity=1, price=5.0, timestamp=10_000)
    pkey = composite_key(0, processor.keys(add)[0])
    flink.element(add.timestamp, encode_event(add))

    assert flink.advance(core, pkey, 10_000) == []
    due = next(iter(flink.timers))
    assert flink.advance(core, pkey, due + 999) == []
    outputs = flink.advance(core, pkey, due + 1000)

    abandoned = [orjson.loads(v) for topic, _, v in outputs if topic == Topic.EVENTS.value]
    assert [e["eventType"] for e in abandoned] == ["CART_ABANDONED"]
    key = processor.keys(add)[0]
    assert abandoned[0]["eventId"] == output_event_id(processor.name, key, f"timer:{due}", 0)


def test_records_of_one_key_are_processed_in_event_time_order_whatever_their_arrival() -> None:
    processor = AbandonedCarts(timeout_ms=10 * MINUTE)
    core = KeyedCore([processor], lateness_ms=0)
    flink = FakeFlink(lateness_ms=0)
    late = AddToCart(session_id="s1", product_id="p1", quantity=1, price=5.0, timestamp=20_000)
    early = PageView(session_id="s1", page="/", timestamp=10_000)
    pkey = composite_key(0, processor.keys(late)[0])
    flink.element(late.timestamp, encode_event(late))
    flink.element(early.timestamp, encode_event(early))
    flink.advance(core, pkey, 30_000)
    # the timer is armed from the cart add, the later record
    assert flink.timers == {20_000 + 10 * MINUTE}


def _launch(product_id: str, stock: int, timestamp: int) -> ProductLaunched:
    product = Product(
        id=product_id, name="Kettle", category="kitchen", price=9.0, original_price=9.0, stock=stock
    )
    return ProductLaunched(product_id=product_id, product=product, timestamp=timestamp)


class FakeBroadcastState(dict[str, bytes]):
    def put(self, key: str, value: bytes) -> None:
        self[key] = value

    def remove(self, key: str) -> None:
        del self[key]


def test_a_catalog_change_is_seen_only_by_records_after_it_in_event_time() -> None:
    mirror = BroadcastMirror(RecommendationsProcessor(), index=0)
    state = FakeBroadcastState()
    mirror.load([])
    launched = _launch("p1", stock=3, timestamp=1_000)
    sold_out = InventoryChanged(
        product_id="p1", stock=0, reserved=0, available=0, reason="SOLD", timestamp=5_000
    )
    for event in (launched, sold_out):
        mirror.add(event.timestamp, event.event_id, encode_event(event).decode(), 0, state)

    mirror.advance(4_999)
    assert mirror.view["p1"]["available"] == 3
    mirror.advance(5_000)
    assert mirror.view["p1"]["available"] == 0


def test_the_catalog_folds_into_flink_state_once_the_watermark_passes_and_survives_a_restore() -> (
    None
):
    mirror = BroadcastMirror(RecommendationsProcessor(), index=2)
    state = FakeBroadcastState()
    mirror.load([])
    launched = _launch("p1", stock=3, timestamp=1_000)
    mirror.add(1_000, launched.event_id, encode_event(launched).decode(), 0, state)
    assert any("\x1fp\x1f" in k for k in state)

    mirror.promote(2_000, state)
    assert not any("\x1fp\x1f" in k for k in state)
    expected: dict[str, Any] = {}
    RecommendationsProcessor().on_broadcast(launched, expected)

    restored = BroadcastMirror(RecommendationsProcessor(), index=2)
    restored.load(state.items())
    assert restored.view == expected == mirror.view


def test_the_router_sends_a_record_to_every_processor_and_key_it_concerns() -> None:
    router = Router([AbandonedCarts(), RecommendationsProcessor()])
    add = AddToCart(session_id="s1", product_id="p1", quantity=1, price=5.0)
    keys = router.route(Topic.EVENTS.value, encode_event(add))
    assert composite_key(1, "s1") in keys
    assert any(k.startswith("0\x1f") for k in keys)
    assert router.route(Topic.PRODUCT_UPDATES.value, encode_event(_launch("p", 1, 1))) == []


def test_the_flink_event_table_is_the_stores_table(tmp_path: Path) -> None:
    table = EventStore(StoreConfig(warehouse=str(tmp_path))).table
    assert [(f.name, str(f.type)) for f in table.table_schema.fields] == list(sql.PAIMON_COLUMNS)
    assert tuple(table.primary_keys) == sql.PAIMON_PRIMARY_KEY
    assert tuple(table.partition_keys) == sql.PAIMON_PARTITION
    assert dict(sql.PAIMON_TABLE_OPTIONS) == dict(DEFAULT_TABLE_OPTIONS)
    assert tuple(StoreConfig(warehouse="x").identifier.split(".")) == (sql.DATABASE, sql.TABLE)


class FakeOperator:
    """A keyed operator of many keys: Flink fires due timers across keys in timestamp order."""

    def __init__(
        self,
        core: KeyedCore,
        lateness_ms: int,
        broadcast: dict[str, Any] | None = None,
        tables: TableMirror | None = None,
    ) -> None:
        self.core = core
        self.lateness_ms = lateness_ms
        self.keys: dict[str, FakeFlink] = {}
        self.broadcast = broadcast or {}
        self.tables = tables or TableMirror(0)

    def element(self, pkey: str, timestamp: int, raw: str) -> None:
        flink = self.keys.setdefault(pkey, FakeFlink(self.lateness_ms))
        flink.element(timestamp, raw.encode())

    def advance(self, watermark: int) -> list[Output]:
        outputs: list[Output] = []
        while due := [
            (f.flink_timers[0], pkey)
            for pkey, f in self.keys.items()
            if f.flink_timers and f.flink_timers[0] <= watermark
        ]:
            timestamp, pkey = min(due)
            flink = self.keys[pkey]
            while flink.flink_timers and flink.flink_timers[0] == timestamp:
                heapq.heappop(flink.flink_timers)
            outputs += self.core.fire(pkey, timestamp, flink, self.broadcast, self.tables.tables)
        return outputs


def test_keyed_stages_and_their_mergers_give_the_totals_of_the_embedded_runner(
    tmp_path: Path,
) -> None:
    lateness = 1000
    processors: list[Processor[Any]] = [Trending(), LiveAnalytics()]
    events: list[Any] = []
    for second in range(6):
        for n in range(8):
            session, product = f"s{n % 5}", f"p{(n * second) % 7}"
            at = T0 + second * 1000 + n * 100
            events.append(ProductView(product_id=product, session_id=session, timestamp=at))
            if n % 3 == 0:
                events.append(
                    AddToCart(
                        product_id=product, quantity=1, price=5.0, session_id=session, timestamp=at
                    )
                )
    end = T0 + 10 * 60_000

    store = ProcessorStateDb(tmp_path / "state.db")
    embedded: list[Any] = []
    for processor in processors:
        instance = ProcessorInstance(processor, store, lateness)
        offsets = range(len(events))
        instance.process(
            [
                Record(Topic.EVENTS.value, 0, i, None, encode_event(e), 2**53)
                for i, e in zip(offsets, events, strict=True)
            ]
        )
        instance.advance_watermark(end - lateness)
        embedded += [orjson.loads(m.value) for m in instance.take_outputs()]

    router = Router(processors)
    keyed = FakeOperator(KeyedCore(processors, lateness), lateness)
    merge = FakeOperator(MergeCore(level_stages(processors, 1), lateness), lateness)
    for event in events:
        raw = encode_event(event).decode()
        for pkey in router.route(Topic.EVENTS.value, raw):
            keyed.element(pkey, event.timestamp, raw)
    flink: list[Any] = []
    for topic, key, value in keyed.advance(end):
        assert topic == MERGE and key is not None
        merge.element(key, merge_time(value, lateness), value)
    flink += [orjson.loads(value) for _, _, value in merge.advance(end)]

    def last(outputs: list[Any], event_type: str) -> dict[str, Any]:
        found = [e for e in outputs if e["eventType"] == event_type]
        assert found
        return dict(max(found, key=lambda e: e["timestamp"]))

    totals = ("totalEvents", "orders", "revenue", "funnel", "topProducts")
    analytics_embedded = last(embedded, "ANALYTICS_UPDATED")["analytics"]
    analytics_flink = last(flink, "ANALYTICS_UPDATED")["analytics"]
    assert analytics_embedded["totalEvents"] == len(events)
    assert {k: analytics_flink[k] for k in totals[:-1]} == {
        k: analytics_embedded[k] for k in totals[:-1]
    }
    ranking = [p["productId"] for p in analytics_embedded["topProducts"]]
    assert [p["productId"] for p in analytics_flink["topProducts"]] == ranking
    products = [p["productId"] for p in last(embedded, "TRENDING_UPDATED")["products"]]
    assert [p["productId"] for p in last(flink, "TRENDING_UPDATED")["products"]] == products


def recommendations_on_both(
    processor: RecommendationsProcessor, directory: Path
) -> tuple[dict[str, Any], dict[str, Any], list[FakeOperator]]:
    """A shop stream's recommendations by the embedded runner and by the Flink job's chain of
    keyed operators (emulated), and those operators, for a look at their state."""
    lateness = 1000
    launched = [_launch(pid, stock=50, timestamp=T0 - 1) for pid in ("p0", "p1", "p2", "p3", "p4")]
    events: list[Any] = []
    for n in range(16):
        session = f"s{n % 6}"
        # sessions s1 and s2 sign in (their history joins the user's) and go on as users
        user = f"u{n % 6}" if n % 6 in (1, 2) and n >= 7 else None
        if n in (7, 8):
            events.append(
                CartMerged(
                    from_session_id=session,
                    lines=(),
                    session_id=session,
                    user_id=user,
                    timestamp=T0 + n * 700 - 50,
                )
            )
        for i in range(3):
            at = T0 + n * 700 + i * 150
            pid = f"p{(n + i * (1 + n % 2)) % 5}"
            who = {"session_id": session, "user_id": user}
            events.append(ProductView(product_id=pid, timestamp=at, **who))
        if n % 5 == 0:
            events.append(
                AddToCart(
                    product_id="p1",
                    quantity=1,
                    price=9.0,
                    session_id=session,
                    user_id=user,
                    timestamp=at,
                )
            )
    end = T0 + 10 * MINUTE

    instance = ProcessorInstance(processor, ProcessorStateDb(directory / "state.db"), lateness)
    for topic, fed in ((Topic.PRODUCT_UPDATES.value, launched), (Topic.EVENTS.value, events)):
        instance.process(
            [Record(topic, 0, i, None, encode_event(e), 2**53) for i, e in enumerate(fed)]
        )
    instance.advance_watermark(end - lateness)
    embedded = {
        orjson.loads(m.value)["eventId"]: orjson.loads(m.value)
        for m in instance.take_outputs()
        if m.topic == Topic.RECOMMENDATIONS.value
    }

    processors: list[Processor[Any]] = [processor]
    catalog: dict[str, Any] = {}
    for launch in launched:
        processor.on_broadcast(launch, catalog)
    chains = chain_names(processors)
    operators = [FakeOperator(KeyedCore(processors, lateness, chains), lateness, catalog)]
    operators += [
        FakeOperator(MergeCore(level_stages(processors, n), lateness, chains), lateness, catalog)
        for n in range(1, levels(processors))
    ]
    routes = {merge_route(n): n for n in range(1, len(operators))}
    assert all(route_level(route) == n for route, n in routes.items())
    router = Router(processors)
    for event in events:
        raw = encode_event(event).decode()
        for pkey in router.route(Topic.EVENTS.value, raw):
            operators[0].element(pkey, event.timestamp, raw)
    flink: dict[str, Any] = {}
    # each level runs to the end before the next: its tables are read by event time
    for n, operator in enumerate(operators):
        for topic, key, value in operator.advance(end):
            if topic == PUBLISH:
                for later in operators[n + 1 :]:
                    later.tables.add(value, NO_TIME, FakeBroadcastState())
            elif topic in routes:
                assert key is not None and routes[topic] > n
                operators[routes[topic]].element(key, merge_time(value, lateness), value)
            elif topic == Topic.RECOMMENDATIONS.value:
                flink[orjson.loads(value)["eventId"]] = orjson.loads(value)

    return embedded, flink, operators


def test_a_chain_of_keyed_stages_gives_the_recommendations_of_the_embedded_runner(
    tmp_path: Path,
) -> None:
    embedded, flink, _ = recommendations_on_both(RecommendationsProcessor(), tmp_path)
    assert len(embedded) > 10
    assert flink == embedded


def test_flink_forgets_the_shoppers_the_embedded_runner_forgets_by_the_state_ttl_in_event_time(
    tmp_path: Path,
) -> None:
    # sessions come back every 4.2 s of event time: past a TTL of 2 s, each visit starts afresh
    forgetful = RecommendationsProcessor(RecommenderConfig(shopper_state_ttl_ms=2000))
    (tmp_path / "ttl").mkdir()
    (tmp_path / "all").mkdir()
    embedded, flink, operators = recommendations_on_both(forgetful, tmp_path / "ttl")
    remembering, _, kept = recommendations_on_both(RecommendationsProcessor(), tmp_path / "all")
    assert len(embedded) > 10
    assert flink == embedded
    # a forgotten shopper's lists are assembled afresh and sent again
    assert set(remembering) < set(embedded)
    assert any(embedded[i] != remembering[i] for i in remembering)
    # the cleanup timers have removed every expired shopper's state from (fake) Flink state
    shopper_stages = {0: operators[0], 1: operators[1], 3: operators[3]}
    for level, operator in shopper_stages.items():
        assert operator.keys and all(f.value is None for f in operator.keys.values()), level
        assert any(f.value is not None for f in kept[level].keys.values()), level


def test_a_chain_level_gets_on_its_broadcast_side_only_the_tables_and_catalog_it_reads() -> None:
    processors = [RecommendationsProcessor(RecommenderConfig())]
    names = [stage.name for stage in chain(processors[0])]
    wanted: dict[int, tuple[bool, frozenset[int]]] = {}
    for level, stage in enumerate(chain(processors[0])[1:], start=1):
        assert isinstance(stage, Merger)
        wanted[level] = (stage.reads_catalog, frozenset(names.index(name) for name in stage.reads))
    assert {level: level_reads(processors, level) for level in wanted} == wanted
    # the list stage: the catalog and the products' neighbour table; publishing: calibration
    assert sum(catalog for catalog, _ in wanted.values()) == 1
    assert sorted(len(tables) for _, tables in wanted.values()) == [0, 0, 0, 1, 1]


def test_a_stage_reads_no_table_it_does_not_declare_on_either_runner(tmp_path: Path) -> None:
    processor = RecommendationsProcessor(RecommenderConfig())
    names = [stage.name for stage in chain(processor)]
    # the calibration stage declares no table and no catalog
    flink = _EmitContext(CALIBRATION, 0, "k", {}, 1000, names, {PRODUCTS: Published()}, ())
    with pytest.raises(KeyError, match="does not declare"):
        flink.table(PRODUCTS)
    instance = ProcessorInstance(processor, ProcessorStateDb(tmp_path / "state.db"), 1000)
    embedded = next(m for m in instance.merges if m.name == CALIBRATION)
    with pytest.raises(KeyError, match="does not declare"):
        embedded.table(PRODUCTS)
    assert embedded.broadcast == {}
