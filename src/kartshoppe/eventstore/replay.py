"""Replay: append every stored event, in its original log order, to the topics of a fresh log.

A new instance bootstraps this way: `kartshoppe replay --from-warehouse W --data-dir D` fills the
log in `D` from the store, and the views and processors rebuild from that log as on any start.
Each event goes back to the topic it came from with the key the live system used (the cart key on
`ecommerce_events`, the product id on `product_updates` and `inventory_updates`); each topic's
events keep their offset order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from kartshoppe.eventlog.port import EventLog, Message
from kartshoppe.events import Topic, owner_key
from kartshoppe.eventstore.log_order import in_log_order
from kartshoppe.eventstore.schema import TOPIC_ORDER
from kartshoppe.eventstore.table import EventStore

Progress = Callable[[int, int], None]
"""Called with (events appended so far, total)."""

TOPICS = tuple(TOPIC_ORDER)
KEYED_BY_PRODUCT = frozenset({Topic.PRODUCT_UPDATES.value, Topic.INVENTORY_UPDATES.value})


@dataclass(frozen=True)
class ReplayResult:
    events: int
    snapshot_id: int | None
    per_topic: dict[str, int]


def log_key(
    topic: str, user_id: str | None, session_id: str | None, product_id: str | None
) -> str | None:
    """The key the live system gave a stored event on its topic."""
    if topic in KEYED_BY_PRODUCT:
        return product_id
    return owner_key(user_id, session_id)


def _messages(rows: pa.Table) -> list[Message]:
    columns = rows.select(["topic", "user_id", "session_id", "product_id", "payload"]).to_pydict()
    return [
        Message(topic=topic, key=log_key(topic, user, session, product), value=payload.encode())
        for topic, user, session, product, payload in zip(
            columns["topic"],
            columns["user_id"],
            columns["session_id"],
            columns["product_id"],
            columns["payload"],
            strict=True,
        )
    ]


async def replay(
    store: EventStore,
    target: EventLog,
    progress: Progress | None = None,
    snapshot_id: int | None = None,
    batch_size: int = 5_000,
) -> ReplayResult:
    """Append the store's events as of `snapshot_id` (default latest) to `target`, in order.

    The target must be empty: replaying onto existing records would double them.
    """
    for topic in TOPICS:
        if any((await target.end_offsets(topic)).values()):
            raise ValueError(f"the target log is not empty: topic {topic} has records")
    if store.latest_snapshot_id() is None:
        return ReplayResult(0, None, {})
    sid = store.resolve_snapshot(snapshot_id)
    rows = in_log_order(store.read(sid))
    total = rows.num_rows
    per_topic: dict[str, int] = {}
    done = 0
    if progress:
        progress(0, total)
    for start in range(0, total, batch_size):
        messages = _messages(rows.slice(start, batch_size))
        await target.append(messages)
        for message in messages:
            per_topic[message.topic] = per_topic.get(message.topic, 0) + 1
        done += len(messages)
        if progress:
            progress(done, total)
    return ReplayResult(total, sid, per_topic)


def summary(result: ReplayResult) -> Sequence[str]:
    lines = [f"replayed {result.events} events from snapshot {result.snapshot_id}"]
    lines += [f"  {topic}: {count}" for topic, count in sorted(result.per_topic.items())]
    return lines
