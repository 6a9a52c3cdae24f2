"""Errors as JSON ``{status, code, message}`` (RFC 9457 fields added): never a bare 500.

Every 429 and 503 carries ``Retry-After`` (whole seconds, at least 1): clients and load
balancers back off instead of hammering a daemon that is starting, overloaded, or waiting
for its database.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from aiohttp import web

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

#: Statuses that tell the client to come back later, so they say when.
RETRY_STATUSES = frozenset({429, 503})
DEFAULT_RETRY_AFTER_S = 1.0


def retry_after(seconds: float | None = None) -> str:
    """A ``Retry-After`` value: whole seconds, rounded up, at least 1."""
    wait = DEFAULT_RETRY_AFTER_S if seconds is None else seconds
    return str(max(1, math.ceil(wait)))


def problem(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    retry_after_s: float | None = None,
    **extra: Any,
) -> web.Response:
    body: dict[str, Any] = {
        "status": status,
        "code": code,
        "message": message,
        "title": TITLES.get(status, "Error"),
        "detail": message,
    }
    if field is not None:
        body["field"] = field
    body.update(extra)
    response = web.Response(
        status=status, body=orjson.dumps(body), content_type="application/problem+json"
    )
    if status in RETRY_STATUSES or retry_after_s is not None:
        response.headers["Retry-After"] = retry_after(retry_after_s)
    return response


class ProblemError(Exception):
    """Raised anywhere in a handler to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        retry_after_s: float | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retry_after_s = retry_after_s

    def response(self) -> web.Response:
        return problem(
            self.status, self.code, self.message, field=self.field, retry_after_s=self.retry_after_s
        )


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), content_type="application/json")
