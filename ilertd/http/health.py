"""/healthz (process alive), /readyz (database and projections), /metrics (Prometheus)."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from ..contract.operations import Health, Readiness
from .context import SERVICES
from .problems import json_response
from .routes import Answer, Call, Route


async def healthz(request: web.Request, call: Call) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request, call: Call) -> web.Response:
    services = request.app[SERVICES]
    body: dict = {"status": "starting", "database": "unknown", "projections": {}}
    runtime = services.runtime
    if runtime is None:
        body["database"] = services.database_state
        return json_response(body, status=503)
    try:
        head = await asyncio.wait_for(runtime.store.head_position(), 2.0)
        body["database"] = "ok"
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        body["database"] = f"unreachable: {exc.__class__.__name__}"
        return json_response(body, status=503)
    body["projections"] = {
        name: {"position": pos, "lag": max(head - pos, 0)}
        for name, pos in runtime.runner.positions.items()
    }
    if not services.ready:
        return json_response(body, status=503)
    body["status"] = "ready"
    return json_response(body)


async def metrics(request: web.Request, call: Call) -> web.Response:
    services = request.app[SERVICES]
    if services.runtime is not None:
        try:
            head = await asyncio.wait_for(services.runtime.store.head_position(), 2.0)
            services.metrics.set_projections(head, services.runtime.runner.positions)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            pass  # still serve the process metrics
    response = web.Response(body=services.metrics.render())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


_TAG = "Operations"

ROUTES = (
    Route(
        "GET",
        "/healthz",
        healthz,
        "healthz",
        _TAG,
        "The process is alive",
        {200: Answer("Alive", Health)},
        public=True,
        database=False,
    ),
    Route(
        "GET",
        "/readyz",
        readyz,
        "readyz",
        _TAG,
        "Database reachable and projections running",
        {200: Answer("Ready", Readiness), 503: Answer("Not ready", Readiness)},
        public=True,
        database=False,
    ),
    Route(
        "GET",
        "/metrics",
        metrics,
        "metrics",
        _TAG,
        "Prometheus metrics",
        {200: Answer("Prometheus text format", str, media="text/plain")},
        public=True,
        database=False,
    ),
)
