"""Status page subscriptions end to end, with a real aiosmtpd server on loopback: the form,
the double opt-in mail and its link, status updates reaching confirmed subscribers only
(with RFC 8058 unsubscribe headers), one-click unsubscribe, refused links and forms, a
storm bundled into one mail per subscriber over one SMTP connection, maintenance notices,
and the ADMINs' subscriber API."""

from __future__ import annotations

import asyncio
import email
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

from ilertd.status_site import tokens
from ilertd.status_site.mailer import SubscriberMailer
from projections import ProjectionRunner
from projections.status_mail import StatusMailProjection
from projections.status_subscribers import StatusSubscribersProjection

from .conftest import Api, running_api
from .test_paging import free_port, until
from .test_status_site import INTERNAL_SUMMARY, made, scene

WINDOW_S = 1.0


class Inbox:
    """Every message aiosmtpd took, with the SMTP session (connection) it came over."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Message, Any]] = []
        #: answers to give before taking messages again ("451 ...", "550 ...")
        self.refusals: list[str] = []
        self.server: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        message = email.message_from_bytes(envelope.content)
        for rcpt in envelope.rcpt_tos:
            self.messages.append((rcpt, message, session))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [message for rcpt, message, _ in self.messages if rcpt == address]


World = tuple[Api, Inbox]


@pytest.fixture
async def world(dsn: str) -> AsyncIterator[World]:
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    inbox.server = smtp
    env = {
        "ILERTD_SMTP_HOST": "127.0.0.1",
        "ILERTD_SMTP_PORT": str(port),
        "ILERTD_SMTP_SECURITY": "none",
        "ILERTD_SMTP_FROM": "status@example.com",
        "ILERTD_NOTIFY_STATUS_MAIL_WINDOW_S": str(WINDOW_S),
        "ILERTD_ENGINE_LEADER_RETRY_S": "0.2",
        "ILERTD_NOTIFY_RETRY_BASE_S": "0.2",
    }
    try:
        async with running_api(dsn, **env) as api:
            await until(lambda: _leading(api))
            yield api, inbox
    finally:
        inbox.server.stop()  # the one running now (a test may have replaced it)


async def _leading(api: Api) -> bool:
    return api.runtime.engine.subscriber_mail._task is not None


async def subscribable(api: Api) -> dict[str, Any]:
    s = await scene(api)
    page = s["page"]
    body = {**page, "showSubscribeAction": True}
    status, updated = await api.call("PUT", f"/api/status-pages/{page['id']}", json=body)
    assert status == 200, updated
    return s


async def form_token(api: Api, slug: str = "acme") -> str:
    async with api.session.get(api.url(f"/status/{slug}")) as response:
        html = await response.text()
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def post_form(
    api: Api, path: str, fields: dict[str, str], **headers: str
) -> tuple[int, str, Any]:
    async with api.session.post(api.url(path), data=fields, headers=headers) as response:
        return response.status, await response.text(), response.headers


async def subscribe(api: Api, address: str, **headers: str) -> tuple[int, str]:
    token = await form_token(api)
    status, html, _ = await post_form(
        api, "/status/acme/subscribe", {"email": address, "token": token}, **headers
    )
    return status, html


def header(message: Message, name: str) -> str:
    """A header's value unfolded (long ones are folded at spaces)."""
    return " ".join(str(message[name]).split())


def text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text part")


def link(message: Message, kind: str) -> str:
    """The path and query of the message's ``confirm`` or ``unsubscribe`` link."""
    found = re.search(rf"(https?://\S+/subscriptions/{kind}\?token=\S+)", text_of(message))
    assert found, text_of(message)
    parts = urlsplit(found.group(1))
    return f"{parts.path}?{parts.query}"


async def status_update(api: Api, s: dict[str, Any], message: str, notify: bool = True) -> None:
    await made(
        api,
        f"/api/incidents/{s['incident']['id']}/status-updates",
        {
            "status": "INVESTIGATING",
            "summary": "Database errors",
            "message": message,
            "sendNotification": notify,
            "affectedServices": [{"service": {"id": s["db"]["id"]}, "impact": "PARTIAL_OUTAGE"}],
        },
    )


async def mails(inbox: Inbox, address: str, count: int) -> list[Message]:
    async def arrived() -> bool:
        return len(inbox.to(address)) >= count

    await until(arrived)
    return inbox.to(address)


async def pending_mails(api: Api) -> int:
    return await api.runtime.pool.fetchval(
        "SELECT count(*) FROM status_mail WHERE status = 'PENDING'"
    )


