"""/api/maintenance-windows over HTTP, and what an active window does to new alerts, on
real PostgreSQL with the real clock (short real windows, polled with a deadline)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from projections.service_status import current_statuses, status_intervals

from .conftest import Api

BASE = "/api/maintenance-windows"
DEADLINE_S = 20.0


def at(delta_s: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=delta_s)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def make_source(api: Api, name: str = "prom", **fields: Any) -> dict[str, Any]:
    status, source = await api.call(
        "POST", "/api/alert-sources", json={"name": name, "integrationType": "API", **fields}
    )
    assert status == 201, source
    return source


async def make_window(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"summary": "db upgrade", "start": at(-60), "end": at(3600), **fields}
    status, window = await api.call("POST", BASE, json=body)
    assert status == 201, window
    return window


async def event(api: Api, source: dict[str, Any], **fields: Any) -> tuple[int, Any]:
    body = {"integrationKey": source["integrationKey"], "eventType": "ALERT", "summary": "x"}
    return await api.call("POST", "/api/events", json={**body, **fields}, key=None)


async def alert_count(api: Api, source: dict[str, Any]) -> int:
    status, counted = await api.call("GET", f"/api/alerts/count?sources={source['id']}")
    assert status == 200, counted
    return counted["count"]


async def test_crud(api: Api) -> None:
    source = await make_source(api)
    window = await make_window(
        api,
        description=" swap the primary ",
        alertSources=[{"id": source["id"]}],
        notifications={"atStart": True},
    )
    assert window["summary"] == "db upgrade" and window["description"] == "swap the primary"
    assert window["alertSources"] == [{"id": source["id"], "name": "prom"}]
    assert window["services"] == [] and window["timezone"] == "UTC"
    assert window["notifications"] == {"atCreation": False, "atStart": True, "atEnd": False}
    assert window["state"] == "OPEN" and window["active"] is True
    assert window["suppressedEvents"] == 0
    _, me = await api.call("GET", "/api/users/current")
    assert window["createdBy"] == me["username"]
    item = f"{BASE}/{window['id']}"
    status, got = await api.call("GET", item)
    assert status == 200 and got == window
    status, listed = await api.call("GET", BASE)
    assert status == 200 and [w["id"] for w in listed] == [window["id"]]
    body = {"summary": "db upgrade, part 2", "start": window["start"], "end": at(7200)}
    status, replaced = await api.call("PUT", item, json=body)
    assert status == 200, replaced
    assert replaced["summary"] == "db upgrade, part 2" and replaced["alertSources"] == []
    assert replaced["createdBy"] == me["username"] and replaced["createdAt"] == window["createdAt"]
    status, _ = await api.call("DELETE", item)
    assert status == 204
    query = f"resource-type=MAINTENANCE_WINDOW&resource-id={window['id']}"
    status, audited = await api.call("GET", f"/api/audit-events?{query}")
    assert status == 200, audited
    assert [e["action"] for e in audited] == [
        "maintenance-window-deleted",
        "maintenance-window-updated",
        "maintenance-window-created",
    ]
    assert (await api.call("GET", item))[0] == 404
    assert (await api.call("PUT", item, json=body))[0] == 404
    assert (await api.call("DELETE", item))[0] == 404
    assert (await api.call("GET", BASE))[1] == []


async def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api: Api) -> None:
    source = await make_source(api)
    head = await api.runtime.store.head_position()
    good = {"summary": "x", "start": at(0), "end": at(60)}
    cases = [
        ({"start": at(0), "end": at(60)}, "summary"),
        ({**good, "summary": "  "}, "summary"),
        ({**good, "end": good["start"]}, "end"),
        ({**good, "end": at(-60)}, "end"),
        ({**good, "start": "tomorrow"}, "start"),
        ({**good, "start": "2026-03-01"}, "start"),
        ({**good, "timezone": "Mars/Olympus"}, "timezone"),
        ({**good, "alertSources": [{"id": 987654321}]}, "alertSources[0].id"),
        ({**good, "alertSources": [{"id": source["id"]}, {"id": 987654321}]}, "alertSources[1].id"),
        ({**good, "alertSources": [{"id": i} for i in range(1, 52)]}, "alertSources"),
        ({**good, "services": [{"id": i} for i in range(1, 52)]}, "services"),
        ({**good, "notifications": {"atEnd": "yes"}}, "notifications.atEnd"),
    ]
    for body, field in cases:
        status, problem = await api.call("POST", BASE, json=body)
        assert status == 400, (body, problem)
        assert problem["field"] == field, (body, problem)
    assert await api.runtime.store.head_position() == head


async def test_a_source_the_caller_cannot_see_is_unknown(api: Api) -> None:
    status, team = await api.call(
        "POST", "/api/teams", json={"name": "sec", "visibility": "PRIVATE"}
    )
    assert status == 201, team
    hidden = await make_source(api, "hidden", teams=[{"id": team["id"]}])
    body = {"email": "r@example.test", "firstName": "R", "lastName": "S", "role": "RESPONDER"}
    status, user = await api.call("POST", "/api/users", json=body)
    assert status == 201, user
    status, issued = await api.call("POST", f"/api/users/{user['id']}/api-keys", json={})
    assert status == 201, issued
    window = {"summary": "x", "start": at(0), "end": at(60), "alertSources": [hidden["id"]]}
    status, problem = await api.call("POST", BASE, json=window, key=issued["apiKey"])
    assert status == 400 and problem["field"] == "alertSources[0].id", problem
    status, made = await api.call("POST", BASE, json=window)  # an ADMIN sees it
    assert status == 201, made


async def test_times_without_offset_are_wall_clock_in_the_zone_across_dst(api: Api) -> None:
    # Berlin leaves CET (+01:00) for CEST (+02:00) at 02:00 on 29 March 2026
    window = await make_window(
        api, timezone="Europe/Berlin", start="2026-03-29T01:30", end="2026-03-29T03:30"
    )
    assert window["start"] == "2026-03-29T00:30:00.000Z"
    assert window["end"] == "2026-03-29T01:30:00.000Z"
    # 02:30 does not exist that night: it moves forward by the gap (03:30 CEST)
    gap = await make_window(
        api, timezone="Europe/Berlin", start="2026-03-29T02:30", end="2026-03-29T04:00"
    )
    assert gap["start"] == "2026-03-29T01:30:00.000Z"
    # in October 02:30 comes twice: the first (CEST)
    twice = await make_window(
        api, timezone="Europe/Berlin", start="2026-10-25T02:30", end="2026-10-25T02:45+01:00"
    )
    assert twice["start"] == "2026-10-25T00:30:00.000Z"
    assert twice["end"] == "2026-10-25T01:45:00.000Z"
    # an offset wins over the zone
    given = await make_window(api, timezone="America/New_York", start="2026-07-01T12:00Z")
    assert given["start"] == "2026-07-01T12:00:00.000Z"


async def test_list_filters(api: Api) -> None:
    a, b = await make_source(api, "a"), await make_source(api, "b")
    past = await make_window(api, start=at(-7200), end=at(-3600), alertSources=[a["id"]])
    now = await make_window(api, start=at(-60), end=at(3600), alertSources=[a["id"], b["id"]])
    later = await make_window(api, start=at(86400), end=at(90000), alertSources=[b["id"]])

    async def ids(query: str) -> list[int]:
        status, listed = await api.call("GET", f"{BASE}?{query}")
        assert status == 200, listed
        return [w["id"] for w in listed]

    assert await ids("") == [past["id"], now["id"], later["id"]]
    assert await ids("state=OPEN") == [now["id"], later["id"]]
    assert await ids("state=CLOSED") == [past["id"]]
    assert await ids(f"sources={a['id']}") == [past["id"], now["id"]]
    assert await ids(f"sources={b['id']}&state=OPEN") == [now["id"], later["id"]]
    assert await ids(f"sources={a['id']},{b['id']}") == [past["id"], now["id"], later["id"]]
    assert await ids("services=1") == []
    assert await ids(f"from={at(43200)}") == [later["id"]]
    assert await ids(f"until={at(-1800)}") == [past["id"]]
    assert await ids(f"from={at(-1800)}&until={at(43200)}") == [now["id"]]
    assert await ids("max-results=1&start-index=1") == [now["id"]]
    for query, field in (("state=DONE", "state"), ("from=soon", "from"), ("sources=x", "sources")):
        status, problem = await api.call("GET", f"{BASE}?{query}")
        assert status == 400 and problem["field"] == field, problem


async def test_an_active_window_holds_new_alerts_until_it_ends(api: Api) -> None:
    held, free = await make_source(api, "held"), await make_source(api, "free")
    # an alert open before the window: events for it still apply
    status, opened = await event(api, held, alertKey="disk")
    assert status == 202 and opened["responseCode"] == "NEW_ALERT_CREATED", opened
    window = await make_window(api, start=at(-1), end=at(2.5), alertSources=[held["id"]])
    assert window["active"] is True

    status, answer = await event(api, held, alertKey="cpu")
    assert status == 202, answer
    assert answer["responseCode"] == "MAINTENANCE_WINDOW_ACTIVE", answer
    assert answer["maintenanceWindowId"] == window["id"] and "alertId" not in answer
    assert f"maintenance window {window['id']}" in answer["message"]
    status, legacy = await api.call(
        "POST",
        "/api/v1/events",
        json={"apiKey": held["integrationKey"], "eventType": "ALERT", "summary": "y"},
        key=None,
    )
    assert status == 200 and legacy["responseCode"] == "MAINTENANCE_WINDOW_ACTIVE", legacy
    status, manual = await api.call(
        "POST", "/api/alerts", json={"summary": "by hand", "alertSource": {"id": held["id"]}}
    )
    assert status == 202 and manual["suppressed"] is True, manual
    assert manual["maintenanceWindowId"] == window["id"]
    # a source not in the window is unaffected
    status, other = await event(api, free)
    assert status == 202 and other["responseCode"] == "NEW_ALERT_CREATED", other
    # the open alert still takes its events and resolves
    status, joined = await event(api, held, alertKey="DISK")
    assert joined["responseCode"] == "ALERT_ALREADY_EXISTS", joined
    body = {"integrationKey": held["integrationKey"], "eventType": "RESOLVE", "alertKey": "disk"}
    status, resolved = await api.call("POST", "/api/events", json=body, key=None)
    assert status == 202 and resolved["responseCode"] == "ALERT_RESOLVED", resolved
    assert await alert_count(api, held) == 1
    status, got = await api.call("GET", f"{BASE}/{window['id']}")
    assert got["suppressedEvents"] == 3, got
    status, shown = await api.call("GET", f"/api/alert-sources/{held['id']}")
    assert shown["status"] == "IN_MAINTENANCE", shown
    status, suppressed = await api.call("GET", f"{BASE}/{window['id']}/suppressed-events")
    assert status == 200, suppressed
    assert [(e["summary"], e["alertKey"], e["via"]) for e in suppressed] == [
        ("by hand", None, "rest-api"),
        ("y", None, "events-api"),
        ("x", "cpu", "events-api"),
    ]
    assert suppressed[0]["alertSource"] == {"id": held["id"], "name": "held"}
    status, shown = await api.call("GET", f"/api/alert-sources/{free['id']}")
    assert shown["status"] == "ALL_RESOLVED", shown

    # once the window has ended (polled, not slept), events open alerts again
    deadline = time.monotonic() + DEADLINE_S
    while (await api.call("GET", f"{BASE}/{window['id']}"))[1]["active"]:
        assert time.monotonic() < deadline, "the window never ended"
        await asyncio.sleep(0.1)
    status, after = await event(api, held, alertKey="cpu")
    assert status == 202 and after["responseCode"] == "NEW_ALERT_CREATED", after
    status, closed = await api.call("GET", f"{BASE}?state=CLOSED")
    assert [w["id"] for w in closed] == [window["id"]]
    status, shown = await api.call("GET", f"/api/alert-sources/{held['id']}")
    assert shown["status"] == "ALL_RESOLVED", shown


async def test_a_window_that_starts_later_holds_nothing_yet(api: Api) -> None:
    source = await make_source(api)
    await make_window(api, start=at(3600), end=at(7200), alertSources=[source["id"]])
    status, answer = await event(api, source)
    assert status == 202 and answer["responseCode"] == "NEW_ALERT_CREATED", answer


async def test_changing_or_deleting_a_window_takes_effect_at_once(api: Api) -> None:
    source = await make_source(api)
    status, answer = await event(api, source)  # the source's windows are now cached: none
    assert status == 202 and answer["responseCode"] == "NEW_ALERT_CREATED"
    window = await make_window(api, alertSources=[source["id"]])
    assert (await event(api, source))[1]["responseCode"] == "MAINTENANCE_WINDOW_ACTIVE"
    item = f"{BASE}/{window['id']}"
    body = {"summary": "moved", "start": at(3600), "end": at(7200), "alertSources": [source["id"]]}
    assert (await api.call("PUT", item, json=body))[0] == 200
    assert (await event(api, source))[1]["responseCode"] == "NEW_ALERT_CREATED"
    body = {**body, "start": at(-60)}
    assert (await api.call("PUT", item, json=body))[0] == 200
    assert (await event(api, source))[1]["responseCode"] == "MAINTENANCE_WINDOW_ACTIVE"
    assert (await api.call("DELETE", item))[0] == 204
    assert (await event(api, source))[1]["responseCode"] == "NEW_ALERT_CREATED"


async def test_a_retried_suppressed_event_gets_its_first_answer(api: Api) -> None:
    source = await make_source(api)
    window = await make_window(api, alertSources=[source["id"]])
    headers = {"Idempotency-Key": "held-1"}
    body = {"integrationKey": source["integrationKey"], "eventType": "ALERT", "summary": "x"}
    status, first = await api.call("POST", "/api/events", json=body, key=None, headers=headers)
    assert status == 202 and first["responseCode"] == "MAINTENANCE_WINDOW_ACTIVE", first
    head = await api.runtime.store.head_position()
    status, again = await api.call("POST", "/api/events", json=body, key=None, headers=headers)
    assert status == 202 and again["maintenanceWindowId"] == window["id"], again
    assert again["responseCode"] == first["responseCode"]
    assert await api.runtime.store.head_position() == head
    status, got = await api.call("GET", f"{BASE}/{window['id']}")
    assert got["suppressedEvents"] == 1


async def test_writes_need_a_responder_or_higher(api: Api) -> None:
    body = {"email": "u@example.test", "firstName": "U", "lastName": "S", "role": "STAKEHOLDER"}
    status, user = await api.call("POST", "/api/users", json=body)
    assert status == 201, user
    status, issued = await api.call("POST", f"/api/users/{user['id']}/api-keys", json={})
    window = await make_window(api)
    key = issued["apiKey"]
    assert (await api.call("GET", f"{BASE}/{window['id']}", key=key))[0] == 200
    new = {"summary": "x", "start": at(0), "end": at(60)}
    assert (await api.call("POST", BASE, json=new, key=key))[0] == 403
    assert (await api.call("DELETE", f"{BASE}/{window['id']}", key=key))[0] == 403


async def make_service(api: Api, name: str) -> dict[str, Any]:
    status, service = await api.call("POST", "/api/services", json={"name": name})
    assert status == 201, service
    return service


async def service_status(api: Api, service: dict[str, Any]) -> str:
    status, got = await api.call("GET", f"/api/services/{service['id']}")
    assert status == 200, got
    return got["status"]


async def test_services_in_an_active_window_are_under_maintenance(api: Api) -> None:
    shop, blog, wiki = [await make_service(api, n) for n in ("shop", "blog", "wiki")]
    assert await service_status(api, shop) == "OPERATIONAL"
    window = await make_window(
        api, start=at(-1), end=at(2.5), services=[{"id": shop["id"]}, {"id": str(blog["id"])}]
    )
    assert window["services"] == [
        {"id": shop["id"], "name": "shop"},
        {"id": blog["id"], "name": "blog"},
    ]
    await make_window(api, start=at(3600), end=at(7200), services=[wiki["id"]])
    assert await service_status(api, shop) == "UNDER_MAINTENANCE"
    assert await service_status(api, blog) == "UNDER_MAINTENANCE"
    assert await service_status(api, wiki) == "OPERATIONAL"  # its window starts later
    status, listed = await api.call("GET", "/api/services")
    assert {s["name"]: s["status"] for s in listed} == {
        "shop": "UNDER_MAINTENANCE",
        "blog": "UNDER_MAINTENANCE",
        "wiki": "OPERATIONAL",
    }
    status, with_uptime = await api.call("GET", f"/api/services/{shop['id']}?include=uptime")
    assert status == 200 and with_uptime["uptime"]["outages"] == [], with_uptime  # not down
    status, listed = await api.call("GET", f"{BASE}?services={wiki['id']}")
    assert [w["services"] for w in listed] == [[{"id": wiki["id"], "name": "wiki"}]]

    # the history has the window as an interval, the status page's sources too
    pool = api.runtime.pool
    since, until = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(days=1)
    for public in (False, True):
        intervals = await status_intervals(
            pool, [shop["id"], wiki["id"]], since, until, public=public
        )
        assert sorted((i.service_id, i.status) for i in intervals) == [
            (shop["id"], "UNDER_MAINTENANCE"),
            (wiki["id"], "UNDER_MAINTENANCE"),
        ]
    now = datetime.now(UTC)
    assert (await current_statuses(pool, [shop["id"]], now, public=True)) == {
        shop["id"]: "UNDER_MAINTENANCE"
    }

    deadline = time.monotonic() + DEADLINE_S
    while await service_status(api, shop) == "UNDER_MAINTENANCE":
        assert time.monotonic() < deadline, "the window never ended"
        await asyncio.sleep(0.1)
    assert await service_status(api, shop) == "OPERATIONAL"


async def test_a_window_names_live_services_only(api: Api) -> None:
    gone = await make_service(api, "gone")
    assert (await api.call("DELETE", f"/api/services/{gone['id']}"))[0] == 204
    for services in ([{"id": gone["id"]}], [{"id": 987654321}]):
        body = {"summary": "x", "start": at(0), "end": at(60), "services": services}
        status, problem = await api.call("POST", BASE, json=body)
        assert status == 400 and problem["field"] == "services[0].id", problem
