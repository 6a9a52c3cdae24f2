"""Request ids, structured access logs, metrics, and errors turned into problem documents."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from aiohttp import web

from eventstore import ConcurrencyError, StoreClosedError

from ..metrics import Metrics
from .problems import ProblemError, problem

log = structlog.get_logger("ilertd.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
METRICS_KEY = web.AppKey("metrics", Metrics)


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    if len(request_id) > 128:
        request_id = uuid.uuid4().hex
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await _answer(request, handler)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = _route_name(request)
        metrics = request.app[METRICS_KEY]
        metrics.http_requests.labels(request.method, route, str(status)).inc()
        metrics.http_latency.labels(route).observe(elapsed)
        if route not in ("/healthz", "/metrics", "/readyz"):
            log.info(
                "request",
                method=request.method,
                path=request.path,
                status=status,
                ms=round(elapsed * 1000, 2),
            )
        structlog.contextvars.unbind_contextvars("request_id")


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ProblemError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.upper().replace(" ", "_")
        return problem(exc.status, code, exc.text or exc.reason)
    except ConcurrencyError as exc:
        return problem(409, "VERSION_CONFLICT", str(exc))
    except (
        StoreClosedError,
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
    ) as exc:
        log.warning("database unavailable", error=str(exc))
        return problem(503, "UNAVAILABLE", "the database is not reachable; try again")
    except Exception:
        log.exception("unhandled error", path=request.path)
        return problem(500, "INTERNAL_ERROR", "internal error; see the server log")
