"""While ilertd starts, routes that need the database answer 503 here, and only here.

Until the runtime is built, the read models caught up and the first admin made
(``Services.ready``), every request answers 503 ``UNAVAILABLE`` with ``Retry-After``,
unmatched ones included (an ``/api`` path's authentication reads the users). Only routes
declared ``database=False`` (health, metrics, the API document and its page) are let
through. Handlers can therefore take the runtime for granted (``context.runtime``).
"""

from __future__ import annotations

from aiohttp import web

from .context import SERVICES
from .middleware import Handler
from .problems import problem
from .routes import WITHOUT_DATABASE

NOT_READY = "ilertd is starting: the database is not ready"
RETRY_AFTER_S = 1


@web.middleware
async def readiness(request: web.Request, handler: Handler) -> web.StreamResponse:
    services = request.app[SERVICES]
    if services.ready and services.runtime is not None:
        return await handler(request)
    if request.match_info.route in request.app.get(WITHOUT_DATABASE, ()):
        return await handler(request)
    response = problem(503, "UNAVAILABLE", NOT_READY)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response
