"""Paging people into incidents end to end, with a real SMTP server (aiosmtpd) and a local
server speaking Twilio's API: responders named by user, by a schedule's on-call and by an
escalation policy get an e-mail page naming the incident; joining (by the page's link or
the API) cancels their later notifications, resolving cancels everyone's; subscribers
hear of status changes and status updates over their ``updates`` rules, the author of the
change does not; bad references are 400 naming the field and change nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from .conftest import Api, running_api
from .test_alerts_api import new_user
from .test_escalations import make_policy, rule
from .test_paging import (
    Inbox,
    add_contact,
    add_rule,
    free_port,
    until,
    world,  # noqa: F401 - the fixture
)
from .test_status_updates import add_update_rule, user_key


def _text(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


async def _pager(api: Api, name: str, phone: str) -> int:
    """A user paged by e-mail at once and by SMS a minute later (which joining cancels)."""
    user = await new_user(api, name)
    mail = await add_contact(api, user, "emails", f"{name}.pager@example.test")
    await add_rule(api, user, "EMAIL", 0, mail)
    await add_rule(api, user, "SMS", 1, await add_contact(api, user, "phone-numbers", phone))
    return user


async def _on_call_schedule(api: Api, user: int) -> int:
    now = datetime.now(UTC)
    shift = {
        "user": {"id": user},
        "start": (now - timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(),
    }
    status, schedule = await api.call(
        "POST",
        "/api/schedules",
        json={"name": "Ops", "timezone": "UTC", "type": "STATIC", "shifts": [shift]},
    )
    assert status == 201, schedule
    return schedule["id"]


async def _notifications(api: Api, incident_id: int) -> dict[tuple[int, str, str], str]:
    status, found = await api.call("GET", f"/api/incidents/{incident_id}/notifications")
    assert status == 200, found
    return {(n["user"]["id"], n["type"], n["method"]): n["status"] for n in found}


def _mail_to(inbox: Any, address: str) -> list[Message]:
    return [m for m in inbox.messages if m["To"] == address]


async def test_named_by_user_schedule_and_policy_paged_joining_stops_the_page(world) -> None:  # noqa: F811
    api, inbox, twilio = world
    ann = await _pager(api, "ann", "+4915100000001")
    bob = await _pager(api, "bob", "+4915100000002")
    cat = await _pager(api, "cat", "+4915100000003")
    dan = await _pager(api, "dan", "+4915100000004")
    schedule = await _on_call_schedule(api, bob)
    policy = await make_policy(api, rule("PT5M", cat))
    status, team = await api.call(
        "POST", "/api/teams", json={"name": "db", "members": [{"user": {"id": dan}}]}
    )
    assert status == 201, team

    status, incident = await api.call(
        "POST",
        "/api/incidents",
        json={
            "title": "Checkout is down",
            "severity": "SEV1",
            "responders": [{"user": {"id": ann}}, {"schedule": {"id": schedule}}],
        },
    )
    assert status == 200, incident
    incident_id, reference = incident["id"], incident["reference"]
    status, incident = await api.call(
        "POST",
        f"/api/incidents/{incident_id}/responders",
        json={"escalationPolicy": {"id": policy["id"]}},
    )
    assert status == 201, incident
    status, incident = await api.call(
        "POST", f"/api/incidents/{incident_id}/responders", json={"team": {"id": team["id"]}}
    )
    assert status == 201, incident
    assert {r["user"]["id"] for r in incident["responders"]} == {ann, bob, cat, dan}
    via = {
        r["user_id"]: (r["via"])
        for r in await api.runtime.pool.fetch(
            "SELECT user_id, via FROM incident_responders WHERE incident_id = $1", incident_id
        )
    }
    assert via == {ann: "user", bob: "schedule", cat: "escalationPolicy", dan: "team"}

    async def all_paged() -> bool:
        names = ("ann", "bob", "cat", "dan")
        return all(_mail_to(inbox, f"{n}.pager@example.test") for n in names)

    await until(all_paged)
    (page,) = _mail_to(inbox, "ann.pager@example.test")
    subject = str(page["Subject"])
    assert reference in subject and "SEV1" in subject and "Checkout is down" in subject
    assert page["Importance"] == "high"  # SEV1 pages with HIGH urgency
    assert page["X-Ilertd-Incident-Id"] == str(incident_id) and not page["X-Ilertd-Alert-Id"]
    text = _text(page)
    assert f"/api/incidents/{incident_id}" in text
    (join,) = re.findall(r"https?://\S+/r/[A-Za-z0-9_.-]+", text)
    path = "/" + join.split("://", 1)[1].split("/", 1)[1]

    status, prompt = await api.call("GET", path, key=None)
    assert status == 200 and "Join" in prompt and reference in prompt  # a GET does nothing
    assert (await _notifications(api, incident_id))[(ann, "INCIDENT", "SMS")] == "SCHEDULED"
    status, done = await api.call("POST", path, key=None)
    assert status == 200 and f"You joined {reference}" in done, done
    status, _ = await api.call("POST", f"/api/incidents/{incident_id}/responders/{bob}/join")
    assert status == 200, _
    status, _ = await api.call("DELETE", f"/api/incidents/{incident_id}/responders/{dan}")
    assert status == 204, _

    found = await _notifications(api, incident_id)
    assert found[(ann, "INCIDENT", "EMAIL")] == "SUCCESS"
    assert found[(ann, "INCIDENT", "SMS")] == "CANCELLED"
    assert found[(bob, "INCIDENT", "SMS")] == "CANCELLED"
    assert found[(dan, "INCIDENT", "SMS")] == "CANCELLED"  # removed
    assert found[(cat, "INCIDENT", "SMS")] == "SCHEDULED"  # cat has not joined

    status, _ = await api.call("PUT", f"/api/incidents/{incident_id}", json={"status": "RESOLVED"})
    assert status == 200, _
    assert (await _notifications(api, incident_id))[(cat, "INCIDENT", "SMS")] == "CANCELLED"
    assert twilio.sms == []
    status, again = await api.call("POST", path, key=None)  # the link after the join
    assert status == 409, again

    status, timeline = await api.call("GET", f"/api/incidents/{incident_id}/timeline")
    assert status == 200, timeline
    types = [e["type"] for e in timeline]
    assert types.count("PAGE_SENT") == 4 and types.count("RESPONDER_JOINED") == 2, types
    assert [e["id"] for e in timeline] == sorted(e["id"] for e in timeline)
    sent = next(e for e in timeline if e["type"] == "PAGE_SENT")
    assert "EMAIL" in sent["text"] and "@" not in sent["text"]


async def test_subscribers_hear_of_changes_the_author_does_not(world) -> None:  # noqa: F811
    api, inbox, _ = world
    eve, fay = await new_user(api, "eve"), await new_user(api, "fay")
    for user, name in ((eve, "eve"), (fay, "fay")):
        mail = await add_contact(api, user, "emails", f"{name}.updates@example.test")
        await add_update_rule(api, user, "INCIDENT_STATUS_CHANGED", "EMAIL", mail)
        await add_update_rule(api, user, "INCIDENT_STATUS_UPDATE_POSTED", "EMAIL", mail)
    status, incident = await api.call(
        "POST",
        "/api/incidents",
        json={"title": "Slow search", "subscribers": [{"user": {"id": eve}}]},
    )
    assert status == 200, incident
    incident_id = incident["id"]
    assert [s["id"] for s in incident["subscribers"]] == [eve]
    status, incident = await api.call(
        "POST", f"/api/incidents/{incident_id}/subscribers", json={"user": {"id": fay}}
    )
    assert status == 202, incident
    assert [s["id"] for s in incident["subscribers"]] == [eve, fay]

    key = await user_key(api, fay)  # fay makes the changes
    status, _ = await api.call(
        "PUT", f"/api/incidents/{incident_id}", json={"status": "IDENTIFIED"}, key=key
    )
    assert status == 200, _
    status, _ = await api.call(
        "POST",
        f"/api/incidents/{incident_id}/status-updates",
        json={"status": "IDENTIFIED", "message": "A bad index; rebuilding it."},
        key=key,
    )
    assert status == 201, _

    async def told_twice() -> bool:
        return len(_mail_to(inbox, "eve.updates@example.test")) == 2

    await until(told_twice)
    subjects = sorted(str(m["Subject"]) for m in _mail_to(inbox, "eve.updates@example.test"))
    assert "status changed to IDENTIFIED" in subjects[0], subjects
    assert "status update posted (IDENTIFIED)" in subjects[1], subjects
    posted = next(m for m in inbox.messages if "status update posted" in str(m["Subject"]))
    assert "A bad index; rebuilding it." in _text(posted)
    assert "/r/" not in posted.as_string()  # an update offers no actions
    await api.settle()
    assert _mail_to(inbox, "fay.updates@example.test") == []
    kinds = {k for (user, k, _) in (await _notifications(api, incident_id)) if user == fay}
    assert kinds == set()

    status, _ = await api.call("DELETE", f"/api/incidents/{incident_id}/subscribers/{eve}")
    assert status == 204, _
    status, found = await api.call("GET", f"/api/incidents/{incident_id}")
    assert [s["id"] for s in found["subscribers"]] == [fay]


async def test_bad_references_are_400_naming_the_field_and_change_nothing(world) -> None:  # noqa: F811
    api, _, _ = world
    ann = await new_user(api, "ann")
    empty = await _on_call_schedule(api, ann)
    status, _ = await api.call("DELETE", f"/api/schedules/{empty}")
    assert status == 204, _
    policy = await make_policy(api, rule("PT5M", ann))
    cases = [
        ({"responders": [{"schedule": {"id": 987654}}]}, "responders[0].schedule.id"),
        ({"responders": [{"team": {"id": 987654}}]}, "responders[0].team.id"),
        ({"responders": [{"escalationPolicy": {"id": 987654}}]}, "escalationPolicy.id"),
        ({"responders": [{"user": {"id": ann}, "team": {"id": 1}}]}, "responders[0]"),
        ({"responders": [{"schedule": {"id": empty}}]}, "responders[0].schedule.id"),
        ({"responders": [{"user": {"id": 987654}}]}, "responders[0].user.id"),
        (
            {"responders": [{"escalationPolicy": {"id": policy["id"]}, "commander": True}]},
            "responders[0].commander",
        ),
        ({"subscribers": [{"user": {"id": 987654}}]}, "subscribers[0].user.id"),
    ]
    for extra, field in cases:
        status, problem = await api.call("POST", "/api/incidents", json={"title": "x", **extra})
        assert status == 400, (extra, problem)
        assert field in problem["detail"], (field, problem)
    status, listed = await api.call("GET", "/api/incidents")
    assert status == 200 and listed == []
    status, incident = await api.call("POST", "/api/incidents", json={"title": "real"})
    assert status == 200, incident
    path = f"/api/incidents/{incident['id']}"
    for body, field in (
        ({"team": {"id": 987654}}, "team.id"),
        ({}, "user"),
        ({"user": {"id": 987654}}, "user.id"),
    ):
        status, problem = await api.call("POST", f"{path}/responders", json=body)
        assert status == 400 and field in problem["detail"], (body, problem)
    status, problem = await api.call("POST", f"{path}/subscribers", json={"user": {"id": 987654}})
    assert status == 400 and "user.id" in problem["detail"], problem
    status, found = await api.call("GET", path)
    assert found["responders"] == [] and found["subscribers"] == []


async def test_pages_follow_from_events_across_a_restart_none_twice_none_lost(dsn: str) -> None:
    """ann is paged by the first instance, which then stops; bob is made a responder while
    no engine runs. The next instance sends bob's page, not ann's again, and still holds
    ann's later SMS (cancelled when she joins)."""
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {
        "ILERTD_SMTP_HOST": "127.0.0.1",
        "ILERTD_SMTP_PORT": str(port),
        "ILERTD_SMTP_SECURITY": "none",
    }
    try:
        async with running_api(dsn, **env) as api:
            ann = await _pager(api, "ann", "+4915100000011")
            bob = await _pager(api, "bob", "+4915100000012")
            status, incident = await api.call(
                "POST",
                "/api/incidents",
                json={
                    "title": "Queue stuck",
                    "severity": "SEV2",  # HIGH: the rules _pager made
                    "responders": [{"user": {"id": ann}}],
                },
            )
            assert status == 200, incident
            incident_id = incident["id"]

            async def ann_paged() -> bool:
                return len(_mail_to(inbox, "ann.pager@example.test")) == 1

            await until(ann_paged)
            await api.runtime.leadership.stop()  # no engine from here on
            status, _ = await api.call(
                "POST", f"/api/incidents/{incident_id}/responders", json={"user": {"id": bob}}
            )
            assert status == 201, _
            await api.settle()
            assert _mail_to(inbox, "bob.pager@example.test") == []

        async with running_api(dsn, **env) as api:

            async def bob_paged() -> bool:
                return len(_mail_to(inbox, "bob.pager@example.test")) == 1

            await until(bob_paged)
            found = await _notifications(api, incident_id)
            assert found[(ann, "INCIDENT", "EMAIL")] == "SUCCESS"
            assert found[(ann, "INCIDENT", "SMS")] == "SCHEDULED"  # not lost
            status, _ = await api.call(
                "POST", f"/api/incidents/{incident_id}/responders/{ann}/join"
            )
            assert status == 200, _
            assert (await _notifications(api, incident_id))[(ann, "INCIDENT", "SMS")] == "CANCELLED"
            await api.settle()
            assert len(_mail_to(inbox, "ann.pager@example.test")) == 1  # never twice
    finally:
        smtp.stop()
