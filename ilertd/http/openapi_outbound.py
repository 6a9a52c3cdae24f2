"""The OpenAPI part for outbound: connectors, alert actions, deliveries.

Kept apart from ``openapi`` (which merges it in) so each resource family's document stays
next to a readable amount of code.
"""

from __future__ import annotations

from typing import Any

from ..domain.alert_action import CONNECTOR_TYPES, TRIGGER_TYPES
from ..outbound.payload import MANUAL_EVENT_TYPE
from .openapi import (
    Schema,
    answer,
    array,
    boolean,
    enum,
    id_ref,
    int64,
    nullable,
    obj,
    operation,
    paging,
    path_id,
    problems,
    query,
    ref,
    string,
    timestamp,
)

DELIVERY_STATUSES = ("PENDING", "SUCCEEDED", "DEAD", "SKIPPED")


def alert_action_schema() -> Schema:
    return obj(
        {
            "id": int64(readOnly=True),
            "name": string(),
            "alertSources": array(id_ref(), "empty: every alert source"),
            "alertSourceIds": {**array(int64(), "ilert's deprecated spelling"), "deprecated": True},
            "connectorId": nullable(int64("ilert's string ids are accepted too")),
            "connectorType": enum(CONNECTOR_TYPES),
            "triggerMode": enum(("AUTOMATIC", "MANUAL")),
            "triggerTypes": array(
                enum(TRIGGER_TYPES), "empty: every type but v-alert-not-resolved"
            ),
            "conditions": nullable(
                string(
                    'an expression over the webhook body, e.g. priority == "HIGH" and '
                    '(summary contains "db" or labels.env in ["prod"]); operators == != < <= '
                    "> >= contains, not contains, matches (RE2), in, not in; and, or, not"
                )
            ),
            "alertFilter": obj(
                {
                    "operator": enum(("AND", "OR")),
                    "predicates": array(
                        obj({"field": string(), "criteria": string(), "value": string()})
                    ),
                },
                description="ilert's structured filter; stored as the equal conditions",
            ),
            "escalationEndedDelaySec": int64("0..7200: wait, then send if still unaccepted"),
            "delaySec": int64("ilert's name for escalationEndedDelaySec"),
            "notResolvedDelaySec": int64("fire v-alert-not-resolved this long after creation"),
            "params": obj(
                {
                    "webhookUrl": string("webhook"),
                    "url": string("slack_webhook, microsoft_teams_webhook, google_chat_webhook"),
                    "bodyTemplate": string("webhook, jira, email: {{ variable }} placeholders"),
                    "headers": array(obj({"key": string(), "value": string()}), "webhook"),
                    "project": string("jira"),
                    "issueType": string("jira (default Task)"),
                    "summaryTemplate": string("jira"),
                    "recipients": array(string(), "email"),
                    "subject": string("email"),
                }
            ),
            "signingSecret": string(
                "ADMIN only: HMAC-SHA256 key of X-Ilertd-Signature (sha256=<hex of "
                "timestamp.body>)",
                readOnly=True,
            ),
            "createdAt": timestamp(),
            "updatedAt": timestamp(),
        },
        ("name", "connectorType"),
    )


def delivery_schema() -> Schema:
    return obj(
        {
            "id": string("stable across retries; sent as X-Ilertd-Delivery"),
            "alertId": int64(),
            "alertActionId": int64(),
            "eventType": string(f"a trigger type, or {MANUAL_EVENT_TYPE} for a manual run"),
            "manual": boolean(),
            "status": enum(DELIVERY_STATUSES),
            "success": boolean(),
            "attempts": int64(),
            "nextAttemptAt": nullable(timestamp()),
            "lastError": nullable(string()),
            "lastStatusCode": nullable(int64()),
            "externalRef": nullable(string("what the target created, e.g. a Jira issue key")),
            "createdAt": timestamp(),
            "updatedAt": timestamp(),
        }
    )


def retry_requested() -> Schema:
    """The dead letter as it was, its ``status`` saying the retry was recorded."""
    schema = delivery_schema()
    schema["properties"]["status"] = enum(("RETRY_REQUESTED",))
    return schema


