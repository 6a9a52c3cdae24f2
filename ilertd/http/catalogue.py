"""The API's feature modules, in routing order: the router and ``/api-docs/openapi.json``
are both built from this one list, so a module added here is served and documented.

A module declares ``ROUTES`` (``routes.Route``); one not yet migrated to the route table
still has ``add_routes(app)`` and a hand-written part of the document. A module that needs
per-application state (a rate limiter) has ``setup(app, config)``.
"""

from __future__ import annotations

from types import ModuleType

from ..status_site import site as status_site
from ..status_site import subscribe as status_subscribe
from . import (
    alert_actions,
    alert_sources,
    alertmanager,
    alerts,
    audit,
    connectors,
    deliveries,
    document,
    escalation_policies,
    events,
    health,
    heartbeat_monitors,
    heartbeats,
    incident_channels,
    incident_paging,
    incidents,
    maintenance_windows,
    pagerduty,
    pages,
    schedules,
    services,
    status_pages,
    status_subscribers,
    support_hours,
    teams,
    user_contacts,
    users,
    webhooks,
)
from .routes import Route

MODULES: tuple[ModuleType, ...] = (
    health,
    users,
    user_contacts,
    alerts,
    alert_sources,
    escalation_policies,
    schedules,
    teams,
    connectors,
    alert_actions,
    status_pages,
    status_subscribers,
    services,
    incidents,
    incident_paging,
    incident_channels,
    maintenance_windows,
    support_hours,
    deliveries,
    audit,
    document,
    pages,
    status_site,
    status_subscribe,
    # before events: a tool's own path wins over a generic /api/v1/events/{type}/{key}
    alertmanager,
    pagerduty,
    events,
    heartbeat_monitors,
    heartbeats,
    document,
    # last: its /api/v1/events/{type}/{key} is the fallback for tool types without a
    # route of their own (aiohttp prefers /api/v1/events/prometheus/{key} in any order)
    webhooks,
)


def declared_routes() -> list[Route]:
    """Every ``Route`` of the modules that declare theirs."""
    return [route for module in MODULES for route in getattr(module, "ROUTES", ())]
