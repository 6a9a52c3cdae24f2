"""ilert-go's alert and event calls (alert.go, event.go), each sent as ilert-go sends it:
the JSON its structs marshal to (fields without ``omitempty`` present with Go's zero value),
its query parameters, its headers, and no body where it sends none. Each test checks the
status code ilert-go accepts and that the fields it reads unmarshal into its Go types (a
number where Go has a string is an error there; ``null`` leaves the zero value)."""

from __future__ import annotations

from typing import Any

from ..integration.conftest import Api

#: the headers ilert-go's client sets on every request (client.go)
GO_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "User-Agent": "ilert-go/3.0.0",
}

#: Go field kinds: what JSON each may hold for json.Unmarshal to succeed
STRING, INT, OBJECT, LIST = (str,), (int,), (dict,), (list,)

#: the fields of ilert-go's Alert struct that ilertd serves, and their Go kinds
ALERT = {
    "id": INT,
    "summary": STRING,
    "details": STRING,
    "reportTime": STRING,
    "resolvedOn": STRING,
    "status": STRING,
    "alertSource": OBJECT,
    "priority": STRING,
    "alertKey": STRING,
    "assignedTo": OBJECT,
    "nextEscalation": STRING,
    "images": LIST,
    "links": LIST,
    "customDetails": OBJECT,
}
EVENT_RESPONSE = {"alertKey": STRING, "alertUrl": STRING, "responseCode": STRING}
LOG_ENTRY = {
    "id": INT,
    "timestamp": STRING,
    "logEntryType": STRING,
    "text": STRING,
    "alertId": INT,
}
USER = {"id": INT, "firstName": STRING, "lastName": STRING, "username": STRING, "email": STRING}


def go_reads(value: Any, fields: dict[str, tuple[type, ...]]) -> None:
    """``value`` unmarshals into a Go struct with ``fields``: each present field is null or
    of its kind (a bool is no Go int)."""
    assert isinstance(value, dict), value
    for name, kinds in fields.items():
        got = value.get(name)
        assert got is None or (isinstance(got, kinds) and not isinstance(got, bool)), (name, got)


def go_event(key: str, event_type: str, **fields: Any) -> dict[str, Any]:
    """ilert-go's Event as encoding/json writes it: apiKey, eventType and summary always
    (no omitempty), the rest only when set."""
    return {"apiKey": key, "eventType": event_type, "summary": fields.pop("summary", ""), **fields}


async def _source(api: Api) -> dict[str, Any]:
    status, source = await api.call(
        "POST", "/api/alert-sources", json={"name": "go", "integrationType": "API"}
    )
    assert status == 201, source
    await api.settle()
    return source


async def _send(api: Api, body: dict[str, Any], path: str = "/api/events") -> tuple[int, Any]:
    return await api.call("POST", path, json=body, key=None, headers=GO_HEADERS)


async def _go(api: Api, method: str, path: str) -> tuple[int, Any]:
    """A call without a body, as resty sends ilert-go's PUTs and GETs."""
    return await api.call(method, path, headers=GO_HEADERS)


async def _user(api: Api, name: str) -> int:
    status, user = await api.call(
        "POST",
        "/api/users",
        json={
            "email": f"{name}@example.test",
            "username": name,
            "firstName": name,
            "lastName": "Go",
        },
    )
    assert status == 201, user
    return user["id"]


