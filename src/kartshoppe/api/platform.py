"""What the routes reach: the running platform's service, views and hub, on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from kartshoppe.api.hub import Hub
from kartshoppe.application.commands import CommandBus
from kartshoppe.application.projection import Projection
from kartshoppe.application.shop import ShopService
from kartshoppe.views.catalog import CatalogView
from kartshoppe.views.live import LiveView


@dataclass
class Platform:
    service: ShopService
    projection: Projection
    fanout: Projection
    catalog: CatalogView
    live: LiveView
    hub: Hub
    bus: CommandBus


async def platform(request: Request) -> Platform:
    found: Platform = request.app.state.platform
    return found
