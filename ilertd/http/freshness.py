"""Read your writes on every route and every instance: the read barrier middleware.

Before a request under ``/api/`` or ``/r/`` runs (its authentication included, which reads
the users read model), it waits until the read models the route reads hold everything
committed before the request started (``projections.freshness``): the store's head, one
cheap query, then usually no wait at all. Writes made anywhere, an Events API 202 included,
are therefore visible to every request that starts after their answer. Past
``http.read_wait_s`` the answer is 503 ``READ_MODELS_BEHIND`` with ``Retry-After``, never a
stale one.

Which read models a route reads is declared here, by the route's path template:
every everyday (not leader-only) projection unless the route is listed below.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from projections.alerts import alert_is_current
from projections.base import Projection
from projections.freshness import Current, ReadModelsBehind

from .context import SERVICES, runtime
from .middleware import Handler
from .problems import problem
from .writes import parse_id

#: Paths whose requests wait for the read models.
GUARDED_PREFIXES = ("/api/", "/r/", "/status/")

#: Routes that read no read model: inbound events look up their source and their alert in
#: the store itself; the OpenAPI document is static.
NO_READS = frozenset({"/api/events", "/api/v1/events", "/api/openapi.json"})

#: Leader-only read models (kept by the engine's leader) that a route reads besides the
#: everyday ones. On another instance they are waited for through their tracking rows.
LEADER_READS: dict[str, tuple[str, ...]] = {
    "/api/alerts/{id}/notifications": ("pager",),
    "/api/incidents/{id}/notifications": ("pager",),
    "/api/alerts/{id}/actions": ("outbox",),
    "/api/deliveries": ("outbox",),
    "/api/deliveries/{id}": ("outbox",),
    "/api/deliveries/{id}/retry": ("outbox",),
}

#: Routes (by prefix) that never read the alerts read model, the one ingest keeps busy, so
#: a storm of events does not hold them up.
WITHOUT_ALERTS = (
    "/api/users",
    "/api/alert-sources",
    "/api/escalation-policies",
    "/api/schedules",
    "/api/on-calls",
    "/api/connectors",
    "/api/alert-actions",
    "/api/status-pages",
    "/status/",
    "/api/services",
    "/api/service-outages",
    "/api/maintenance-windows",
)

#: Reads of one alert: while the alerts read model lags (under ingest), they wait for it
#: only if that alert's own row is behind its stream.
ONE_ALERT = frozenset({"/api/alerts/{id}"})

RETRY_AFTER_S = 1

_READS = web.AppKey("read_models_by_route", dict)


def read_models(path: str, projections: Mapping[str, Projection]) -> frozenset[str]:
    """The read models a request to the route ``path`` (its template) has to wait for."""
    if path in NO_READS:
        return frozenset()
    names = {name for name, p in projections.items() if not p.leader_only}
    if path.startswith(WITHOUT_ALERTS):
        names.discard("alerts")
    names.update(LEADER_READS.get(path, ()))
    return frozenset(names)


def _current(request: web.Request, path: str) -> dict[str, Current] | None:
    if path not in ONE_ALERT or request.method not in ("GET", "HEAD"):
        return None
    alert_id = parse_id(request.match_info["id"])
    if alert_id is None:
        return None
    pool = runtime(request).pool
    return {"alerts": lambda: alert_is_current(pool, alert_id)}


@web.middleware
async def read_barrier(request: web.Request, handler: Handler) -> web.StreamResponse:
    resource = request.match_info.route.resource
    services = request.app[SERVICES]
    # no runtime: a route the readiness middleware lets in without the database reads none
    if (
        resource is None
        or not request.path.startswith(GUARDED_PREFIXES)
        or services.runtime is None
    ):
        return await handler(request)
    barrier = services.runtime.read_barrier
    cache = request.app[_READS]
    names = cache.get(resource.canonical)
    if names is None:
        names = cache[resource.canonical] = read_models(
            resource.canonical, barrier.runner.projections
        )
    if names:
        try:
            waited = await barrier.wait(
                names,
                services.config["http.read_wait_s"],
                current=_current(request, resource.canonical),
            )
        except ReadModelsBehind as exc:
            services.metrics.read_models_behind.inc()
            response = problem(
                503, "READ_MODELS_BEHIND", f"{exc}; try again", head=exc.head, behind=exc.behind
            )
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        services.metrics.read_wait.observe(waited)
    return await handler(request)


def setup(app: web.Application) -> None:
    app[_READS] = {}
