"""Shift reminders end to end on a real PostgreSQL: a user's ``duties`` rules remind them by
e-mail (aiosmtpd on loopback) and SMS (a local Twilio-compatible server) before a shift
starts, once, across rounds and a restart; a running shift and a muted user get none; a
provider failure is retried, then given up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from ilertd.domain.duty_reminders import shift_reminders_id
from ilertd.notify.duties import DutyReminders

from .conftest import Api, running_api
from .test_alerts_api import new_user
from .test_paging import FROM, PHONE, SID, TOKEN, FakeTwilio, Inbox, add_contact, free_port, until

#: Far from the real clock, so the daemon's own rounds before the fake clock is set find
#: nothing due: a Monday, ten minutes before a 09:00 UTC (10:00 CET) shift.
NOW = datetime(2030, 1, 7, 8, 50, tzinfo=UTC)
START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
END = datetime(2030, 1, 7, 17, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class FlakyTwilio(FakeTwilio):
    """Answers 503 to the first ``failures`` texts, then accepts them."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures
        self.refused = 0

    async def _messages(self, request: web.Request) -> web.Response:
        if self.refused < self.failures:
            self.refused += 1
            await request.post()
            return web.json_response({"code": 20500, "message": "busy"}, status=503)
        return await super()._messages(request)


World = tuple[Api, Inbox, FlakyTwilio, FakeClock]


@pytest.fixture
async def world(dsn: str) -> AsyncIterator[World]:
    inbox, twilio = Inbox(), await FlakyTwilio().start()
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
        "ILERTD_NOTIFY_RETRY_BASE_S": "60",  # doubling: 60 s, 120 s; 3 attempts
        "ILERTD_ENGINE_LEADER_RETRY_S": "0.2",
    }
    try:
        async with running_api(dsn, **env) as api:
            clock = FakeClock(NOW)
            await until(lambda: _running(api))  # the leader started the worker
            worker(api).clock = clock
            yield api, inbox, twilio, clock
    finally:
        smtp.stop()
        await twilio.stop()


def worker(api: Api) -> DutyReminders:
    return api.runtime.engine.duty_reminders


async def _running(api: Api) -> bool:
    return worker(api)._task is not None


async def full_round(reminders: DutyReminders) -> None:
    """Wait until a round has run from start to end after this call."""
    target = reminders.rounds + 2
    deadline = asyncio.get_running_loop().time() + 10
    while reminders.rounds < target:
        assert asyncio.get_running_loop().time() < deadline, "no round ran"
        await reminders.wake()
        await asyncio.sleep(0.01)


async def duty_rule(api: Api, user_id: int, method: str, before: int, contact: int | None) -> int:
    body: dict[str, Any] = {"method": method, "beforeMin": before}
    if contact is not None:
        body["contact"] = {"id": contact}
    status, rule = await api.call(
        "POST", f"/api/users/{user_id}/notification-preferences/duties", json=body
    )
    assert status == 201, rule
    return rule["id"]


async def static_schedule(
    api: Api, name: str, shifts: list[tuple[int, datetime, datetime]], zone: str = "UTC"
) -> int:
    body = {
        "name": name,
        "timezone": zone,
        "type": "STATIC",
        "shifts": [
            {"user": {"id": user}, "start": start.isoformat(), "end": end.isoformat()}
            for user, start, end in shifts
        ],
    }
    status, schedule = await api.call("POST", "/api/schedules", json=body)
    assert status == 201, schedule
    return schedule["id"]


async def mailed_user(api: Api, name: str) -> int:
    user = await new_user(api, name)
    mail = await add_contact(api, user, "emails", f"{name}.oncall@example.test")
    await duty_rule(api, user, "EMAIL", 15, mail)
    return user


async def stream_types(api: Api, user: int, schedule: int) -> list[str]:
    rows = await api.runtime.store.read_stream(shift_reminders_id(user, schedule, START))
    return [row.type for row in rows]


def plain_text(message: Any) -> str:
    return message.get_payload(decode=True).decode()


