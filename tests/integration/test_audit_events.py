"""GET /api/audit-events: configuration changes from the event store, for ADMINs only."""

from __future__ import annotations

import orjson

from .conftest import Api

AUDIT = "/api/audit-events"


async def an_admin_made_changes(api: Api) -> tuple[dict, dict, dict]:
    """A user registered, an alert source created and renamed, by the bootstrap admin."""
    _, me = await api.call("GET", "/api/users/current")
    status, ann = await api.call(
        "POST", "/api/users", json={"email": "ann@example.test", "firstName": "A", "lastName": "L"}
    )
    assert status == 201
    status, source = await api.call(
        "POST", "/api/alert-sources", json={"name": "prod", "integrationType": "API"}
    )
    assert status == 201
    body = {"name": "production", "integrationType": "API"}
    status, _ = await api.call("PUT", f"/api/alert-sources/{source['id']}", json=body)
    assert status == 200
    return me, ann, source


async def test_changes_newest_first_with_actor_fields_and_request_id(api: Api) -> None:
    me, ann, source = await an_admin_made_changes(api)
    status, entries = await api.call("GET", AUDIT)
    assert status == 200
    renamed, created, registered = entries[0], entries[1], entries[2]
    assert (renamed["action"], created["action"]) == (
        "alert-source-updated",
        "alert-source-created",
    )
    assert renamed["resourceType"] == created["resourceType"] == "ALERT_SOURCE"
    assert renamed["resourceId"] == created["resourceId"] == source["id"] == created["id"]
    assert renamed["actor"] == {"id": me["id"], "username": me["username"]}
    assert "name" in renamed["fields"] and "integrationKey" in created["fields"]
    assert renamed["requestId"] and renamed["requestId"] != created["requestId"]
    assert registered["action"] == "user-registered" and registered["resourceId"] == ann["id"]
    # the bootstrap admin was made by ilertd itself
    oldest = entries[-1]
    assert oldest["resourceType"] == "USER" and oldest["actor"] == {"system": "bootstrap"}
    # names, never values: the integration key is in the event, not in the trail
    assert source["integrationKey"] not in orjson.dumps(entries).decode()


async def test_filters_by_resource_user_and_time(api: Api) -> None:
    me, ann, source = await an_admin_made_changes(api)
    status, mine = await api.call(
        "GET", f"{AUDIT}?resource-type=alert_source&resource-id={source['id']}"
    )
    assert status == 200 and [e["action"] for e in mine] == [
        "alert-source-updated",
        "alert-source-created",
    ]
    status, users = await api.call("GET", f"{AUDIT}?resource-type=USER")
    assert status == 200 and {e["resourceType"] for e in users} == {"USER"}
    status, by_me = await api.call("GET", f"{AUDIT}?user-id={me['id']}")
    assert status == 200 and len(by_me) == 3 and all(e["actor"]["id"] == me["id"] for e in by_me)
    status, by_ann = await api.call("GET", f"{AUDIT}?user-id={ann['id']}")
    assert status == 200 and by_ann == []
    status, later = await api.call("GET", f"{AUDIT}?from={mine[0]['time']}")
    assert status == 200 and [e["id"] for e in later] == [mine[0]["id"]]
    status, earlier = await api.call("GET", f"{AUDIT}?until={mine[0]['time']}&max-results=1")
    assert status == 200 and [e["id"] for e in earlier] == [mine[1]["id"]]
    status, paged = await api.call("GET", f"{AUDIT}?start-index=1&max-results=1")
    assert status == 200 and [e["id"] for e in paged] == [mine[1]["id"]]


async def test_alerts_are_not_configuration(api: Api) -> None:
    status, source = await api.call(
        "POST", "/api/alert-sources", json={"name": "prod", "integrationType": "API"}
    )
    body = {"integrationKey": source["integrationKey"], "eventType": "ALERT", "summary": "x"}
    status, _ = await api.call("POST", "/api/events", json=body, key=False)
    assert status == 202
    status, entries = await api.call("GET", AUDIT)
    assert status == 200 and not any(e["action"].startswith("alert-created") for e in entries)


async def test_bad_filters_are_400s_naming_the_parameter(api: Api) -> None:
    for query, field in (
        ("resource-type=ALERT", "resource-type"),
        ("resource-id=5", "resource-id"),
        ("resource-type=USER&resource-id=x", "resource-id"),
        ("user-id=-1", "user-id"),
        ("from=yesterday", "from"),
        ("until=2026-01-01T00:00:00", "until"),
        ("max-results=101", "max-results"),
    ):
        status, problem = await api.call("GET", f"{AUDIT}?{query}")
        assert status == 400 and problem["field"] == field, (query, problem)
