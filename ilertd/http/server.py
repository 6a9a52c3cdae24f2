"""Builds the aiohttp application from the running services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from . import health, users
from .auth import authenticate
from .context import SERVICES
from .middleware import METRICS_KEY, request_context

if TYPE_CHECKING:
    from ..app import Services

MAX_BODY_BYTES = 1024 * 1024


def build_app(services: Services) -> web.Application:
    app = web.Application(
        middlewares=[request_context, authenticate], client_max_size=MAX_BODY_BYTES
    )
    app[SERVICES] = services
    app[METRICS_KEY] = services.metrics
    health.add_routes(app)
    users.add_routes(app)
    return app