async def test_a_shift_is_reminded_once_by_email_and_sms_across_rounds_and_a_restart(
    world: World,
) -> None:
    api, inbox, twilio, clock = world
    ann = await new_user(api, "ann")
    mail = await add_contact(api, ann, "emails", "ann.oncall@example.test")
    phone = await add_contact(api, ann, "phone-numbers", PHONE)
    await duty_rule(api, ann, "EMAIL", 15, mail)
    await duty_rule(api, ann, "SMS", 15, phone)
    schedule = await static_schedule(
        api, "Primary\u2028Bcc: x@example.test\u202e", [(ann, START, END)], "Europe/Berlin"
    )
    await api.settle()

    await full_round(worker(api))
    await until(lambda: _count(inbox.messages, twilio.sms, 1))
    (message,) = inbox.messages
    assert message["To"] == "ann.oncall@example.test"
    assert message["Subject"] == "[ilertd] On call in 10 min: Primary Bcc: x@example.test"
    assert message["Bcc"] is None and message["Auto-Submitted"] == "auto-generated"
    assert plain_text(message).startswith(
        'Your on-call shift in schedule "Primary Bcc: x@example.test" starts at '
        "2030-01-07 10:00 CET (in 10 minutes) and ends at 2030-01-07 18:00 CET."
    )
    (sms,) = twilio.sms
    assert sms["To"] == PHONE and sms["From"] == FROM
    assert sms["Body"].startswith("[ilertd] On call in 10 min: Primary Bcc: x@example.test.")
    types = await stream_types(api, ann, schedule)
    assert sorted(types) == sorted(
        ["shift-reminders-opened", "shift-reminders-sent", "shift-reminders-sent"]
    )

    clock.at = NOW + timedelta(minutes=5)  # still before the shift: nothing new to send
    await full_round(worker(api))
    assert len(inbox.messages) == 1 and len(twilio.sms) == 1

    # a new leader (nothing cached) reads the stream and sends nothing either
    await worker(api).stop()
    fresh = DutyReminders(
        api.runtime.store.pool, api.runtime.repository, clock, worker(api).settings
    )
    await fresh.start()
    try:
        await full_round(fresh)
    finally:
        await fresh.stop()
    assert len(inbox.messages) == 1 and len(twilio.sms) == 1
    assert len(await stream_types(api, ann, schedule)) == 3


async def _count(mails: list[Any], texts: list[Any], n: int) -> bool:
    return len(mails) >= n and len(texts) >= n


async def test_a_running_shift_and_a_muted_user_get_no_reminder(world: World) -> None:
    api, inbox, _, clock = world
    ann = await mailed_user(api, "ann")  # on call since 08:00 until 17:00
    bob = await mailed_user(api, "bob")  # on call from 09:00 in another schedule, muted
    cy = await mailed_user(api, "cy")  # on call from 09:00, reachable
    _, profile = await api.call("GET", f"/api/users/{bob}")
    muted = {**profile, "mutedUntil": (NOW + timedelta(hours=1)).isoformat()}
    status, changed = await api.call("PUT", f"/api/users/{bob}", json=muted)
    assert status == 200, changed
    running = await static_schedule(api, "Ops", [(ann, START - timedelta(hours=1), END)])
    await static_schedule(api, "Db", [(bob, START, END)])
    await static_schedule(api, "Web", [(cy, START, END)])
    await api.settle()

    await full_round(worker(api))
    await until(lambda: _count(inbox.messages, inbox.messages, 1))
    assert [m["To"] for m in inbox.messages] == ["cy.oncall@example.test"]
    clock.at = START - timedelta(seconds=1)
    await full_round(worker(api))
    assert len(inbox.messages) == 1
    assert await stream_types(api, ann, running) == []


async def test_a_failed_text_is_retried_then_given_up(world: World) -> None:
    api, _, twilio, clock = world
    twilio.failures = 5
    dee = await new_user(api, "dee")
    phone = await add_contact(api, dee, "phone-numbers", PHONE)
    await duty_rule(api, dee, "SMS", 15, phone)
    schedule = await static_schedule(api, "Primary", [(dee, START, END)])
    await api.settle()

    await full_round(worker(api))
    assert twilio.refused == 1
    await full_round(worker(api))
    assert twilio.refused == 1  # waits for its retry, 60 s later on the fake clock

    clock.at = NOW + timedelta(seconds=61)
    await full_round(worker(api))
    assert twilio.refused == 2
    clock.at = NOW + timedelta(seconds=61 + 121)
    await full_round(worker(api))
    assert twilio.refused == 3  # the third attempt: max_attempts, so given up

    rows = await api.runtime.store.read_stream(shift_reminders_id(dee, schedule, START))
    assert [row.type for row in rows] == ["shift-reminders-opened"] + ["shift-reminders-failed"] * 3
    assert [row.data["attempt"] for row in rows[1:]] == [1, 2, 3]
    assert rows[1].data["retry_at"] is not None and rows[-1].data["retry_at"] is None
    assert "503" in rows[-1].data["error"]
    clock.at = START - timedelta(seconds=1)
    await full_round(worker(api))
    assert twilio.refused == 3 and twilio.sms == []
