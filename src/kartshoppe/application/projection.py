"""The shop's state, folded from the log: `ShopState` kept current by a `LogFollower`, and the
accounts (`AccountBook`) beside it from their own topic, which the event listeners never hear
of: only this process's account listeners (`subscribe_accounts`: the reset e-mail) do.

Commands wait on `wait_applied`, so an acknowledged command is already visible in the state and
in every view that listens to this projection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kartshoppe.application.follower import History, LogFollower
from kartshoppe.domain.accounts import AccountBook
from kartshoppe.domain.state import ShopState
from kartshoppe.eventlog.port import EventLog, Record
from kartshoppe.events import (
    AccountChange,
    Event,
    EventValidationError,
    Topic,
    decode_account_event,
)

STATE_TOPICS: tuple[str, ...] = (Topic.PRODUCT_UPDATES, Topic.INVENTORY_UPDATES, Topic.EVENTS)
"""Catalog first: a cart line read on rebuild finds its product's name."""
FOLDED_TOPICS: tuple[str, ...] = (*STATE_TOPICS, Topic.ACCOUNTS)
"""What a decider must have folded before it decides: the shop's state and the accounts."""

AccountListener = Callable[[AccountChange], None]

logger = logging.getLogger(__name__)


class Projection(LogFollower):
    """Folds each event into `state` before any listener hears of it."""

    def __init__(self, event_log: EventLog, history: History | None = None) -> None:
        super().__init__(
            event_log,
            FOLDED_TOPICS,
            private={Topic.ACCOUNTS: self._fold_account},
            history=history,
        )
        self.state = ShopState()
        self.accounts = AccountBook()
        self._account_listeners: list[AccountListener] = []
        self.subscribe(self._fold)

    def subscribe_accounts(self, listener: AccountListener) -> None:
        """Hear each account change once folded, the history's included."""
        self._account_listeners.append(listener)

    def _fold(self, _: Record, event: Event) -> None:
        self.state.apply(event)

    def _fold_account(self, record: Record) -> None:
        try:
            change = decode_account_event(record.value)
        except EventValidationError as exc:
            logger.warning("skipping undecodable account record @%s: %s", record.offset, exc)
            return
        self.accounts.apply(change)
        for listener in self._account_listeners:
            listener(change)
