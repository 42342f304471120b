"""Routes declared on a module's router are built once, by the app that includes them
(`api/declared.py`): served and documented exactly as FastAPI's own routes, never built a
second time on the module's router."""

from __future__ import annotations

import pathlib
from typing import Annotated, Any

import pytest
from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    routing,
)
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.types import Message, Scope

from kartshoppe.api import app as app_module
from kartshoppe.api import web
from kartshoppe.api.app import create_app
from kartshoppe.api.declared import DeclaredRoute, declared_router, served_dependant
from kartshoppe.config import Settings


class Item(BaseModel):
    name: str
    quantity: int


class Stored(BaseModel):
    id: str
    name: str
    quantity: int
    note: str | None = None


def named_caller(x_caller: Annotated[str | None, Header()] = None) -> str:
    if x_caller is None:
        raise HTTPException(401, "who are you?")
    return x_caller


def shop_router(router: APIRouter) -> APIRouter:
    """The same routes on `router`: a path and a query parameter, a body, a response model,
    a dependency of the router's own and a docstring."""

    @router.get("/items/{item_id}", response_model=Stored, responses={404: {"model": Stored}})
    async def read(item_id: Annotated[str, Path(max_length=5)], note: str | None = None) -> Stored:
        """One item."""
        return Stored(id=item_id, name="kart", quantity=1, note=note)

    @router.post("/items", status_code=201)
    async def create(item: Item, dry: Annotated[bool, Query()] = False) -> Stored:
        return Stored(id="new", name=item.name, quantity=item.quantity, note=str(dry))

    return router


def included(router: APIRouter) -> FastAPI:
    app = FastAPI()
    app.include_router(router, prefix="/api", dependencies=[Depends(named_caller)])
    return app


REQUESTS = [
    ("GET", "/api/items/ab12", {"x-caller": "ann"}, None),
    ("GET", "/api/items/ab12?note=hi", {"x-caller": "ann"}, None),
    ("GET", "/api/items/toolong", {"x-caller": "ann"}, None),
    ("GET", "/api/items/ab12", {}, None),
    ("POST", "/api/items?dry=true", {"x-caller": "ann"}, {"name": "cart", "quantity": 2}),
    ("POST", "/api/items", {"x-caller": "ann"}, {"name": "cart"}),
    ("DELETE", "/api/items/ab12", {"x-caller": "ann"}, None),
]


def answers(app: FastAPI) -> list[tuple[int, object]]:
    with TestClient(app) as client:
        return [
            (r.status_code, r.json())
            for method, url, headers, body in REQUESTS
            for r in [client.request(method, url, headers=headers, json=body)]
        ]


def test_a_declared_router_serves_and_documents_what_fastapis_own_router_does() -> None:
    own = included(shop_router(APIRouter(tags=["shop"], responses={418: {"model": Item}})))
    declared = included(
        shop_router(declared_router(tags=["shop"], responses={418: {"model": Item}}))
    )

    assert answers(declared) == answers(own)
    assert declared.openapi() == own.openapi()


def test_serving_an_included_declared_route_never_builds_it_on_the_module_router() -> None:
    router = shop_router(declared_router())
    answers(included(router))

    routes = [route for route in router.routes if isinstance(route, DeclaredRoute)]
    assert len(routes) == 2
    assert not any(route.built for route in routes)


def test_a_declared_route_asked_for_what_only_a_build_has_builds_itself_once() -> None:
    route = shop_router(declared_router()).routes[0]
    assert isinstance(route, DeclaredRoute) and not route.built

    assert [p.name for p in route.dependant.path_params] == ["item_id"]
    assert route.built
    assert route.response_field is not None


def test_every_router_the_app_includes_declares_its_routes_only() -> None:
    routers = [module.router for module in app_module.SHOP_ROUTES]
    routers += [app_module.system, web.web_routes(Settings().web_dir)]
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]

    assert len(routes) > 50
    assert all(isinstance(r, DeclaredRoute) and not r.built for r in routes)


def test_a_route_dependency_sees_the_inclusions_analysis_with_the_includers_dependencies() -> None:
    seen: list[tuple[set[str], set[str]]] = []

    def spy(request: Request) -> None:
        dependant = served_dependant(request.scope)
        assert dependant is not None
        calls = {getattr(d.call, "__name__", "") for d in dependant.dependencies}
        seen.append((calls, {f.alias for f in dependant.query_params}))

    router = declared_router(dependencies=[Depends(spy)])

    @router.get("/probe")
    async def probe(q: int = 0) -> dict[str, int]:
        return {"q": q}

    with TestClient(included(router)) as client:
        assert client.get("/api/probe?q=3", headers={"x-caller": "ann"}).json() == {"q": 3}

    assert seen == [({"named_caller", "spy"}, {"q"})]
    assert not router.routes[0].built  # type: ignore[attr-defined]


async def ask(app: FastAPI, path: str, journal: list[str]) -> int:
    """GET `path` through the app as a server would; what it sends goes into `journal`."""
    status: list[int] = []
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif not message.get("more_body"):
            journal.append(f"answered {path} {status[0]}")

    await app(scope, receive, send)
    return status[0]


async def test_ready_is_answered_before_the_shops_routes_are_built_and_they_are_built_after_it(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal: list[str] = []
    build = routing._EffectiveRouteContext.from_api_route.__func__  # type: ignore[attr-defined]

    def recorded(cls: Any, *, original_route: APIRoute, include_context: Any) -> Any:
        journal.append(f"built {include_context.path_for(original_route)}")
        return build(cls, original_route=original_route, include_context=include_context)

    monkeypatch.setattr(routing._EffectiveRouteContext, "from_api_route", classmethod(recorded))
    settings = Settings(data_dir=tmp_path, processors="off", sink=False, seed=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        platform = app.state.platform
        platform.fanout.ready.clear()  # as if the fan-out were still folding the log
        assert await ask(app, "/ready", journal) == 503
        platform.fanout.ready.set()
        assert await ask(app, "/ready", journal) == 200
        before_ready = journal[: journal.index("answered /ready 200")]
        after_ready = journal[journal.index("answered /ready 200") + 1 :]
        asked = len(journal)
        assert await ask(app, "/api/ecommerce/categories", journal) == 200

    assert "answered /ready 503" in before_ready
    assert {line for line in before_ready if line.startswith("built")} <= {
        "built /metrics",
        "built /health",
        "built /ready",
        "built /images/products/{name}",
        "built /images/uploads/{name}",
    }
    assert "built /api/ecommerce/categories" in after_ready
    assert len([line for line in after_ready if line.startswith("built")]) > 50
    # built once, before a shopper's request comes: that request builds nothing
    assert journal[asked:] == ["answered /api/ecommerce/categories 200"]
    assert journal.count("built /ready") == 1
