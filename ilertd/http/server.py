"""Builds the aiohttp application from the running services.

A connection cannot be held open by a slow client: aiohttp closes one that has not sent a
complete request head within its keep-alive timeout (counted from the connection's start
or the previous answer), set here to ``http.header_timeout_s``; ``read_body`` bounds the
body by ``http.body_timeout_s``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from . import freshness, routes
from .auth import authenticate
from .catalogue import MODULES
from .context import SERVICES
from .freshness import read_barrier
from .middleware import BODY_TIMEOUT_KEY, METRICS_KEY, read_body, request_context
from .readiness import readiness

if TYPE_CHECKING:
    from ..app import Services


def build_app(services: Services) -> web.Application:
    config = services.config
    app = web.Application(
        # read_body last: a body is read only for a request that passed authentication
        middlewares=[request_context, readiness, read_barrier, authenticate, read_body],
        client_max_size=config["http.max_body_bytes"],
        handler_args={"keepalive_timeout": config["http.header_timeout_s"]},
    )
    app[SERVICES] = services
    app[BODY_TIMEOUT_KEY] = config["http.body_timeout_s"]
    app[METRICS_KEY] = services.metrics
    freshness.setup(app)
    for module in MODULES:
        if hasattr(module, "setup"):
            module.setup(app, services.config)
        if hasattr(module, "ROUTES"):
            routes.register(app, module.ROUTES)
        else:
            module.add_routes(app)
    return app
