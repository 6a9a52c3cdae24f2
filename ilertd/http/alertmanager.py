"""Prometheus Alertmanager's webhook receiver: ``POST /api/v1/events/prometheus/{key}``
(the URL ilert documents) and ``/api/events/prometheus/{key}``.

The body becomes one Events API event (``ilertd.inbound.prometheus``) and goes through
the Events API's own command (``events.handle_event``): the same dedup, Idempotency-Key,
per-key rate limit, maintenance windows and read-your-writes, and the same answer.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from ..contract.events import EventResponse
from ..contract.prometheus import AlertmanagerWebhook
from ..inbound.prometheus import event_from_alertmanager
from ..inbound.replays import fingerprint
from .events import IDEMPOTENCY_KEY, handle_event
from .routes import Answer, Call, Param, Route
from .webhooks import with_source_templates

KEY = Param(
    "key",
    "path",
    {"type": "string", "pattern": "^[^/]+$"},
    "the alert source's integration key",
)


async def post_alertmanager(request: web.Request, call: Call) -> web.Response:
    event = event_from_alertmanager(call.body, request.match_info["key"])
    event = await with_source_templates(request, event, call.body)
    # as the Events API: only a keyed request pays for the fingerprint's parse
    keyed = "Idempotency-Key" in request.headers
    request_fingerprint = fingerprint(orjson.loads(await request.read())) if keyed else ""
    return await handle_event(request, event, legacy=False, request_fingerprint=request_fingerprint)


def _route(path: str, operation_id: str, summary: str) -> Route:
    return Route(
        "POST",
        path,
        post_alertmanager,
        operation_id,
        "Events",
        summary,
        {202: Answer("Event committed", EventResponse)},
        body=AlertmanagerWebhook,
        problems=(400, 404, 409, 413, 422, 429),
        params=(KEY, IDEMPOTENCY_KEY),
        public=True,
        description="Alertmanager's webhook_configs body; authenticated by the integration "
        "key in the path. One alert per Alertmanager group (alertKey: groupKey); "
        "`resolved` resolves it. Priority from the `severity` label: critical, error, high "
        "-> HIGH; warning, info, low -> LOW; else the source's rule. The "
        "`ilert_routingkey` label routes as the Events API's routingKey.",
    )


ROUTES: tuple[Route, ...] = (
    _route(
        "/api/v1/events/prometheus/{key}",
        "createAlertmanagerEventV1",
        "Prometheus Alertmanager webhook (ilert's URL)",
    ),
    _route(
        "/api/events/prometheus/{key}",
        "createAlertmanagerEvent",
        "Prometheus Alertmanager webhook",
    ),
)