async def quiet(api: Api) -> None:
    """Everything owed so far is sent (or given up), and the window has passed."""
    await api.settle()

    async def drained() -> bool:
        return await pending_mails(api) == 0

    await until(drained)


async def test_subscribe_confirm_update_and_one_click_unsubscribe(world: World) -> None:
    api, inbox = world
    s = await subscribable(api)
    async with api.session.get(api.url("/status/acme")) as response:
        page = await response.text()
    assert 'action="/status/acme/subscribe"' in page and 'type="email"' in page
    assert 'href="/status/acme/feed.atom"' in page

    status, html = await subscribe(api, "Ann@Example.com")
    assert status == 200 and "Check your mail" in html
    status, _ = await subscribe(api, "bob@example.com")  # never confirms
    assert status == 200
    [confirmation] = await mails(inbox, "ann@example.com", 1)
    assert header(confirmation, "Subject") == "Confirm your subscription to Acme status"
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert header(confirmation, "List-Unsubscribe").startswith("<http")
    await mails(inbox, "bob@example.com", 1)

    # not confirmed yet: an update reaches nobody
    await status_update(api, s, "First look: checkouts fail.")
    await quiet(api)
    assert len(inbox.to("ann@example.com")) == 1 and len(inbox.to("bob@example.com")) == 1

    async with api.session.get(api.url(link(confirmation, "confirm"))) as response:
        assert response.status == 200
        assert "Subscribed" in await response.text()
    # following it twice is fine
    async with api.session.get(api.url(link(confirmation, "confirm"))) as response:
        assert response.status == 200

    await status_update(api, s, "We are looking into failing checkouts.")
    [_, news] = await mails(inbox, "ann@example.com", 2)
    assert header(news, "Subject") == "Acme status: Investigating - Database errors"
    assert news["To"] == "ann@example.com"
    assert news["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = link(news, "unsubscribe")
    assert header(news, "List-Unsubscribe") == f"<http://127.0.0.1:8080{unsubscribe}>"
    body = text_of(news)
    assert "We are looking into failing checkouts." in body
    for internal in (INTERNAL_SUMMARY, "db-7", "SEV", "everity", "First look"):
        assert internal not in body, internal
    await quiet(api)
    assert len(inbox.to("bob@example.com")) == 1  # pending: nothing but the confirmation

    # a GET shows a button and changes nothing; the one-click POST ends it, twice is fine
    async with api.session.get(api.url(unsubscribe)) as response:
        assert response.status == 200 and "Unsubscribe" in await response.text()
    for _ in range(2):
        status, html, _ = await post_form(api, unsubscribe, {"List-Unsubscribe": "One-Click"})
        assert status == 200 and "Unsubscribed" in html, html

    await status_update(api, s, "A fix is rolled out.")
    await quiet(api)
    await asyncio.sleep(WINDOW_S)
    assert len(inbox.to("ann@example.com")) == 2  # nothing after unsubscribing
    status, listed = await api.call("GET", f"/api/status-pages/{s['page']['id']}/subscribers")
    assert status == 200
    assert [(r["email"], r["status"]) for r in listed] == [("bob@example.com", "PENDING")]


async def test_expired_tampered_and_foreign_links_are_refused(world: World) -> None:
    api, inbox = world
    s = await subscribable(api)
    await subscribe(api, "carl@example.com")
    [confirmation] = await mails(inbox, "carl@example.com", 1)
    good = link(confirmation, "confirm")
    token = good.split("token=", 1)[1]
    subject = tokens.read(
        api.runtime.link_secret, token, tokens.Purpose.CONFIRM, datetime.now(UTC)
    ).subject
    expired = tokens.make(
        api.runtime.link_secret,
        tokens.Token(tokens.Purpose.CONFIRM, subject, 1, datetime.now(UTC) - timedelta(1)),
    )
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    unsubscribe = link(confirmation, "unsubscribe").split("token=", 1)[1]
    for bad, said in (
        (expired, "expired"),
        (tampered, "not valid"),
        (unsubscribe, "not valid"),  # an unsubscribe token confirms nothing
        ("x", "incomplete"),
    ):
        async with api.session.get(
            api.url(f"/status/acme/subscriptions/confirm?token={bad}")
        ) as response:
            assert response.status == 403, bad
            assert said in await response.text(), bad
    status, subscribers = await api.call("GET", f"/api/status-pages/{s['page']['id']}/subscribers")
    assert status == 200 and [r["status"] for r in subscribers] == ["PENDING"]


async def test_bad_forms_are_refused(world: World) -> None:
    api, inbox = world
    s = await subscribable(api)
    status, html = await subscribe(api, "not-an-address")
    assert status == 400 and "email" in html
    token = await form_token(api)
    status, html, _ = await post_form(api, "/status/acme/subscribe", {"email": "d@example.com"})
    assert status == 403 and "expired" in html  # no form token
    status, html = await subscribe(api, "d@example.com", Origin="https://evil.example")
    assert status == 403 and "another site" in html
    status, _ = await subscribe(api, "d@example.com", **{"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    # an address may be named three times a minute
    fields = {"email": "e@example.com", "token": token}
    answers = [(await post_form(api, "/status/acme/subscribe", fields))[0] for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    await quiet(api)
    assert len(inbox.to("e@example.com")) == 1  # one confirmation, however often asked
    assert inbox.to("d@example.com") == []

    body = {**s["page"], "showSubscribeAction": False}
    await api.call("PUT", f"/api/status-pages/{s['page']['id']}", json=body)
    async with api.session.get(api.url("/status/acme")) as response:
        assert 'action="/status/acme/subscribe"' not in await response.text()
    status, _, _ = await post_form(
        api, "/status/acme/subscribe", {"email": "f@example.com", "token": token}
    )
    assert status == 404


async def test_a_storm_is_one_mail_per_subscriber_over_one_connection(world: World) -> None:
    api, inbox = world
    s = await subscribable(api)
    page = s["page"]["id"]
    people = ["p1@example.com", "p2@example.com", "p3@example.com"]
    for person in people:
        status, added = await api.call(
            "POST", f"/api/status-pages/{page}/subscribers", json={"email": person}
        )
        assert status == 201 and added["status"] == "CONFIRMED" and added["private"], added
    status, problem = await api.call(
        "POST", f"/api/status-pages/{page}/subscribers", json={"email": "nope"}
    )
    assert status == 400 and problem["field"] == "email", problem

    for n in range(5):
        await status_update(api, s, f"Update number {n}.")
    await status_update(api, s, "Not for subscribers.", notify=False)
    for person in people:
        await mails(inbox, person, 1)
    await quiet(api)
    await asyncio.sleep(WINDOW_S)
    sessions = set()
    for person in people:
        [bundle] = inbox.to(person)
        assert header(bundle, "Subject").endswith("(and 4 more)"), bundle["Subject"]
        body = text_of(bundle)
        assert all(f"Update number {n}." in body for n in range(5))
        assert "Not for subscribers." not in body
        assert body.index("Update number 4.") < body.index("Update number 0.")  # newest first
    sessions = {id(session) for _, _, session in inbox.messages}
    assert len(sessions) == 1  # three recipients, one SMTP connection

    status, listed = await api.call("GET", f"/api/status-pages/{page}/subscribers")
    first = listed[0]["id"]
    status, _ = await api.call("DELETE", f"/api/status-pages/{page}/subscribers/{first}")
    assert status == 204
    status, _ = await api.call("DELETE", f"/api/status-pages/{page}/subscribers/{first}")
    assert status == 404
    await status_update(api, s, "After the removal.")
    await mails(inbox, people[1], 2)
    await quiet(api)
    assert len(inbox.to(people[0])) == 1

    # replaying the events rebuilds exactly the outbox and the subscribers
    await api.runtime.engine.subscriber_mail.stop()
    pool = api.runtime.pool
    projections = [StatusMailProjection(), StatusSubscribersProjection()]

    async def tables() -> dict[str, list[tuple]]:
        return {
            t: [tuple(r) for r in await pool.fetch(f"SELECT * FROM {t} ORDER BY {t}::text")]
            for p in projections
            for t in p.tables
        }

    live = await tables()
    assert len(live["status_mail"]) == 3 * 5 + 2
    runner = ProjectionRunner(api.runtime.store, projections)
    await runner.prepare()
    for projection in projections:
        await runner.rebuild(projection.name)
    assert await tables() == live


async def test_maintenance_windows_notify_when_scheduled_and_when_started(world: World) -> None:
    api, inbox = world
    s = await subscribable(api)
    await api.call(
        "POST", f"/api/status-pages/{s['page']['id']}/subscribers", json={"email": "m@example.com"}
    )
    start = datetime.now(UTC) + timedelta(seconds=3 * WINDOW_S)
    await made(
        api,
        "/api/maintenance-windows",
        {
            "summary": "Database upgrade",
            "description": "Read-only for ten minutes.",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
            "services": [{"id": s["db"]["id"]}],
            "notifications": {"atCreation": True, "atStart": True},
        },
    )
    [scheduled, started] = await mails(inbox, "m@example.com", 2)
    assert header(scheduled, "Subject") == "Acme status: Maintenance scheduled - Database upgrade"
    assert header(started, "Subject") == "Acme status: Maintenance started - Database upgrade"
    assert "Read-only for ten minutes." in text_of(started)
    assert started["List-Unsubscribe"]


async def mail_rows(api: Api) -> list[tuple[str, int]]:
    rows = await api.runtime.pool.fetch("SELECT status, attempts FROM status_mail ORDER BY id")
    return [(row["status"], row["attempts"]) for row in rows]


async def test_a_refused_mail_is_retried_and_a_rejected_one_given_up(world: World) -> None:
    api, inbox = world
    s = await subscribable(api)
    page = s["page"]["id"]
    await api.call("POST", f"/api/status-pages/{page}/subscribers", json={"email": "r@example.com"})
    inbox.refusals = ["451 try again later", "451 try again later"]
    await status_update(api, s, "Third time lucky.")
    [news] = await mails(inbox, "r@example.com", 1)
    assert "Third time lucky." in text_of(news)
    await quiet(api)
    assert await mail_rows(api) == [("SENT", 3)]

    inbox.refusals = ["550 no such mailbox"]
    await status_update(api, s, "Never arrives.")
    await api.settle()

    async def given_up() -> bool:
        return ("DEAD", 1) in await mail_rows(api)

    await until(given_up)
    assert len(inbox.to("r@example.com")) == 1


async def test_nothing_is_lost_or_sent_twice_across_a_new_leader(world: World) -> None:
    api, inbox = world
    s = await subscribable(api)
    page = s["page"]["id"]
    await api.call("POST", f"/api/status-pages/{page}/subscribers", json={"email": "n@example.com"})
    mailer = api.runtime.engine.subscriber_mail
    await mailer.stop()  # the leader is gone before it sent anything
    await status_update(api, s, "Posted while nobody leads.")
    await api.settle()
    await asyncio.sleep(WINDOW_S * 1.5)
    assert inbox.to("n@example.com") == []
    for _ in range(2):  # a new leader sends it; the next one finds nothing owed
        fresh = SubscriberMailer(
            api.runtime.pool,
            api.runtime.repository,
            api.runtime.runner,
            mailer.clock,
            mailer.settings,
            woken_by=mailer._wakeup,
        )
        await fresh.start()
        try:
            await mails(inbox, "n@example.com", 1)
            await quiet(api)
            await asyncio.sleep(WINDOW_S)
        finally:
            await fresh.stop()
    assert len(inbox.to("n@example.com")) == 1


async def test_mails_wait_while_the_smtp_server_is_down(world: World) -> None:
    api, inbox = world
    s = await subscribable(api)
    page = s["page"]["id"]
    for person in ("u1@example.com", "u2@example.com"):
        await api.call("POST", f"/api/status-pages/{page}/subscribers", json={"email": person})
    assert inbox.server is not None
    inbox.server.stop()
    await status_update(api, s, "While the relay is down.")
    await api.settle()

    async def tried() -> bool:
        rows = await mail_rows(api)
        return len(rows) == 2 and all(st == "PENDING" and n >= 1 for st, n in rows)

    await until(tried)  # both count the failed attempt: they back off together
    inbox.server = Controller(inbox, hostname="127.0.0.1", port=inbox.server.port)
    inbox.server.start()
    for person in ("u1@example.com", "u2@example.com"):
        [news] = await mails(inbox, person, 1)
        assert "While the relay is down." in text_of(news)


async def test_a_private_page_mails_only_known_subscribers(world: World) -> None:
    api, inbox = world
    s = await subscribable(api)
    page = s["page"]
    await subscribe(api, "anon@example.com")  # while the page is PUBLIC
    [confirmation] = await mails(inbox, "anon@example.com", 1)
    async with api.session.get(api.url(link(confirmation, "confirm"))) as response:
        assert response.status == 200
    await api.call("POST", f"/api/status-pages/{page['id']}/subscribers", json={"email": "k@x.io"})
    body = {**page, "showSubscribeAction": True, "visibility": "PRIVATE"}
    status, _ = await api.call("PUT", f"/api/status-pages/{page['id']}", json=body)
    assert status == 200
    await status_update(api, s, "Only for the team.")
    [news] = await mails(inbox, "k@x.io", 1)
    assert "Only for the team." in text_of(news)
    await quiet(api)
    assert len(inbox.to("anon@example.com")) == 1  # the confirmation, nothing private
