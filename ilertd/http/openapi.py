"""The OpenAPI 3.1 document of what ilertd serves, at /api-docs/openapi.json (where ilert's
CLI looks for it) and /api/openapi.json. Neither needs an API key.

The document is built once, from small helpers, and serialised once. It lists exactly the
routes the route modules register: tests/integration/test_openapi.py compares the two, so a
route added without a description here (or described but gone) fails the build.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from .. import __version__
from ..contract.alerts import AlertAssignment
from ..domain.log_entries import LogEntryType
from .routes import document_parts

Schema = dict[str, Any]

DOC_PATHS = ("/api-docs/openapi.json", "/api/openapi.json")

ALERT_STATUSES = ("PENDING", "ACCEPTED", "RESOLVED")
PRIORITIES = ("HIGH", "LOW")
ROLES = ("ADMIN", "USER", "RESPONDER", "STAKEHOLDER", "GUEST")
ALERT_CREATION = (
    "ONE_ALERT_PER_EMAIL",
    "ONE_ALERT_PER_EMAIL_SUBJECT",
    "ONE_PENDING_ALERT_ALLOWED",
    "ONE_OPEN_ALERT_ALLOWED",
    "ONE_ALERT_GROUPED_PER_WINDOW",
)
ALERT_PRIORITY_RULES = ("HIGH", "LOW", "HIGH_DURING_SUPPORT_HOURS", "LOW_DURING_SUPPORT_HOURS")
SOURCE_STATUSES = ("PENDING", "ALL_ACCEPTED", "ALL_RESOLVED", "IN_MAINTENANCE", "DISABLED")
EVENT_TYPES = ("ALERT", "ACCEPT", "RESOLVE", "COMMENT")
RESPONSE_CODES = (
    "NEW_ALERT_CREATED",
    "ALERT_ALREADY_EXISTS",
    "ALERT_ACCEPTED",
    "ALERT_RESOLVED",
    "COMMENT_ADDED",
    "NO_OPEN_ALERT",
)
LOG_ENTRY_TYPES = tuple(LogEntryType)

DESCRIPTION = """\
ilertd speaks ilert's public API, so ilert's clients work against it by changing only the
base URL. Choices made where ilert's contract leaves room:

- **Ids** are int64 integers. Alert, alert source and user ids are positions in ilertd's
  event store (the position of the event that created the resource), so they grow but are
  not dense. API key ids are UUIDs.