async def test_create_event_alert_with_every_field_ilert_go_marshals(api: Api) -> None:
    """CreateEvent: POST /api/events, 200 or 202; an AlertImage without a link carries
    ``"href": ""`` (no omitempty), and ``logs`` is a field ilertd does not know."""
    source = await _source(api)
    body = go_event(
        source["integrationKey"],
        "ALERT",
        summary="disk full on db-1",
        details="97% used",
        alertKey="db-1/disk",
        priority="HIGH",
        images=[{"src": "https://grafana.example/d.png", "href": "", "alt": ""}],
        links=[{"text": "runbook", "href": "https://runbook.example/disk"}],
        labels={"env": "prod"},
        customDetails={"used": 0.97},
        comments=[{"creator": "", "content": "from ilert-go"}],
        logs=[{"timestamp": "2026-12-03T08:00:00Z", "level": "INFO", "body": "x"}],
    )
    status, answer = await _send(api, body)
    assert status in (200, 202), answer
    go_reads(answer, EVENT_RESPONSE)
    assert answer["responseCode"] == "NEW_ALERT_CREATED"
    assert answer["alertKey"] == "db-1/disk" and answer["alertUrl"].endswith(
        f"/api/alerts/{answer['alertId']}"
    )
    await api.settle()
    status, alert = await _go(api, "GET", f"/api/alerts/{answer['alertId']}")
    assert status == 200
    assert alert["images"] == [{"src": "https://grafana.example/d.png", "alt": ""}]
    assert alert["priority"] == "HIGH" and alert["labels"] == {"env": "prod"}


async def test_create_event_accept_and_resolve_send_an_empty_summary(api: Api) -> None:
    """ilert-go's ACCEPT and RESOLVE events carry ``"summary": ""``."""
    source = await _source(api)
    key = source["integrationKey"]
    opened = await _send(api, go_event(key, "ALERT", summary="x", alertKey="k1"))
    assert opened[0] == 202, opened
    for event_type, code in (("ACCEPT", "ALERT_ACCEPTED"), ("RESOLVE", "ALERT_RESOLVED")):
        status, answer = await _send(api, go_event(key, event_type, alertKey="k1"))
        assert status == 202 and answer["responseCode"] == code, answer
        go_reads(answer, EVENT_RESPONSE)


async def test_create_event_on_the_legacy_url_answers_200(api: Api) -> None:
    """CreateEvent with ``URL`` set to the legacy path (older ilert-go posted there)."""
    source = await _source(api)
    body = go_event(source["integrationKey"], "ALERT", summary="legacy", alertKey="old")
    status, answer = await _send(api, body, path="/api/v1/events")
    assert status == 200, answer
    go_reads(answer, EVENT_RESPONSE | {"incidentKey": STRING, "incidentUrl": STRING})
    assert answer["incidentKey"] == "old" == answer["alertKey"]


async def test_create_event_with_an_unknown_key_is_a_404_ilert_go_decodes(api: Api) -> None:
    """getGenericAPIError unmarshals {status, code, message} from a non-2xx answer."""
    status, problem = await _send(api, go_event("nope", "ALERT", summary="x"))
    assert status == 404
    go_reads(problem, {"status": INT, "code": STRING, "message": STRING})
    assert problem["status"] == 404


async def _alert(api: Api, source: dict[str, Any], **fields: Any) -> int:
    body = go_event(source["integrationKey"], "ALERT", summary="go alert", **fields)
    status, answer = await _send(api, body)
    assert status == 202, answer
    await api.settle()
    return answer["alertId"]


async def test_get_alert_with_ilert_go_includes(api: Api) -> None:
    """GetAlert: GET /api/alerts/{id}?include=escalationRules&include=nextEscalationUser."""
    source = await _source(api)
    alert_id = await _alert(api, source, alertKey="g1", customDetails={"a": 1})
    path = f"/api/alerts/{alert_id}?include=escalationRules&include=nextEscalationUser"
    status, alert = await _go(api, "GET", path)
    assert status == 200, alert
    go_reads(alert, ALERT)
    assert alert["id"] == alert_id and alert["status"] == "PENDING"
    assert alert["alertSource"]["id"] == source["id"]


async def test_get_alerts_and_count_with_ilert_go_query(api: Api) -> None:
    """GetAlerts and GetAlertsCount: the legacy names ilert-go sends (state, alert-source,
    assigned-to) and its paging defaults."""
    source = await _source(api)
    alert_id = await _alert(api, source)
    query = f"start-index=0&max-results=50&state=PENDING&alert-source={source['id']}"
    status, alerts = await _go(api, "GET", f"/api/alerts?{query}")
    assert status == 200 and [a["id"] for a in alerts] == [alert_id], alerts
    for alert in alerts:
        go_reads(alert, ALERT)
    status, counted = await _go(api, "GET", "/api/alerts/count?state=PENDING&state=ACCEPTED")
    assert status == 200 and counted == {"count": 1}, counted


