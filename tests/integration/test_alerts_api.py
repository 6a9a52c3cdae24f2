"""REST actions on alerts, time travel with ?at=, and rebuild equals live."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from ilertd.http.events import RATE_LIMITER
from projections import ProjectionRunner
from projections.alerts import AlertsProjection

from .conftest import Api
from .test_events_api import make_source, send

TABLES = ("alerts", "alert_responders", "alert_counts", "alert_log_entries")


async def new_user(api: Api, name: str, role: str = "RESPONDER") -> int:
    status, user = await api.call(
        "POST",
        "/api/users",
        json={"email": f"{name}@example.test", "firstName": name, "lastName": "T", "role": role},
    )
    assert status == 201, user
    return user["id"]


async def quiet(api: Api) -> None:
    """Wait until nothing more is appended: projections caught up and no page pending."""
    store = api.runtime.store
    assert store is not None
    while True:
        await api.settle()
        head = await store.head_position()
        pending = await store.pool.fetchval(
            "SELECT (SELECT count(*) FROM page_requests WHERE NOT planned) "
            "+ (SELECT count(*) FROM notifications WHERE status = 'SCHEDULED')"
        )
        await asyncio.sleep(0.3)
        if pending == 0 and await store.head_position() == head:
            return


async def new_alert(api: Api, source_id: int, **fields) -> dict:
    status, alert = await api.call(
        "POST", "/api/alerts", json={"summary": "cpu", "alertSource": {"id": source_id}, **fields}
    )
    assert status == 201, alert
    return alert


async def test_assign_takes_the_target_in_the_body_too(api: Api) -> None:
    source = await make_source(api)
    bob = await new_user(api, "bob")
    alert = await new_alert(api, source["id"])
    path = f"/api/alerts/{alert['id']}/assign"
    status, assigned = await api.call("PUT", path, json={"user": {"id": str(bob)}})
    assert status == 200 and assigned["assignedTo"]["id"] == bob, assigned
    for body, field in (({"user": {"id": True}}, "user.id"), ({"user": 5}, "user")):
        status, problem = await api.call("PUT", path, json=body)
        assert status == 400 and problem["field"] == field, problem


async def test_assign_responders_raise_channels(api: Api) -> None:
    source = await make_source(api)
    ann = await new_user(api, "ann")
    bob = await new_user(api, "bob")
    alert = await new_alert(api, source["id"], priority="LOW")
    path = f"/api/alerts/{alert['id']}"

    status, assigned = await api.call("PUT", f"{path}/assign?user-id={ann}")
    assert status == 200 and [r["user"]["id"] for r in assigned["responders"]] == [ann]
    assert assigned["assignedTo"]["id"] == ann and assigned["assignedTo"]["firstName"] == "ann"
    status, problem = await api.call("PUT", f"{path}/assign?user={ann}&policy=3")
    assert status == 400 and problem["field"] == "user"
    status, problem = await api.call("PUT", f"{path}/assign?user=424242")
    assert status == 400 and "no such user" in problem["message"]

    status, added = await api.call("POST", f"{path}/responders", json={"user": {"id": bob}})
    assert status == 201 and {r["user"]["id"] for r in added["responders"]} == {ann, bob}
    status, problem = await api.call("POST", f"{path}/responders", json={"user": {"id": bob}})
    assert status == 409 and "already" in problem["message"]
    status, _ = await api.call("DELETE", f"{path}/responders/{bob}")
    assert status == 204
    assert (await api.call("DELETE", f"{path}/responders/{bob}"))[0] == 409

    status, raised = await api.call("PUT", f"{path}/raise")
    assert status == 200 and raised["priority"] == "HIGH"
    assert (await api.call("PUT", f"{path}/raise"))[0] == 409

    status, attached = await api.call(
        "POST",
        f"{path}/channels",
        json={"type": "slack", "name": "#ops", "url": "https://chat.example/ops"},
    )
    assert status == 201 and attached["channels"][0]["name"] == "#ops"
    channel_id = attached["channels"][0]["id"]
    status, problem = await api.call(
        "POST", f"{path}/channels", json={"type": "slack", "name": "x"}
    )
    assert status == 400 and problem["field"] == "url"
    assert (await api.call("DELETE", f"{path}/channels/{channel_id}"))[0] == 204
    status, now = await api.call("GET", path)
    assert now["channels"] == []

    status, listed = await api.call("GET", f"/api/alerts?responders={ann}")
    assert [a["id"] for a in listed] == [alert["id"]]
    status, listed = await api.call("GET", f"/api/alerts?assigned-to={bob}")
    assert listed == []
    status, entries = await api.call("GET", f"{path}/log-entries")
    paging = {"Notification", "AlertAction"}  # the engine's own, in the background
    kinds = [e["logEntryType"] for e in entries if not e["logEntryType"].startswith(tuple(paging))]
    assert kinds == [
        "AlertCreatedByUserLogEntry",
        "AlertAssignedByUserLogEntry",
        "AlertResponderAddedLogEntry",
        "AlertResponderRemovedLogEntry",
        "AlertPriorityRaisedLogEntry",
        "AlertChannelAttachedLogEntry",
        "AlertChannelDetachedLogEntry",
    ]


async def test_roles_gate_alert_actions(api: Api) -> None:
    source = await make_source(api)
    await new_user(api, "sam", role="STAKEHOLDER")
    status, key = await api.call(
        "POST",
        f"/api/users/{(await api.call('GET', '/api/users?max-results=100'))[1][-1]['id']}/api-keys",
        json={"label": "t"},
    )
    assert status == 201
    alert = await new_alert(api, source["id"])
    status, problem = await api.call("PUT", f"/api/alerts/{alert['id']}/accept", key=key["apiKey"])
    assert status == 403 and "RESPONDER" in problem["message"]
    assert (await api.call("GET", f"/api/alerts/{alert['id']}", key=key["apiKey"]))[0] == 200


async def test_alert_as_it_was_at_a_moment(api: Api) -> None:
    source = await make_source(api)
    alert = await new_alert(api, source["id"])
    before_accept = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await api.call("PUT", f"/api/alerts/{alert['id']}/accept")
    await asyncio.sleep(0.01)
    before_resolve = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await api.call("PUT", f"/api/alerts/{alert['id']}/resolve")
    path = f"/api/alerts/{alert['id']}"
    status, then = await api.call("GET", path, params={"at": before_accept.isoformat()})
    assert status == 200 and then["status"] == "PENDING" and then["version"] == 1
    status, then = await api.call("GET", path, params={"at": before_resolve.isoformat()})
    assert then["status"] == "ACCEPTED" and then["resolvedOn"] is None
    status, now = await api.call("GET", path, params={"at": datetime.now(UTC).isoformat()})
    assert now["status"] == "RESOLVED" and now["resolvedOn"]
    live = (await api.call("GET", path))[1]
    for field in ("summary", "status", "priority", "alertKey", "alertSource", "labels"):
        assert now[field] == live[field]
    status, problem = await api.call("GET", path, params={"at": "2000-01-01T00:00:00Z"})
    assert status == 404
    status, problem = await api.call("GET", path, params={"at": "yesterday"})
    assert status == 400 and problem["field"] == "at"


async def test_rebuilt_alerts_projection_equals_live(api: Api) -> None:
    """A randomised workload through the API, then ``rebuild alerts`` from position 0."""
    rng = random.Random(20261122)
    api.server.app[RATE_LIMITER].per_minute = 0  # a workload, not a rate-limit test
    sources = [await make_source(api), await make_source(api, name="graf")]
    users = [await new_user(api, f"u{i}") for i in range(3)]
    for step in range(120):
        source = rng.choice(sources)
        key = f"k{rng.randrange(12)}"
        action = rng.choices(["ALERT", "ACCEPT", "RESOLVE", "COMMENT"], [6, 2, 2, 1])[0]
        body = {
            "integrationKey": source["integrationKey"],
            "eventType": action,
            "alertKey": key,
            "summary": f"s{step}",
            "labels": {"n": str(step)},
        }
        if action == "COMMENT":
            body["comments"] = [{"creator": "bot", "content": f"c{step}"}]
        status, _ = await send(api, body)
        assert status == 202
        if step % 15 == 0:
            alert = await new_alert(
                api, source["id"], responders=[{"user": {"id": rng.choice(users)}}]
            )
            await api.call("PUT", f"/api/alerts/{alert['id']}/assign?user={rng.choice(users)}")
            await api.call("POST", f"/api/alerts/{alert['id']}/comments", json={"content": "hi"})
    await quiet(api)  # the engine's pages (and their failures) are events too
    pool = api.runtime.store.pool
    live = {
        t: [tuple(r) for r in await pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in TABLES
    }
    assert len(live["alerts"]) > 10 and len(live["alert_log_entries"]) > 100

    runner = ProjectionRunner(api.runtime.store, [AlertsProjection()])
    await runner.prepare()
    await runner.rebuild("alerts")
    rebuilt = {
        t: [tuple(r) for r in await pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in TABLES
    }
    assert rebuilt == live


async def test_bad_alert_bodies_are_400s_naming_the_field_and_write_nothing(api: Api) -> None:
    source = await make_source(api)
    alert = await new_alert(api, source["id"])
    path = f"/api/alerts/{alert['id']}"
    await api.settle()
    head = await api.runtime.store.head_position()
    cases = [
        ("POST", "/api/alerts", {"summary": "  ", "alertSource": {"id": source["id"]}}, "summary"),
        ("POST", "/api/alerts", {"summary": "x"}, "alertSource"),
        ("POST", "/api/alerts", {"summary": "x", "alertSource": {"id": 999999}}, "alertSource.id"),
        (
            "POST",
            "/api/alerts",
            {"summary": "x", "alertSource": {"id": source["id"]}, "priority": "MEDIUM"},
            "priority",
        ),
        (
            "POST",
            "/api/alerts",
            {"summary": "x", "alertSource": {"id": source["id"]}, "details": 5},
            "details",
        ),
        (
            "POST",
            "/api/alerts",
            {
                "summary": "x",
                "alertSource": {"id": source["id"]},
                "responders": [{"user": {"id": 424242}}],
            },
            "responders[0].user.id",
        ),
        ("POST", f"{path}/comments", {"content": " \n"}, "content"),
        ("POST", f"{path}/comments", {"content": 7}, "content"),
        ("POST", f"{path}/responders", {"user": {"id": "x"}}, "user.id"),
        ("POST", f"{path}/channels", {"type": "slack", "name": " ", "url": "https://x"}, "name"),
        ("POST", f"{path}/channels", {"type": "slack", "name": "n", "url": "ftp://x"}, "url"),
        ("PUT", f"{path}/assign?user=99999999999999999999", None, "user"),
        ("PUT", f"{path}/assign?policy-id=-", None, "policy-id"),
    ]
    for method, target, body, field in cases:
        status, problem = await api.call(method, target, json=body)
        assert status == 400 and problem["field"] == field, (target, body, problem)
        assert problem["message"].startswith(f"{field}: "), problem
    assert await api.runtime.store.head_position() == head


async def test_a_manual_alert_takes_ids_as_strings_too(api: Api) -> None:
    """As the Terraform provider sends ids: {"id": "7"}."""
    source = await make_source(api)
    alert = await new_alert(api, str(source["id"]))
    assert alert["alertSource"]["id"] == source["id"]
