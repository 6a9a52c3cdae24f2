"""The chat posts of an incident's timeline: what each chat shows, escaped and within its
limits (the builders are pure)."""

from __future__ import annotations

import orjson

from ilertd.domain.incident_channel import ChannelType
from ilertd.outbound.incident_chat import (
    build_incident_post,
    google_chat_post,
    slack_post,
    teams_post,
)
from ilertd.outbound.slack import HEADER_MAX

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
