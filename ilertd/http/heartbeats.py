"""Heartbeat pings: HEAD, GET and POST on /api/heartbeats/{key} and /api/v1/heartbeats/{key}.

Every client's spelling answers 202 with an empty body (ilert-go sends HEAD, ilert-js HEAD
with ``accept: text/plain``, ilert-rust GET, ilert's docs GET or POST on the v1 path). The
key authenticates, as the Events API's does: a monitor's own key, or the integration key
of an alert source of integrationType HEARTBEAT or HEARTBEAT2: the oldest monitor that
opens its alerts on that source (so the source made for a monitor pings it), or, for a
source no monitor names, its implicit monitor (``LEGACY_INTERVAL_S``, made at its first
ping). Unknown key
404; over ``heartbeats.rate_limit_per_minute`` per key (ilert's 5) 429. A POST body is
ignored. A ping that changes the monitor's state (the first, or one ending an overdue
period) waits for its event to reach the read models, so a GET after the 202 shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
from aiohttp import web

from projections.heartbeat_monitors import monitor_by_key, monitor_of_legacy_source

from ..domain.errors import DomainError
from .context import runtime
from .problems import ProblemError
from .ratelimit import RateLimiter
from .routes import Answer, Call, Param, Route

RATE_LIMITER = web.AppKey("heartbeats_rate_limiter", RateLimiter)
#: The alert source types whose key pings an implicit monitor (ilert's old heartbeats).
LEGACY_TYPES = frozenset({"HEARTBEAT", "HEARTBEAT2"})
_UNKNOWN = "key: no heartbeat monitor or heartbeat alert source has this key"


async def _monitor(request: web.Request, key: str) -> asyncpg.Record | None:
    parts = runtime(request)
    row = await monitor_by_key(parts.pool, key)
    if row is not None:
        return row
    source = await parts.source_with_key(key)
    if source is None or source["integration_type"] not in LEGACY_TYPES:
        return None
    row = await monitor_of_legacy_source(parts.pool, source["id"])
    if row is None:
        position = await parts.heartbeats.create_legacy_monitor(source)
        await parts.runner.wait_for(position or await parts.store.head_position())
        row = await monitor_of_legacy_source(parts.pool, source["id"])
    return row


async def ping(request: web.Request, call: Call) -> web.Response:
    key = request.match_info["key"]
    row = await _monitor(request, key)
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _UNKNOWN, field="key")
    wait = request.app[RATE_LIMITER].allow(key)
    if wait:
        raise ProblemError(
            429,
            "TOO_MANY_REQUESTS",
            f"over the rate limit of this heartbeat key; retry in {wait:.0f} s",
            retry_after_s=wait,
        )
    parts = runtime(request)
    try:
        position = await parts.heartbeats.ping(row)
    except DomainError as exc:
        raise ProblemError(409, "CONFLICT", str(exc)) from None
    if position is not None:
        await parts.runner.wait_for(position)
    return web.Response(status=202)


def setup(app: web.Application, config: Mapping[str, Any]) -> None:
    app[RATE_LIMITER] = RateLimiter(config["heartbeats.rate_limit_per_minute"])


_KEY = Param(
    "key",
    "path",
    {"type": "string", "pattern": "^[^/]{1,256}$"},
    "the monitor's integrationKey, or a HEARTBEAT alert source's",
)


def _route(method: str, path: str, operation_id: str) -> Route:
    return Route(
        method,
        path,
        ping,
        operation_id,
        "Heartbeat monitors",
        "Ping a heartbeat (any body is ignored)",
        {202: Answer("Ping recorded")},
        problems=(404, 409, 429),
        params=(_KEY,),
        public=True,
        description="Authenticated by the key in the path, not a Bearer key.",
    )


ROUTES = tuple(
    _route(method, f"{prefix}/heartbeats/{{key}}", f"{verb}Heartbeat{suffix}")
    for prefix, suffix in (("/api", ""), ("/api/v1", "V1"))
    for method, verb in (("HEAD", "headPing"), ("GET", "getPing"), ("POST", "postPing"))
)
