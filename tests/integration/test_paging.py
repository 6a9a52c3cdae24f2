"""Paging responders end to end: a real SMTP server (aiosmtpd) and a local server speaking
Twilio's Messages and Calls API receive the pages; answering by link, SMS reply or keypress
acts on the alert as the user; forged or expired links change nothing; muted users are
skipped on the timeline."""

from __future__ import annotations

import asyncio
import email
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from ilertd.notify.links import ActionLink, LinkAction, make_token
from ilertd.notify.twilio import signature

from .conftest import Api, running_api
from .test_alerts_api import new_user
from .test_events_api import make_source

SID, TOKEN, FROM = "AC0123456789", "twilio-auth-token", "+15550001111"
PHONE = "+4915112345678"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


class FakeTwilio:
    """Speaks Twilio's REST API for Messages and Calls; records each form."""

    def __init__(self) -> None:
        self.sms: list[dict[str, str]] = []
        self.calls: list[dict[str, str]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _messages(self, request: web.Request) -> web.Response:
        assert request.match_info["sid"] == SID
        self.sms.append(dict(await request.post()))
        return web.json_response({"sid": f"SM{len(self.sms)}"}, status=201)

    async def _calls(self, request: web.Request) -> web.Response:
        self.calls.append(dict(await request.post()))
        return web.json_response({"sid": f"CA{len(self.calls)}"}, status=201)

    async def start(self) -> FakeTwilio:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._messages)
        app.router.add_post("/2010-04-01/Accounts/{sid}/Calls.json", self._calls)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def world(dsn: str) -> AsyncIterator[tuple[Api, Inbox, FakeTwilio]]:
    inbox, twilio = Inbox(), await FakeTwilio().start()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {
        "ILERTD_SMTP_HOST": "127.0.0.1",
        "ILERTD_SMTP_PORT": str(port),
        "ILERTD_SMTP_SECURITY": "none",
        "ILERTD_NOTIFY_TWILIO_BASE_URL": twilio.url,
        "ILERTD_NOTIFY_TWILIO_ACCOUNT_SID": SID,
        "ILERTD_NOTIFY_TWILIO_AUTH_TOKEN": TOKEN,
        "ILERTD_NOTIFY_TWILIO_FROM": FROM,
        "ILERTD_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",  # the fake Twilio is on loopback
        "ILERTD_NOTIFY_RETRY_BASE_S": "0.2",
    }
    try:
        async with running_api(dsn, **env) as api:
            yield api, inbox, twilio
    finally:
        smtp.stop()
        await twilio.stop()


