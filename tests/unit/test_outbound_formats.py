"""Golden tests for the chat, Jira and email builders: exact shapes, limits and escaping."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import orjson
import pytest

from ilertd.outbound.email_message import build_email, check_address
from ilertd.outbound.google_chat import build_google_chat
from ilertd.outbound.jira import (
    build_comment,
    build_create_issue,
    comment_text,
    parse_created_issue,
)
from ilertd.outbound.request import OutboundRequest
from ilertd.outbound.slack import build_slack, escape_mrkdwn, escape_within
from ilertd.outbound.teams import build_teams

ALERT_URL = "https://ilertd.example.com/alerts/1698262673"
HOOK = "https://hooks.example.com/services/T0/B0/token"
JANE = {
    "id": 2241338,
    "username": "jdoe",
    "firstName": "Jane",
    "lastName": "Doe",
    "email": "jane@example.com",
}
BOB = {"id": 7, "username": "bob", "firstName": None, "lastName": None, "email": "bob@x.io"}


def make_alert(**overrides: Any) -> dict[str, Any]:
    """The alert from API.md's webhook example, with the remaining Alert fields filled in."""
    alert: dict[str, Any] = {
        "id": 1698262673,
        "summary": "alert by source",
        "details": "alert details",
        "reportTime": "2023-10-25T19:37:53.833Z",
        "resolvedOn": None,
        "status": "ACCEPTED",
        "priority": "HIGH",
        "severity": None,
        "alertKey": "c4He8Qfa5Ysk",
        "alertSource": {"id": 2252825, "name": "E-Mail"},
        "escalationPolicy": {"id": 31, "name": "Ops"},
        "assignedTo": copy.deepcopy(JANE),
        "responders": [
            {"user": copy.deepcopy(JANE), "status": "ACCEPTED", "acceptedAt": "2023-10-25T19:40Z"}
        ],
        "images": [],
        "links": [{"href": "https://grafana.example.com/d/1", "text": "Dashboard"}],
        "labels": {"env": "prod"},
    }
    alert.update(overrides)
    return alert


def json_body(request: OutboundRequest) -> Any:
    return orjson.loads(request.body)


# --- Slack -------------------------------------------------------------------------------


def test_slack_golden() -> None:
    request = build_slack(HOOK, make_alert(), "alert-acknowledged", ALERT_URL)
    assert request.method == "POST" and request.url == HOOK
    assert request.headers == (("Content-Type", "application/json"),)
    assert json_body(request) == {
        "text": "Alert accepted: alert by source",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": "Alert accepted: alert by source"},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*alert by source*\nalert details"},
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Status*\nACCEPTED"},
                    {"type": "mrkdwn", "text": "*Priority*\nHIGH"},
                    {"type": "mrkdwn", "text": "*Source*\nE-Mail"},
                    {"type": "mrkdwn", "text": "*Responders*\nJane Doe (ACCEPTED)"},
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open alert"},
                        "url": ALERT_URL,
                    }
                ],
            },
        ],
    }


def test_slack_escapes_control_characters_in_mrkdwn_only() -> None:
    alert = make_alert(summary="<!channel> a & b > c", details="<https://evil|click>")
    message = json_body(build_slack(HOOK, alert, "alert-created", ALERT_URL))
    assert message["text"] == "Alert created: &lt;!channel&gt; a &amp; b &gt; c"
    assert message["blocks"][0]["text"]["text"] == "Alert created: <!channel> a & b > c"
    assert message["blocks"][1]["text"]["text"] == (
        "*&lt;!channel&gt; a &amp; b &gt; c*\n&lt;https://evil|click&gt;"
    )


def test_slack_limits() -> None:
    alert = make_alert(
        summary="S" * 500,
        details="<" * 5000,
        alertSource={"id": 1, "name": "&" * 3000},
        responders=[{"user": JANE, "status": "PENDING"}] * 400,
    )
    message = json_body(build_slack(HOOK, alert, "alert-created", ALERT_URL))
    header, section, fields, _ = message["blocks"]
    assert len(header["text"]["text"]) == 150 and header["text"]["text"].endswith("…")
    assert len(section["text"]["text"]) <= 3000
    assert section["text"]["text"].endswith("&lt;…")  # never half an entity
    assert len(fields["fields"]) <= 10
    for field in fields["fields"]:
        assert len(field["text"]) <= 2000
    assert fields["fields"][2]["text"].endswith("&amp;…")
    assert message["text"]


