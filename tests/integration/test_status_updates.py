"""Status updates per users' ``updates`` rules: responders hear that an alert they were
paged about was accepted, resolved or escalated, over the channel their rule names; the
user who did it hears nothing; pages still pending are cancelled, updates are not."""

from __future__ import annotations

from typing import Any

from .conftest import Api
from .test_alerts_api import new_user
from .test_escalations import make_policy, rule
from .test_events_api import make_source
from .test_paging import (
    PHONE,
    add_contact,
    add_rule,
    notifications,
    page_user,
    until,
    world,  # noqa: F401 - the fixture
)


async def add_update_rule(api: Api, user_id: int, kind: str, method: str, contact: int) -> None:
    status, created = await api.call(
        "POST",
        f"/api/users/{user_id}/notification-preferences/updates",
        json={"method": method, "contact": {"id": contact}, "type": kind},
    )
    assert status == 201, created


async def user_key(api: Api, user_id: int) -> str:
    status, issued = await api.call("POST", f"/api/users/{user_id}/api-keys", json={})
    assert status == 201, issued
    return issued["apiKey"]


def subjects(inbox: Any) -> list[str]:
    return [str(m["Subject"]) for m in inbox.messages]


async def test_responders_hear_of_accept_and_resolve_over_their_update_rules(world) -> None:  # noqa: F811
    api, inbox, twilio = world
    ann, bob = await new_user(api, "ann"), await new_user(api, "bob")
    bob_mail = await add_contact(api, bob, "emails", "bob.updates@example.test")
    bob_phone = await add_contact(api, bob, "phone-numbers", PHONE)
    await add_update_rule(api, bob, "ALERT_ACCEPTED", "EMAIL", bob_mail)
    await add_update_rule(api, bob, "ALERT_RESOLVED", "SMS", bob_phone)
    await add_rule(api, bob, "SMS", 30, bob_phone)  # a page that accepting must cancel
    alert_id = await page_user(api, ann, summary="disk full on db1")
    status, _ = await api.call(
        "POST", f"/api/alerts/{alert_id}/responders", json={"user": {"id": bob}}
    )
    assert status in (200, 201), _

    async def ann_paged() -> bool:
        return any(m["To"] == "ann@example.test" for m in inbox.messages)

    async def bob_page_scheduled() -> bool:
        found = await notifications(api, alert_id)
        return any(
            n["type"] == "ALERT" and n["user"]["id"] == bob and n["status"] == "SCHEDULED"
            for n in found
        )

    await until(ann_paged)  # before accepting cancels what is still scheduled
    await until(bob_page_scheduled)  # adding a responder plans the page after the 201
    status, _ = await api.call("PUT", f"/api/alerts/{alert_id}/accept")
    assert status == 200, _

    async def told_accepted() -> bool:
        return any(s.startswith("[ilertd] Accepted: HIGH") for s in subjects(inbox))

    await until(told_accepted)
    update = next(m for m in inbox.messages if str(m["Subject"]).startswith("[ilertd] Accepted"))
    assert update["To"] == "bob.updates@example.test"
    assert f"#{alert_id}" in str(update["Subject"]) and "disk full on db1" in str(update["Subject"])
    assert "/r/" not in update.as_string()  # an update offers no actions

    status, _ = await api.call("PUT", f"/api/alerts/{alert_id}/resolve")
    assert status == 200, _

    async def texted() -> bool:
        return any("Resolved" in sms["Body"] for sms in twilio.sms)

    await until(texted)
    (sms,) = twilio.sms
    assert sms["To"] == PHONE and sms["Body"].startswith(f"[ilertd] Resolved: HIGH #{alert_id}")
    assert "Reply" not in sms["Body"]

    by_type: dict[str, list[str]] = {}

    async def updates_recorded() -> bool:
        # the provider has the message before the notifier records its outcome
        by_type.clear()
        for n in await notifications(api, alert_id):
            by_type.setdefault(n["type"], []).append(n["status"])
        return all(
            by_type.get(kind) != ["SCHEDULED"] for kind in ("ALERT_ACCEPTED", "ALERT_RESOLVED")
        )

    await until(updates_recorded)
    assert by_type["ALERT_ACCEPTED"] == ["SUCCESS"]
    assert by_type["ALERT_RESOLVED"] == ["SUCCESS"]
    assert "CANCELLED" in by_type["ALERT"]  # bob's SMS page, 30 minutes out
    # ann has no update rules: her page is all she gets
    to_ann = [str(m["Subject"]) for m in inbox.messages if m["To"] == "ann@example.test"]
    assert len(to_ann) == 1 and to_ann[0].startswith("[ilertd] HIGH #"), to_ann


async def test_whoever_acts_is_not_told_what_they_did(world) -> None:  # noqa: F811
    api, inbox, _ = world
    cat = await new_user(api, "cat")
    mail = await add_contact(api, cat, "emails", "cat.updates@example.test")
    await add_update_rule(api, cat, "ALERT_ACCEPTED", "EMAIL", mail)
    alert_id = await page_user(api, cat)
    key = await user_key(api, cat)
    status, _ = await api.call("PUT", f"/api/alerts/{alert_id}/accept", key=key)
    assert status == 200, _
    await api.settle()
    await until(lambda: _quiet(api, alert_id))
    assert not any("Accepted" in s for s in subjects(inbox))
    assert all(n["type"] == "ALERT" for n in await notifications(api, alert_id))


async def _quiet(api: Api, alert_id: int) -> bool:
    """Nothing of the alert is waiting to go out."""
    return all(n["status"] != "SCHEDULED" for n in await notifications(api, alert_id))


async def test_those_paged_before_hear_of_an_escalation(world) -> None:  # noqa: F811
    api, inbox, _ = world
    dan, eve = await new_user(api, "dan"), await new_user(api, "eve")
    mail = await add_contact(api, dan, "emails", "dan.updates@example.test")
    await add_update_rule(api, dan, "ALERT_ESCALATED", "EMAIL", mail)
    eve_mail = await add_contact(api, eve, "emails", "eve.updates@example.test")
    await add_update_rule(api, eve, "ALERT_ESCALATED", "EMAIL", eve_mail)
    policy = await make_policy(api, rule("PT10M", dan), rule("PT10M", eve))
    source = await make_source(api, escalationPolicy={"id": policy["id"]})
    status, alert = await api.call(
        "POST", "/api/alerts", json={"summary": "queue stuck", "alertSource": {"id": source["id"]}}
    )
    assert status == 201, alert
    status, escalated = await api.call("PUT", f"/api/alerts/{alert['id']}/escalate")
    assert status == 200 and escalated["escalationLevel"] == 1, escalated

    async def told() -> bool:
        return any(s.startswith("[ilertd] Escalated: HIGH") for s in subjects(inbox))

    await until(told)
    await until(lambda: _quiet(api, alert["id"]))
    updates = [m for m in inbox.messages if str(m["Subject"]).startswith("[ilertd] Escalated")]
    # dan (level 0) hears of it; eve, paged by the escalation itself, gets the page instead
    assert [m["To"] for m in updates] == ["dan.updates@example.test"]
    assert any(m["To"] == "eve@example.test" for m in inbox.messages)
