"""Tool webhooks with the integration key in the path: Grafana's contact point at
``/api/v1/events/grafana/{key}``, and every other type at ``/api/v1/events/{type}/{key}``
mapped by the source's templates (``ilertd.inbound.generic_json``); ``/api/events/...``
alike. ``/api/v1/...`` answers 200, ``/api/events/...`` 202, as the Events API.

Routing: the generic ``{type}`` route is the fallback. A type with a route of its own
(``prometheus``, ``grafana`` here) wins over it whatever the registration order, since
aiohttp resolves a path by its longest fixed prefix (``/api/v1/events/prometheus``
before ``/api/v1/events``; ``tests/unit/test_webhook_routing.py`` holds it to that).
This module is still the last of ``catalogue.MODULES``, so reading the list says so too.

Both paths end in ``events.handle_event``, the Events API's own command: dedup,
Idempotency-Key, the per-key rate limit, maintenance windows and read-your-writes are
the same. A body the source's filters drop is answered ``EVENT_IGNORED`` and writes
nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
from aiohttp import web

from projections.alert_sources import source_templates

from ..contract.events import EventResponse
from ..contract.webhooks import GenericWebhook, GrafanaWebhook
from ..domain.errors import InvalidValueError
from ..domain.source_templates import RenderError
from ..inbound.generic_json import Ignored, event_from_webhook, overlaid
from ..inbound.grafana import event_from_grafana
from ..inbound.ilert_events import InboundEvent
from ..inbound.replays import fingerprint
from .context import runtime
from .events import IDEMPOTENCY_KEY, handle_event
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Route

_KEY = Param(
    "key", "path", {"type": "string", "pattern": "^[^/]+$"}, "the alert source's integration key"
)
_TYPE = Param(
    "type",
    "path",
    {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]{0,63}$"},
    "the source's integrationType, any case (as in its integrationUrl)",
)


def _bad(exc: InvalidValueError | RenderError) -> ProblemError:
    return ProblemError(400, "BAD_REQUEST", str(exc), field=exc.field)


async def _send(request: web.Request, event: InboundEvent, *, legacy: bool) -> web.Response:
    keyed = "Idempotency-Key" in request.headers
    request_fingerprint = fingerprint(orjson.loads(await request.read())) if keyed else ""
    return await handle_event(
        request, event, legacy=legacy, request_fingerprint=request_fingerprint
    )


async def with_source_templates(
    request: web.Request, event: InboundEvent, body: Any
) -> InboundEvent:
    """A tool's event with its source's templates applied over the tool's mapping
    (``generic_json.overlaid``); an unknown key is left for ``handle_event``'s 404."""
    source = await runtime(request).source_with_key(event.integration_key)
    if source is None:
        return event
    templates = source_templates(source)
    if not templates:
        return event
    try:
        return overlaid(event, msgspec.to_builtins(body), templates)
    except (InvalidValueError, RenderError) as exc:
        raise _bad(exc) from None


async def _grafana(request: web.Request, call: Call, *, legacy: bool) -> web.Response:
    try:
        event = event_from_grafana(call.body, request.match_info["key"])
    except InvalidValueError as exc:
        raise _bad(exc) from None
    event = await with_source_templates(request, event, call.body)
    return await _send(request, event, legacy=legacy)


async def post_grafana(request: web.Request, call: Call) -> web.Response:
    return await _grafana(request, call, legacy=False)


async def post_grafana_v1(request: web.Request, call: Call) -> web.Response:
    return await _grafana(request, call, legacy=True)


async def _generic(request: web.Request, call: Call, *, legacy: bool) -> web.Response:
    tool, key = request.match_info["type"], request.match_info["key"]
    source = await runtime(request).source_with_key(key)
    if source is None:
        raise ProblemError(404, "NOT_FOUND", "key: no alert source has this key", field="key")
    if tool.upper() != source["integration_type"]:
        raise ProblemError(
            404,
            "NOT_FOUND",
            f"type: this key's alert source is of type {source['integration_type']}; "
            "post to its integrationUrl",
            field="type",
        )
    try:
        event = event_from_webhook(call.body, source_templates(source), key, tool=tool.lower())
    except (InvalidValueError, RenderError) as exc:
        raise _bad(exc) from None
    if isinstance(event, Ignored):
        body: dict[str, Any] = {
            "responseCode": "EVENT_IGNORED",
            "alertKey": None,
            "alertUrl": None,
            "message": f"the alert source's {event.filter} dropped this body; nothing written",
        }
        return json_response(body, status=200 if legacy else 202)
    return await _send(request, event, legacy=legacy)


async def post_generic(request: web.Request, call: Call) -> web.Response:
    return await _generic(request, call, legacy=False)


async def post_generic_v1(request: web.Request, call: Call) -> web.Response:
    return await _generic(request, call, legacy=True)


def _route(
    path: str, handler: Any, operation_id: str, legacy: bool, body: Any, summary: str
) -> Route:
    status = 200 if legacy else 202
    params = (_TYPE, _KEY) if "{type}" in path else (_KEY,)
    return Route(
        "POST",
        path,
        handler,
        operation_id,
        "Events",
        summary + (" (legacy path)" if legacy else ""),
        {status: Answer("Event committed, or ignored by the source's filters", EventResponse)},
        body=body,
        problems=(400, 404, 409, 413, 422, 429),
        params=(*params, IDEMPOTENCY_KEY),
        public=True,
        description="Authenticated by the integration key in the path. 409 when the source "
        "is inactive.",
    )


_GRAFANA = "A Grafana webhook contact point's notification: firing opens, resolved resolves"
_GENERIC = (
    "Any JSON body, mapped by the source's templates (alertKeyTemplate, summaryTemplate...)"
    " and filters; types with their own route (prometheus, grafana) are matched first"
)
ROUTES = (
    _route(
        "/api/events/grafana/{key}",
        post_grafana,
        "createGrafanaEvent",
        False,
        GrafanaWebhook,
        _GRAFANA,
    ),
    _route(
        "/api/v1/events/grafana/{key}",
        post_grafana_v1,
        "createGrafanaEventV1",
        True,
        GrafanaWebhook,
        _GRAFANA,
    ),
    _route(
        "/api/events/{type}/{key}",
        post_generic,
        "createWebhookEvent",
        False,
        GenericWebhook,
        _GENERIC,
    ),
    _route(
        "/api/v1/events/{type}/{key}",
        post_generic_v1,
        "createWebhookEventV1",
        True,
        GenericWebhook,
        _GENERIC,
    ),
)