def test_slack_escape_within() -> None:
    assert escape_mrkdwn("a&<>") == "a&amp;&lt;&gt;"
    assert escape_within("a&b", 10) == "a&amp;b"
    assert escape_within("a&bcdefghij", 8) == "a&amp;b…"
    assert escape_within("ab&cdef", 6) == "ab…"


def test_slack_without_details_or_responders() -> None:
    alert = make_alert(details="", responders=[], alertSource=None)
    blocks = json_body(build_slack(HOOK, alert, "v-alert-not-resolved", ALERT_URL))["blocks"]
    assert blocks[0]["text"]["text"] == "Alert still not resolved: alert by source"
    assert blocks[1]["text"]["text"] == "*alert by source*"
    assert blocks[2]["fields"][2:] == [
        {"type": "mrkdwn", "text": "*Source*\n—"},
        {"type": "mrkdwn", "text": "*Responders*\n—"},
    ]


def test_slack_drops_button_for_overlong_url() -> None:
    long_url = "https://ilertd.example.com/" + "a" * 3000
    blocks = json_body(build_slack(HOOK, make_alert(), "alert-created", long_url))["blocks"]
    assert [block["type"] for block in blocks] == ["header", "section", "section"]


# --- Microsoft Teams ---------------------------------------------------------------------


def test_teams_golden() -> None:
    alert = make_alert(responders=[{"user": JANE, "status": "ACCEPTED"}, {"user": BOB}])
    request = build_teams(HOOK, alert, "alert-resolved", ALERT_URL)
    assert request.headers == (("Content-Type", "application/json"),)
    assert json_body(request) == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "Alert resolved: alert by source",
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                        },
                        {"type": "TextBlock", "text": "alert details", "wrap": True},
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": "Status", "value": "ACCEPTED"},
                                {"title": "Priority", "value": "HIGH"},
                                {"title": "Source", "value": "E-Mail"},
                                {"title": "Assigned to", "value": "Jane Doe"},
                                {"title": "Responders", "value": "Jane Doe (ACCEPTED), bob"},
                                {"title": "Reported", "value": "2023-10-25T19:37:53.833Z"},
                            ],
                        },
                    ],
                    "actions": [
                        {"type": "Action.OpenUrl", "title": "Open alert", "url": ALERT_URL}
                    ],
                },
            }
        ],
    }


def test_teams_without_details_shows_summary_and_unassigned() -> None:
    alert = make_alert(details=None, assignedTo=None)
    card = json_body(build_teams(HOOK, alert, "alert-created", ALERT_URL))["attachments"][0]
    body = card["content"]["body"]
    assert body[1] == {"type": "TextBlock", "text": "alert by source", "wrap": True}
    assert {"title": "Assigned to", "value": "—"} in body[2]["facts"]


# --- Google Chat -------------------------------------------------------------------------


def test_google_chat_golden() -> None:
    request = build_google_chat(HOOK, make_alert(), "alert-auto-escalated", ALERT_URL)
    assert request.headers == (("Content-Type", "application/json; charset=UTF-8"),)
    assert json_body(request) == {
        "text": "Alert escalated: alert by source",
        "cardsV2": [
            {
                "cardId": "alert-1698262673",
                "card": {
                    "header": {"title": "Alert escalated", "subtitle": "alert by source"},
                    "sections": [
                        {
                            "widgets": [
                                {"decoratedText": {"topLabel": "Status", "text": "ACCEPTED"}},
                                {"decoratedText": {"topLabel": "Priority", "text": "HIGH"}},
                                {"decoratedText": {"topLabel": "Source", "text": "E-Mail"}},
                                {
                                    "decoratedText": {
                                        "topLabel": "Responders",
                                        "text": "Jane Doe (ACCEPTED)",
                                    }
                                },
                                {
                                    "decoratedText": {
                                        "topLabel": "Details",
                                        "text": "alert details",
                                        "wrapText": True,
                                    }
                                },
                                {
                                    "buttonList": {
                                        "buttons": [
                                            {
                                                "text": "Open alert",
                                                "onClick": {"openLink": {"url": ALERT_URL}},
                                            }
                                        ]
                                    }
                                },
                            ]
                        }
                    ],
                },
            }
        ],
    }


