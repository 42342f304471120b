"""The routes' dependencies: the running platform (its service, views and hub, on `app.state`),
as `Live` in a route's signature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from kartshoppe.api.hub import Hub
from kartshoppe.application.commands import CommandBus
from kartshoppe.application.follower import LogFollower
from kartshoppe.application.projection import Projection
from kartshoppe.application.shop import ShopService
from kartshoppe.application.snapshots import ViewSnapshots
from kartshoppe.security.accounts import Accounts
from kartshoppe.views.catalog import CatalogView
from kartshoppe.views.live import LiveView


@dataclass
class Platform:
    service: ShopService
    projection: Projection
    fanout: LogFollower
    catalog: CatalogView
    live: LiveView
    hub: Hub
    bus: CommandBus
    accounts: Accounts
    snapshots: ViewSnapshots | None = None


async def platform(request: Request) -> Platform:
    found: Platform = request.app.state.platform
    return found


Live = Annotated[Platform, Depends(platform)]
"""The running platform, as a route parameter."""
