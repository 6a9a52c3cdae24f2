"""Paging into incidents over HTTP: ``GET /api/incidents/{id}/notifications`` (what was
scheduled, sent, failed or cancelled for its responders and subscribers) and
``/api/incidents/{id}/subscribers``: users told of an incident's status and severity
changes and status updates (over their ``updates`` notification rules, types
``INCIDENT_STATUS_CHANGED``, ``INCIDENT_SEVERITY_CHANGED``, ``INCIDENT_STATUS_UPDATE_POSTED``;
the author of a change is not told of it). Responders are told without subscribing.

POST answers 202, as ilert's subscriber routes do; a user may unsubscribe themself.
"""

from __future__ import annotations

from aiohttp import web

from ..contract.common import ID_PARAM
from ..contract.incidents import IncidentSubscriberIn
from ..contract.notifications import Notification
from .context import runtime
from .field_access import shown
from .incidents import (
    INCIDENT_ID,
    ITEM,
    ONE,
    TAG,
    _act,
    _incident_id,
    _path_int,
    _ref,
    _require_incident,
    _user,
    _write,
)
from .pages import notification_json
from .problems import json_response
from .routes import Answer, Call, Param, Route


async def add_subscriber(request: web.Request, call: Call) -> web.Response:
    body: IncidentSubscriberIn = call.body
    user_id = await _user(request, "user.id", _ref("user", body.user))
    return await _act(
        request, call, lambda incident, actor: incident.subscribe(user_id, actor), 202
    )


async def remove_subscriber(request: web.Request, call: Call) -> web.Response:
    user_id = _path_int(request, "user_id", "subscriber")
    await _act(request, call, lambda incident, actor: incident.unsubscribe(user_id, actor))
    return web.Response(status=204)


async def incident_notifications(request: web.Request, call: Call) -> web.Response:
    incident_id = _incident_id(request)
    await _require_incident(request, incident_id)
    rows = await runtime(request).pool.fetch(
        "SELECT * FROM notifications WHERE alert_id = $1 ORDER BY due_at, id", incident_id
    )
    return json_response([shown(Notification, notification_json(r), call.caller) for r in rows])


SUBSCRIBER_ID = Param("user_id", "path", ID_PARAM, "the subscriber's user id")

ROUTES = (
    Route(
        "GET",
        f"{ITEM}/notifications",
        incident_notifications,
        "listIncidentNotifications",
        TAG,
        "Pages to the incident's responders and changes told to its subscribers: "
        "scheduled, sent, failed, cancelled",
        {200: Answer("Notifications", list[Notification])},
        problems=(404,),
        params=(INCIDENT_ID,),
    ),
    _write(
        "POST",
        f"{ITEM}/subscribers",
        add_subscriber,
        "addIncidentSubscriber",
        "Subscribe a user: they are told of status and severity changes and status updates",
        body=IncidentSubscriberIn,
        answers={202: ONE},
    ),
    _write(
        "DELETE",
        f"{ITEM}/subscribers/{{user_id}}",
        remove_subscriber,
        "removeIncidentSubscriber",
        "Unsubscribe a user (the user themself, or a RESPONDER for them)",
        params=(INCIDENT_ID, SUBSCRIBER_ID),
        answers={204: Answer("Unsubscribed")},
        self_param="user_id",
    ),
)
