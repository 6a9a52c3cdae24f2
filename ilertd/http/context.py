"""Typed keys for what handlers find on the aiohttp application."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

if TYPE_CHECKING:
    from ..app import Services

SERVICES: web.AppKey[Services] = web.AppKey("services")

#: The authenticated caller (a row of the users projection), set by the auth middleware.
USER: web.RequestKey[asyncpg.Record] = web.RequestKey("user", asyncpg.Record)

#: This request's id (the client's X-Request-Id when it is plain, else generated).
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
