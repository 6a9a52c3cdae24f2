"""ilert-go's incident calls (incident.go), sent as json.Marshal writes its ``Incident``
struct (zero values included: ``"id": 0``, ``"createdAt": ""``, ``"affectedServices":
null``; ``resolvedOn``, ``subscribed`` and ``affectedTeams`` are omitempty), each answer
checked with the status ilert-go insists on and decoded as Go's encoding/json would."""

from __future__ import annotations

from typing import Any

from ..integration.conftest import Api
from .test_outbound import decodable

INCIDENT_OUTPUT: dict[str, Any] = {
    "id": int,
    "summary": str,
    "status": str,
    "message": str,
    "sendNotification": bool,
    "createdAt": str,
    "updatedAt": str,
    "affectedServices": [{"impact": str, "service": {"id": int, "name": str}}],
    "resolvedOn": str,
    "subscribed": bool,
    "affectedTeams": [dict],
}


def go_incident(**fields: Any) -> dict[str, Any]:
    return {
        "id": 0,
        "summary": "Login broken",
        "status": "INVESTIGATING",
        "message": "We are looking into it",
        "sendNotification": False,
        "createdAt": "",
        "updatedAt": "",
        "affectedServices": None,
    } | fields


async def test_ilert_go_incident_lifecycle(api: Api) -> None:
    status, service = await api.call("POST", "/api/services", json={"name": "login"})
    assert status == 201
    affected = [{"impact": "MAJOR_OUTAGE", "service": {"id": service["id"], "name": "login"}}]
    status, made = await api.call(
        "POST", "/api/incidents", json=go_incident(affectedServices=affected)
    )
    assert status == 200, made  # CreateIncident: getGenericAPIError(resp, 200)
    decodable(made, INCIDENT_OUTPUT)
    assert made["summary"] == "Login broken" and made["status"] == "INVESTIGATING"
    assert made["affectedServices"][0]["impact"] == "MAJOR_OUTAGE"

    # GetIncidents: start-index and max-results always; state and services repeated
    status, listed = await api.call(
        "GET",
        f"/api/incidents?start-index=0&max-results=10&state=INVESTIGATING&state=IDENTIFIED"
        f"&services={service['id']}",
    )
    assert status == 200 and [i["id"] for i in listed] == [made["id"]], listed
    for item in listed:
        decodable(item, INCIDENT_OUTPUT)

    # GetIncident with includes ilert-go knows (ignored: no subscribers yet)
    path = f"/api/incidents/{made['id']}"
    status, got = await api.call("GET", f"{path}?include=subscribed&include=history")
    assert status == 200, got
    decodable(got, INCIDENT_OUTPUT)

    # UpdateIncident: the whole struct back, resolvedOn left out (omitempty, "")
    sent = go_incident(id=made["id"], status="RESOLVED", message="Fixed", affectedServices=affected)
    status, updated = await api.call("PUT", path, json=sent)
    assert status == 200, updated  # UpdateIncident: getGenericAPIError(resp, 200)
    decodable(updated, INCIDENT_OUTPUT)
    assert updated["status"] == "RESOLVED" and updated["message"] == "Fixed"
    assert updated["resolvedOn"]
