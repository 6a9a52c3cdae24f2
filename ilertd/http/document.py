"""The OpenAPI 3.1 document of what ilertd serves, built from the route table at start-up:
at /api-docs/openapi.json (where ilert's CLI looks for it) and /api/openapi.json, rendered
for people at /api-docs (Swagger UI, served from the swagger-ui-bundle package: no CDN).
None of these needs an API key."""

from __future__ import annotations

import functools
import pathlib
from typing import Any

import orjson
from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

from .. import __version__
from ..contract.problems import PROBLEM_TEXT, Problem
from .problems import ProblemError
from .routes import REF_TEMPLATE, Answer, Call, Param, Route, document_parts

DOC_PATHS = ("/api-docs/openapi.json", "/api/openapi.json")
PAGE_PATH = "/api-docs"
#: the Swagger UI files the page loads; nothing else of the bundle is served
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
}

DESCRIPTION = """\
ilertd speaks ilert's public API, so ilert's clients work against it by changing only the
base URL. Choices made where ilert's contract leaves room:

- **Ids** are int64 integers. Alert, alert source and user ids are positions in ilertd's
  event store (the position of the event that created the resource), so they grow but are
  not dense. API key ids are UUIDs. Connector and alert action ids are answered as decimal
  strings, as ilert's clients decode them (ilert-go's `ID string`); requests may give
  them as numbers or strings.
- **Auth**: `Authorization: Bearer <api key>`, or Basic `<user>@<organization>:<password>`
  as ilert's clients send it (the user by username or email, a password set on the user),
  on every `/api` route except the inbound Events API (authenticated by the alert source's
  integration key in the body) and this document. `/healthz`, `/readyz` and `/metrics`
  need no key either. Too many failed authentications from one address, or wrong
  passwords for one user, are answered 429 with `Retry-After` for a while.
- **Errors** are `{status, code, message}` plus the RFC 9457 fields `title` and `detail`,
  and `field` naming the offending field or parameter where there is one. 401 missing
  credentials, 403 wrong key or role, 404 unknown, 409 conflict with the resource's state,
  413 body too large, 429 over an integration key's rate or after failed authentications.
- **Pagination**: `start-index` (default 0) and `max-results` (default 50, at most 100);
  more than the cap is a 400, never clamped.
- **Events API `responseCode`**: `NEW_ALERT_CREATED`, `ALERT_ALREADY_EXISTS` (the event
  joined the latest open alert with its key), `ALERT_ACCEPTED`, `ALERT_RESOLVED`,
  `COMMENT_ADDED`, `NO_OPEN_ALERT` (ACCEPT, RESOLVE or COMMENT found no open alert with
  that key; nothing was written). A retry with the same `Idempotency-Key` header gets the
  first answer and writes nothing.
- **Log entry types** follow ilert's names (`AlertReceivedLogEntry`,
  `AlertAcceptedLogEntry`, ...); see `LogEntry.logEntryType`.
- **Enums** are open on input where ilert adds values: clients should accept unknown
  values in responses.

A readable rendering of this document is served at `/api-docs`.
"""


#: 429 and 503 say when to come back (ilertd.http.problems sets it on every such answer).
RETRY_AFTER = {
    "Retry-After": {
        "description": "whole seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def problem_answer(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": PROBLEM_TEXT[status],
        "content": {
            "application/problem+json": {"schema": {"$ref": REF_TEMPLATE.format(name="Problem")}}
        },
    }
    if status in (429, 503):
        answer["headers"] = RETRY_AFTER
    return answer


def build_document() -> dict[str, Any]:
    # imported here: the catalogue lists this module too
    from .catalogue import declared_routes

    paths, schemas = document_parts(
        declared_routes(), problem_answer, auth_problems=(401, 403, 429), extra_types=[Problem]
    )
    tags = dict.fromkeys(
        tag for operations in paths.values() for op in operations.values() for tag in op["tags"]
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ilertd",
            "version": __version__,
            "summary": "Self-hosted alerting, compatible with ilert's public API",
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/", "description": "the server that served this document"}],
        "tags": [{"name": name} for name in tags],
        "security": [{"bearer": []}, {"basic": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An ilertd API key: Authorization: Bearer <api key>",
                },
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "<user>@<organization>:<password>, as ilert-go's "
                    "WithBasicAuth sends it: the user's username or email, the password "
                    "set with PUT /api/users/{id}",
                },
            },
            "schemas": schemas,
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    return build_document()


@functools.cache
def _document_body() -> bytes:
    return orjson.dumps(document())


async def get_document(request: web.Request, call: Call) -> web.Response:
    return web.Response(body=_document_body(), content_type="application/json")


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ilertd API</title>
<link rel="stylesheet" href="/api-docs/assets/swagger-ui.css">
</head>
<body>
<div id="api"></div>
<script src="/api-docs/assets/swagger-ui-bundle.js"></script>
<script src="/api-docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/api-docs/assets/start.js"></script>
</body>
</html>
"""

#: kept out of the page so a Content-Security-Policy without 'unsafe-inline' admits it
START = """window.ui = SwaggerUIBundle({
  url: "/api-docs/openapi.json",
  dom_id: "#api",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
});
"""


async def get_page(request: web.Request, call: Call) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


@functools.cache
def _asset(name: str) -> bytes:
    """A bundle file, read once (the largest is 1.5 MB)."""
    return pathlib.Path(swagger_ui_path, name).read_bytes()


async def get_asset(request: web.Request, call: Call) -> web.Response:
    name = request.match_info["name"]
    if name == "start.js":
        return web.Response(text=START, content_type="text/javascript")
    if name not in ASSETS:
        raise ProblemError(404, "NOT_FOUND", "no such asset")
    response = web.Response(body=_asset(name), content_type=ASSETS[name])
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


_TAG = "Operations"
_DOCUMENT = {200: Answer("This document", dict[str, Any])}

ROUTES = (
    Route(
        "GET",
        DOC_PATHS[0],
        get_document,
        "getOpenApi",
        _TAG,
        "This document",
        _DOCUMENT,
        public=True,
        database=False,
    ),
    Route(
        "GET",
        DOC_PATHS[1],
        get_document,
        "getOpenApiApi",
        _TAG,
        "This document",
        _DOCUMENT,
        public=True,
        database=False,
    ),
    Route(
        "GET",
        PAGE_PATH,
        get_page,
        "getApiReference",
        _TAG,
        "This document, rendered (Swagger UI)",
        {200: Answer("An HTML page", str, media="text/html")},
        public=True,
        database=False,
    ),
    Route(
        "GET",
        PAGE_PATH + "/assets/{name}",
        get_asset,
        "getApiReferenceAsset",
        _TAG,
        "A script or style sheet of the rendered reference",
        {200: Answer("The file", str, media="text/javascript")},
        problems=(404,),
        params=(Param("name", "path", {"type": "string"}),),
        public=True,
        database=False,
    ),
)
