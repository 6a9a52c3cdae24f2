"""Inbound e-mail over real SMTP sessions (smtplib against the listener on a free loopback
port) into a real daemon on real PostgreSQL: what the sender is answered, and what alerts
the mails open, read over the HTTP API right after the 250 (no settling in between)."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest

from ilertd.http.events import RATE_LIMITER
from ilertd.inbound.smtp import EmailSettings, MailListener

from .conftest import Api, running_api

DOMAIN = "alerts.example.test"
MAX_BYTES = 20_000


@dataclass
class Mailbox:
    api: Api
    listener: MailListener

    @property
    def port(self) -> int:
        return self.listener.port


@pytest.fixture
async def mailbox(dsn: str) -> AsyncIterator[Mailbox]:
    async with running_api(dsn, ILERTD_INBOUND_EMAIL_DOMAIN=DOMAIN) as api:
        settings = EmailSettings("127.0.0.1", 0, DOMAIN, MAX_BYTES)
        listener = MailListener(api.runtime, api.server.app[RATE_LIMITER], settings)
        await listener.start()
        try:
            yield Mailbox(api, listener)
        finally:
            await listener.stop()


async def make_source(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "mail", "integrationType": "EMAIL", **fields}
    status, source = await api.call("POST", "/api/alert-sources", json=body)
    assert status == 201, source
    await api.settle()
    return source


def message(subject: str | None, body: str, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    if subject is not None:
        mail["Subject"] = subject
    mail["From"] = "monitor@example.test"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


@dataclass
class Replies:
    ehlo: tuple[int, bytes]
    rcpt: list[tuple[int, bytes]]
    data: tuple[int, bytes] | None


def _session(port: int, recipients: list[str], raw: bytes, size: int | None) -> Replies:
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as smtp:
        ehlo = smtp.ehlo("sender.example.test")
        options = [f"SIZE={size}"] if size is not None else []
        code, text = smtp.mail("monitor@example.test", options)
        if code != 250:
            return Replies(ehlo, [(code, text)], None)
        rcpt = [smtp.rcpt(address) for address in recipients]
        if not any(code == 250 for code, _ in rcpt):
            return Replies(ehlo, rcpt, None)
        return Replies(ehlo, rcpt, smtp.data(raw))


async def send(
    box: Mailbox, recipients: str | list[str], mail: EmailMessage | bytes, size: int | None = None
) -> Replies:
    """One SMTP session (in a thread: smtplib blocks) delivering ``mail``."""
    raw = mail if isinstance(mail, bytes) else mail.as_bytes(policy=policy.SMTP)  # CRLF
    targets = [recipients] if isinstance(recipients, str) else recipients
    return await asyncio.to_thread(_session, box.port, targets, raw, size)


def address(source: dict[str, Any]) -> str:
    return f"{source['integrationKey']}@{DOMAIN}"


async def alerts_of(api: Api, source: dict[str, Any]) -> list[dict[str, Any]]:
    status, found = await api.call("GET", f"/api/alerts?sources={source['id']}")
    assert status == 200, found
    return found


async def test_a_mail_opens_an_alert_readable_right_after_250(mailbox: Mailbox) -> None:
    api = mailbox.api
    source = await make_source(api)
    mail = message("Disk full on db1", "/var is at 99%.\n\nCheck the WAL archive.")
    replies = await send(mailbox, address(source), mail)
    assert replies.rcpt == [(250, b"2.1.5 OK")]
    assert replies.data is not None and replies.data[0] == 250, replies.data
    assert b"NEW_ALERT_CREATED" in replies.data[1]
    [alert] = await alerts_of(api, source)  # no settle: the 250 came after the commit
    assert alert["summary"] == "Disk full on db1"
    assert alert["details"] == "/var is at 99%.\n\nCheck the WAL archive."
    assert alert["status"] == "PENDING"
    status, got = await api.call("GET", f"/api/alerts/{alert['id']}?include=customDetails")
    assert status == 200 and got["customDetails"]["email"]["from"] == "monitor@example.test"


async def test_an_email_source_answers_its_address_as_integration_url(mailbox: Mailbox) -> None:
    api = mailbox.api
    source = await make_source(api)
    assert source["integrationUrl"] == f"mailto:{address(source)}"
    status, got = await api.call("GET", f"/api/alert-sources/{source['id']}")
    assert status == 200 and got["integrationUrl"] == f"mailto:{address(source)}"
    status, other = await api.call("POST", "/api/alert-sources", json={"name": "api"})
    assert status == 201 and other["integrationUrl"].endswith("/api/events")


async def test_html_only_mail_gives_its_text_and_encoded_subjects_are_decoded(
    mailbox: Mailbox,
) -> None:
    api = mailbox.api
    source = await make_source(api)
    mail = EmailMessage()
    mail["Subject"] = "Störung: Läufer ⚠"
    mail.set_content(
        "<html><head><style>p {color: red}</style></head><body><h1>Backup failed</h1>"
        "<p>job <b>nightly</b> &amp; co</p><script>alert(1)</script></body></html>",
        subtype="html",
    )
    replies = await send(mailbox, address(source), mail)
    assert replies.data is not None and replies.data[0] == 250, replies.data
    [alert] = await alerts_of(api, source)
    assert alert["summary"] == "Störung: Läufer ⚠"
    assert alert["details"] == "Backup failed\n\njob nightly & co"


async def test_one_alert_per_subject_or_per_email(mailbox: Mailbox) -> None:
    api = mailbox.api
    by_subject = await make_source(api, alertCreation="ONE_ALERT_PER_EMAIL_SUBJECT")
    per_mail = await make_source(api, name="every mail", alertCreation="ONE_ALERT_PER_EMAIL")
    for source in (by_subject, per_mail):
        for body in ("first", "second"):
            replies = await send(mailbox, address(source), message("CPU high", body))
            assert replies.data is not None and replies.data[0] == 250, replies.data
        # a subject differing only in case and spacing is the same subject
        replies = await send(mailbox, address(source), message(" cpu   HIGH ", "third"))
        assert replies.data is not None and replies.data[0] == 250, replies.data
    [joined] = await alerts_of(api, by_subject)
    # the alert keeps its first summary; its details are the latest mail's, as for events
    assert joined["summary"] == "CPU high" and joined["details"] == "third"
    assert len(await alerts_of(api, per_mail)) == 3
    # another subject is another alert; a resolved alert is not joined again
    await send(mailbox, address(by_subject), message("Memory low", "x"))
    assert len(await alerts_of(api, by_subject)) == 2
    status, _ = await api.call("PUT", f"/api/alerts/{joined['id']}/resolve")
    assert status == 200
    await send(mailbox, address(by_subject), message("CPU high", "again"))
    found = await alerts_of(api, by_subject)
    assert sorted(a["summary"] for a in found if a["status"] != "RESOLVED") == [
        "CPU high",
        "Memory low",
    ]
    assert len(found) == 3


async def test_unknown_recipients_are_refused_at_rcpt(mailbox: Mailbox) -> None:
    api = mailbox.api
    mail_source = await make_source(api)
    api_source = await make_source(api, name="api", integrationType="API")
    replies = await send(
        mailbox,
        [
            f"0123456789abcdef0123456789abcdef01234567@{DOMAIN}",  # no such key
            f"{api_source['integrationKey']}@{DOMAIN}",  # a key, but not an e-mail source
            f"{mail_source['integrationKey']}@elsewhere.example.test",  # another domain
            "postmaster",
        ],
        message("x", "y"),
    )
    assert [code for code, _ in replies.rcpt] == [550, 550, 550, 550]
    assert all(mail_source["integrationKey"].encode() not in text for _, text in replies.rcpt)
    assert replies.data is None
    assert await alerts_of(api, mail_source) == []


async def test_a_disabled_source_refuses_mail(mailbox: Mailbox) -> None:
    api = mailbox.api
    source = await make_source(api, active=False)
    replies = await send(mailbox, address(source), message("x", "y"))
    assert replies.rcpt[0][0] == 550 and b"disabled" in replies.rcpt[0][1]
    assert replies.data is None
    assert await alerts_of(api, source) == []


async def test_size_is_advertised_and_a_bigger_mail_is_refused_with_552(
    mailbox: Mailbox,
) -> None:
    api = mailbox.api
    source = await make_source(api)
    replies = await send(mailbox, address(source), message("small", "fits"))
    assert f"SIZE {MAX_BYTES}".encode() in replies.ehlo[1]
    big = message("big", "x" * 70 + ("\n" + "y" * 70) * (MAX_BYTES // 70))
    replies = await send(mailbox, address(source), big)
    assert replies.data is not None and replies.data[0] == 552, replies.data
    # a sender that declares the size is refused before it sends the data
    replies = await send(mailbox, address(source), big, size=MAX_BYTES * 2)
    assert replies.rcpt[0][0] == 552 and replies.data is None
    assert [a["summary"] for a in await alerts_of(api, source)] == ["small"]


async def test_a_maintenance_window_holds_mail_alerts(mailbox: Mailbox) -> None:
    api = mailbox.api
    source = await make_source(api)
    now = datetime.now(UTC)
    window = {
        "summary": "mail server move",
        "start": (now - timedelta(minutes=1)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(),
        "alertSources": [{"id": source["id"]}],
    }
    status, created = await api.call("POST", "/api/maintenance-windows", json=window)
    assert status == 201, created
    await api.settle()
    replies = await send(mailbox, address(source), message("held", "y"))
    assert replies.data is not None and replies.data[0] == 250, replies.data
    assert b"MAINTENANCE_WINDOW_ACTIVE" in replies.data[1]
    assert await alerts_of(api, source) == []
    path = f"/api/maintenance-windows/{created['id']}/suppressed-events"
    status, held = await api.call("GET", path)
    assert status == 200 and [(e["summary"], e["via"]) for e in held] == [("held", "email")]


async def test_a_resent_message_opens_no_second_alert(mailbox: Mailbox) -> None:
    api = mailbox.api
    source = await make_source(api, alertCreation="ONE_ALERT_PER_EMAIL")
    mail = message("once", "y", Message_ID="<abc.123@sender.example.test>")
    for _ in range(2):  # the sender did not see the first 250 and sends again
        replies = await send(mailbox, address(source), mail)
        assert replies.data is not None and replies.data[0] == 250, replies.data
    assert len(await alerts_of(api, source)) == 1
    other = message("once", "y", Message_ID="<abc.124@sender.example.test>")
    await send(mailbox, address(source), other)
    assert len(await alerts_of(api, source)) == 2


async def test_one_mail_to_two_sources_opens_an_alert_on_each(mailbox: Mailbox) -> None:
    api = mailbox.api
    first = await make_source(api, name="one")
    second = await make_source(api, name="two")
    replies = await send(mailbox, [address(first), address(second)], message("both", "y"))
    assert replies.data is not None and replies.data[0] == 250, replies.data
    assert [len(await alerts_of(api, s)) for s in (first, second)] == [1, 1]


async def test_over_the_rate_limit_is_a_temporary_failure(dsn: str) -> None:
    async with running_api(dsn, ILERTD_EVENTS_RATE_LIMIT_PER_MINUTE="2") as api:
        settings = EmailSettings("127.0.0.1", 0, DOMAIN, MAX_BYTES)
        listener = MailListener(api.runtime, api.server.app[RATE_LIMITER], settings)
        await listener.start()
        box = Mailbox(api, listener)
        try:
            source = await make_source(api, alertCreation="ONE_ALERT_PER_EMAIL")
            codes = []
            for n in range(3):
                replies = await send(box, address(source), message(f"m{n}", "y"))
                assert replies.data is not None
                codes.append(replies.data[0])
            assert codes == [250, 250, 451]
            assert len(await alerts_of(api, source)) == 2
        finally:
            await listener.stop()


async def test_logs_hold_neither_the_key_nor_the_body(
    mailbox: Mailbox, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    source = await make_source(mailbox.api)
    key = source["integrationKey"]
    await send(mailbox, [address(source), f"{key[:-1]}0@{DOMAIN}"], message("s", "secret body"))
    await send(mailbox, f"{key}@{DOMAIN}", message("big", "z\n" * MAX_BYTES))
    captured = capsys.readouterr()
    logged = caplog.text + captured.out + captured.err
    assert "inbound mail ingested" in logged  # the listener's own line was captured
    assert key not in logged and key[:-1] not in logged
    assert "secret body" not in logged


async def test_stop_lets_a_message_being_ingested_commit_and_be_answered(
    mailbox: Mailbox,
) -> None:
    api = mailbox.api
    source = await make_source(api, alertCreation="ONE_ALERT_PER_EMAIL_SUBJECT")
    handler, port = mailbox.listener.handler, mailbox.port
    # hold the subject's ingest lock (what a concurrent event on that key would hold), so
    # the message is still being ingested when the listener is told to stop
    async with api.runtime.alert_commands.ingest._locks.hold((source["id"], "slow")):
        sending = asyncio.create_task(send(mailbox, address(source), message("Slow", "y")))
        for _ in range(500):
            if handler.in_flight:
                break
            await asyncio.sleep(0.01)
        assert handler.in_flight == 1
        stopping = asyncio.create_task(mailbox.listener.stop(timeout_s=10))
        await asyncio.sleep(0.3)
        assert not stopping.done() and not sending.done()
        with pytest.raises(OSError):  # no new connections meanwhile
            await asyncio.to_thread(smtplib.SMTP, "127.0.0.1", port, timeout=5)
    replies = await sending
    await stopping
    assert replies.data is not None and replies.data[0] == 250, replies.data
    assert [a["summary"] for a in await alerts_of(api, source)] == ["Slow"]