async def until(predicate, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def page_user(api: Api, user_id: int, summary: str = "disk full") -> int:
    source = await make_source(api)
    status, alert = await api.call(
        "POST",
        "/api/alerts",
        json={
            "summary": summary,
            "alertSource": {"id": source["id"]},
            "responders": [{"user": {"id": user_id}}],
        },
    )
    assert status == 201, alert
    return alert["id"]


async def add_rule(api: Api, user_id: int, method: str, delay: int, contact: int | None) -> None:
    body: dict[str, Any] = {"method": method, "delayMin": delay, "type": "HIGH_PRIORITY"}
    if contact is not None:
        body["contact"] = {"id": contact}
    status, rule = await api.call(
        "POST", f"/api/users/{user_id}/notification-preferences/alerts", json=body
    )
    assert status == 201, rule


async def add_contact(api: Api, user_id: int, kind: str, target: str) -> int:
    status, contact = await api.call(
        "POST", f"/api/users/{user_id}/contacts/{kind}", json={"target": target}
    )
    assert status == 201, contact
    return contact["id"]


async def alert(api: Api, alert_id: int) -> dict[str, Any]:
    status, found = await api.call("GET", f"/api/alerts/{alert_id}")
    assert status == 200
    return found


async def notifications(api: Api, alert_id: int) -> list[dict[str, Any]]:
    status, found = await api.call("GET", f"/api/alerts/{alert_id}/notifications")
    assert status == 200, found
    return found


async def test_an_emailed_accept_link_accepts_and_cancels_the_later_pages(world) -> None:
    api, inbox, twilio = world
    ann = await new_user(api, "ann")
    mail = await add_contact(api, ann, "emails", "ann.pager@example.test")
    phone = await add_contact(api, ann, "phone-numbers", PHONE)
    await add_rule(api, ann, "EMAIL", 0, mail)
    await add_rule(api, ann, "SMS", 3, phone)
    await add_rule(api, ann, "VOICE", 5, phone)
    alert_id = await page_user(api, ann)

    async def mailed() -> bool:
        return bool(inbox.messages)

    await until(mailed)
    message = inbox.messages[0]
    assert message["To"] == "ann.pager@example.test"
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    links = re.findall(r"https?://\S+/r/[A-Za-z0-9_.-]+", text.get_payload(decode=True).decode())
    accept = next(link for link in links if link)  # accept is listed first
    path = accept.split("://", 1)[1].split("/", 1)[1]

    status, page = await api.call("GET", "/" + path, key=None)
    assert status == 200 and "Accept" in page
    assert (await alert(api, alert_id))["status"] == "PENDING"  # a GET alone does nothing

    status, done = await api.call("POST", "/" + path, key=None)
    assert status == 200 and "accepted" in done
    assert (await alert(api, alert_id))["status"] == "ACCEPTED"

    async def settled() -> bool:
        found = await notifications(api, alert_id)
        return {n["method"]: n["status"] for n in found} == {
            "EMAIL": "SUCCESS",
            "SMS": "CANCELLED",
            "VOICE": "CANCELLED",
        }

    await until(settled)
    assert twilio.sms == [] and twilio.calls == []
    _, entries = await api.call("GET", f"/api/alerts/{alert_id}/log-entries")
    types = [e["logEntryType"] for e in entries]
    assert "UserResponseLogEntry" in types and "NotificationSentLogEntry" in types
    response = next(e for e in entries if e["logEntryType"] == "UserResponseLogEntry")
    assert f"User {ann}" in response["text"] and "link" in response["text"]


async def test_forged_and_expired_links_are_refused_and_change_nothing(world) -> None:
    api, _, _ = world
    ann = await new_user(api, "ann")
    alert_id = await page_user(api, ann)
    expired = make_token(
        api.runtime.link_secret,
        ActionLink(alert_id, ann, LinkAction.RESOLVE, datetime.now(UTC) - timedelta(seconds=1)),
    )
    forged = make_token(
        b"not-the-secret" * 3,
        ActionLink(alert_id, ann, LinkAction.RESOLVE, datetime.now(UTC) + timedelta(hours=1)),
    )
    for token in (expired, forged, "garbage"):
        for method in ("GET", "POST"):
            status, _ = await api.call(method, f"/r/{token}", key=None)
            assert status == 403, (token, method)
    assert (await alert(api, alert_id))["status"] == "PENDING"


async def test_an_sms_reply_of_2_resolves_and_is_confirmed(world) -> None:
    api, _, twilio = world
    bob = await new_user(api, "bob")
    phone = await add_contact(api, bob, "phone-numbers", PHONE)
    await add_rule(api, bob, "SMS", 0, phone)
    alert_id = await page_user(api, bob, "queue stuck")

    async def texted() -> bool:
        found = await notifications(api, alert_id)
        return bool(twilio.sms) and found[0]["status"] == "SUCCESS"

    await until(texted)
    (sms,) = twilio.sms
    assert sms["To"] == PHONE and sms["From"] == FROM and "queue stuck" in sms["Body"]

    form = {"From": PHONE, "To": FROM, "Body": " 2 "}
    url = api.url("/api/notify/sms")
    public = "http://127.0.0.1:8080/api/notify/sms"  # what ilertd believes its URL is
    headers = {"X-Twilio-Signature": signature(TOKEN, public, form)}
    async with api.session.post(url, data=form, headers=headers) as response:
        assert response.status == 200
        reply = await response.text()
    assert "<Message>" in reply and "resolved" in reply
    assert (await alert(api, alert_id))["status"] == "RESOLVED"

    headers = {"X-Twilio-Signature": "forged"}
    async with api.session.post(url, data=form, headers=headers) as response:
        assert response.status == 403


async def test_a_keypress_on_the_call_accepts(world) -> None:
    api, _, twilio = world
    cy = await new_user(api, "cy")
    phone = await add_contact(api, cy, "phone-numbers", PHONE)
    await add_rule(api, cy, "VOICE", 0, phone)
    alert_id = await page_user(api, cy)

    async def called() -> bool:
        return bool(twilio.calls)

    await until(called)
    twiml = twilio.calls[0]["Twiml"]
    assert "<Gather" in twiml and "Press 1 to accept" in twiml
    action = re.search(r'action="([^"]+)"', twiml).group(1).replace("&amp;", "&")
    path = "/" + action.split("://", 1)[1].split("/", 1)[1]
    form = {"Digits": "1", "CallSid": "CA1"}
    public = "http://127.0.0.1:8080" + path
    headers = {"X-Twilio-Signature": signature(TOKEN, public, form)}
    async with api.session.post(api.url(path), data=form, headers=headers) as response:
        assert response.status == 200
        assert "accepted" in await response.text()
    assert (await alert(api, alert_id))["status"] == "ACCEPTED"


async def test_a_muted_user_is_skipped_and_the_timeline_says_so(world) -> None:
    api, inbox, _ = world
    dee = await new_user(api, "dee")
    _, user = await api.call("GET", f"/api/users/{dee}")
    until_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    status, changed = await api.call(
        "PUT", f"/api/users/{dee}", json={**user, "mutedUntil": until_at}
    )
    assert status == 200, changed
    alert_id = await page_user(api, dee)

    async def skipped() -> bool:
        _, entries = await api.call("GET", f"/api/alerts/{alert_id}/log-entries")
        return any(e["logEntryType"] == "NotificationSkippedLogEntry" for e in entries)

    await until(skipped)
    assert await notifications(api, alert_id) == []
    assert inbox.messages == []


async def test_a_storm_of_200_alerts_sends_a_few_bundled_texts(dsn: str) -> None:
    twilio = await FakeTwilio().start()
    env = {
        "ILERTD_NOTIFY_TWILIO_BASE_URL": twilio.url,
        "ILERTD_NOTIFY_TWILIO_ACCOUNT_SID": SID,
        "ILERTD_NOTIFY_TWILIO_AUTH_TOKEN": TOKEN,
        "ILERTD_NOTIFY_TWILIO_FROM": FROM,
        "ILERTD_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",  # the fake Twilio is on loopback
        "ILERTD_NOTIFY_BUNDLE_WINDOW_S": "2",
        "ILERTD_EVENTS_RATE_LIMIT_PER_MINUTE": "0",
    }
    try:
        async with running_api(dsn, **env) as api:
            eve = await new_user(api, "eve")
            phone = await add_contact(api, eve, "phone-numbers", PHONE)
            await add_rule(api, eve, "SMS", 0, phone)
            source = await make_source(api)
            alerts = []
            for n in range(200):
                status, created = await api.call(
                    "POST",
                    "/api/alerts",
                    json={
                        "summary": f"storm {n}",
                        "alertSource": {"id": source["id"]},
                        "responders": [{"user": {"id": eve}}],
                    },
                )
                assert status == 201, created
                alerts.append(created["id"])

            async def all_sent() -> bool:
                rows = await api.runtime.store.pool.fetch(
                    "SELECT status FROM notifications WHERE user_id = $1", eve
                )
                return len(rows) == 200 and {r["status"] for r in rows} == {"SUCCESS"}

            await until(all_sent, timeout=60)
    finally:
        await twilio.stop()
    texts = [sms["Body"] for sms in twilio.sms]
    assert 2 <= len(texts) <= 20, len(texts)
    counted = sum(
        int(m.group(1)) if (m := re.search(r"(\d+) new alerts", body)) else 1 for body in texts
    )
    assert counted == 200, texts


async def test_an_email_storm_is_a_few_messages_each_alert_in_exactly_one(world) -> None:
    """300 alerts at once for one person by e-mail: one message per window (not 300),
    every alert covered by exactly one message, and its timeline names that message."""
    api, inbox, _ = world
    zoe = await new_user(api, "zoe")
    source = await make_source(api)
    gate = asyncio.Semaphore(32)

    async def create(n: int) -> int:
        async with gate:
            status, created = await api.call(
                "POST",
                "/api/alerts",
                json={
                    "summary": f"storm {n}",
                    "alertSource": {"id": source["id"]},
                    "responders": [{"user": {"id": zoe}}],
                },
            )
        assert status == 201, created
        return created["id"]

    alerts = await asyncio.gather(*(create(n) for n in range(300)))

    async def all_sent() -> bool:
        rows = await api.runtime.store.pool.fetch(
            "SELECT status FROM notifications WHERE user_id = $1", zoe
        )
        return len(rows) == 300 and {r["status"] for r in rows} == {"SUCCESS"}

    await until(all_sent, timeout=60)
    covered: dict[int, str] = {}
    for message in inbox.messages:
        ids = message.get("X-Ilertd-Alert-Ids") or message["X-Ilertd-Alert-Id"]
        for alert_id in (int(i) for i in str(ids).split(",")):
            assert alert_id not in covered, f"alert {alert_id} paged twice"
            covered[alert_id] = message["Message-ID"]
    assert set(covered) == set(alerts)
    assert len(inbox.messages) <= 40, len(inbox.messages)  # 0.5 s windows, not 300 mails
    bundled = next(m for m in inbox.messages if m.get("X-Ilertd-Alert-Ids"))
    first = int(str(bundled["X-Ilertd-Alert-Ids"]).split(",")[0])
    status, entries = await api.call("GET", f"/api/alerts/{first}/log-entries")
    assert status == 200
    sent = [e for e in entries if e["logEntryType"] == "NotificationSentLogEntry"]
    assert len(sent) == 1 and bundled["Message-ID"] in sent[0]["text"], sent
    plain = next(p for p in bundled.walk() if p.get_content_type() == "text/plain")
    body = plain.get_payload(decode=True).decode()
    assert f"#{first} storm" in body and "/r/" in body
