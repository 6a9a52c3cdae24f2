"""Request ids, structured access logs, metrics, and errors turned into problem documents."""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from aiohttp import web

from eventstore import ConcurrencyError, StoreClosedError, UnstorableEventError

from ..logging import CURRENT_REQUEST_ID
from ..metrics import Metrics
from .context import REQUEST_ID
from .problems import ProblemError, problem

log = structlog.get_logger("ilertd.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
METRICS_KEY = web.AppKey("metrics", Metrics)
#: A client's X-Request-Id is kept only if it is plain and short; otherwise we make one.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


#: Request ids: unique per process start (random prefix) and cheap (a counter, no
#: system call per request as uuid4 makes).
_ID_PREFIX = uuid.uuid4().hex[:12]
_ID_COUNTER = itertools.count(1)


def _new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):010x}"


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    offered = request.headers.get("X-Request-Id", "")
    request_id = offered if _REQUEST_ID.fullmatch(offered) else _new_request_id()
    request[REQUEST_ID] = request_id
    bound = CURRENT_REQUEST_ID.set(request_id)
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
        request.app[METRICS_KEY].request_answered(request.method, route, str(status), elapsed)
        if route not in ("/healthz", "/metrics", "/readyz"):
            log.info(
                "request",
                method=request.method,
                path=request.path,
                status=status,
                ms=round(elapsed * 1000, 2),
            )
        CURRENT_REQUEST_ID.reset(bound)


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
    except UnstorableEventError as exc:
        return problem(400, "BAD_REQUEST", f"body: {exc}", field="body")
    except (
        StoreClosedError,
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        # 57P01 admin shutdown, 57P03 cannot connect now: a restart or a killed backend
        asyncpg.exceptions.OperatorInterventionError,
    ) as exc:
        log.warning("database unavailable", error=str(exc))
        return problem(503, "UNAVAILABLE", "the database is not reachable; try again")
    except Exception:
        log.exception("unhandled error", path=request.path)
        return problem(500, "INTERNAL_ERROR", "internal error; see the server log")
