"""/api/users: the caller's own user for now (full CRUD arrives with the alerts issue)."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from .context import USER
from .problems import json_response


def user_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "username": row["username"],
        "firstName": row["first_name"],
        "lastName": row["last_name"],
        "email": row["email"],
        "timezone": row["timezone"],
        "language": row["language"],
        "role": row["role"],
    }


async def current_user(request: web.Request) -> web.Response:
    return json_response(user_json(request[USER]))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/users/current", current_user)
