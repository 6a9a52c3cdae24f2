"""Builds the aiohttp application from the running services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from . import (
    alert_actions,
    alert_sources,
    alerts,
    connectors,
    deliveries,
    escalation_policies,
    events,
    freshness,
    health,
    openapi,
    pages,
    routes,
    schedules,
    user_contacts,
    users,
)
from .auth import authenticate
from .context import SERVICES
from .freshness import read_barrier
from .middleware import METRICS_KEY, request_context

if TYPE_CHECKING:
    from ..app import Services


def build_app(services: Services) -> web.Application:
    app = web.Application(
        middlewares=[request_context, read_barrier, authenticate],
        client_max_size=services.config["http.max_body_bytes"],
    )
    app[SERVICES] = services
    app[METRICS_KEY] = services.metrics
    freshness.setup(app)
    health.add_routes(app)
    users.add_routes(app)
    user_contacts.add_routes(app)
    alerts.add_routes(app)
    routes.register(app, alert_sources.ROUTES)
    routes.register(app, escalation_policies.ROUTES)
    schedules.add_routes(app)
    routes.register(app, connectors.ROUTES)
    alert_actions.add_routes(app)
    deliveries.add_routes(app)
    pages.add_routes(app)
    events.add_routes(app, services.config["events.rate_limit_per_minute"])
    openapi.add_routes(app)
    return app
