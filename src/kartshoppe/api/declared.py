"""Routes built once: declared on a module's router, built where the app includes it.

FastAPI (0.165) keeps an included router by reference and builds each of its routes again for
the inclusion (`include_router`'s prefix and dependencies, then its dependency analysis and
response adapters, pydantic models for every parameter and answer), lazily, on the first
request. An `APIRoute` on the module's router has already been built so when it was declared,
and that build is never used: the app serves the inclusion's. For the 60 routes of this app
that first build was about 0.3 s of CPU in every start before `/ready` (and the inclusion's
as much again, on the first request).

A `DeclaredRoute` keeps its declaration only: the arguments the inclusion reads, with the few
cheap ones normalised as FastAPI does (name, methods, path pattern). Anything else asked of it
(only a router served without inclusion would) builds it as an `APIRoute` then, once.

A request builds the routes of every included router it is matched through, in order: the
app includes its small routers (`/metrics`, `/health`, `/ready`) before the shop's, so a
readiness probe builds those alone, and `build_routes` builds the rest once the app has
answered that it is ready (`api/app.py`), before shoppers are sent to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _get_scope_effective_route_context, iter_route_contexts
from starlette.routing import compile_path, get_name
from starlette.types import Scope


class DeclaredRoute(APIRoute):
    """A route's declaration, which an inclusion builds (see the module)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **declared: Any) -> None:
        if declared.get("form_limits") is not None:
            super().__init__(path, endpoint, **declared)
            return
        declared.pop("form_limits", None)
        self.__dict__.update(declared)
        self.path, self.endpoint = path, endpoint
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        name, methods = declared.get("name"), declared.get("methods")
        self.name = get_name(endpoint) if name is None else name
        self.methods = {method.upper() for method in (["GET"] if methods is None else methods)}
        self.stream_item_type = None
        self.form_limits = {}
        self._declared: dict[str, Any] | None = declared

    @property
    def built(self) -> bool:
        """Whether this route was built as an `APIRoute` (the inclusion does not need it)."""
        return self.__dict__.get("_declared") is None

    def __getattr__(self, name: str) -> Any:
        # called only for what the declaration lacks (the dependant, the response fields...)
        declared = self.__dict__.get("_declared")
        if declared is None or name.startswith("__"):
            raise AttributeError(name)
        self._declared = None
        APIRoute.__init__(self, self.path, self.endpoint, **declared)
        return getattr(self, name)


def declared_router(**options: Any) -> APIRouter:
    """An `APIRouter` whose routes are built once, by the app that includes it."""
    return APIRouter(route_class=DeclaredRoute, **options)


def served_dependant(scope: Scope) -> Dependant | None:
    """The dependency analysis the matched route is served with: its inclusion's (with the
    includer's dependencies), which FastAPI exposes only through this private helper; a route
    of the app's own router is its own."""
    context = _get_scope_effective_route_context(scope)
    dependant = getattr(context, "dependant", None)
    if isinstance(dependant, Dependant):
        return dependant
    route = scope.get("route")
    return route.dependant if isinstance(route, APIRoute) else None


def build_routes(app: FastAPI) -> int:
    """Build every included router's routes now, as the first request matched through them
    would; how many routes the app has."""
    return sum(1 for _ in iter_route_contexts(app.router.routes))
