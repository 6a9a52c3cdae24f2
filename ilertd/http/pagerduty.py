"""PagerDuty's Events API v2 as a drop-in: ``POST /v2/enqueue``, PagerDuty's own path.

A tool with a PagerDuty integration (Alertmanager's ``pagerduty_configs`` with ``url:``,
Grafana, Datadog) is pointed at ilertd with the alert source's integration key as its
routing key and works unchanged: the answers are PagerDuty's (202 ``success`` with the
dedup_key, 400 ``invalid event`` naming the field, 429 ``throttle event``). The event goes
through the Events API's own command (``events.handle_event``): dedup, Idempotency-Key,
the per-key rate limit, maintenance windows and read-your-writes are the same.
"""

from __future__ import annotations

import uuid

import orjson
from aiohttp import web

from ..contract.pagerduty import PagerDutyAccepted, PagerDutyEventBody, PagerDutyRefused
from ..domain.errors import InvalidValueError
from ..inbound.pagerduty import event_from_pagerduty
from ..inbound.replays import fingerprint
from .events import IDEMPOTENCY_KEY, handle_event
from .problems import ProblemError, json_response, retry_after
from .routes import Answer, Call, Route

#: The Events API's names of what PagerDuty names otherwise.
_FIELDS = {"integrationKey": "routing_key", "alertKey": "dedup_key"}
_THROTTLED = "Requests for this service are arriving too quickly.  Please retry later."


async def post_enqueue(request: web.Request, call: Call) -> web.Response:
    try:
        # a trigger without a dedup_key gets one, as PagerDuty makes it, and is answered it
        event = event_from_pagerduty(call.body, uuid.uuid4().hex)
    except InvalidValueError as exc:
        raise ProblemError(400, "BAD_REQUEST", str(exc), field=exc.field) from None
    keyed = "Idempotency-Key" in request.headers
    request_fingerprint = fingerprint(orjson.loads(await request.read())) if keyed else ""
    await handle_event(request, event, legacy=False, request_fingerprint=request_fingerprint)
    assert event.alert_key is not None
    body = {"status": "success", "message": "Event processed", "dedup_key": event.alert_key}
    return json_response(body, status=202)


def refused(exc: ProblemError) -> web.Response:
    """A problem in PagerDuty's shape, the field in PagerDuty's spelling."""
    field = exc.field or ""
    message = exc.message
    if field in _FIELDS and message.startswith(f"{field}:"):
        message = _FIELDS[field] + message[len(field) :]
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


def _route(path: str, operation_id: str, summary: str) -> Route:
    return Route(
        "POST",
        path,
        post_enqueue,
        operation_id,
        "Events",
        summary,
        {
            202: Answer("Event processed (committed)", PagerDutyAccepted),
            400: Answer("Invalid event; each error starts with the field", PagerDutyRefused),
            404: Answer("No alert source has this routing_key", PagerDutyRefused),
            409: Answer("The alert source is not active", PagerDutyRefused),
            422: Answer("Idempotency-Key reused with another body", PagerDutyRefused),
            429: Answer("Over the routing key's rate limit", PagerDutyRefused),
        },
        body=PagerDutyEventBody,
        problems=(413,),
        params=(IDEMPOTENCY_KEY,),
        public=True,
        problem_answer=refused,
        description="PagerDuty Events API v2: routing_key is the alert source's integration "
        "key, dedup_key the alertKey; trigger opens (or joins), acknowledge accepts, "
        "resolve resolves. Severity critical, error -> HIGH; warning, info -> LOW.",
    )


ROUTES: tuple[Route, ...] = (
    _route("/v2/enqueue", "enqueuePagerDutyEvent", "PagerDuty Events API v2 event"),
)
