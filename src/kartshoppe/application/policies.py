"""Policies: the shop's reactions to events (saga steps such as expiring a reserved order).

A reaction runs as its own task so the fold never waits on a command; a refused command
(another instance got there first, the order was paid meanwhile) is logged, not raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from kartshoppe.application.shop import ShopService
from kartshoppe.domain.errors import DomainError
from kartshoppe.events import Event, ReservationExpired

logger = logging.getLogger(__name__)


class Reactions:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, command: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._guarded(command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guarded(command: Coroutine[Any, Any, Any]) -> None:
        try:
            await command
        except DomainError as exc:
            logger.info("reaction refused: %s", exc.message)


class ExpireReservations:
    """When the inventory processor signals `ReservationExpired`, the shop (the one writer of
    orders) decides: it cancels the order if it is still unpaid."""

    def __init__(self, service: ShopService, reactions: Reactions) -> None:
        self._service = service
        self._reactions = reactions

    def on_event(self, event: Event) -> None:
        if isinstance(event, ReservationExpired):
            self._reactions.spawn(self._service.expire_reservation(event.order_id))
