"""ilert-go's service calls (service.go) and the Terraform provider's (resource_service.go,
data_source_service.go), each sent as they serialise ilert-go's ``Service`` struct (every
field but the ``omitempty`` ones, zero values included: ``"id": 0``, ``"status": ""``,
``"teams": null``), the answer checked with the status ilert-go insists on and decoded as
Go's encoding/json would decode it."""

from __future__ import annotations

from typing import Any

from ..integration.conftest import Api
from .test_outbound import decodable

UPTIME: dict[str, Any] = {
    "rangeStart": str,
    "rangeEnd": str,
    "outages": [{"status": str, "from": str, "until": str}],
    "uptimePercentage": {"p90": float, "p60": float, "p30": float},
}
SERVICE_OUTPUT: dict[str, Any] = {
    "id": int,
    "name": str,
    "alias": str,
    "status": str,
    "description": str,
    "oneOpenIncidentOnly": bool,
    "showUptimeHistory": bool,
    "teams": [{"id": int, "name": str}],
    "subscribed": bool,
    "uptime": UPTIME,
    "incidents": [dict],
}
STATUSES = {"OPERATIONAL", "UNDER_MAINTENANCE", "DEGRADED", "PARTIAL_OUTAGE", "MAJOR_OUTAGE"}


def go_service(**fields: Any) -> dict[str, Any]:
    """ilert-go's ``Service`` as json.Marshal writes it for a new one."""
    return {
        "id": 0,
        "name": "checkout",
        "alias": "",
        "status": "",
        "description": "",
        "oneOpenIncidentOnly": False,
        "showUptimeHistory": False,
        "teams": None,
    } | fields


async def test_ilert_go_service_lifecycle(api: Api) -> None:
    status, made = await api.call("POST", "/api/services", json=go_service())
    assert status == 201, made  # CreateService: getGenericAPIError(resp, 201)
    decodable(made, SERVICE_OUTPUT)
    assert made["status"] in STATUSES and made["showUptimeHistory"] is False
    ident = made["id"]

    # GetServices: start-index and max-results always, include repeated
    status, listed = await api.call(
        "GET",
        "/api/services?start-index=0&max-results=10&include=uptime&include=incidents"
        "&include=subscribed",
    )
    assert status == 200, listed
    assert [decodable(s, SERVICE_OUTPUT)["id"] for s in listed] == [ident]
    assert listed[0]["uptime"]["uptimePercentage"] == {"p90": 100, "p60": 100, "p30": 100}

    status, read = await api.call("GET", f"/api/services/{ident}?include=uptime")
    assert status == 200 and decodable(read, SERVICE_OUTPUT)["uptime"]["outages"] == []
    status, found = await api.call("GET", "/api/services/name/checkout")
    assert status == 200 and decodable(found, SERVICE_OUTPUT)["id"] == ident

    body = go_service(id=ident, name="shop", status=read["status"], description="the shop")
    status, replaced = await api.call("PUT", f"/api/services/{ident}", json=body)
    assert status == 200, replaced  # UpdateService: 200
    assert decodable(replaced, SERVICE_OUTPUT)["description"] == "the shop"

    status, _ = await api.call("DELETE", f"/api/services/{ident}")
    assert status == 204  # DeleteService: 204
    status, _ = await api.call("GET", f"/api/services/{ident}")
    assert status == 404  # the provider drops it from its state on a NotFoundAPIError


async def test_terraform_service_with_teams(api: Api) -> None:
    status, team = await api.call("POST", "/api/teams", json={"name": "ops"})
    assert status == 201, team
    # buildService: alias and the status default (OPERATIONAL) sent, teams as TeamShort
    body = go_service(
        name="api",
        alias="api",
        status="OPERATIONAL",
        showUptimeHistory=True,
        teams=[{"id": team["id"]}],
    )
    status, made = await api.call("POST", "/api/services", json=body)
    assert status == 201, made
    assert decodable(made, SERVICE_OUTPUT)["teams"] == [{"id": team["id"], "name": "ops"}]
    assert made["alias"] == "api" and made["status"] == "OPERATIONAL"
    # every team block removed: the provider sends an explicit []
    status, replaced = await api.call(
        "PUT", f"/api/services/{made['id']}", json=body | {"teams": []}
    )
    assert status == 200 and replaced["teams"] == []
    # no team block ever: teams null keeps what was assigned elsewhere
    await api.call("PUT", f"/api/services/{made['id']}", json=body)
    status, kept = await api.call("PUT", f"/api/services/{made['id']}", json=body | {"teams": None})
    assert status == 200 and kept["teams"] == [{"id": team["id"], "name": "ops"}]
