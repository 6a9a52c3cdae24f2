"""Reading JSON bodies: malformed JSON is a 400 naming the body, never a 500."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from .problems import ProblemError


async def read_json(request: web.Request) -> Any:
    raw = await request.read()  # aiohttp answers 413 past client_max_size
    if not raw.strip():
        raise ProblemError(400, "BAD_REQUEST", "body: a JSON body is required", field="body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProblemError(
            400, "BAD_REQUEST", f"body: not valid JSON ({exc.msg})", field="body"
        ) from None


def base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"
