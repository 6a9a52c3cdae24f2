"""Bearer API keys on /api routes; inbound integration routes authenticate by their key."""

from __future__ import annotations

import re

from aiohttp import web

from ..security import feed_token_valid, hash_api_key
from .context import SERVICES, USER
from .middleware import Handler
from .problems import ProblemError

#: Paths that authenticate by an integration key (body or path) instead of a Bearer key.
PUBLIC_PREFIXES = (
    "/api/events",
    "/api/v1/events",
    "/api/heartbeats",
    "/api/v1/heartbeats",
    "/api/openapi.json",
    # the SMS/voice provider's callbacks: checked by its signature and signed tokens
    "/api/notify/",
)


_FEED = re.compile(r"/api/schedules/([0-9]{1,18})/ical")


def _needs_api_key(path: str) -> bool:
    return path.startswith("/api/") and not path.startswith(PUBLIC_PREFIXES)


def _feed_token_ok(request: web.Request) -> bool:
    """A calendar feed fetched with its schedule's feed token (calendar apps cannot send a
    Bearer header); only that one read-only route, only that schedule."""
    match = _FEED.fullmatch(request.path)
    token = request.query.get("token")
    if match is None or not token or request.method not in ("GET", "HEAD"):
        return False
    secret = request.app[SERVICES].feed_secret
    return bool(secret) and feed_token_valid(secret, int(match[1]), token)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _needs_api_key(request.path) and not _feed_token_ok(request):
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not key.strip():
            raise ProblemError(
                401, "UNAUTHORIZED", "missing credentials: send 'Authorization: Bearer <api key>'"
            )
        user = await request.app[SERVICES].user_for_key(hash_api_key(key.strip()))
        if user is None:
            raise ProblemError(403, "FORBIDDEN", "the API key is not valid")
        request[USER] = user
    return await handler(request)
