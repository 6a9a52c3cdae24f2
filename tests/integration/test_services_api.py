"""/api/services over HTTP: CRUD as ilert-go and the Terraform provider call it, 400s that
name the field and change nothing, the name lookup, teams and who may see and change a
service, the derived status and ``include=uptime`` (with no incident or maintenance window
in force: OPERATIONAL, 100 %), and ``/api/service-outages``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .conftest import Api
from .test_team_resources import team, user_with_key


async def head(api: Api) -> int:
    return await api.runtime.store.head_position()


async def make(api: Api, **fields: Any) -> dict[str, Any]:
    status, made = await api.call("POST", "/api/services", json={"name": "Checkout", **fields})
    assert status == 201, made
    return made


async def test_crud_as_ilert_go_sends_it(api: Api) -> None:
    # ilert-go sends every field of its struct: id 0, status "", teams null
    sent = {
        "id": 0,
        "name": " Checkout ",
        "status": "",
        "description": "the shop's checkout",
        "oneOpenIncidentOnly": True,
        "showUptimeHistory": False,
        "teams": None,
    }
    status, made = await api.call("POST", "/api/services", json=sent)
    assert status == 201, made
    assert isinstance(made["id"], int) and made["id"] > 0
    assert made == {
        "id": made["id"],
        "name": "Checkout",
        "alias": "",
        "description": "the shop's checkout",
        "status": "OPERATIONAL",
        "oneOpenIncidentOnly": True,
        "showUptimeHistory": False,
        "teams": [],
    }
    status, read = await api.call("GET", f"/api/services/{made['id']}")
    assert status == 200 and read == made
    status, listed = await api.call("GET", "/api/services?start-index=0&max-results=10")
    assert status == 200 and listed == [made]

    # the Terraform provider: status OPERATIONAL sent (ignored: it is derived), alias set
    changed = {"name": "Shop", "alias": "shop", "status": "MAJOR_OUTAGE"}
    status, replaced = await api.call("PUT", f"/api/services/{made['id']}", json=changed)
    assert status == 200, replaced
    assert replaced["name"] == "Shop" and replaced["alias"] == "shop"
    assert replaced["status"] == "OPERATIONAL"
    # a PUT replaces: absent fields take their defaults
    assert replaced["description"] == "" and replaced["oneOpenIncidentOnly"] is False
    assert replaced["showUptimeHistory"] is True
    before = await head(api)
    status, same = await api.call("PUT", f"/api/services/{made['id']}", json=changed)
    assert status == 200 and same == replaced
    assert await head(api) == before, "a PUT that changes nothing records nothing"

    status, _ = await api.call("DELETE", f"/api/services/{made['id']}")
    assert status == 204
    for method in ("GET", "PUT", "DELETE"):
        status, problem = await api.call(method, f"/api/services/{made['id']}", json=changed)
        assert status == 404, (method, problem)
    status, listed = await api.call("GET", "/api/services")
    assert status == 200 and listed == []
    # ids never recur
    again = await make(api)
    assert again["id"] > made["id"]


async def test_every_change_is_an_event(api: Api) -> None:
    made = await make(api)
    await api.call("PUT", f"/api/services/{made['id']}", json={"name": "Shop"})
    await api.call("DELETE", f"/api/services/{made['id']}")
    status, audit = await api.call(
        "GET", f"/api/audit-events?resource-type=SERVICE&resource-id={made['id']}"
    )
    assert status == 200, audit
    assert [entry["action"] for entry in audit] == [
        "service-deleted",
        "service-updated",
        "service-created",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "a", "alias": "x" * 256}, "alias"),
        ({"name": "a", "alias": "a\x01b"}, "alias"),
        ({"name": "a", "description": 5}, "description"),
        ({"name": "a", "description": "a\x00b"}, "description"),
        ({"name": "a", "oneOpenIncidentOnly": "yes"}, "oneOpenIncidentOnly"),
        ({"name": "a", "showUptimeHistory": 1}, "showUptimeHistory"),
        ({"name": "a", "status": "BROKEN"}, "status"),
        ({"name": "a", "teams": [{"id": 987654}]}, "teams[0].id"),
        ({"name": "a", "teams": "ops"}, "teams"),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    made = await make(api)
    before = await head(api)
    status, problem = await api.call("POST", "/api/services", json=body)
    assert status == 400, problem
    assert problem["field"] == field, problem
    status, problem = await api.call("PUT", f"/api/services/{made['id']}", json=body)
    assert status == 400 and problem["field"] == field, problem
    assert await head(api) == before, "a refused write records nothing"


async def test_description_keeps_its_lines(api: Api) -> None:
    made = await make(api, description="  line one\n\tline two  ")
    assert made["description"] == "line one\n\tline two"


async def test_the_name_lookup(api: Api) -> None:
    first = await make(api, name="Checkout")
    await make(api, name="Checkout")
    await make(api, name="Search")
    status, found = await api.call("GET", "/api/services/name/Checkout")
    assert status == 200 and found["id"] == first["id"], "the oldest of that name"
    status, found = await api.call("GET", "/api/services/name/Checkout?include=uptime")
    assert status == 200 and found["uptime"]["uptimePercentage"]["p30"] == 100
    status, problem = await api.call("GET", "/api/services/name/Nothing")
    assert status == 404, problem


async def test_paging(api: Api) -> None:
    made = [await make(api, name=f"s{index}") for index in range(5)]
    status, listed = await api.call("GET", "/api/services?start-index=1&max-results=2")
    assert status == 200 and [s["id"] for s in listed] == [made[1]["id"], made[2]["id"]]
    status, problem = await api.call("GET", "/api/services?max-results=101")
    assert status == 400 and problem["field"] == "max-results"


async def test_other_teams_services(api: Api) -> None:
    """A service whose teams are all PRIVATE is invisible (404) to a non-member; a PUBLIC
    team's service is visible but only its team ADMINs (and account ADMINs) change it."""
    member, member_key = await user_with_key(api, "member", "USER")
    outsider, outsider_key = await user_with_key(api, "outsider", "USER")
    private = await team(api, "private", ((member, "ADMIN"),), visibility="PRIVATE")
    public = await team(api, "public")
    hidden = await make(api, name="Hidden", teams=[{"id": private}])
    shown = await make(api, name="Shown", teams=[{"id": public}])

    status, listed = await api.call("GET", "/api/services", key=outsider_key)
    assert status == 200 and [s["id"] for s in listed] == [shown["id"]]
    for method in ("GET", "PUT", "DELETE"):
        status, problem = await api.call(
            method, f"/api/services/{hidden['id']}", json={"name": "x"}, key=outsider_key
        )
        assert status == 404, (method, problem)
    status, _ = await api.call("GET", "/api/services/name/Hidden", key=outsider_key)
    assert status == 404
    for method in ("PUT", "DELETE"):
        status, problem = await api.call(
            method, f"/api/services/{shown['id']}", json={"name": "x"}, key=outsider_key
        )
        assert status == 403, (method, problem)

    # the private team's ADMIN member sees and changes its service
    status, read = await api.call("GET", f"/api/services/{hidden['id']}", key=member_key)
    assert status == 200 and read["teams"] == [{"id": private, "name": "private"}]
    status, replaced = await api.call(
        "PUT", f"/api/services/{hidden['id']}", json={"name": "Renamed"}, key=member_key
    )
    assert status == 200 and replaced["teams"] == read["teams"], "absent teams are kept"
    # team-context: only that team's services
    status, listed = await api.call("GET", "/api/services", headers={"team-context": str(public)})
    assert status == 200 and [s["id"] for s in listed] == [shown["id"]]
    del outsider


