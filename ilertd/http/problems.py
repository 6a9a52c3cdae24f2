"""Errors as JSON ``{status, code, message}`` (RFC 9457 fields added): never a bare 500."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(
    status: int, code: str, message: str, *, field: str | None = None, **extra: Any
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
    return web.Response(
        status=status, body=orjson.dumps(body), content_type="application/problem+json"
    )


class ProblemError(Exception):
    """Raised anywhere in a handler to answer with a problem document."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def response(self) -> web.Response:
        return problem(self.status, self.code, self.message, field=self.field)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), content_type="application/json")
