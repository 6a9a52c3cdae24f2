"""The generic ``/api/v1/events/{type}/{key}`` route never swallows a tool type that has
a route of its own, whichever module registers first: aiohttp resolves a path by its
longest fixed prefix, not by registration order. (Another helper's ``prometheus`` route
relies on this.)"""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from ilertd.http import webhooks
from ilertd.http.routes import register


async def _prometheus(request: web.Request) -> web.Response:
    return web.Response(text="prometheus")


async def _handler_of(app: web.Application, path: str) -> str:
    match = await app.router.resolve(make_mocked_request("POST", path, app=app))
    return getattr(match.handler, "__qualname__", "")


async def test_specific_types_win_over_the_generic_route() -> None:
    app = web.Application()
    register(app, webhooks.ROUTES)
    # registered after the generic route on purpose
    app.router.add_post("/api/v1/events/prometheus/{key}", _prometheus)
    assert await _handler_of(app, "/api/v1/events/prometheus/k") == "_prometheus"
    assert "handle" in await _handler_of(app, "/api/v1/events/grafana/k")
    assert "handle" in await _handler_of(app, "/api/v1/events/custom/k")
    grafana = app.router.resolve(make_mocked_request("POST", "/api/v1/events/grafana/k", app=app))
    assert (await grafana).route.resource.canonical == "/api/v1/events/grafana/{key}"
    custom = await app.router.resolve(make_mocked_request("POST", "/api/events/x/k", app=app))
    assert custom.route.resource.canonical == "/api/events/{type}/{key}"
