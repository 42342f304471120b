"""Every processor takes every stream the event contract accepts: property-based (Hypothesis).

Streams mix shopper events with catalog and stock events, timestamps anywhere from 0 to far in
the future in any order, duplicates (the same event delivered twice) and products the catalog
has never seen. For every default processor, driven through the runner's own
`ProcessorInstance`: no call fails (the runner would log it and skip the event, leaving
whatever the processor had changed), and the state committed half-way, restored after a
restart, gives exactly the outputs of the uninterrupted run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kartshoppe.events import (
    AddToCart,
    BaseEvent,
    CartCleared,
    CartLine,
    CartMerged,
    InventoryChanged,
    OrderLine,
    OrderPlaced,
    Product,
    ProductClick,
    ProductLaunched,
    ProductView,
    RemoveFromCart,
    Topic,
)
from kartshoppe.processors import default_processors
from tests.processors.processor_harness import Driver

KNOWN = ("p1", "p2", "p3")
PRODUCTS = st.sampled_from((*KNOWN, "unknown1", "unknown2"))
SHOPPERS = st.sampled_from(("s1", "s2", "s3"))
USERS = st.sampled_from((None, "u1", "u2"))
TIMESTAMPS = st.one_of(
    st.integers(0, 10),
    st.integers(1_700_000_000_000, 1_700_000_100_000),
    st.integers(10**15, 10**15 + 10),
    st.integers(0, 2**53),
)


@st.composite
def shopper_event(draw: st.DrawFn, n: int) -> BaseEvent:
    common = {
        "event_id": f"e{n}",
        "timestamp": draw(TIMESTAMPS),
        "session_id": draw(SHOPPERS),
        "user_id": draw(USERS),
    }
    kind = draw(st.integers(0, 6))
    pid = draw(PRODUCTS)
    if kind == 0:
        return ProductView(product_id=pid, **common)
    if kind == 1:
        return ProductClick(product_id=pid, **common)
    if kind == 2:
        return AddToCart(product_id=pid, quantity=1, price=5.0, **common)
    if kind == 3:
        return RemoveFromCart(product_id=pid, **common)
    if kind == 4:
        return CartCleared(**common)
    if kind == 5:
        line = CartLine(product_id=pid, quantity=1, unit_price=5.0)
        return CartMerged(from_session_id=draw(SHOPPERS), lines=(line,), **common)
    pids = draw(st.lists(PRODUCTS, min_size=1, max_size=3))
    lines = tuple(OrderLine(product_id=p, quantity=1, unit_price=5.0) for p in pids)
    return OrderPlaced(
        order_id=f"o{n}", idempotency_key=f"k{n}", lines=lines, total=5.0 * len(lines), **common
    )


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[str, BaseEvent]]:
    events: list[tuple[str, BaseEvent]] = []
    for n in range(draw(st.integers(1, 20))):
        if draw(st.integers(0, 5)) == 0:
            pid = draw(st.sampled_from(KNOWN))
            stock = draw(st.integers(0, 3))
            if draw(st.booleans()):
                product = Product(
                    id=pid, name=pid, category="C", price=5.0, original_price=6.0, stock=stock
                )
                event: BaseEvent = ProductLaunched(
                    event_id=f"c{n}", timestamp=draw(TIMESTAMPS), product_id=pid, product=product
                )
                events.append((Topic.PRODUCT_UPDATES.value, event))
            else:
                event = InventoryChanged(
                    event_id=f"i{n}",
                    timestamp=draw(TIMESTAMPS),
                    product_id=pid,
                    stock=stock,
                    available=stock,
                    reason="ADJUSTMENT",
                    sold_out=stock == 0,
                )
                events.append((Topic.INVENTORY_UPDATES.value, event))
        elif events and draw(st.integers(0, 5)) == 0:
            events.append(draw(st.sampled_from(events)))  # a duplicate delivery
        else:
            events.append((Topic.EVENTS.value, draw(shopper_event(n))))
    return events


def _run(driver: Driver, stream: list[tuple[str, BaseEvent]]) -> list[object]:
    out: list[object] = []
    for topic, event in stream:
        out.extend(driver.feed(event, topic=topic))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(), cut=st.integers(0, 25))
def test_every_processor_takes_any_contract_stream_and_resumes_from_its_state(
    stream: list[tuple[str, BaseEvent]], cut: int
) -> None:
    cut = min(cut, len(stream))
    with tempfile.TemporaryDirectory() as folder:
        for n, processor in enumerate(default_processors()):
            uninterrupted = Driver(processor, Path(folder) / f"a{n}.db")
            expected = _run(uninterrupted, stream)
            assert uninterrupted.instance.events_failed == 0, processor.name
            uninterrupted.close()

            resumed = Driver(processor, Path(folder) / f"b{n}.db")
            got = _run(resumed, stream[:cut])
            resumed.restart()
            got += _run(resumed, stream[cut:])
            assert resumed.instance.events_failed == 0, processor.name
            resumed.close()
            assert got == expected, processor.name