async def test_uptime_and_status_without_incidents(api: Api) -> None:
    made = await make(api)
    status, read = await api.call("GET", f"/api/services/{made['id']}?include=uptime")
    assert status == 200, read
    assert read["status"] == "OPERATIONAL"
    uptime = read["uptime"]
    assert uptime["outages"] == []
    assert uptime["uptimePercentage"] == {"p90": 100, "p60": 100, "p30": 100}
    start = datetime.fromisoformat(uptime["rangeStart"])
    end = datetime.fromisoformat(uptime["rangeEnd"])
    assert end - start == timedelta(days=90)
    assert abs(end - datetime.now(UTC)) < timedelta(hours=1)
    # repeated or comma-separated; unknown names ignored; a list answers them too
    status, listed = await api.call(
        "GET", "/api/services?include=uptime,subscribed&include=incidents&include=nonsense"
    )
    assert status == 200
    assert listed[0]["uptime"]["uptimePercentage"]["p90"] == 100
    assert listed[0]["subscribed"] is False and listed[0]["incidents"] == []
    status, plain = await api.call("GET", f"/api/services/{made['id']}")
    assert "uptime" not in plain and "incidents" not in plain


async def test_service_outages(api: Api) -> None:
    made = await make(api)
    status, found = await api.call("GET", "/api/service-outages")
    assert status == 200 and found == []
    status, found = await api.call(
        "GET",
        f"/api/service-outages?services={made['id']}&from=2026-01-01T00:00:00Z"
        "&until=2026-02-01T00:00:00%2B01:00",
    )
    assert status == 200 and found == []
    for query, field in (
        ("services=abc", "services"),
        ("services=0", "services"),
        ("from=yesterday", "from"),
        ("until=2026-01-01T00:00:00", "until"),
        ("until=9999-12-31T23:00:00-05:00", "until"),
    ):
        status, problem = await api.call("GET", f"/api/service-outages?{query}")
        assert status == 400 and problem["field"] == field, (query, problem)
    # the earliest time there is: nothing before it, no overflow
    status, found = await api.call("GET", "/api/service-outages?until=0001-01-01T00:00:00Z")
    assert status == 200 and found == []


