"""Reading JSON bodies: malformed JSON is a 400 naming the body, never a 500."""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web

from .problems import ProblemError

INT64 = (-(2**63), 2**63 - 1)
_HOST = re.compile(r"[A-Za-z0-9.\-\[\]:]{1,255}")


async def read_json(request: web.Request) -> Any:
    raw = await request.read()  # aiohttp answers 413 past client_max_size
    if not raw.strip():
        raise ProblemError(400, "BAD_REQUEST", "body: a JSON body is required", field="body")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProblemError(
            400, "BAD_REQUEST", f"body: not valid JSON ({exc.msg})", field="body"
        ) from None
    if where := nul_at(body, "body"):
        # PostgreSQL's jsonb cannot hold U+0000; refuse it here rather than fail at commit.
        raise ProblemError(
            400, "BAD_REQUEST", f"{where}: contains a NUL character (U+0000)", field=where
        )
    return body


#: How U+0000 can appear in JSON text at all (a raw NUL byte is not valid JSON).
NUL_ESCAPE = b"\\u0000"


def nul_at(value: Any, path: str) -> str | None:
    """The path of the first string (or key) holding U+0000, if any. Iterative: orjson
    accepts nesting deeper than Python's recursion limit."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return where
                stack.append((child, key if where == "body" else f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


def int64(raw: str) -> int | None:
    """An integer id that fits PostgreSQL's bigint, or None."""
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if INT64[0] <= value <= INT64[1] else None


def base_url(request: web.Request) -> str:
    """Scheme and host the client used; empty (relative links) if the Host header is odd."""
    host = request.host
    if not _HOST.fullmatch(host):
        return ""
    return f"{request.scheme}://{host}"
