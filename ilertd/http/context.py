"""Typed keys for what handlers find on the aiohttp application, and the runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

if TYPE_CHECKING:
    from ..app import Services
    from ..runtime import Runtime

SERVICES: web.AppKey[Services] = web.AppKey("services")

#: The authenticated caller (a row of the users projection), set by the auth middleware.
USER: web.RequestKey[asyncpg.Record] = web.RequestKey("user", asyncpg.Record)

#: This request's id (the client's X-Request-Id when it is plain, else generated).
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)


def runtime(request: web.Request) -> Runtime:
    """The daemon's database parts. The readiness middleware lets a request through before
    they exist only to a route declared ``database=False``, so here they always do."""
    found = request.app[SERVICES].runtime
    if found is None:
        raise RuntimeError(f"{request.path} is declared without the database but needs it")
    return found
