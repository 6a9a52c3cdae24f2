"""Incident channels end to end: local Slack, Teams and Google Chat webhooks receive every
timeline event of the incidents their channels are attached to, retried when they fail,
exactly once across a restart, and nothing once detached."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from eventstore import EventStore
from projections import ProjectionRunner
from projections.outbox import OutboxProjection

from .chat_servers import ChatServer
from .conftest import Api, running_api
from .test_outbound import FAST, until

TYPES = {"slack": "SLACK", "teams": "MICROSOFT_TEAMS", "google_chat": "GOOGLE_CHAT"}
CONNECTOR_TYPES = {"slack": "slack", "teams": "microsoft_teams", "google_chat": "google_chat"}


@pytest.fixture
async def fast(dsn: str) -> AsyncIterator[Api]:
    async with running_api(dsn, **FAST) as running:
        yield running


@pytest.fixture
async def chats() -> AsyncIterator[dict[str, ChatServer]]:
    servers = {kind: await ChatServer(kind).start() for kind in TYPES}
    yield servers
    for server in servers.values():
        await server.stop()


async def connector(api: Api, kind: str, url: str | None) -> str:
    params = {"url": url} if url else {}
    status, body = await api.call(
        "POST",
        "/api/connectors",
        json={"name": f"{kind} workspace", "type": CONNECTOR_TYPES[kind], "params": params},
    )
    assert status == 201, body
    return body["id"]


async def declare(api: Api) -> dict[str, Any]:
    status, incident = await api.call("POST", "/api/incidents", json={"title": "checkout down"})
    assert status == 200, incident
    return incident


async def attach(api: Api, incident: dict[str, Any], kind: str, connector_id: str) -> dict:
    status, body = await api.call(
        "POST",
        f"/api/incidents/{incident['id']}/channels",
        json={
            "name": f"#inc-{kind}",
            "url": f"https://chat.example/{kind}/inc",
            "type": TYPES[kind],
            "connectorId": connector_id,
        },
    )
    assert status == 201, body
    return body


def text_of(kind: str, document: dict[str, Any]) -> str:
    """What people read in the post: every text of the message."""
    if kind == "teams":
        card = document["attachments"][0]["content"]
        return "\n".join(b.get("text", "") for b in card["body"])
    if kind == "google_chat":
        widgets = document["cardsV2"][0]["card"]["sections"][0]["widgets"]
        return document["text"] + "\n" + widgets[0]["textParagraph"]["text"]
    return document["text"] + "\n" + document["blocks"][1]["text"]["text"]


async def incident_deliveries(api: Api, incident_id: int) -> list[dict[str, Any]]:
    status, found = await api.call("GET", "/api/deliveries", params={"max-results": "100"})
    assert status == 200, found
    return [d for d in found if d["incidentId"] == incident_id]


async def all_sent(api: Api, incident_id: int) -> bool:
    found = await incident_deliveries(api, incident_id)
    return bool(found) and all(d["status"] == "SUCCEEDED" for d in found)


async def test_every_timeline_event_reaches_each_channel_until_detached(
    fast: Api, chats: dict[str, ChatServer]
) -> None:
    api = fast
    incident = await declare(api)
    path = f"/api/incidents/{incident['id']}"
    reference = incident["reference"]
    answer: dict[str, Any] = {}
    before = datetime.now(UTC)  # the store's clock is this machine's
    for kind, server in chats.items():
        answer = await attach(api, incident, kind, await connector(api, kind, server.webhook_url))
    assert [(c["id"], c["type"], c["name"]) for c in answer["channels"]] == [
        (1, "SLACK", "#inc-slack"),
        (2, "MICROSOFT_TEAMS", "#inc-teams"),
        (3, "GOOGLE_CHAT", "#inc-google_chat"),
    ]
    assert all(isinstance(c["connectorId"], str) for c in answer["channels"])
    status, raw = await api.call("GET", path)
    assert status == 200 and raw["channels"] == answer["channels"]
    assert not any(s.webhook_url.split("?")[0] in str(raw) for s in chats.values())
    status, timeline = await api.call("GET", f"{path}/timeline")
    assert [e["type"] for e in timeline][-3:] == ["CHANNEL_ATTACHED"] * 3
    status, then = await api.call("GET", path, params={"at": before.isoformat()})
    assert status == 200 and then["channels"] == []  # replayed: none before the attachments
    status, now = await api.call("GET", path, params={"at": datetime.now(UTC).isoformat()})
    assert status == 200 and now["channels"] == answer["channels"]

    # each channel is greeted by its own attachment, and hears of the later ones
    await chats["slack"].wait_for(3)
    await chats["teams"].wait_for(2)
    await chats["google_chat"].wait_for(1)
    assert [len(s.requests) for s in chats.values()] == [3, 2, 1]
    greeting = chats["google_chat"].requests[0].json
    assert reference in greeting["text"] and "GOOGLE_CHAT channel '#inc-google_chat'" in (
        text_of("google_chat", greeting)
    )

    status, _ = await api.call("PUT", path, json={"status": "INVESTIGATING"})
    assert status == 200
    status, _ = await api.call("PUT", path, json={"severity": "SEV1"})
    assert status == 200
    status, _ = await api.call("POST", f"{path}/comments", json={"content": "rollback <now>"})
    assert status == 201
    status, _ = await api.call(
        "POST", f"{path}/status-updates", json={"status": "IDENTIFIED", "message": "bad deploy"}
    )
    assert status == 201
    status, _ = await api.call("PUT", path, json={"status": "RESOLVED"})
    assert status == 200
    changes = [
        "from DECLARED to INVESTIGATING",
        "from SEV3 to SEV1",
        "rollback",
        "Status update IDENTIFIED",
        "Incident resolved",
    ]
    for kind, server in chats.items():
        before = {"slack": 3, "teams": 2, "google_chat": 1}[kind]
        got = await server.wait_for(before + len(changes))
        posts = [r.json for r in got[before:]]
        assert len(posts) == len(changes), (kind, posts)
        for post, change in zip(posts, changes, strict=True):
            text = text_of(kind, post)
            assert reference in text and change in text, (kind, text)
    # Slack's three control characters come escaped; Chat's text cannot mention anyone
    slack_comment = text_of("slack", chats["slack"].requests[5].json)
    assert "rollback &lt;now&gt;" in slack_comment
    assert "<now>" not in chats["google_chat"].requests[3].json["text"]
    teams_post = chats["teams"].requests[-1].json["attachments"][0]["content"]
    facts = {f["title"]: f["value"] for f in teams_post["body"][2]["facts"]}
    assert facts["Status"] == "RESOLVED" and facts["Severity"] == "SEV1"
    # one post per event and channel, each with its own stable id
    ids = [r.headers["X-Ilertd-Delivery"] for s in chats.values() for r in s.requests]
    assert len(ids) == len(set(ids)) == 6 + 3 * len(changes)

    for channel in (1, 2, 3):
        status, _ = await api.call("DELETE", f"{path}/channels/{channel}")
        assert status == 204
    status, problem = await api.call("DELETE", f"{path}/channels/1")
    assert status == 409, problem
    await until(lambda: all_sent(api, incident["id"]))
    # the detaches: Teams heard of Slack's, Chat of both; then no channel is left
    counts = [len(s.requests) for s in chats.values()]
    assert counts == [3 + 5, 2 + 5 + 1, 1 + 5 + 2]
    status, _ = await api.call("POST", f"{path}/comments", json={"content": "post mortem"})
    assert status == 201
    status, _ = await api.call("POST", f"{path}/reopen")
    assert status == 200
    await api.settle()
    await asyncio.sleep(0.5)  # a post would go out within milliseconds: give it time
    assert [len(s.requests) for s in chats.values()] == counts
    assert all(d["status"] == "SUCCEEDED" for d in await incident_deliveries(api, incident["id"]))
    status, got = await api.call("GET", path)
    assert status == 200 and got["channels"] == []


async def test_the_connector_must_exist_and_match_the_channel(
    fast: Api, chats: dict[str, ChatServer]
) -> None:
    api = fast
    incident = await declare(api)
    path = f"/api/incidents/{incident['id']}/channels"
    teams = await connector(api, "teams", chats["teams"].webhook_url)
    no_url = await connector(api, "slack", None)
    status, hook = await api.call(
        "POST",
        "/api/connectors",
        json={"name": "siem", "type": "webhook", "params": {"url": "https://siem.example/in"}},
    )
    assert status == 201
    good = {"name": "#inc", "url": "https://chat.example/c", "type": "SLACK"}
    for body, field in (
        ({**good, "connectorId": teams}, "connectorId"),  # a Teams connector for Slack
        ({**good, "connectorId": hook["id"]}, "connectorId"),
        ({**good, "connectorId": "987654321"}, "connectorId"),
        ({**good, "connectorId": no_url}, "connectorId"),
        ({**good, "type": "IRC", "connectorId": teams}, "type"),
        ({**good, "url": "chat.example/c", "connectorId": teams}, "url"),
        ({k: v for k, v in good.items() if k != "name"} | {"connectorId": teams}, "name"),
        (good, "connectorId"),
    ):
        status, problem = await api.call("POST", path, json=body)
        assert status == 400 and problem.get("field") == field, (body, problem)
    status, found = await api.call("GET", f"/api/incidents/{incident['id']}")
    assert found["channels"] == []
    status, timeline = await api.call("GET", f"/api/incidents/{incident['id']}/timeline")
    assert [e["type"] for e in timeline] == ["DECLARED"]
    status, problem = await api.call("POST", "/api/incidents/987654321/channels", json=good)
    assert status in (400, 404), problem
    ok = {**good, "type": "MICROSOFT_TEAMS", "connectorId": int(teams)}  # an integer id too
    status, _ = await api.call("POST", path, json=ok)
    assert status == 201
    status, problem = await api.call("POST", path, json=ok)
    assert status == 409 and "attached already" in problem["message"], problem
    # the connector keeps fitting the channel that posts through it, and stays until detached
    connectors = f"/api/connectors/{teams}"
    status, problem = await api.call("DELETE", connectors)
    assert status == 409 and incident["reference"] in problem["message"], problem
    status, problem = await api.call(
        "PUT",
        connectors,
        json={"name": "now slack", "type": "slack", "params": {"url": "https://h.example/x"}},
    )
    assert status == 409 and "MICROSOFT_TEAMS channel needs" in problem["message"], problem
    status, _ = await api.call("DELETE", f"{path}/1")
    assert status == 204
    status, _ = await api.call("DELETE", connectors)
    assert status == 204


async def test_a_failing_chat_is_retried_and_gets_each_post_once(
    fast: Api, chats: dict[str, ChatServer]
) -> None:
    api = fast
    slack = chats["slack"]
    slack.failures = [500, 503]
    incident = await declare(api)
    await attach(api, incident, "slack", await connector(api, "slack", slack.webhook_url))
    status, _ = await api.call(
        "POST", f"/api/incidents/{incident['id']}/comments", json={"content": "on it"}
    )
    assert status == 201
    await until(lambda: all_sent(api, incident["id"]))
    got = await slack.wait_for(2)
    assert len(got) == 2 and "on it" in text_of("slack", got[1].json)
    first, second = sorted(
        await incident_deliveries(api, incident["id"]), key=lambda d: int(d["id"].split("-")[0])
    )
    assert first["attempts"] == 3 and first["status"] == "SUCCEEDED"
    assert second["attempts"] == 1
    assert first["channelId"] == 1 and first["alertActionId"] is None


async def test_a_failing_chat_is_dead_lettered_when_it_refuses(
    fast: Api, chats: dict[str, ChatServer]
) -> None:
    api = fast
    chats["google_chat"].failures = [400]  # INVALID_ARGUMENT: no retry can fix it
    incident = await declare(api)
    await attach(
        api,
        incident,
        "google_chat",
        await connector(api, "google_chat", chats["google_chat"].webhook_url),
    )

    async def dead() -> bool:
        return [d["status"] for d in await incident_deliveries(api, incident["id"])] == ["DEAD"]

    await until(dead)
    (delivery,) = await incident_deliveries(api, incident["id"])
    status, _ = await api.call("POST", f"/api/deliveries/{delivery['id']}/retry")
    assert status == 202
    got = await chats["google_chat"].wait_for(1)
    assert len(got) == 1 and got[0].headers["X-Ilertd-Delivery"] == delivery["id"]


async def test_posts_are_sent_once_across_a_restart(dsn: str, chats: dict[str, ChatServer]) -> None:
    teams = chats["teams"]
    async with running_api(dsn, **FAST) as api:
        incident = await declare(api)
        await attach(api, incident, "teams", await connector(api, "teams", teams.webhook_url))
        status, _ = await api.call("PUT", f"/api/incidents/{incident['id']}", json={"severity": 2})
        assert status == 200
        await until(lambda: all_sent(api, incident["id"]))
    assert len(teams.requests) == 2
    async with running_api(dsn, **FAST) as api:
        status, _ = await api.call(
            "POST", f"/api/incidents/{incident['id']}/comments", json={"content": "again"}
        )
        assert status == 201
        await until(lambda: all_sent(api, incident["id"]))
        await asyncio.sleep(0.3)  # anything sent twice would have gone out by now
    ids = [r.headers["X-Ilertd-Delivery"] for r in teams.requests]
    assert len(ids) == len(set(ids)) == 3
    assert "again" in text_of("teams", teams.requests[-1].json)
    # the outbox rebuilt from the events is the outbox as it was: every post closed, none new
    store = await EventStore.open(dsn)
    try:
        projection = OutboxProjection()

        async def tables() -> dict[str, list[tuple]]:
            return {
                t: [tuple(r) for r in await store.pool.fetch(f"SELECT * FROM {t} ORDER BY 1")]
                for t in ("deliveries", "outbox_channels")
            }

        live = await tables()
        channels = await store.pool.fetch("SELECT channel_id, status FROM deliveries")
        assert [tuple(r) for r in channels] == [(1, "SUCCEEDED")] * 3
        runner = ProjectionRunner(store, [projection])
        await runner.prepare()
        await runner.rebuild("outbox")
        assert await tables() == live
    finally:
        await store.close()


async def test_the_outbound_guard_keeps_a_private_webhook_unposted(
    dsn: str, chats: dict[str, ChatServer]
) -> None:
    env = {**FAST, "ILERTD_OUTBOUND_ALLOW_NETWORKS": ""}  # the default: loopback is denied
    async with running_api(dsn, **env) as api:
        incident = await declare(api)
        slack = chats["slack"]
        await attach(api, incident, "slack", await connector(api, "slack", slack.webhook_url))

        async def dead() -> bool:
            found = await incident_deliveries(api, incident["id"])
            return [d["status"] for d in found] == ["DEAD"]

        await until(dead)
        (delivery,) = await incident_deliveries(api, incident["id"])
        assert delivery["attempts"] == 1 and "denied" in delivery["lastError"], delivery
        assert "s3cr3t" not in delivery["lastError"]  # the webhook's path is its credential
    assert slack.requests == []


async def test_a_slack_bot_posts_with_chat_post_message(dsn: str) -> None:
    api_server = await ChatServer("slack_api").start()
    try:
        async with running_api(dsn, **FAST) as api:
            status, bot = await api.call(
                "POST",
                "/api/connectors",
                json={
                    "name": "ilertd bot",
                    "type": "slack",
                    "params": {"token": api_server.token, "apiUrl": api_server.webhook_url},
                },
            )
            assert status == 201, bot
            assert api_server.token not in str(bot)  # write-only
            incident = await declare(api)
            path = f"/api/incidents/{incident['id']}/channels"
            body = {"name": "#inc", "type": "SLACK", "connectorId": bot["id"]}
            status, problem = await api.call(
                "POST", path, json={**body, "url": "https://acme.slack.com/messages"}
            )
            assert status == 400 and problem["field"] == "url", problem  # names no channel
            for conversation in ("C0123456789", "C0999999999"):  # a member of the first only
                url = f"https://acme.slack.com/archives/{conversation}"
                status, answer = await api.call("POST", path, json={**body, "url": url})
                assert status == 201, answer
            status, _ = await api.call(
                "PUT", f"/api/incidents/{incident['id']}", json={"status": "IDENTIFIED"}
            )
            assert status == 200

            async def closed() -> bool:
                found = await incident_deliveries(api, incident["id"])
                return len(found) == 5 and all(d["status"] != "PENDING" for d in found)

            await until(closed)
            found = await incident_deliveries(api, incident["id"])
            by_channel = {
                c: sorted(d["status"] for d in found if d["channelId"] == c) for c in (1, 2)
            }
            # channel 1 got the second attachment and the status change; Slack refused the
            # other channel (the bot is not in it): a dead letter at once, never retried
            assert by_channel == {1: ["SUCCEEDED"] * 3, 2: ["DEAD"] * 2}, found
            refused = [d for d in found if d["channelId"] == 2]
            assert all(d["attempts"] == 1 for d in refused)
            assert all(d["lastError"] == "Slack: channel_not_found" for d in refused)
        posts = [r.json for r in api_server.requests]
        assert [p["channel"] for p in posts] == ["C0123456789"] * 3
        assert "from DECLARED to IDENTIFIED" in posts[-1]["blocks"][1]["text"]["text"]
        assert all(
            r.headers["Authorization"] == f"Bearer {api_server.token}" for r in api_server.requests
        )
    finally:
        await api_server.stop()