def alert_action_trigger_schema() -> Schema:
    return obj(
        {
            "alertActionId": int64(),
            "connectorId": nullable(int64()),
            "type": string(),
            "name": string(),
            "triggerMode": enum(("AUTOMATIC", "MANUAL")),
            "history": array(ref("Delivery")),
        }
    )


def outbound_schemas() -> dict[str, Schema]:
    return {
        "AlertAction": alert_action_schema(),
        "Delivery": delivery_schema(),
        "AlertActionTrigger": alert_action_trigger_schema(),
        "AlertActionRun": obj(
            {"alertActionId": int64(), "alertAction": id_ref()},
            description="which action to run: alertActionId, or alertAction {id}",
        ),
    }


def _crud(
    base: str, name: str, tag: str, schema: str, extra_delete: tuple[int, ...] = ()
) -> dict[str, Any]:
    one = answer(f"The {name}", ref(schema))
    ident = path_id(description=f"the {name}'s id")
    plural = name.title().replace(" ", "") + "s"
    single = name.title().replace(" ", "")
    return {
        base: {
            "get": operation(
                f"list{plural}",
                tag,
                f"List {name}s",
                {"200": answer(f"{name}s", array(ref(schema))), **problems(400)},
                parameters=paging(),
            ),
            "post": operation(
                f"create{single}",
                tag,
                f"Create a {name} (ADMIN)",
                {"201": one, **problems(400)},
                body=schema,
            ),
        },
        f"{base}/{{id}}": {
            "get": operation(
                f"get{single}",
                tag,
                f"One {name}",
                {"200": one, **problems(404)},
                parameters=[ident],
            ),
            "put": operation(
                f"replace{single}",
                tag,
                f"Replace a {name} (ADMIN)",
                {"200": one, **problems(400, 404, 409)},
                parameters=[ident],
                body=schema,
            ),
            "delete": operation(
                f"delete{single}",
                tag,
                f"Delete a {name} (ADMIN)",
                {"204": answer("Deleted"), **problems(404, *extra_delete)},
                parameters=[ident],
            ),
        },
    }


def outbound_paths() -> dict[str, Any]:
    tag = "Outbound"
    delivery_id = path_id(description="the delivery's id", schema=string())
    alert_id = path_id(description="the alert's id")
    return {
        **_crud("/api/alert-actions", "alert action", tag, "AlertAction"),
        "/api/alerts/{id}/actions": {
            "get": operation(
                "listAlertActionsOfAlert",
                tag,
                "Actions that ran for the alert or can be run on it by hand, with history",
                {"200": answer("Actions", array(ref("AlertActionTrigger"))), **problems(404)},
                parameters=[alert_id],
            ),
            "post": operation(
                "runAlertAction",
                tag,
                "Run an action on the alert now (RESPONDER)",
                {"202": answer("Planned", ref("Delivery")), **problems(400, 404, 409)},
                parameters=[alert_id],
                body="AlertActionRun",
            ),
        },
        "/api/deliveries": {
            "get": operation(
                "listDeliveries",
                tag,
                "Deliveries, newest change first",
                {"200": answer("Deliveries", array(ref("Delivery"))), **problems(400)},
                parameters=[
                    *paging(),
                    query("status", enum(DELIVERY_STATUSES)),
                    query("alert-id", int64()),
                    query("alert-action-id", int64()),
                ],
            ),
        },
        "/api/deliveries/{id}": {
            "get": operation(
                "getDelivery",
                tag,
                "One delivery",
                {"200": answer("The delivery", ref("Delivery")), **problems(404)},
                parameters=[delivery_id],
            ),
        },
        "/api/deliveries/{id}/retry": {
            "post": operation(
                "retryDelivery",
                tag,
                "Send a dead letter again from attempt 1 (RESPONDER)",
                {"202": answer("Retry requested", retry_requested()), **problems(404, 409)},
                parameters=[delivery_id],
            ),
        },
    }
