"""Chat, ticket and mail targets end to end: local servers speaking the providers'
documented formats receive what the dispatcher sends (Slack incoming webhooks, Teams
Adaptive Card messages, Google Chat cardsV2, Jira REST v2 issues and comments, SMTP)."""

from __future__ import annotations

import asyncio
import base64
import email
import socket
from collections.abc import AsyncIterator
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from .conftest import Api, running_api
from .receiver import Receiver
from .test_events_api import make_source
from .test_outbound import FAST, alert_via_events, all_closed, make_action, until


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


@pytest.fixture
async def fast(dsn: str) -> AsyncIterator[Api]:
    async with running_api(dsn, **FAST) as running:
        yield running


async def test_chat_webhooks_get_their_providers_formats(fast: Api, receiver: Receiver) -> None:
    api = fast
    source = await make_source(api)
    for kind, path in (
        ("slack_webhook", "/slack"),
        ("microsoft_teams_webhook", "/teams"),
        ("google_chat_webhook", "/gchat"),
    ):
        await make_action(
            api,
            name=kind,
            connectorType=kind,
            triggerTypes=["alert-created"],
            params={"url": receiver.url + path},
        )
    alert_id = await alert_via_events(api, source["integrationKey"], "chat", summary="db down")
    got = {r.path: r for r in await receiver.wait_for(3)}
    assert set(got) == {"/slack", "/teams", "/gchat"}

    slack = got["/slack"].json
    assert "db down" in slack["text"]
    kinds = [block["type"] for block in slack["blocks"]]
    assert kinds[0] == "header" and "section" in kinds
    assert slack["blocks"][0]["text"]["type"] == "plain_text"
    buttons = [e for b in slack["blocks"] if b["type"] == "actions" for e in b["elements"]] or [
        b["accessory"] for b in slack["blocks"] if "accessory" in b
    ]
    assert buttons and buttons[0]["url"].endswith(f"/api/alerts/{alert_id}")

    teams = got["/teams"].json
    assert teams["type"] == "message"
    (attachment,) = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert any(item["type"] == "FactSet" for item in card["body"])
    assert card["actions"][0]["type"] == "Action.OpenUrl"

    chat = got["/gchat"]
    assert chat.headers["Content-Type"].startswith("application/json")
    card = chat.json["cardsV2"][0]["card"]
    assert "db down" in card["header"]["title"] + card["header"].get("subtitle", "")
    widgets = [w for section in card["sections"] for w in section["widgets"]]
    assert any("buttonList" in w for w in widgets)


async def test_jira_gets_an_issue_and_later_a_comment(fast: Api, receiver: Receiver) -> None:
    api = fast
    receiver.reply = {"id": "10001", "key": "OPS-7", "self": receiver.url + "/rest/api/2/issue/1"}
    status, connector = await api.call(
        "POST",
        "/api/connectors",
        json={
            "name": "jira",
            "type": "jira",
            "params": {"url": receiver.url, "email": "bot@example.test", "password": "tok"},
        },
    )
    assert status == 201, connector
    source = await make_source(api)
    await make_action(
        api,
        name="tickets",
        connectorType="jira",
        connectorId=connector["id"],
        triggerTypes=["alert-created", "alert-resolved"],
        params={
            "project": "OPS",
            "issueType": "Bug",
            "summaryTemplate": "[ilertd] {{alertSummary}}",
        },
    )
    alert_id = await alert_via_events(api, source["integrationKey"], "jira", summary="queue stuck")
    (created,) = await receiver.wait_for(1)
    assert (await api.call("PUT", f"/api/alerts/{alert_id}/resolve"))[0] == 200
    created, commented = await receiver.wait_for(2)

    expected_auth = "Basic " + base64.b64encode(b"bot@example.test:tok").decode()
    assert created.path == "/rest/api/2/issue"
    assert created.headers["Authorization"] == expected_auth
    fields = created.json["fields"]
    assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"name": "Bug"}
    assert fields["summary"] == "[ilertd] queue stuck"
    assert commented.path == "/rest/api/2/issue/OPS-7/comment"
    assert commented.headers["Authorization"] == expected_auth
    assert isinstance(commented.json["body"], str) and commented.json["body"]
    await until(lambda: all_closed(api, alert_id))
    status, found = await api.call("GET", f"/api/deliveries?alert-id={alert_id}")
    assert {d["externalRef"] for d in found} == {"OPS-7"}


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


async def test_email_actions_reach_the_smtp_server(dsn: str) -> None:
    inbox = _Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = {
            **FAST,
            "ILERTD_SMTP_HOST": "127.0.0.1",
            "ILERTD_SMTP_PORT": str(port),
            "ILERTD_SMTP_SECURITY": "none",
            "ILERTD_SMTP_FROM": "ilertd@example.test",
        }
        async with running_api(dsn, **env) as api:
            source = await make_source(api)
            await make_action(
                api,
                name="mail",
                connectorType="email",
                triggerTypes=["alert-created"],
                params={
                    "recipients": ["oncall@example.test"],
                    "subject": "Alert: {{alertSummary}}",
                },
            )
            await alert_via_events(api, source["integrationKey"], "mail", summary="disk 95%")
            for _ in range(100):
                if inbox.messages:
                    break
                await asyncio.sleep(0.1)
    finally:
        controller.stop()
    (message,) = inbox.messages
    assert message["Subject"] == "Alert: disk 95%"
    assert message["To"] == "oncall@example.test"
    assert message["From"] == "ilertd@example.test"
    assert message["X-Ilertd-Delivery"]
