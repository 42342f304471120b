"""Background reactions of the shop to events (a saga step such as cancelling an expired order).

A reaction runs as its own task so the fold never waits on a command; a refused command
(another instance got there first, the order was paid meanwhile) is logged, not raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from kartshoppe.domain.errors import DomainError

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