def test_google_chat_escapes_card_html_and_blocks_mentions() -> None:
    alert = make_alert(summary="<users/all> ping", details="<b>x</b> & y\nline 2", labels={})
    message = json_body(build_google_chat(HOOK, alert, "alert-created", ALERT_URL))
    assert "<users/all>" not in message["text"]
    assert message["text"] == "Alert created: \u2039users/all\u203a ping"
    widgets = message["cardsV2"][0]["card"]["sections"][0]["widgets"]
    assert widgets[4]["decoratedText"]["text"] == "&lt;b&gt;x&lt;/b&gt; &amp; y<br>line 2"


# --- Jira --------------------------------------------------------------------------------


def test_jira_create_issue_golden() -> None:
    request = build_create_issue(
        "https://acme.atlassian.net/",
        "me@acme.com",
        "api-token",
        "OPS",
        "Incident",
        make_alert(),
        "alert-created",
        ALERT_URL,
        summary_template=None,
        body_template=None,
    )
    assert request.method == "POST"
    assert request.url == "https://acme.atlassian.net/rest/api/2/issue"
    token = base64.b64encode(b"me@acme.com:api-token").decode()
    assert request.headers == (
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
        ("Authorization", f"Basic {token}"),
    )
    assert json_body(request) == {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Incident"},
            "summary": "alert by source",
            "description": (
                f"alert details\n\n*Priority:* HIGH\n*Source:* E-Mail\n*Alert:* [{ALERT_URL}]"
            ),
            "labels": ["ilertd"],
        }
    }


def test_jira_templates_and_summary_limits() -> None:
    alert = make_alert(summary="x" * 300)
    request = build_create_issue(
        "https://acme.atlassian.net",
        "me@acme.com",
        "t",
        "OPS",
        "Bug",
        alert,
        "alert-created",
        ALERT_URL,
        summary_template="[{{alertPriority}}]\n{{alertSummary}}",
        body_template='See {{alertUrl}} "{{alertSourceName}}"',
    )
    fields = json_body(request)["fields"]
    assert len(fields["summary"]) == 255 and "\n" not in fields["summary"]
    assert fields["summary"].startswith("[HIGH] xxx") and fields["summary"].endswith("…")
    assert fields["description"] == f'See {ALERT_URL} "E-Mail"'


def test_jira_empty_summary_falls_back_to_the_alert_id() -> None:
    request = build_create_issue(
        "https://acme.atlassian.net",
        "me@acme.com",
        "t",
        "OPS",
        "Bug",
        make_alert(summary="\n", details=""),
        "alert-created",
        ALERT_URL,
        summary_template=None,
        body_template=None,
    )
    fields = json_body(request)["fields"]
    assert fields["summary"] == "Alert 1698262673"
    assert fields["description"] == f"*Priority:* HIGH\n*Source:* E-Mail\n*Alert:* [{ALERT_URL}]"


def test_jira_parse_created_issue() -> None:
    body = (
        b'{"id":"10000","key":"OPS-24","self":"https://acme.atlassian.net/rest/api/2/issue/10000"}'
    )
    assert parse_created_issue(201, body) == "OPS-24"
    with pytest.raises(ValueError, match=r"HTTP 400.*summary"):
        parse_created_issue(400, b'{"errorMessages":[],"errors":{"summary":"required"}}')
    with pytest.raises(ValueError, match="HTTP 401"):
        parse_created_issue(401, b"<html>login</html>")
    with pytest.raises(ValueError, match="not JSON"):
        parse_created_issue(201, b"<html>")
    for bad in (b"[]", b'{"id":"1"}', b'{"key":"../x"}', b'{"key":7}'):
        with pytest.raises(ValueError, match="issue key"):
            parse_created_issue(201, bad)


def test_jira_comment() -> None:
    text = comment_text(make_alert(), "alert-resolved", ALERT_URL)
    assert text == (
        "Alert resolved: alert by source\n"
        "Status: ACCEPTED | Priority: HIGH | Responders: Jane Doe (ACCEPTED)\n"
        f"{ALERT_URL}"
    )
    request = build_comment("https://acme.atlassian.net/", "me@acme.com", "t", "OPS-24", text)
    assert request.url == "https://acme.atlassian.net/rest/api/2/issue/OPS-24/comment"
    assert json_body(request) == {"body": text}
    token = base64.b64encode(b"me@acme.com:t").decode()
    assert request.header("Authorization") == f"Basic {token}"


