"""The OpenAPI part for paging: an alert's notifications, the provider callbacks, and the
action links' pages (``/r/{token}``: HTML for people, outside ``/api``)."""

from __future__ import annotations

from typing import Any

from .openapi import (
    Schema,
    answer,
    array,
    enum,
    id_ref,
    int64,
    nullable,
    obj,
    operation,
    path_id,
    problems,
    query,
    ref,
    string,
    timestamp,
)

NOTIFICATION_STATUSES = ("SCHEDULED", "SUCCESS", "ERROR", "CANCELLED")


def notify_schemas() -> dict[str, Schema]:
    return {
        "Notification": obj(
            {
                "id": string(),
                "type": enum(("ALERT", "ALERT_ACCEPTED", "ALERT_RESOLVED", "ALERT_ESCALATED")),
                "method": enum(("EMAIL", "SMS", "VOICE", "PUSH")),
                "target": string("address, number or push topic"),
                "user": id_ref(),
                "notificationTime": timestamp("when it is (or was) due"),
                "status": enum(NOTIFICATION_STATUSES),
                "attempts": int64(),
                "error": nullable(string()),
                "updatedAt": timestamp(),
            }
        ),
    }


def _twiml(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/xml": {"schema": string("TwiML")}},
    }


def _form(*fields: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": obj({name: string() for name in fields})
            }
        },
    }


def notify_paths() -> dict[str, Any]:
    tag = "Notifications"
    sms = operation(
        "inboundSms",
        tag,
        "The SMS provider's inbound webhook: a reply 1/ACK, 2/RES or 3/ESC answers the page",
        {"200": _twiml("A confirmation SMS (TwiML <Message>)"), **problems(403)},
        public=True,
        description="Checked with X-Twilio-Signature when an auth token is configured.",
    )
    sms["requestBody"] = _form("From", "To", "Body")
    voice = operation(
        "voiceKeypress",
        tag,
        "A keypress on a paging call (1 accept, 2 resolve, 3 escalate)",
        {"200": _twiml("What the call says next (TwiML <Say>)"), **problems(403)},
        parameters=[query("t", string(), "the call's signed token", required=True)],
        public=True,
    )
    voice["requestBody"] = _form("Digits", "CallSid")
    token = path_id("token", "the link's signed token", string())
    html = {"content": {"text/html": {"schema": string()}}}
    link = {
        "get": operation(
            "confirmActionLink",
            tag,
            "What the link will do, with a button; a GET never acts (mail scanners fetch links)",
            {
                "200": {"description": "The confirmation page", **html},
                "403": {"description": "Expired or forged", **html},
            },
            parameters=[token],
            public=True,
        ),
        "post": operation(
            "runActionLink",
            tag,
            "Accept, resolve or escalate the alert as the link's user",
            {
                "200": {"description": "Done", **html},
                "403": {"description": "Expired or forged", **html},
                "409": {"description": "The alert cannot do that now", **html},
            },
            parameters=[token],
            public=True,
        ),
    }
    return {
        "/r/{token}": link,
        "/api/alerts/{id}/notifications": {
            "get": operation(
                "listAlertNotifications",
                tag,
                "Notifications of the alert's responders: scheduled, sent, failed, cancelled",
                {"200": answer("Notifications", array(ref("Notification"))), **problems(404)},
                parameters=[path_id(description="the alert's id")],
            )
        },
        "/api/notify/sms": {"post": sms},
        "/api/notify/voice": {"post": voice},
    }