async def test_accept_then_resolve_alert(api: Api) -> None:
    """AcceptAlert and ResolveAlert: PUT without a body, 200 and the Alert."""
    source = await _source(api)
    alert_id = await _alert(api, source)
    status, alert = await _go(api, "PUT", f"/api/alerts/{alert_id}/accept")
    assert status == 200 and alert["status"] == "ACCEPTED", alert
    go_reads(alert, ALERT)
    status, alert = await _go(api, "PUT", f"/api/alerts/{alert_id}/resolve")
    assert status == 200 and alert["status"] == "RESOLVED" and alert["resolvedOn"], alert
    go_reads(alert, ALERT)


async def test_assign_alert_by_ilert_go_query_parameters(api: Api) -> None:
    """AssignAlert: PUT /api/alerts/{id}/assign?user-id= (or policy-id=), no body, 200."""
    source = await _source(api)
    alert_id = await _alert(api, source)
    user_id = await _user(api, "gopher")
    status, alert = await _go(api, "PUT", f"/api/alerts/{alert_id}/assign?user-id={user_id}")
    assert status == 200, alert
    go_reads(alert, ALERT)
    go_reads(alert["assignedTo"], USER)
    assert alert["assignedTo"]["id"] == user_id
    status, policy = await api.call(
        "POST",
        "/api/escalation-policies",
        json={"name": "go", "escalationRules": [{"escalationTimeout": 5, "users": [user_id]}]},
    )
    assert status == 201, policy
    path = f"/api/alerts/{alert_id}/assign?policy-id={policy['id']}"
    status, alert = await _go(api, "PUT", path)
    assert status == 200 and alert["escalationPolicy"] == {"id": policy["id"]}, alert
    status, problem = await _go(api, "PUT", f"/api/alerts/{alert_id}/assign")
    assert status == 400 and problem["field"] == "user", problem


async def test_get_alert_log_entries(api: Api) -> None:
    """GetAlertLogEntries: GET /api/alerts/{id}/log-entries, 200, a list of AlertLogEntry."""
    source = await _source(api)
    alert_id = await _alert(api, source)
    await _go(api, "PUT", f"/api/alerts/{alert_id}/accept")
    status, entries = await _go(api, "GET", f"/api/alerts/{alert_id}/log-entries")
    assert status == 200, entries
    for entry in entries:
        go_reads(entry, LOG_ENTRY)
    kinds = [e["logEntryType"] for e in entries]
    assert kinds[:1] == ["AlertReceivedLogEntry"] and "AlertAcceptedLogEntry" in kinds


async def test_assign_alert_by_username_then_list_by_username(api: Api) -> None:
    """AssignAlert with Username (ilert-go puts it in user-id), then GetAlerts and
    GetAlertsCount with AssignedToUserNames (assigned-to=<username>)."""
    source = await _source(api)
    alert_id = await _alert(api, source)
    other = await _alert(api, source, alertKey="other")
    user_id = await _user(api, "gopher")
    status, alert = await _go(api, "PUT", f"/api/alerts/{alert_id}/assign?user-id=Gopher")
    assert status == 200 and alert["assignedTo"]["id"] == user_id, alert
    status, problem = await _go(api, "PUT", f"/api/alerts/{other}/assign?user-id=nobody")
    assert status == 400 and problem["field"] == "user-id", problem
    await api.settle()
    status, alerts = await _go(api, "GET", "/api/alerts?assigned-to=gopher")
    assert status == 200 and [a["id"] for a in alerts] == [alert_id], alerts
    status, counted = await _go(api, "GET", "/api/alerts/count?assigned-to=nobody")
    assert status == 200 and counted == {"count": 0}, counted
    query = f"assigned-to={user_id}&assigned-to=nobody"
    status, counted = await _go(api, "GET", f"/api/alerts/count?{query}")
    assert counted == {"count": 1}, counted
