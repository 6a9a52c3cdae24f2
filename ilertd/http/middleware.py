"""Request ids, structured access logs, metrics, and errors turned into problem documents.

Also the answers a client cannot hold the daemon open with: a body not sent within
``http.body_timeout_s`` is a 408 (``read_body``), a database that gives no connection or no
result in time is a 503 with ``Retry-After``, and a 405 says which methods are ``Allow``ed.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from aiohttp import web

from eventstore import ConcurrencyError, StoreClosedError, UnstorableEventError

from ..logging import CURRENT_REQUEST_ID, mask_target
from ..metrics import Metrics
from .context import REQUEST_ID
from .problems import RETRY_STATUSES, ProblemError, problem, retry_after

log = structlog.get_logger("ilertd.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
METRICS_KEY = web.AppKey("metrics", Metrics)
BODY_TIMEOUT_KEY = web.AppKey("body_timeout_s", float)
#: A client's X-Request-Id is kept only if it is plain and short; otherwise we make one.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


#: Request ids: unique per process start (random prefix) and cheap (a counter, no
#: system call per request as uuid4 makes).
_ID_PREFIX = uuid.uuid4().hex[:12]
_ID_COUNTER = itertools.count(1)


def _new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):010x}"


def logged_target(request: web.Request) -> str:
    """The request's path and query as the log may show them: secrets masked."""
    query = request.query_string
    return mask_target(f"{request.path}?{query}" if query else request.path)


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
        if status in RETRY_STATUSES and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = retry_after()  # answers that are no problem
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = _route_name(request)
        request.app[METRICS_KEY].request_answered(request.method, route, str(status), elapsed)
        if route not in ("/healthz", "/metrics", "/readyz"):
            log.info(
                "request",
                method=request.method,
                path=logged_target(request),
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
        response = problem(exc.status, code, exc.text or exc.reason)
        if "Allow" in exc.headers:  # 405: the router names the resource's methods
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except ConcurrencyError as exc:
        return problem(409, "VERSION_CONFLICT", str(exc))
    except UnstorableEventError as exc:
        return problem(400, "BAD_REQUEST", f"body: {exc}", field="body")
    except (
        # 57014: statement_timeout (database.statement_timeout_s) cancelled the statement
        asyncpg.QueryCanceledError,
        # no free connection within database.acquire_timeout_s, or asyncpg's client-side
        # bound on a server that does not answer at all (before OSError: it is one)
        TimeoutError,
    ) as exc:
        log.warning("database busy", error=str(exc) or exc.__class__.__name__)
        return problem(503, "DATABASE_BUSY", "the database did not answer in time; try again")
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
        log.exception("unhandled error", path=logged_target(request))
        return problem(500, "INTERNAL_ERROR", "internal error; see the server log")


@web.middleware
async def read_body(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read the body within ``http.body_timeout_s``, or answer 408 and close the connection.

    A client dribbling its body would otherwise hold a handler and a connection for as long
    as it likes. aiohttp keeps what is read here, so handlers' ``read()`` returns it at once.
    Multipart bodies are read by the handler as a stream and are left to it.
    """
    if request.content.is_eof():
        # the whole body is in already (nearly every small POST): nothing to wait for, and
        # an asyncio.timeout per request was 2-3% of the Events API's CPU (py-spy)
        return await handler(request)
    if request.body_exists and request.content_type != "multipart/form-data":
        bound = request.app[BODY_TIMEOUT_KEY]
        try:
            async with asyncio.timeout(bound):
                await request.read()
        except TimeoutError:
            response = problem(
                408, "REQUEST_TIMEOUT", f"body: not received within {bound:g} s", field="body"
            )
            # no keep-alive, and no lingering read of the rest (aiohttp would wait for it
            # up to its lingering time): the connection closes once the 408 is out
            response.force_close()
            request.content.feed_eof()
            return response
    return await handler(request)
