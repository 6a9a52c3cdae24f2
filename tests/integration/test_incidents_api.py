"""Incidents over the API: declaring (both shapes), gapless numbers under concurrency,
lifecycle and reopen, time travel, timeline, linked alerts and the resolve cascade,
responders, status updates and their public impacts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from projections import ProjectionRunner
from projections.incidents import IncidentsProjection

from .conftest import Api, running_api
from .receiver import Receiver
from .test_alerts_api import new_alert, new_user
from .test_events_api import make_source
from .test_outbound import FAST, webhook


async def declare(api: Api, **fields) -> dict:
    status, incident = await api.call("POST", "/api/incidents", json={"title": "db", **fields})
    assert status == 200, incident
    return incident


async def test_declare_new_shape_and_defaults(api: Api) -> None:
    incident = await declare(api, summary="replica lag", severity="SEV2")
    assert incident["reference"].startswith("INC-")
    assert incident["title"] == "db" and incident["summary"] == "replica lag"
    assert incident["severity"] == "SEV2" and incident["status"] == "DECLARED"
    assert incident["resolvedOn"] is None and incident["linkedAlerts"] == []
    plain = await declare(api)
    assert plain["severity"] == "SEV3"
    assert int(plain["reference"][4:]) == int(incident["reference"][4:]) + 1
    status, got = await api.call("GET", f"/api/incidents/{incident['id']}")
    assert status == 200 and got["reference"] == incident["reference"]
    for body, field in (
        ({}, "title"),
        ({"title": "x", "severity": "SEV9"}, "severity"),
        ({"title": "x", "status": "BROKEN"}, "status"),
        ({"title": "   "}, "title"),
    ):
        status, problem = await api.call("POST", "/api/incidents", json=body)
        assert status == 400, (body, problem)
        assert problem.get("field") == field, problem
    status, listed = await api.call("GET", "/api/incidents")
    assert status == 200 and [i["id"] for i in listed] == [plain["id"], incident["id"]]


async def test_older_shape_declares_and_posts_the_first_status_update(api: Api) -> None:
    status, incident = await api.call(
        "POST",
        "/api/incidents",
        json={
            "summary": "Login broken",
            "status": "IDENTIFIED",
            "message": "We found the cause",
            "sendNotification": True,
            "createdAt": "",
        },
    )
    assert status == 200, incident
    assert incident["title"] == "Login broken" and incident["status"] == "IDENTIFIED"
    assert incident["message"] == "We found the cause" and incident["sendNotification"] is True
    status, updates = await api.call("GET", f"/api/incidents/{incident['id']}/status-updates")
    assert status == 200 and len(updates) == 1, updates
    assert updates[0]["status"] == "IDENTIFIED" and updates[0]["summary"] == "Login broken"
    assert incident["summary"] == "Login broken"  # what an older client reads back
    # ilert-go's UpdateIncident sends the whole older object back, with a new message
    sent = {**incident, "message": "Fix deployed", "status": "MONITORING"}
    status, changed = await api.call("PUT", f"/api/incidents/{incident['id']}", json=sent)
    assert status == 200, changed
    assert changed["status"] == "MONITORING" and changed["message"] == "Fix deployed"
    status, updates = await api.call("GET", f"/api/incidents/{incident['id']}/status-updates")
    assert [(u["status"], u["message"]) for u in updates] == [
        ("IDENTIFIED", "We found the cause"),
        ("MONITORING", "Fix deployed"),
    ]
    status, same = await api.call("PUT", f"/api/incidents/{incident['id']}", json=changed)
    assert status == 200 and same["updatedAt"] == changed["updatedAt"]  # nothing new


async def test_twenty_concurrent_declares_get_gapless_distinct_numbers(api: Api) -> None:
    first = await declare(api)
    answers = await asyncio.gather(
        *(api.call("POST", "/api/incidents", json={"title": f"n{i}"}) for i in range(20))
    )
    assert all(status == 200 for status, _ in answers), answers
    numbers = sorted(int(body["reference"][4:]) for _, body in answers)
    start = int(first["reference"][4:])
    assert numbers == list(range(start + 1, start + 21))
    store = api.runtime.store
    taken = await store.pool.fetch(
        "SELECT (data->>'number')::int AS n FROM events WHERE type = 'incident-numbers-taken' "
        "ORDER BY position"
    )
    declared = await store.pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'incident-declared'"
    )
    assert [r["n"] for r in taken] == list(range(1, declared + 1))


async def test_lifecycle_reopen_time_travel_and_timeline(api: Api) -> None:
    incident = await declare(api)
    path = f"/api/incidents/{incident['id']}"
    status, changed = await api.call(
        "PUT", path, json={"status": "INVESTIGATING", "severity": 1, "title": "db down"}
    )
    assert status == 200, changed
    assert changed["status"] == "INVESTIGATING" and changed["severity"] == "SEV1"
    between = datetime.now(UTC)
    await asyncio.sleep(0.01)  # a distinct moment for ?at=, not synchronisation
    status, changed = await api.call("PUT", path, json={"status": "MONITORING"})
    assert status == 200 and changed["status"] == "MONITORING"
    status, resolved = await api.call("PUT", path, json={"status": "RESOLVED"})
    assert status == 200 and resolved["status"] == "RESOLVED" and resolved["resolvedOn"]
    status, problem = await api.call("PUT", path, json={"severity": "SEV2"})
    assert status == 409, problem
    status, problem = await api.call("PUT", path, json={"status": "INVESTIGATING"})
    assert status == 409, problem
    status, reopened = await api.call("POST", f"{path}/reopen")
    assert status == 200 and reopened["status"] == "INVESTIGATING"
    assert reopened["resolvedOn"] is None
    status, problem = await api.call("POST", f"{path}/reopen")
    assert status == 409, problem
    status, then = await api.call("GET", path, params={"at": between.isoformat()})
    assert status == 200, then
    assert then["status"] == "INVESTIGATING" and then["title"] == "db down"
    status, comment = await api.call("POST", f"{path}/comments", json={"content": "on it"})
    assert status == 201, comment
    status, entries = await api.call("GET", f"{path}/timeline")
    assert status == 200
    kinds = [e["type"] for e in entries]
    assert kinds[0] == "DECLARED" and "RESOLVED" in kinds and "REOPENED" in kinds
    assert kinds[-1] == "COMMENTED" and "on it" in entries[-1]["text"]
    status, early = await api.call("GET", f"{path}/timeline", params={"at": between.isoformat()})
    assert status == 200 and "RESOLVED" not in [e["type"] for e in early]


async def test_declare_from_alert_links_it_and_resolving_resolves_it(api: Api) -> None:
    source = await make_source(api)
    bob = await new_user(api, "bob")
    alert = await new_alert(api, source["id"], responders=[{"user": {"id": bob}}])
    other = await new_alert(api, source["id"])
    status, incident = await api.call("POST", f"/api/alerts/{alert['id']}/incident")
    assert status == 201, incident
    assert incident["title"] == "cpu" and incident["linkedAlertCount"] == 1
    assert [r["user"]["id"] for r in incident["responders"]] == [bob]
    status, seen = await api.call("GET", f"/api/alerts/{alert['id']}")
    assert status == 200 and seen["linkedIncidentId"] == incident["id"]
    status, problem = await api.call("POST", f"/api/alerts/{alert['id']}/incident")
    assert status == 409, problem
    path = f"/api/incidents/{incident['id']}"
    status, linked = await api.call("POST", f"{path}/alerts/{other['id']}")
    assert status == 200 and linked["linkedAlertCount"] == 2, linked
    status, _ = await api.call("POST", f"{path}/alerts/987654321")
    assert status == 404
    status, resolved = await api.call("PUT", path, json={"status": "RESOLVED"})
    assert status == 200, resolved
    for alert_id in (alert["id"], other["id"]):
        status, seen = await api.call("GET", f"/api/alerts/{alert_id}")
        assert status == 200 and seen["status"] == "RESOLVED", seen
        status, entries = await api.call("GET", f"/api/alerts/{alert_id}/log-entries")
        assert status == 200
        texts = [e["text"] for e in entries]
        assert f"Alert resolved by incident {incident['reference']}" in texts, texts


async def test_unlinking_clears_the_alerts_incident(api: Api) -> None:
    source = await make_source(api)
    alert = await new_alert(api, source["id"])
    incident = await declare(api, alert={"id": alert["id"]})
    assert incident["linkedAlerts"][0]["id"] == alert["id"]
    path = f"/api/incidents/{incident['id']}/alerts/{alert['id']}"
    linked_then = datetime.now(UTC)
    await asyncio.sleep(0.01)  # a distinct moment for ?at=, not synchronisation
    status, _ = await api.call("DELETE", path)
    assert status == 204
    status, seen = await api.call("GET", f"/api/alerts/{alert['id']}")
    assert status == 200 and seen["linkedIncidentId"] is None
    status, then = await api.call(
        "GET", f"/api/alerts/{alert['id']}", params={"at": linked_then.isoformat()}
    )
    assert status == 200 and then["linkedIncidentId"] == incident["id"], then
    status, entries = await api.call("GET", f"/api/alerts/{alert['id']}/log-entries")
    texts = [e["text"] for e in entries]
    assert any(t.startswith(f"Alert linked to incident {incident['reference']}") for t in texts)
    assert any(t.startswith("Alert unlinked from incident") for t in texts), texts
    status, problem = await api.call("DELETE", path)
    assert status == 409, problem
    status, problem = await api.call(
        "POST", "/api/incidents", json={"title": "x", "alert": {"id": 987654321}}
    )
    assert status == 400 and problem["field"] == "alert.id", problem


async def test_responders_commander_and_join(api: Api) -> None:
    bob = await new_user(api, "bob")
    carol = await new_user(api, "carol", role="USER")
    incident = await declare(api)
    path = f"/api/incidents/{incident['id']}"
    status, body = await api.call(
        "POST", f"{path}/responders", json={"user": {"id": bob}, "commander": True}
    )
    assert status == 201, body
    assert body["commander"]["id"] == bob and body["responderCount"] == 1
    assert body["responders"][0] == {
        "user": body["responders"][0]["user"],
        "status": "ADDED",
        "commander": True,
    }
    status, body = await api.call("POST", f"{path}/responders", json={"user": {"id": carol}})
    assert status == 201 and body["responderCount"] == 2
    status, problem = await api.call("POST", f"{path}/responders", json={"user": {"id": carol}})
    assert status == 409, problem
    status, problem = await api.call("POST", f"{path}/responders", json={"user": {"id": 987654}})
    assert status == 400 and problem["field"] == "user.id", problem
    status, joined = await api.call("POST", f"{path}/responders/{bob}/join")
    assert status == 200, joined
    assert {r["user"]["id"]: r["status"] for r in joined["responders"]}[bob] == "JOINED"
    status, _ = await api.call("DELETE", f"{path}/responders/{bob}")
    assert status == 204
    status, body = await api.call("GET", path)
    assert body["commander"] is None and body["responderCount"] == 1


async def test_status_updates_do_not_resolve_the_incident(api: Api) -> None:
    incident = await declare(api)
    path = f"/api/incidents/{incident['id']}/status-updates"
    status, update = await api.call(
        "POST", path, json={"status": "INVESTIGATING", "message": "looking"}
    )
    assert status == 201, update
    assert update["summary"] == "db" and update["status"] == "INVESTIGATING"
    status, update = await api.call(
        "POST", path, json={"status": "RESOLVED", "message": "fixed", "summary": "All good"}
    )
    assert status == 201 and update["summary"] == "All good"
    status, body = await api.call("GET", f"/api/incidents/{incident['id']}")
    assert body["status"] == "DECLARED" and body["message"] == "fixed"
    for bad in ({"status": "DECLARED", "message": "x"}, {"status": "RESOLVED", "message": " "}):
        status, problem = await api.call("POST", path, json=bad)
        assert status == 400, problem
    status, updates = await api.call("GET", path)
    assert status == 200 and [u["message"] for u in updates] == ["looking", "fixed"]


async def test_list_filters(api: Api) -> None:
    one = await declare(api, severity="SEV1")
    two = await declare(api, severity="SEV4", status="INVESTIGATING")
    status, found = await api.call("GET", "/api/incidents", params={"severity": "SEV1"})
    assert status == 200 and [i["id"] for i in found] == [one["id"]]
    status, found = await api.call("GET", "/api/incidents", params={"states": "INVESTIGATING"})
    assert status == 200 and [i["id"] for i in found] == [two["id"]]
    status, found = await api.call("GET", "/api/incidents", params={"max-results": "1"})
    assert status == 200 and [i["id"] for i in found] == [two["id"]]
    for params, field in (({"states": "NOPE"}, "states"), ({"severity": "SEV7"}, "severity")):
        status, problem = await api.call("GET", "/api/incidents", params=params)
        assert status == 400 and problem["field"] == field, problem


@pytest.fixture
async def fast(dsn: str) -> AsyncIterator[Api]:
    async with running_api(dsn, **FAST) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


INCIDENT_TYPES = [
    "incident-created",
    "incident-status-changed",
    "incident-severity-changed",
    "incident-resolved",
    "incident-status-update-posted",
]


async def test_incident_events_reach_a_webhook(fast: Api, receiver: Receiver) -> None:
    api = fast
    await webhook(api, receiver.url + "/hook", triggerTypes=INCIDENT_TYPES)
    await webhook(api, receiver.url + "/alerts-only", triggerTypes=["alert-created"])
    incident = await declare(api)
    path = f"/api/incidents/{incident['id']}"
    status, _ = await api.call("PUT", path, json={"status": "INVESTIGATING"})
    assert status == 200
    status, _ = await api.call("PUT", path, json={"severity": "SEV1"})
    assert status == 200
    status, _ = await api.call(
        "POST", f"{path}/status-updates", json={"status": "IDENTIFIED", "message": "found it"}
    )
    assert status == 201
    status, _ = await api.call("PUT", path, json={"status": "RESOLVED"})
    assert status == 200
    got = await receiver.wait_for(5)
    assert [r.path for r in got] == ["/hook"] * 5
    assert [r.json["eventType"] for r in got] == [
        "incident-created",
        "incident-status-changed",
        "incident-severity-changed",
        "incident-status-update-posted",
        "incident-resolved",
    ]
    # each is the incident as of its event, as alert webhooks carry the alert
    assert got[0].json["id"] == str(incident["id"]) and got[0].json["status"] == "DECLARED"
    assert got[1].json["status"] == "INVESTIGATING" and got[1].json["severity"] == "SEV3"
    assert got[2].json["severity"] == "SEV1"
    assert got[3].json["message"] == "found it"
    assert (
        got[4].json["status"] == "RESOLVED" and got[4].json["reference"] == (incident["reference"])
    )
    assert all(r.headers.get("X-Ilertd-Delivery") for r in got)
    status, found = await api.call("GET", "/api/deliveries")
    assert status == 200
    mine = [d for d in found if d["incidentId"] == incident["id"]]
    assert len(mine) == 5 and all(d["alertId"] is None for d in mine), found


async def new_service(api: Api, name: str) -> int:
    status, service = await api.call("POST", "/api/services", json={"name": name})
    assert status == 201, service
    return service["id"]


async def service_status(api: Api, service_id: int) -> str:
    status, service = await api.call("GET", f"/api/services/{service_id}")
    assert status == 200, service
    return service["status"]


async def test_a_service_follows_the_incidents_impact(api: Api) -> None:
    checkout = await new_service(api, "checkout")
    search = await new_service(api, "search")
    incident = await declare(
        api, affectedServices=[{"service": {"id": checkout}, "impact": "DEGRADED"}]
    )
    assert incident["affectedServices"] == [
        {"service": {"id": checkout, "name": "checkout"}, "impact": "DEGRADED"}
    ]
    assert await service_status(api, checkout) == "DEGRADED"
    assert await service_status(api, search) == "OPERATIONAL"
    path = f"/api/incidents/{incident['id']}"
    status, changed = await api.call(
        "PUT",
        path,
        json={
            "affectedServices": [
                {"service": {"id": checkout}, "impact": "MAJOR_OUTAGE"},
                {"service": {"id": search}, "impact": "PARTIAL_OUTAGE"},
            ]
        },
    )
    assert status == 200, changed
    assert await service_status(api, checkout) == "MAJOR_OUTAGE"
    assert await service_status(api, search) == "PARTIAL_OUTAGE"
    status, found = await api.call("GET", "/api/incidents", params={"services": str(search)})
    assert status == 200 and [i["id"] for i in found] == [incident["id"]]
    status, _ = await api.call("PUT", path, json={"status": "RESOLVED"})
    assert status == 200
    assert await service_status(api, checkout) == "OPERATIONAL"
    assert await service_status(api, search) == "OPERATIONAL"
    pool = api.runtime.pool
    rows = await pool.fetch(
        "SELECT impact, until IS NULL AS open FROM incident_impacts WHERE service_id = $1 "
        "ORDER BY since",
        checkout,
    )
    assert [(r["impact"], r["open"]) for r in rows] == [
        ("DEGRADED", False),
        ("MAJOR_OUTAGE", False),
    ]
    for body in (
        {"affectedServices": [{"service": {"id": 987654}, "impact": "DEGRADED"}]},
        {"affectedServices": [{"service": {"id": checkout}, "impact": "BAD"}]},
    ):
        status, problem = await api.call("POST", "/api/incidents", json={"title": "x", **body})
        assert status == 400, problem
        assert problem["field"].startswith("affectedServices[0]"), problem


async def test_public_impacts_follow_the_status_updates_only(api: Api) -> None:
    checkout = await new_service(api, "checkout")
    incident = await declare(
        api, affectedServices=[{"service": {"id": checkout}, "impact": "MAJOR_OUTAGE"}]
    )
    pool = api.runtime.pool

    async def public() -> list[tuple[str, bool]]:
        rows = await pool.fetch(
            "SELECT impact, until IS NULL AS open FROM public_impacts WHERE incident_id = $1 "
            "ORDER BY since, impact",
            incident["id"],
        )
        return [(r["impact"], r["open"]) for r in rows]

    assert await public() == []  # nothing is public before a status update
    path = f"/api/incidents/{incident['id']}/status-updates"
    degraded = [{"service": {"id": checkout}, "impact": "DEGRADED"}]
    status, update = await api.call(
        "POST",
        path,
        json={"status": "INVESTIGATING", "message": "slow", "affectedServices": degraded},
    )
    assert status == 201, update
    assert update["affectedServices"][0]["service"] == {"id": checkout, "name": "checkout"}
    assert await public() == [("DEGRADED", True)]
    status, _ = await api.call("POST", path, json={"status": "MONITORING", "message": "better"})
    assert status == 201
    assert await public() == [("DEGRADED", True)]  # kept: the update names no services
    status, _ = await api.call("POST", path, json={"status": "RESOLVED", "message": "fixed"})
    assert status == 201
    assert await public() == [("DEGRADED", False)]
    assert await service_status(api, checkout) == "MAJOR_OUTAGE"  # the incident is open


async def test_a_cascade_left_unfinished_is_finished_by_the_leader(api: Api) -> None:
    """The process died after ``incident-resolved`` committed and before the alerts were
    resolved: the sweep the leader runs finds the open linked alert and resolves it."""
    source = await make_source(api)
    alert = await new_alert(api, source["id"])
    incident = await declare(api, alert={"id": alert["id"]})
    parts = api.runtime
    stream = await parts.incident_commands.stream_of(incident["id"])
    loaded = await parts.repository.load(stream)
    loaded.resolve({"type": "user", "id": 1})
    await parts.repository.save(loaded)  # the resolve alone, as a dying request left it
    await api.settle()
    status, seen = await api.call("GET", f"/api/alerts/{alert['id']}")
    assert status == 200 and seen["status"] != "RESOLVED"
    assert await parts.engine.incidents.finish_cascades() == 1
    await api.settle()
    status, seen = await api.call("GET", f"/api/alerts/{alert['id']}")
    assert status == 200 and seen["status"] == "RESOLVED"
    assert await parts.engine.incidents.finish_cascades() == 0


async def test_rebuilt_incidents_projection_equals_live(api: Api) -> None:
    checkout = await new_service(api, "checkout")
    bob = await new_user(api, "bob")
    source = await make_source(api)
    alert = await new_alert(api, source["id"], responders=[{"user": {"id": bob}}])
    status, first = await api.call("POST", f"/api/alerts/{alert['id']}/incident")
    assert status == 201
    second = await declare(
        api, affectedServices=[{"service": {"id": checkout}, "impact": "DEGRADED"}]
    )
    for incident in (first, second):
        path = f"/api/incidents/{incident['id']}"
        await api.call("PUT", path, json={"severity": "SEV2", "status": "IDENTIFIED"})
        await api.call("POST", f"{path}/comments", json={"content": "note"})
        await api.call(
            "POST",
            f"{path}/status-updates",
            json={
                "status": "IDENTIFIED",
                "message": "found",
                "affectedServices": [{"service": {"id": checkout}, "impact": "PARTIAL_OUTAGE"}],
            },
        )
        await api.call("PUT", path, json={"status": "RESOLVED"})
    await api.call("POST", f"/api/incidents/{second['id']}/reopen")
    await api.settle()
    projection = IncidentsProjection()
    pool = api.runtime.pool

    async def tables() -> dict[str, list[tuple]]:
        return {
            t: [tuple(r) for r in await pool.fetch(f"SELECT * FROM {t} ORDER BY {t}::text")]
            for t in projection.tables
        }

    live = await tables()
    assert len(live["incident_timeline"]) > 10 and len(live["public_impacts"]) == 2
    runner = ProjectionRunner(api.runtime.store, [projection])
    await runner.prepare()
    await runner.rebuild("incidents")
    assert await tables() == live


async def test_one_open_incident_only(api: Api) -> None:
    status, service = await api.call(
        "POST", "/api/services", json={"name": "pay", "oneOpenIncidentOnly": True}
    )
    assert status == 201, service
    affected = [{"service": {"id": service["id"]}, "impact": "DEGRADED"}]
    first = await declare(api, affectedServices=affected)
    status, problem = await api.call(
        "POST", "/api/incidents", json={"title": "again", "affectedServices": affected}
    )
    assert status == 409 and first["reference"] in problem["message"], problem
    path = f"/api/incidents/{first['id']}"
    status, _ = await api.call("PUT", path, json={"affectedServices": affected})
    assert status == 200  # the open one itself may keep it
    status, _ = await api.call("PUT", path, json={"status": "RESOLVED"})
    assert status == 200
    await declare(api, affectedServices=affected)


async def test_incident_changes_are_in_the_audit_log(api: Api) -> None:
    incident = await declare(api)
    status, _ = await api.call("PUT", f"/api/incidents/{incident['id']}", json={"severity": "SEV1"})
    assert status == 200
    status, events = await api.call(
        "GET", f"/api/audit-events?resource-type=INCIDENT&resource-id={incident['id']}"
    )
    assert status == 200, events
    assert [e["action"] for e in events] == ["incident-severity-changed", "incident-declared"]
    assert all(e["resourceType"] == "INCIDENT" for e in events)