def test_jira_comment_key_is_path_encoded() -> None:
    request = build_comment("https://acme.atlassian.net", "e@x.io", "t", "../../admin?x=1#", "hi")
    assert request.url == (
        "https://acme.atlassian.net/rest/api/2/issue/..%2F..%2Fadmin%3Fx%3D1%23/comment"
    )


# --- email -------------------------------------------------------------------------------


def test_email_headers_and_default_body() -> None:
    message = build_email(
        "ilertd <alerts@example.com>",
        ["oncall@example.com", "boss@example.org"],
        make_alert(),
        "alert-created",
        ALERT_URL,
        subject_template=None,
        body_template=None,
        sent_at=datetime(2023, 10, 25, 19, 37, 53, tzinfo=UTC),
    )
    assert message["From"] == "ilertd <alerts@example.com>"
    assert message["To"] == "oncall@example.com, boss@example.org"
    assert message["Subject"] == "[ilertd] Alert created: alert by source"
    assert message["Date"] == "Wed, 25 Oct 2023 19:37:53 +0000"
    assert message["X-Ilertd-Alert-Id"] == "1698262673"
    assert message["X-Ilertd-Event"] == "alert-created"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == (
        "Alert created: alert by source\n"
        "\n"
        "alert details\n"
        "\n"
        "Status:      ACCEPTED\n"
        "Priority:    HIGH\n"
        "Source:      E-Mail\n"
        "Assigned to: Jane Doe\n"
        "Responders:  Jane Doe (ACCEPTED)\n"
        "Reported:    2023-10-25T19:37:53.833Z\n"
        "Link:        https://grafana.example.com/d/1\n"
        "\n"
        f"Open the alert: {ALERT_URL}\n"
    )
    wire = message.as_bytes()
    assert b"\r\n" in wire and b"\n" not in wire.replace(b"\r\n", b"")


def test_email_subject_never_carries_line_breaks() -> None:
    alert = make_alert(summary="disk full\r\nBcc: victim@example.com\nX-Evil: 1")
    for template in (None, "{{alertSummary}}", "line\n{{alertSummary}}"):
        message = build_email(
            "alerts@example.com",
            ["oncall@example.com"],
            alert,
            "alert-created",
            ALERT_URL,
            subject_template=template,
            body_template=None,
        )
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
        parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
        assert parsed["Bcc"] is None and parsed["X-Evil"] is None
        assert "disk full Bcc: victim@example.com X-Evil: 1" in str(parsed["Subject"])


def test_email_templates_and_non_ascii() -> None:
    message = build_email(
        "alerts@example.com",
        "oncall@example.com",
        make_alert(summary="Festplatte voll ✓"),
        "alert-acknowledged",
        ALERT_URL,
        subject_template="  ",
        body_template="{{alertSummary}} ({{alertPriority}}) {{alertUrl}}",
    )
    assert message["To"] == "oncall@example.com"
    assert message["Subject"] == "[ilertd] Alert accepted: Festplatte voll ✓"
    assert message.get_content() == f"Festplatte voll ✓ (HIGH) {ALERT_URL}\n"
    assert b"=?utf-8?" in message.as_bytes()


@pytest.mark.parametrize(
    "address",
    [
        "",
        "nobody",
        "@example.com",
        "a@",
        "a b@example.com",
        "a@b@c",
        "a@example.com\r\nBcc: x@y",
        "A <a@example.com>",
        "a@example.com, b@example.com",
        "jürgen@example.com",
        "a@bücher.de",
        "a@example.com\n",
    ],
)
def test_invalid_recipient_rejected(address: str) -> None:
    with pytest.raises(ValueError):
        check_address(address)
    with pytest.raises(ValueError):
        build_email(
            "alerts@example.com",
            [address],
            make_alert(),
            "alert-created",
            ALERT_URL,
            subject_template=None,
            body_template=None,
        )


def test_invalid_sender_or_no_recipients_rejected() -> None:
    for sender, recipients in (
        ("alerts@example.com\nBcc: x@y.z", ["a@b.c"]),
        ("not an address", ["a@b.c"]),
        ("alerts@example.com", []),
    ):
        with pytest.raises(ValueError):
            build_email(
                sender,
                recipients,
                make_alert(),
                "alert-created",
                ALERT_URL,
                subject_template=None,
                body_template=None,
            )


def test_unknown_event_type_rejected() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        build_slack(HOOK, make_alert(), "alert-exploded", ALERT_URL)
