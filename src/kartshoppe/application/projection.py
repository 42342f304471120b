"""The shop's state, folded from the log: `ShopState` kept current by a `LogFollower`.

Commands wait on `wait_applied`, so an acknowledged command is already visible in the state and
in every view that listens to this projection.
"""

from __future__ import annotations

from kartshoppe.application.follower import LogFollower
from kartshoppe.domain.state import ShopState
from kartshoppe.eventlog.port import EventLog, Record
from kartshoppe.events import Event, Topic

STATE_TOPICS: tuple[str, ...] = (Topic.PRODUCT_UPDATES, Topic.INVENTORY_UPDATES, Topic.EVENTS)
"""Catalog first: a cart line read on rebuild finds its product's name."""


class Projection(LogFollower):
    """Folds each event into `state` before any listener hears of it."""

    def __init__(self, event_log: EventLog) -> None:
        super().__init__(event_log, STATE_TOPICS)
        self.state = ShopState()
        self.subscribe(self._fold)

    def _fold(self, _: Record, event: Event) -> None:
        self.state.apply(event)
