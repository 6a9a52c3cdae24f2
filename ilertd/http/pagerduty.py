"""PagerDuty's Events API v2 as a drop-in: ``POST /v2/enqueue``, PagerDuty's own path.

A tool with a PagerDuty integration (Alertmanager's ``pagerduty_configs`` with ``url:``,
Grafana, Datadog) is pointed at ilertd with the alert source's integration key as its
routing key and works unchanged: the answers are PagerDuty's (202 ``success`` with the
dedup_key, 400 ``invalid event`` naming the field, 429 ``throttle event``). The event goes
through the Events API's own command (``events.handle_event``): dedup, Idempotency-Key,
the per-key rate limit, maintenance windows and read-your-writes are the same.

PagerDuty's older Events API v1 (``POST /generic/2010-04-15/create_event.json``, 200
``{"status": "success", "incident_key": ...}``) is served the same way for older tools.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from ..contract.pagerduty import (
    PagerDutyAccepted,
    PagerDutyEventBody,
    PagerDutyRefused,
    PagerDutyV1Accepted,
    PagerDutyV1EventBody,
)
from ..domain.errors import InvalidValueError
from ..inbound.ilert_events import InboundEvent
from ..inbound.pagerduty import event_from_pagerduty, event_from_pagerduty_v1
from ..inbound.replays import fingerprint
from .events import IDEMPOTENCY_KEY, handle_event
from .problems import ProblemError, json_response, retry_after
from .routes import Answer, Call, Route

#: The Events API's names of what PagerDuty names otherwise (v2, v1).
_FIELDS = {"integrationKey": "routing_key", "alertKey": "dedup_key"}
_FIELDS_V1 = {"integrationKey": "service_key", "alertKey": "incident_key"}
_THROTTLED = "Requests for this service are arriving too quickly.  Please retry later."


async def post_enqueue(request: web.Request, call: Call) -> web.Response:
    # a trigger without a dedup_key gets one, as PagerDuty makes it, and is answered it
    key = await _handle(request, event_from_pagerduty, call.body)
    body = {"status": "success", "message": "Event processed", "dedup_key": key}
    return json_response(body, status=202)


async def post_create_event(request: web.Request, call: Call) -> web.Response:
    key = await _handle(request, event_from_pagerduty_v1, call.body)
    body = {"status": "success", "message": "Event processed", "incident_key": key}
    return json_response(body, status=200)


async def _handle(
    request: web.Request, mapping: Callable[[Any, str], InboundEvent], body: Any
) -> str:
    """Map and commit the event through the Events API's command; its alert key."""
    try:
        event = mapping(body, uuid.uuid4().hex)
    except InvalidValueError as exc:
        raise ProblemError(400, "BAD_REQUEST", str(exc), field=exc.field) from None
    keyed = "Idempotency-Key" in request.headers
    request_fingerprint = fingerprint(orjson.loads(await request.read())) if keyed else ""
    await handle_event(request, event, legacy=False, request_fingerprint=request_fingerprint)
    assert event.alert_key is not None
    return event.alert_key


def refused(exc: ProblemError, names: dict[str, str] = _FIELDS) -> web.Response:
    """A problem in PagerDuty's shape, the field in PagerDuty's spelling."""
    field = exc.field or ""
    message = exc.message
    if field in names and message.startswith(f"{field}:"):
        message = names[field] + message[len(field) :]
    if exc.status == 429:
        status, summary = "throttle event", _THROTTLED
    elif exc.status == 400:
        status, summary = "invalid event", "Event object is invalid"
    else:
        status, summary = "invalid event", message
    response = json_response(
        {"status": status, "message": summary, "errors": [message]}, status=exc.status
    )
    if exc.status == 429 or exc.retry_after_s is not None:
        response.headers["Retry-After"] = retry_after(exc.retry_after_s)
    return response


def refused_v1(exc: ProblemError) -> web.Response:
    return refused(exc, _FIELDS_V1)


def _answers(key: str) -> dict[int, Answer]:
    """The refusals both versions document, ``key`` naming the integration key."""
    return {
        400: Answer("Invalid event; each error starts with the field", PagerDutyRefused),
        404: Answer(f"No alert source has this {key}", PagerDutyRefused),
        409: Answer("The alert source is not active", PagerDutyRefused),
        422: Answer("Idempotency-Key reused with another body", PagerDutyRefused),
        429: Answer(f"Over the {key}'s rate limit", PagerDutyRefused),
    }


ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/v2/enqueue",
        post_enqueue,
        "enqueuePagerDutyEvent",
        "Events",
        "PagerDuty Events API v2 event",
        {202: Answer("Event processed (committed)", PagerDutyAccepted), **_answers("routing_key")},
        body=PagerDutyEventBody,
        problems=(413,),
        params=(IDEMPOTENCY_KEY,),
        public=True,
        problem_answer=refused,
        description="PagerDuty Events API v2: routing_key is the alert source's integration "
        "key, dedup_key the alertKey; trigger opens (or joins), acknowledge accepts, "
        "resolve resolves. Severity critical, error -> HIGH; warning, info -> LOW.",
    ),
    Route(
        "POST",
        "/generic/2010-04-15/create_event.json",
        post_create_event,
        "createPagerDutyV1Event",
        "Events",
        "PagerDuty Events API v1 event (older tools)",
        {
            200: Answer("Event processed (committed)", PagerDutyV1Accepted),
            **_answers("service_key"),
        },
        body=PagerDutyV1EventBody,
        problems=(413,),
        params=(IDEMPOTENCY_KEY,),
        public=True,
        problem_answer=refused_v1,
        description="PagerDuty Events API v1: service_key is the alert source's integration "
        "key, incident_key the alertKey, description the summary; v1 has no severity, so "
        "the source's priority rule decides.",
    ),
)