- **Auth**: `Authorization: Bearer <api key>` on every `/api` route except the inbound
  Events API (authenticated by the alert source's integration key in the body) and this
  document. `/healthz`, `/readyz` and `/metrics` need no key either.
- **Errors** are `{status, code, message}` plus the RFC 9457 fields `title` and `detail`,
  and `field` naming the offending field or parameter where there is one. 401 missing
  credentials, 403 wrong key or role, 404 unknown, 409 conflict with the resource's state,
  413 body too large, 429 over an integration key's rate.
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
"""


# --- schema helpers ---------------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """``schema`` or null (OpenAPI 3.1: JSON Schema's own null type)."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type", "object")
    types = kind if isinstance(kind, list) else [kind]
    widened = {**schema, "type": [*types, "null"]}
    if "enum" in schema:
        widened["enum"] = [*schema["enum"], None]
    return widened


def string(description: str | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def int64(description: str | None = None, **extra: Any) -> Schema:
    return {**string(description, **extra), "type": "integer", "format": "int64"}


def boolean(description: str | None = None) -> Schema:
    return {**string(description), "type": "boolean"}


def timestamp(description: str | None = None) -> Schema:
    return string(description, format="date-time")


def enum(values: tuple[str, ...], description: str | None = None) -> Schema:
    return string(description, enum=list(values))


def array(items: Schema, description: str | None = None) -> Schema:
    schema: Schema = {"type": "array", "items": items}
    if description:
        schema["description"] = description
    return schema


def obj(
    properties: dict[str, Schema],
    required: tuple[str, ...] = (),
    *,
    description: str | None = None,
    **extra: Any,
) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def id_ref(description: str | None = None, *, name: bool = False) -> Schema:
    """``{"id": n}`` (and ``name`` in answers), as ilert references other resources."""
    properties = {"id": int64()}
    if name:
        properties["name"] = nullable(string())
    return obj(properties, ("id",), description=description)


def string_map(description: str | None = None) -> Schema:
    return obj({}, description=description, additionalProperties={"type": "string"})


# --- component schemas ------------------------------------------------------------------


def problem_schema() -> Schema:
    return obj(
        {
            "status": {"type": "integer", "description": "the HTTP status"},
            "code": string("machine-readable, e.g. BAD_REQUEST, NOT_FOUND, CONFLICT"),
            "message": string("what went wrong; for 400s it starts with the field's name"),
            "title": string("RFC 9457: the status' reason phrase"),
            "detail": string("RFC 9457: same as message"),
            "field": string("the offending field or parameter, when there is one"),
        },
        ("status", "code", "message"),
        description="An error (served as application/problem+json).",
    )


def responder_schema() -> Schema:
    return obj(
        {
            "user": ref("UserRef"),
            "status": enum(("PENDING", "ACCEPTED")),
            "acceptedAt": nullable(timestamp()),
        },
        ("user", "status"),
    )


def channel_schema() -> Schema:
    return obj(
        {
            "id": string("ilertd's id of the attachment, used to detach it"),
            "type": string("upper-cased, e.g. SLACK, MICROSOFT_TEAMS"),
            "name": string(maxLength=255),
            "url": string(format="uri", maxLength=2048),
        },
        ("id", "type", "name", "url"),
        description="A chat channel attached to an alert.",
    )


def image_schema() -> Schema:
    return obj({"src": string(format="uri"), "href": string(), "alt": string()}, ("src",))


def link_schema() -> Schema:
    return obj({"href": string(format="uri"), "text": string()}, ("href",))


def event_comment_schema() -> Schema:
    return obj({"creator": string(), "content": string()}, ("content",))


def alert_schema() -> Schema:
    return obj(
        {
            "id": int64(),
            "summary": string(),
            "details": string("markdown"),
            "reportTime": timestamp(),
            "resolvedOn": nullable(timestamp()),
            "status": enum(ALERT_STATUSES),
            "priority": enum(PRIORITIES),
            "severity": nullable({"type": "integer", "minimum": 1, "maximum": 5}),
            "alertKey": nullable(string()),
            "alertSource": id_ref(name=True),
            "escalationPolicy": nullable(id_ref()),
            "assignedTo": nullable(ref("UserRef")) | {"deprecated": True},
            "responders": array(ref("Responder")),
            "nextEscalation": nullable(timestamp()),
            "nextEscalationRuleIndex": nullable({"type": "integer"}),
            "escalationLevel": nullable({"type": "integer", "description": "ilertd: zero-based"}),
            "images": nullable(array(ref("Image"))),
            "links": nullable(array(ref("Link"))),
            "labels": nullable(string_map()),
            "channels": nullable(array(ref("Channel"))),
            "eventsReceived": nullable({"type": "integer"}),
            "linkedIncidentId": nullable(int64()),
            "customDetails": nullable(
                obj({}, description="only with ?include=customDetails", additionalProperties=True)
            ),
            "at": timestamp("only with ?at=: the moment the alert was replayed to"),
            "version": {"type": "integer", "description": "only with ?at=: stream version"},
        },
        ("id", "summary", "status", "priority", "reportTime", "alertSource", "responders"),
    )


def new_alert_schema() -> Schema:
    return obj(
        {
            "summary": string(minLength=1, maxLength=1024),
            "details": string(maxLength=100_000),
            "alertSource": id_ref(),
            "escalationPolicy": id_ref("ignored: the alert source's policy is used"),
            "priority": enum(PRIORITIES),
            "responders": array(obj({"user": id_ref()}, ("user",))),
        },
        ("summary", "alertSource"),
        description="A manual alert.",
    )


def log_entry_schema() -> Schema:
    return obj(
        {
            "id": int64(),
            "timestamp": timestamp(),
            "logEntryType": enum(LOG_ENTRY_TYPES, "open enum: more types may follow"),
            "text": string(),
            "alertId": int64(),
            "actor": obj(
                {"type": enum(("user", "source", "system")), "id": int64()},
                description="ilertd: who caused the entry",
            ),
            "vars": obj({}, additionalProperties=True),
        },
        ("id", "timestamp", "logEntryType", "text", "alertId"),
    )


def user_schema() -> Schema:
    return obj(
        {
            "id": {**int64(), "readOnly": True},
            "username": string(),
            "firstName": string(),
            "lastName": string(),
            "email": string(format="email"),
            "timezone": string("IANA zone"),
            "language": string(),
            "role": enum(ROLES),
            "mutedUntil": nullable(timestamp()),
            "createdAt": {**timestamp(), "readOnly": True},
            "updatedAt": {**timestamp(), "readOnly": True},
        },
        ("email", "firstName", "lastName"),
        description="PUT replaces the whole profile; only an ADMIN changes a role.",
    )


def api_key_schema() -> Schema:
    return obj(
        {"id": string(format="uuid"), "label": string(), "createdAt": timestamp()},
        ("id", "createdAt"),
    )


def api_key_created_schema() -> Schema:
    return {
        "allOf": [
            ref("ApiKey"),
            obj({"apiKey": string("the key itself: shown only once")}, ("apiKey",)),
        ]
    }


CONTACT_TEXT = (
    "The user themself or an ADMIN reads and writes contacts; PUT replaces the whole contact. "
    "At most 20 contacts per user; the same target twice is a 409. At most one contact per "
    "channel is primary: making one primary makes the others not. A contact a notification "
    "rule uses cannot be removed (409)."
)
RULE_TEXT = (
    "The user themself or an ADMIN reads and writes notification rules; PUT replaces the "
    "whole rule. EMAIL needs an email contact, SMS and VOICE a phone number, PUSH none "
    "(contact absent or null). At most 50 rules per user."
)


def contact_ref_schema() -> Schema:
    return nullable(
        obj(
            {"id": int64(), "target": {**string(), "readOnly": True}},
            ("id",),
            description="The contact to send to: {id} on input (a bare integer id is "
            "accepted too), the target added on output; null for PUSH.",
        )
    )


def contact_schemas() -> dict[str, Schema]:
    item_id = {
        **int64("the user's item id: contacts and rules share one counter"),
        "readOnly": True,
    }
    primary = {**boolean("the channel's primary contact"), "default": False}
    rule_base = {"id": item_id, "contact": ref("ContactRef")}
    minutes = {"type": "integer", "minimum": 0, "default": 0}
    return {
        "ContactRef": contact_ref_schema(),
        "EmailContact": obj(
            {"id": item_id, "target": string(format="email", maxLength=255), "primary": primary},
            ("target",),
            description=CONTACT_TEXT,
        ),
        "PhoneContact": obj(
            {
                "id": item_id,
                "target": string(
                    "international: + and 8 to 15 digits; spaces, dashes and parentheses "
                    "are dropped"
                ),
                "regionCode": nullable(string("two letters, such as DE", pattern="^[A-Za-z]{2}$")),
                "primary": primary,
            },
            ("target",),
            description=CONTACT_TEXT,
        ),
        "AlertNotificationRule": obj(
            {
                **rule_base,
                "method": enum(("EMAIL", "SMS", "VOICE", "PUSH")),
                "delayMin": minutes | {"maximum": 120, "description": "minutes after the alert"},
                "type": enum(("HIGH_PRIORITY", "LOW_PRIORITY"), "the alerts' priority"),
            },
            ("method", "type"),
            description=RULE_TEXT,
        ),
        "DutyNotificationRule": obj(
            {
                **rule_base,
                "method": enum(("EMAIL", "SMS", "PUSH")),
                "beforeMin": minutes
                | {"maximum": 10080, "description": "minutes before a shift starts"},
            },
            ("method",),
            description=RULE_TEXT,
        ),
        "UpdateNotificationRule": obj(
            {
                **rule_base,
                "method": enum(("EMAIL", "SMS", "PUSH")),
                "type": enum(("ALERT_ACCEPTED", "ALERT_RESOLVED", "ALERT_ESCALATED")),
            },
            ("method", "type"),
            description=RULE_TEXT,
        ),
    }


def event_request_schema() -> Schema:
    return obj(
        {
            "integrationKey": string("the alert source's key"),
            "apiKey": string("legacy alias of integrationKey; must agree when both are sent"),
            "eventType": enum(EVENT_TYPES),
            "summary": string("required for ALERT"),
            "details": string("markdown"),
            "alertKey": string("dedup key: trimmed, compared case-insensitively"),
            "incidentKey": string("legacy alias of alertKey"),
            "priority": enum(PRIORITIES),
            "severity": {"type": "integer", "minimum": 1, "maximum": 5},
            "images": array(ref("Image")),
            "links": array(ref("Link")),
            "comments": array(ref("EventComment"), "used with COMMENT"),
            "labels": string_map(),
            "customDetails": obj({}, additionalProperties=True),
            "routingKey": string("ALERT only: picks the policy with this routingKey"),
        },
        ("eventType",),
        description="Send integrationKey or apiKey; alertKey (or incidentKey) is required "
        "except for ALERT. Unknown fields are ignored.",
        anyOf=[{"required": ["integrationKey"]}, {"required": ["apiKey"]}],
    )


def event_response_schema() -> Schema:
    return obj(
        {
            "responseCode": enum(RESPONSE_CODES),
            "alertKey": nullable(string()),
            "alertUrl": nullable(string(format="uri")),
            "alertId": int64("absent when no alert was touched"),
            "incidentKey": nullable(string("legacy /api/v1/events only")),
            "incidentUrl": nullable(string(format="uri", description="legacy only")),
        },
        ("responseCode",),
    )


def schemas() -> dict[str, Schema]:
    return {
        "Problem": problem_schema(),
        "Alert": alert_schema(),
        "NewAlert": new_alert_schema(),
        "AlertCount": obj({"count": {"type": "integer"}}, ("count",)),
        "Responder": responder_schema(),
        "ResponderRequest": obj({"user": id_ref()}, ("user",)),
        "Channel": channel_schema(),
        "ChannelRequest": obj(
            {
                "type": string(minLength=1, maxLength=64),
                "name": string(minLength=1, maxLength=255),
                "url": string(format="uri", maxLength=2048, pattern="^https?://"),
            },
            ("type", "name", "url"),
        ),
        "CommentRequest": obj({"content": string(minLength=1, maxLength=10_000)}, ("content",)),
        "Image": image_schema(),
        "Link": link_schema(),
        "EventComment": event_comment_schema(),
        "LogEntry": log_entry_schema(),
        **schedule_schemas(),
        "User": user_schema(),
        "ApiKey": api_key_schema(),
        "ApiKeyRequest": obj({"label": string()}),
        "ApiKeyCreated": api_key_created_schema(),
        **contact_schemas(),
        "EventRequest": event_request_schema(),
        "EventResponse": event_response_schema(),
        "Health": obj({"status": string()}, ("status",)),
        "Readiness": obj(
            {
                "status": enum(("starting", "ready")),
                "database": string(),
                "projections": obj({}, additionalProperties=True),
            },
            ("status",),
        ),
    }


# --- operation helpers ------------------------------------------------------------------

PROBLEM_TEXT = {
    400: "Malformed request: the problem names the field",
    401: "Missing credentials",
    403: "Wrong key or role",
    404: "Unknown or invisible",
    409: "Conflicts with the resource's state",
    413: "Body over the size limit",
    422: "The Idempotency-Key was used by a request with a different body",
    429: "Over the integration key's rate",
    503: "Not ready, or the read models stayed behind http.read_wait_s (Retry-After)",
}


def json_content(schema: Schema, media: str = "application/json") -> dict[str, Any]:
    return {media: {"schema": schema}}


def answer(description: str, schema: Schema | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = json_content(schema)
    return response


def problems(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": PROBLEM_TEXT[status],
            "content": json_content(ref("Problem"), "application/problem+json"),
        }
        for status in statuses
    }


def param(name: str, where: str, schema: Schema, description: str = "", **extra: Any) -> Schema:
    parameter: Schema = {"name": name, "in": where, "schema": schema, **extra}
    if where == "path":
        parameter["required"] = True
    if description:
        parameter["description"] = description
    return parameter


def path_id(name: str = "id", description: str = "", schema: Schema | None = None) -> Schema:
    return param(name, "path", schema or int64(), description)


def query(name: str, schema: Schema, description: str = "", **extra: Any) -> Schema:
    return param(name, "query", schema, description, **extra)


def id_list(name: str, description: str, *, deprecated: bool = False) -> Schema:
    """A repeatable (or comma-separated) list of ids."""
    extra = {"deprecated": True} if deprecated else {}
    return query(name, array(int64()), description, explode=True, **extra)


def operation(
    operation_id: str,
    tag: str,
    summary: str,
    responses: dict[str, Any],
    *,
    parameters: list[Schema] | None = None,
    body: str | None = None,
    body_required: bool = True,
    public: bool = False,
    description: str | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "responses": responses,
    }
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = {"required": body_required, "content": json_content(ref(body))}
    # any route answers 503 while ilertd starts or its read models lag (Retry-After)
    op["responses"] = {**responses, **problems(503)}
    if public:
        op["security"] = []
    else:
        op["responses"] = {**problems(401, 403), **op["responses"]}
    return op


def paging(smallest: int = 1, cap: int = 100) -> list[Schema]:
    return [
        query("start-index", {"type": "integer", "minimum": 0, "default": 0}),
        query(
            "max-results",
            {"type": "integer", "minimum": smallest, "maximum": cap, "default": 50},
            f"more than {cap} is a 400",
        ),
    ]


def include() -> Schema:
    return query(
        "include",
        array(string()),
        "optional fields, repeatable or comma-separated (customDetails)",
        explode=True,
    )


# --- paths ------------------------------------------------------------------------------


def alert_filters() -> list[Schema]:
    return [
        query("states", array(enum(ALERT_STATUSES)), "repeatable or comma-separated"),
        query("state", array(enum(ALERT_STATUSES)), "legacy name of states", deprecated=True),
        id_list("sources", "alert source ids"),
        id_list("alert-source", "legacy name of sources", deprecated=True),
        id_list("policies", "escalation policy ids"),
        id_list("policy", "legacy name of policies", deprecated=True),
        id_list("responders", "user ids"),
        id_list("assigned-to", "legacy name of responders", deprecated=True),
        query("from", timestamp(), "reportTime at or after (give an offset)"),
        query("until", timestamp(), "reportTime before (give an offset)"),
    ]


def event_paths() -> dict[str, Any]:
    def post(operation_id: str, status: int, summary: str) -> dict[str, Any]:
        return {
            "post": operation(
                operation_id,
                "Events",
                summary,
                {
                    str(status): answer("Event committed", ref("EventResponse")),
                    **problems(400, 404, 409, 413, 422, 429),
                },
                parameters=[
                    param(
                        "Idempotency-Key",
                        "header",
                        string(pattern="^[\\x21-\\x7e]{1,255}$"),
                        "a retry with the same key gets the first answer, writes nothing; "
                        "the same key with a different body is a 422",
                    )
                ],
                body="EventRequest",
                public=True,
                description="Authenticated by the integration key in the body, not a Bearer "
                "key. 409 when the source is inactive.",
            )
        }

    return {
        "/api/events": post("createEvent", 202, "Send an event (ilert's Events API)"),
        "/api/v1/events": post("createEventV1", 200, "Send an event (legacy path)"),
    }


def alert_paths() -> dict[str, Any]:
    alert_id = path_id(description="the alert's id")
    one = answer("The alert", ref("Alert"))

    def act(
        operation_id: str, summary: str, *extra: Schema, body: str | None = None
    ) -> dict[str, Any]:
        return {
            "put": operation(
                operation_id,
                "Alerts",
                summary,
                {"200": one, **problems(400, 404, 409)},
                parameters=[alert_id, *extra],
                body=body,
                body_required=False,
            )
        }

    return {
        "/api/alerts": {
            "get": operation(
                "listAlerts",
                "Alerts",
                "List alerts, newest first",
                {"200": answer("Alerts", array(ref("Alert"))), **problems(400)},
                parameters=[*alert_filters(), *paging(smallest=0), include()],
            ),
            "post": operation(
                "createAlert",
                "Alerts",
                "Create a manual alert (RESPONDER and above)",
                {"201": answer("The new alert", ref("Alert")), **problems(400)},
                body="NewAlert",
            ),
        },
        "/api/alerts/count": {
            "get": operation(
                "countAlerts",
                "Alerts",
                "Count alerts matching the filters",
                {"200": answer("The count", ref("AlertCount")), **problems(400)},
                parameters=alert_filters(),
            )
        },
        "/api/alerts/{id}": {
            "get": operation(
                "getAlert",
                "Alerts",
                "One alert",
                {"200": one, **problems(400, 404)},
                parameters=[
                    alert_id,
                    include(),
                    query("at", timestamp(), "ilertd: the alert as it was then, replayed"),
                ],
            )
        },
        "/api/alerts/{id}/accept": act("acceptAlert", "Accept"),
        "/api/alerts/{id}/resolve": act("resolveAlert", "Resolve"),
        "/api/alerts/{id}/raise": act("raiseAlert", "Raise priority LOW to HIGH (ilertd)"),
        "/api/alerts/{id}/escalate": act(
            "escalateAlert",
            "Page the next escalation level now (ilertd; the engine does it on timeout)",
        ),
        "/api/alerts/{id}/assign": act(
            "assignAlert",
            "Re-route to exactly one user, escalation policy or schedule",
            query("user", int64()),
            query("policy", int64()),
            query("schedule", int64()),
            query("user-id", int64(), "legacy name of user", deprecated=True),
            query("policy-id", int64(), "legacy name of policy", deprecated=True),
            query("schedule-id", int64(), "legacy name of schedule", deprecated=True),
            body="AlertAssignment",
        ),
        "/api/alerts/{id}/comments": {
            "post": operation(
                "commentAlert",
                "Alerts",
                "Add a comment (ilertd)",
                {"201": one, **problems(400, 404, 409)},
                parameters=[alert_id],
                body="CommentRequest",
            )
        },
        "/api/alerts/{id}/log-entries": {
            "get": operation(
                "listAlertLogEntries",
                "Alerts",
                "The alert's timeline, oldest first",
                {"200": answer("Log entries", array(ref("LogEntry"))), **problems(404)},
                parameters=[alert_id],
            )
        },
        "/api/alerts/{id}/responders": {
            "post": operation(
                "addAlertResponder",
                "Alerts",
                "Add a responder",
                {"201": one, **problems(400, 404, 409)},
                parameters=[alert_id],
                body="ResponderRequest",
            )
        },
        "/api/alerts/{id}/responders/{user_id}": {
            "delete": operation(
                "removeAlertResponder",
                "Alerts",
                "Remove a responder",
                {"204": answer("Removed"), **problems(404, 409)},
                parameters=[alert_id, path_id("user_id", "the responder's user id")],
            )
        },
        "/api/alerts/{id}/channels": {
            "post": operation(
                "attachAlertChannel",
                "Alerts",
                "Attach a chat channel (ilertd)",
                {"201": one, **problems(400, 404, 409)},
                parameters=[alert_id],
                body="ChannelRequest",
            )
        },
        "/api/alerts/{id}/channels/{channel_id}": {
            "delete": operation(
                "detachAlertChannel",
                "Alerts",
                "Detach a chat channel",
                {"204": answer("Detached"), **problems(404, 409)},
                parameters=[alert_id, path_id("channel_id", "Channel.id", string())],
            )
        },
    }


def user_paths() -> dict[str, Any]:
    user_id = path_id(description="the user's id")
    one = answer("The user", ref("User"))
    return {
        "/api/users": {
            "get": operation(
                "listUsers",
                "Users",
                "List users",
                {"200": answer("Users", array(ref("User"))), **problems(400)},
                parameters=paging(),
            ),
            "post": operation(
                "createUser",
                "Users",
                "Create a user (ADMIN)",
                {"201": one, **problems(400, 409)},
                body="User",
            ),
        },
        "/api/users/current": {
            "get": operation("getCurrentUser", "Users", "The caller", {"200": one})
        },
        "/api/users/{id}": {
            "get": operation(
                "getUser", "Users", "One user", {"200": one, **problems(404)}, parameters=[user_id]
            ),
            "put": operation(
                "replaceUser",
                "Users",
                "Replace a profile (self or ADMIN)",
                {"200": one, **problems(400, 404, 409)},
                parameters=[user_id],
                body="User",
            ),
            "delete": operation(
                "deleteUser",
                "Users",
                "Delete a user (ADMIN; not the last ADMIN)",
                {"204": answer("Deleted"), **problems(404, 409)},
                parameters=[user_id],
            ),
        },
        "/api/users/{id}/api-keys": {
            "get": operation(
                "listApiKeys",
                "Users",
                "The user's API keys, without the keys (self or ADMIN; ilertd)",
                {"200": answer("API keys", array(ref("ApiKey"))), **problems(404)},
                parameters=[user_id],
            ),
            "post": operation(
                "issueApiKey",
                "Users",
                "Issue an API key (self or ADMIN; ilertd); the body is optional",
                {"201": answer("The key, shown once", ref("ApiKeyCreated")), **problems(400, 404)},
                parameters=[user_id],
                body="ApiKeyRequest",
                body_required=False,
            ),
        },
        "/api/users/{id}/api-keys/{key_id}": {
            "delete": operation(
                "revokeApiKey",
                "Users",
                "Revoke an API key (self or ADMIN; ilertd)",
                {"204": answer("Revoked"), **problems(404)},
                parameters=[user_id, path_id("key_id", "ApiKey.id", string(format="uuid"))],
            )
        },
    }


def user_contact_paths() -> dict[str, Any]:
    """Contacts and notification preferences: the same five operations on each collection."""
    user_id = path_id(description="the user's id")
    collections = (
        ("contacts/emails", "EmailContact", "EmailContact", "email contact", CONTACT_TEXT),
        ("contacts/phone-numbers", "PhoneContact", "PhoneContact", "phone number", CONTACT_TEXT),
        (
            "notification-preferences/alerts",
            "AlertNotificationRule",
            "AlertNotificationPreference",
            "alert notification rule",
            RULE_TEXT,
        ),
        (
            "notification-preferences/duties",
            "DutyNotificationRule",
            "DutyNotificationPreference",
            "on-call duty notification rule",
            RULE_TEXT,
        ),
        (
            "notification-preferences/updates",
            "UpdateNotificationRule",
            "UpdateNotificationPreference",
            "alert update notification rule",
            RULE_TEXT,
        ),
    )
    paths: dict[str, Any] = {}
    for segment, schema, name, noun, text in collections:
        base = f"/api/users/{{id}}/{segment}"
        key = "contact_id" if segment.startswith("contacts") else "rule_id"
        item_id = path_id(key, f"the {noun}'s id")
        one = answer(f"The {noun}", ref(schema))
        paths[base] = {
            "get": operation(
                f"list{name}s",
                "Users",
                f"The user's {noun}s (self or ADMIN)",
                {"200": answer(f"The {noun}s", array(ref(schema))), **problems(404)},
                parameters=[user_id],
            ),
            "post": operation(
                f"add{name}",
                "Users",
                f"Add one {noun} (self or ADMIN)",
                {"201": one, **problems(400, 404, 409)},
                parameters=[user_id],
                body=schema,
                description=text,
            ),
        }
        paths[f"{base}/{{{key}}}"] = {
            "get": operation(
                f"get{name}",
                "Users",
                f"One {noun} (self or ADMIN)",
                {"200": one, **problems(404)},
                parameters=[user_id, item_id],
            ),
            "put": operation(
                f"replace{name}",
                "Users",
                f"Replace one {noun} (self or ADMIN)",
                {"200": one, **problems(400, 404, 409)},
                parameters=[user_id, item_id],
                body=schema,
                description=text,
            ),
            "delete": operation(
                f"remove{name}",
                "Users",
                f"Remove one {noun} (self or ADMIN)",
                {"204": answer("Removed"), **problems(404, 409)},
                parameters=[user_id, item_id],
            ),
        }
    return paths


def operations_paths() -> dict[str, Any]:
    document = answer("This document", {"type": "object"})
    return {
        "/healthz": {
            "get": operation(
                "healthz",
                "Operations",
                "The process is alive",
                {"200": answer("Alive", ref("Health"))},
                public=True,
            )
        },
        "/readyz": {
            "get": operation(
                "readyz",
                "Operations",
                "Database reachable and projections running",
                {
                    "200": answer("Ready", ref("Readiness")),
                    "503": answer("Not ready", ref("Readiness")),
                },
                public=True,
            )
        },
        "/metrics": {
            "get": operation(
                "metrics",
                "Operations",
                "Prometheus metrics",
                {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": string()}},
                    }
                },
                public=True,
            )
        },
        "/api-docs/openapi.json": {
            "get": operation(
                "getOpenApi", "Operations", "This document", {"200": document}, public=True
            )
        },
        "/api/openapi.json": {
            "get": operation(
                "getOpenApiApi", "Operations", "This document", {"200": document}, public=True
            )
        },
    }


# --- schedules (ilertd/http/schedules.py) -------------------------------------------------

DAYS_OF_WEEK = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def shift_schema() -> Schema:
    return obj(
        {"user": ref("UserRef"), "start": timestamp(), "end": timestamp("exclusive")},
        ("user", "start", "end"),
        description="One user on call over [start, end). In requests only user.id is read.",
    )


def schedule_layer_schema() -> Schema:
    weekly = obj(
        {"dayOfWeek": enum(DAYS_OF_WEEK), "time": string("HH:mm", pattern="^\\d{2}:\\d{2}")},
        ("dayOfWeek", "time"),
    )
    return obj(
        {
            "name": string(maxLength=255),
            "startsOn": timestamp("with an offset; handoffs repeat at its wall-clock time"),
            "endsOn": nullable(timestamp()),
            "users": array(ref("UserRef"), "rotated in order; requests need only ids"),
            "rotation": string("ISO-8601 duration, at least PT1H, e.g. P7D"),
            "restrictionType": nullable(
                enum(("TIMES_OF_WEEK",), "TIME_OF_WEEK is accepted on input")
            ),
            "restrictions": array(obj({"from": weekly, "to": weekly}, ("from", "to"))),
        },
        ("startsOn", "users", "rotation"),
    )


def schedule_schema() -> Schema:
    return obj(
        {
            "id": {**int64(), "readOnly": True},
            "name": string(maxLength=255),
            "timezone": string("IANA zone, e.g. Europe/Berlin"),
            "type": enum(("STATIC", "RECURRING")),
            "scheduleLayers": array(ref("ScheduleLayer"), "RECURRING; later layers win"),
            "shifts": array(ref("Shift"), "STATIC"),
            "teams": array(id_ref()),
            "currentShift": {**nullable(ref("Shift")), "readOnly": True},
            "nextShift": {**nullable(ref("Shift")), "readOnly": True},
        },
        ("name", "timezone", "type"),
        description="Overrides are a sub-resource: a PUT of the schedule keeps them.",
    )


def on_call_schema() -> Schema:
    return obj(
        {
            "user": ref("UserRef"),
            "schedule": id_ref(name=True),
            "start": timestamp(),
            "end": timestamp(),
        },
        ("user", "schedule", "start", "end"),
    )


def schedule_schemas() -> dict[str, Schema]:
    return {
        "Schedule": schedule_schema(),
        "ScheduleLayer": schedule_layer_schema(),
        "Shift": shift_schema(),
        "OnCall": on_call_schema(),
    }


def schedule_paths() -> dict[str, Any]:
    tag = "Schedules"
    schedule_id = path_id(description="the schedule's id")
    one = answer("The schedule, with currentShift and nextShift", ref("Schedule"))
    shifts = answer("Shifts", array(ref("Shift")))
    window = [
        query("from", timestamp(), "ISO-8601 with offset; default now"),
        query("until", timestamp(), "default from + 7 days; at most 400 days after from"),
    ]
    calendar = {
        "description": "An RFC 5545 feed: one VEVENT per shift from 7 days ago to 90 ahead",
        "content": {"text/calendar": {"schema": string()}},
    }
    return {
        "/api/schedules": {
            "get": operation(
                "listSchedules",
                tag,
                "List schedules",
                {"200": answer("Schedules", array(ref("Schedule"))), **problems(400)},
                parameters=paging(),
            ),
            "post": operation(
                "createSchedule",
                tag,
                "Create a schedule (ADMIN)",
                {"201": one, **problems(400)},
                body="Schedule",
            ),
        },
        "/api/schedules/{id}": {
            "get": operation(
                "getSchedule",
                tag,
                "One schedule",
                {"200": one, **problems(404)},
                parameters=[schedule_id],
            ),
            "put": operation(
                "replaceSchedule",
                tag,
                "Replace a schedule (ADMIN); overrides stay",
                {"200": one, **problems(400, 404, 409)},
                parameters=[schedule_id],
                body="Schedule",
            ),
            "delete": operation(
                "deleteSchedule",
                tag,
                "Delete a schedule (ADMIN)",
                {"204": answer("Deleted"), **problems(404, 409)},
                parameters=[schedule_id],
            ),
        },
        "/api/schedules/{id}/shifts": {
            "get": operation(
                "getScheduleShifts",
                tag,
                "The computed shifts over a window",
                {"200": shifts, **problems(400, 404)},
                parameters=[
                    schedule_id,
                    *window,
                    query("exclude-overrides", boolean(), "true: the layers only"),
                ],
            )
        },
        "/api/schedules/{id}/overrides": {
            "get": operation(
                "listScheduleOverrides",
                tag,
                "The overrides, lowest priority first",
                {"200": shifts, **problems(404)},
                parameters=[schedule_id],
            ),
            "post": operation(
                "addScheduleOverride",
                tag,
                "Add one override (ADMIN); it wins over earlier ones",
                {"201": answer("The override", ref("Shift")), **problems(400, 404, 409)},
                parameters=[schedule_id],
                body="Shift",
            ),
            "put": operation(
                "replaceScheduleOverrides",
                tag,
                "Replace every override (ADMIN): a list of Shifts",
                {"200": shifts, **problems(400, 404, 409)},
                parameters=[schedule_id],
            ),
        },
        "/api/schedules/{id}/user-on-call": {
            "get": operation(
                "getScheduleUserOnCall",
                tag,
                "The shift on call now",
                {
                    "200": answer("The current shift", ref("Shift")),
                    "204": answer("Nobody is on call"),
                    **problems(404),
                },
                parameters=[schedule_id],
            )
        },
        "/api/schedules/{id}/ical": {
            "get": operation(
                "getScheduleIcal",
                tag,
                "The schedule's shifts as an iCalendar feed (Bearer key, or the feed token "
                "from the schedule's icalUrl, for calendar apps)",
                {"200": calendar, **problems(404)},
                parameters=[
                    schedule_id,
                    query("token", {"type": "string"}, "read-only feed token from icalUrl"),
                ],
            )
        },
        "/api/on-calls": {
            "get": operation(
                "listOnCalls",
                tag,
                "Who is on call: now, or over from..until",
                {"200": answer("On-call entries", array(ref("OnCall"))), **problems(400)},
                parameters=[
                    id_list("policies", "escalation policies: the schedules their rules name"),
                    id_list("schedules", "schedule ids; neither this nor policies: all"),
                    id_list("users", "only these users' entries"),
                    *window,
                ],
            )
        },
    }


def table_parts() -> tuple[dict[str, Any], dict[str, Any]]:
    """Paths and schemas of the routes declared in route tables (``routes.Route``)."""
    from . import alert_sources, connectors, escalation_policies

    def problem(status: int) -> dict[str, Any]:
        return problems(status)[str(status)]

    return document_parts(
        [*alert_sources.ROUTES, *escalation_policies.ROUTES, *connectors.ROUTES],
        problem,
        extra_types=[AlertAssignment],
    )


def build_document() -> dict[str, Any]:
    # imported here: the outbound part builds on this module's helpers
    from .openapi_notify import notify_paths, notify_schemas
    from .openapi_outbound import outbound_paths, outbound_schemas

    table_paths, table_schemas = table_parts()

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ilertd",
            "version": __version__,
            "summary": "Self-hosted alerting, compatible with ilert's public API",
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/", "description": "the server that served this document"}],
        "tags": [
            {"name": name}
            for name in (
                "Events",
                "Alerts",
                "Alert sources",
                "Escalation policies",
                "Schedules",
                "Users",
                "Outbound",
                "Notifications",
                "Operations",
            )
        ],
        "security": [{"bearer": []}],
        "paths": {
            **event_paths(),
            **alert_paths(),
            **table_paths,
            **schedule_paths(),
            **user_paths(),
            **user_contact_paths(),
            **outbound_paths(),
            **notify_paths(),
            **operations_paths(),
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An ilertd API key: Authorization: Bearer <api key>",
                }
            },
            "schemas": {
                **schemas(),
                **outbound_schemas(),
                **notify_schemas(),
                **table_schemas,
            },
        },
    }


DOCUMENT = build_document()
_BODY = orjson.dumps(DOCUMENT)


async def get_document(request: web.Request) -> web.Response:
    return web.Response(body=_BODY, content_type="application/json")


def add_routes(app: web.Application) -> None:
    for path in DOC_PATHS:
        app.router.add_get(path, get_document)
