"""The chat posts of an incident's timeline: what each chat shows, escaped and within its
limits (the builders are pure)."""

from __future__ import annotations

import orjson

from ilertd.domain.incident_channel import ChannelType, slack_conversation
from ilertd.outbound.incident_chat import (
    build_incident_post,
    google_chat_post,
    slack_post,
    teams_post,
)
from ilertd.outbound.slack import HEADER_MAX
from ilertd.outbound.slack_api import build_post_message, post_message_result

INCIDENT = {
    "id": 42,
    "reference": "INC-7",
    "title": "checkout <!channel> down",
    "status": "INVESTIGATING",
    "severity": "SEV2",
    "commander": {"id": 1, "firstName": "Ann", "lastName": "Lee"},
    "responders": [{"user": {"id": 1, "firstName": "Ann", "lastName": "Lee"}, "status": "JOINED"}],
}
URL = "https://ilertd.example/api/incidents/42"
CHANGE = "Comment by user 1: roll back <now> & watch"


def test_slack_escapes_its_control_characters_and_keeps_the_header_short() -> None:
    post = slack_post({**INCIDENT, "title": "x" * 400}, CHANGE, URL)
    assert len(post["blocks"][0]["text"]["text"]) <= HEADER_MAX
    assert (
        post["blocks"][1]["text"]["text"] == "Comment by user 1: roll back &lt;now&gt; &amp; watch"
    )
    fields = [f["text"] for f in post["blocks"][2]["fields"]]
    assert fields[0] == "*Status*\nINVESTIGATING" and fields[2] == "*Commander*\nAnn Lee"
    assert post["blocks"][3]["elements"][0]["url"] == URL
    title = slack_post(INCIDENT, CHANGE, URL)["text"]
    assert title.startswith("INC-7: checkout &lt;!channel&gt; down")


def test_teams_is_one_adaptive_card_with_the_facts() -> None:
    post = teams_post(INCIDENT, CHANGE, URL)
    (attachment,) = post["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["body"][0]["text"] == "INC-7: checkout <!channel> down"
    assert card["body"][1]["text"] == CHANGE
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts == {
        "Status": "INVESTIGATING",
        "Severity": "SEV2",
        "Commander": "Ann Lee",
        "Responders": "Ann Lee (JOINED)",
    }
    assert card["actions"][0]["url"] == URL


def test_google_chat_cannot_mention_and_escapes_its_card_html() -> None:
    post = google_chat_post(INCIDENT, CHANGE, URL)
    assert "<" not in post["text"] and ">" not in post["text"]
    assert post["text"].startswith("INC-7: checkout \u2039!channel\u203a down")
    card = post["cardsV2"][0]["card"]
    assert card["sections"][0]["widgets"][0]["textParagraph"]["text"] == (
        "Comment by user 1: roll back &lt;now&gt; &amp; watch"
    )


def test_each_channel_type_gets_its_own_request() -> None:
    webhook = "https://hooks.example/in"
    for channel_type, marker in (
        (ChannelType.SLACK, "blocks"),
        (ChannelType.MICROSOFT_TEAMS, "attachments"),
        (ChannelType.GOOGLE_CHAT, "cardsV2"),
    ):
        request = build_incident_post(channel_type, webhook, INCIDENT, CHANGE, URL)
        assert request.method == "POST" and request.url == webhook
        assert marker in orjson.loads(request.body)
        assert request.header("Content-Type").startswith("application/json")


def test_slack_web_api_answers_are_read_from_the_body() -> None:
    ok = post_message_result(200, b'{"ok": true, "ts": "1.2"}')
    assert ok.ok and ok.external_ref == "1.2"
    refused = post_message_result(200, b'{"ok": false, "error": "not_in_channel"}')
    assert not refused.ok and refused.permanent and refused.error == "Slack: not_in_channel"
    limited = post_message_result(200, b'{"ok": false, "error": "ratelimited"}')
    assert not limited.ok and not limited.permanent
    assert not post_message_result(503, b"").permanent
    assert not post_message_result(200, b"<html>").ok


def test_a_slack_channel_link_names_its_conversation() -> None:
    assert slack_conversation("https://acme.slack.com/archives/C0123456789") == "C0123456789"
    assert (
        slack_conversation("https://app.slack.com/client/T01234567/G0123456789/") == "G0123456789"
    )
    assert slack_conversation("https://acme.slack.com/messages/general") is None
    request = build_post_message(
        "https://slack.example/api/", "xoxb-1", "C0123456789", {"text": "x"}
    )
    assert request.url == "https://slack.example/api/chat.postMessage"
    assert request.header("Authorization") == "Bearer xoxb-1"
    assert orjson.loads(request.body) == {
        "text": "x",
        "channel": "C0123456789",
        "unfurl_links": False,
    }
    assert "xoxb-1" not in repr(request)