async def uptime_of(api: Api, service_id: int) -> dict[str, Any]:
    status, read = await api.call("GET", f"/api/services/{service_id}?include=uptime")
    assert status == 200, read
    return read


async def test_uptime_and_outages_follow_an_incidents_impacts(api: Api) -> None:
    """A real incident: its MAJOR_OUTAGE is an outage (open while it lasts, closed when the
    impact drops to DEGRADED, which is no outage), counted against the uptime; the outage
    is listed by /api/service-outages; resolving leaves the history as it was."""
    shop = (await make(api, name="Shop"))["id"]
    blog = (await make(api, name="Blog"))["id"]
    status, incident = await api.call(
        "POST",
        "/api/incidents",
        json={
            "title": "db",
            "affectedServices": [{"service": {"id": shop}, "impact": "MAJOR_OUTAGE"}],
        },
    )
    assert status == 200, incident
    read = await uptime_of(api, shop)
    assert read["status"] == "MAJOR_OUTAGE"
    [outage] = read["uptime"]["outages"]
    assert outage["status"] == "MAJOR_OUTAGE" and outage["until"] is None
    assert read["uptime"]["uptimePercentage"]["p30"] < 100
    assert (await uptime_of(api, blog))["uptime"]["uptimePercentage"]["p30"] == 100

    degraded = [{"service": {"id": shop}, "impact": "DEGRADED"}]
    path = f"/api/incidents/{incident['id']}"
    status, changed = await api.call("PUT", path, json={"affectedServices": degraded})
    assert status == 200, changed
    read = await uptime_of(api, shop)
    assert read["status"] == "DEGRADED"
    [closed] = read["uptime"]["outages"]
    assert closed["from"] == outage["from"] and closed["until"] is not None
    assert closed["until"] >= closed["from"]
    percentages = read["uptime"]["uptimePercentage"]
    assert all(p < 100 for p in percentages.values()), percentages

    status, found = await api.call("GET", "/api/service-outages")
    assert status == 200
    assert found == [{"service": {"id": shop, "name": "Shop"}, **closed}]
    status, found = await api.call("GET", f"/api/service-outages?services={blog}")
    assert status == 200 and found == []
    # a window that ended before the outage began has none
    status, found = await api.call("GET", "/api/service-outages?until=2026-01-01T00:00:00Z")
    assert status == 200 and found == []

    status, _ = await api.call("PUT", path, json={"status": "RESOLVED"})
    assert status == 200
    read = await uptime_of(api, shop)
    assert read["status"] == "OPERATIONAL"
    assert read["uptime"]["outages"] == [closed]


async def test_open_incidents_are_included_and_block_the_delete(api: Api) -> None:
    checkout = await make(api)
    other = await make(api, name="Search")
    status, incident = await api.call(
        "POST",
        "/api/incidents",
        json={
            "title": "Payments fail",
            "affectedServices": [{"service": {"id": checkout["id"]}, "impact": "MAJOR_OUTAGE"}],
        },
    )
    assert status == 200, incident
    status, listed = await api.call("GET", "/api/services", params={"include": "incidents"})
    assert status == 200, listed
    by_id = {s["id"]: s for s in listed}
    [shown] = by_id[checkout["id"]]["incidents"]
    assert (shown["id"], shown["reference"], shown["status"]) == (
        incident["id"],
        incident["reference"],
        "DECLARED",
    )
    assert by_id[other["id"]]["incidents"] == []

    before = await head(api)
    status, problem = await api.call("DELETE", f"/api/services/{checkout['id']}")
    assert status == 409, problem
    assert incident["reference"] in problem["detail"]
    assert await head(api) == before  # refused, nothing recorded
    status, _ = await api.call("GET", f"/api/services/{checkout['id']}")
    assert status == 200

    status, _ = await api.call(
        "PUT", f"/api/incidents/{incident['id']}", json={"status": "RESOLVED"}
    )
    assert status == 200
    status, one = await api.call("GET", f"/api/services/{checkout['id']}?include=incidents")
    assert status == 200 and one["incidents"] == []
    status, _ = await api.call("DELETE", f"/api/services/{checkout['id']}")
    assert status == 204
