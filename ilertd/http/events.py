"""The Events API: POST /api/events (202) and the legacy /api/v1/events (200).

Authenticated by the alert source's integration key in the body. Acknowledged only after
the event is committed; a client retry with the same ``Idempotency-Key`` header gets the
first answer and writes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ..alert_commands import NewAlert
from ..domain.errors import DomainError, InvalidValueError
from ..inbound.ilert_events import EventType, InboundEvent, parse_event
from ..inbound.replays import fingerprint, first_answer
from .body import base_url, read_json
from .context import REQUEST_ID, SERVICES
from .problems import ProblemError, json_response
from .ratelimit import RateLimiter

RATE_LIMITER = web.AppKey("events_rate_limiter", RateLimiter)
#: How long a looked-up alert source is trusted: updates and deletions of a source reach
#: the Events API within this time, and a busy integration costs no query per event.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


async def handle_event(
    request: web.Request, event: InboundEvent, *, legacy: bool, request_fingerprint: str = ""
) -> web.Response:
    services = request.app[SERVICES]
    source = await services.source_with_key(event.integration_key)
    if source is None:
        raise ProblemError(
            404, "NOT_FOUND", "integrationKey: no alert source has this key", field="integrationKey"
        )
    if not source["active"]:
        raise ProblemError(409, "SOURCE_INACTIVE", "the alert source is not active")
    wait = request.app[RATE_LIMITER].allow(event.integration_key)
    if wait:
        raise ProblemError(
            429,
            "TOO_MANY_REQUESTS",
            f"over the rate limit of this integration key; retry in {wait:.0f} s",
        )
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ProblemError(
            400,
            "BAD_REQUEST",
            "Idempotency-Key: 1 to 255 printable ASCII characters",
            field="Idempotency-Key",
        )
    idempotency = f"events:{source['id']}:{key}" if key else None
    metadata: dict[str, Any] = {"actor": f"source:{source['id']}", "via": "events-api"}
    metadata["request_id"] = request[REQUEST_ID]
    if idempotency is not None:
        earlier = await first_answer(services.require_database(), idempotency)
        if earlier is not None:
            if earlier.fingerprint and earlier.fingerprint != request_fingerprint:
                raise ProblemError(
                    422,
                    "IDEMPOTENCY_KEY_REUSED",
                    "Idempotency-Key: already used by a request with a different body",
                    field="Idempotency-Key",
                )
            if earlier.code is not None:
                return _answer(request, legacy, earlier.code, earlier.alert_id, earlier.alert_key)
        metadata["request_fingerprint"] = request_fingerprint
    commands = services.alert_commands
    try:
        if event.event_type is EventType.ALERT:
            outcome = await commands.ingest_alert(source, _new_alert(event), metadata, idempotency)
        else:
            assert event.alert_key is not None  # the parser requires it for these
            outcome = await commands.ingest_action(
                source,
                event.event_type.value,
                event.alert_key,
                event.comments,
                metadata,
                idempotency,
            )
    except DomainError as exc:
        raise ProblemError(409, "CONFLICT", str(exc)) from None
    alert_key = outcome.alert.alert_key if outcome.alert else event.alert_key
    alert_id = outcome.alert_id if outcome.alert is not None else None
    return _answer(request, legacy, outcome.code, alert_id, alert_key, url_id=outcome.alert_id)


def _answer(
    request: web.Request,
    legacy: bool,
    code: str,
    alert_id: int | None,
    alert_key: str | None,
    *,
    url_id: int | None = None,
) -> web.Response:
    url_id = alert_id if url_id is None else url_id
    body: dict[str, Any] = {
        "responseCode": code,
        "alertKey": alert_key,
        "alertUrl": f"{base_url(request)}/api/alerts/{url_id}" if url_id else None,
    }
    if alert_id is not None:
        body["alertId"] = alert_id
    if legacy:
        body["incidentKey"] = body["alertKey"]
        body["incidentUrl"] = body["alertUrl"]
    return json_response(body, status=200 if legacy else 202)


def _new_alert(event: InboundEvent) -> NewAlert:
    return NewAlert(
        summary=event.summary,
        details=event.details,
        priority=event.priority,
        severity=event.severity,
        alert_key=event.alert_key,
        routing_key=event.routing_key,
        images=event.images,
        links=event.links,
        labels=event.labels,
        custom_details=event.custom_details,
    )


async def _post(request: web.Request, *, legacy: bool) -> web.Response:
    body = await read_json(request)
    try:
        event = parse_event(body)
    except InvalidValueError as exc:
        raise ProblemError(400, "BAD_REQUEST", str(exc), field=exc.field) from None
    keyed = "Idempotency-Key" in request.headers
    return await handle_event(
        request, event, legacy=legacy, request_fingerprint=fingerprint(body) if keyed else ""
    )


async def post_events(request: web.Request) -> web.Response:
    return await _post(request, legacy=False)


async def post_events_v1(request: web.Request) -> web.Response:
    return await _post(request, legacy=True)


def add_routes(app: web.Application, per_minute: int) -> None:
    app[RATE_LIMITER] = RateLimiter(per_minute)
    app.router.add_post("/api/events", post_events)
    app.router.add_post("/api/v1/events", post_events_v1)
