"""/healthz (process alive), /readyz (database and projections), /metrics (Prometheus)."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from .context import SERVICES
from .problems import json_response


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body: dict = {"status": "starting", "database": "unknown", "projections": {}}
    if services.store is None:
        body["database"] = services.database_state
        return json_response(body, status=503)
    try:
        head = await asyncio.wait_for(services.store.head_position(), 2.0)
        body["database"] = "ok"
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        body["database"] = f"unreachable: {exc.__class__.__name__}"
        return json_response(body, status=503)
    positions = services.runner.positions if services.runner else {}
    body["projections"] = {
        name: {"position": pos, "lag": max(head - pos, 0)} for name, pos in positions.items()
    }
    if not services.ready:
        return json_response(body, status=503)
    body["status"] = "ready"
    return json_response(body)


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if services.store is not None and services.runner is not None:
        try:
            head = await asyncio.wait_for(services.store.head_position(), 2.0)
            services.metrics.set_projections(head, services.runner.positions)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            pass  # still serve the process metrics
    response = web.Response(body=services.metrics.render())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
