"""ilert-go's connector and alert action calls (connector.go, alert_action.go), each sent
as ilert-go serialises its structs (``omitempty`` fields left out, zero values sent), the
answer checked with the status ilert-go insists on and decoded as Go's encoding/json would
decode it into ilert-go's output struct: a number for a ``string`` field is an error there,
``null`` is not."""

from __future__ import annotations

from typing import Any

from ..integration.conftest import Api
from ..integration.test_events_api import make_source

#: Go types of the fields ilert-go reads back: str, int, bool, a list of one type, or a
#: nested struct as a dict; fields ilert-go does not declare are ignored by Go, and here.
CONNECTOR_OUTPUT: dict[str, Any] = {
    "id": str,
    "name": str,
    "type": str,
    "createdAt": str,
    "updatedAt": str,
    "params": {
        "apiKey": str,
        "authorization": str,
        "url": str,
        "email": str,
        "username": str,
        "password": str,
    },
}
ALERT_SOURCE: dict[str, Any] = {"id": int, "name": str, "integrationType": str, "active": bool}
ALERT_ACTION_OUTPUT: dict[str, Any] = {
    "id": str,
    "name": str,
    "alertSourceIds": [int],
    "alertSources": [ALERT_SOURCE],
    "connectorId": str,
    "connectorType": str,
    "triggerMode": str,
    "delaySec": int,
    "escalationEndedDelaySec": int,
    "notResolvedDelaySec": int,
    "triggerTypes": [str],
    "createdAt": str,
    "updatedAt": str,
    "params": {
        "bodyTemplate": str,
        "issueType": str,
        "project": str,
        "recipients": [str],
        "subject": str,
        "webhookUrl": str,
        "headers": [{"key": str, "value": str}],
        "url": str,
    },
    "alertFilter": {
        "operator": str,
        "predicates": [{"field": str, "criteria": str, "value": str}],
    },
    "teams": [{"id": int, "name": str}],
    "conditions": str,
}


def go_decode_errors(value: Any, shape: Any, where: str = "") -> list[str]:
    """Where json.Unmarshal into ilert-go's struct would fail on ``value``."""
    if value is None:
        return []  # null leaves a Go field at its zero value
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{where}: an object expected, got {value!r}"]
        return [
            error
            for key, inner in shape.items()
            if key in value
            for error in go_decode_errors(value[key], inner, f"{where}.{key}")
        ]
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{where}: an array expected, got {value!r}"]
        return [
            e for i, v in enumerate(value) for e in go_decode_errors(v, shape[0], f"{where}[{i}]")
        ]
    if shape is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, shape)
    return [] if ok else [f"{where}: Go wants {shape.__name__}, got {value!r}"]


def decodable(body: Any, shape: Any) -> Any:
    errors = go_decode_errors(body, shape)
    assert not errors, errors
    return body


JIRA = {"url": "https://acme.atlassian.example", "email": "bot@acme.example", "password": "tok"}


async def create_connector(api: Api, **fields: Any) -> dict[str, Any]:
    # ilert-go's Connector: id and times omitempty, name, type and params always sent
    body = {"name": "jira", "type": "jira", "params": JIRA} | fields
    status, connector = await api.call("POST", "/api/connectors", json=body)
    assert status == 201, connector  # CreateConnector: catchGenericAPIError(resp, 201)
    return decodable(connector, CONNECTOR_OUTPUT)


def webhook_action(**fields: Any) -> dict[str, Any]:
    """ilert-go's AlertAction for a custom webhook as the Terraform provider builds it."""
    return {
        "name": "siem",
        "connectorType": "webhook",
        "triggerMode": "AUTOMATIC",
        "triggerTypes": ["alert-created", "alert-resolved"],
        "params": {
            "webhookUrl": "https://hooks.example.test/in",
            "bodyTemplate": '{"id": "{{alertId}}"}',
            "headers": [{"key": "X-Team", "value": "ops"}],
        },
    } | fields


async def make_team(api: Api, name: str) -> int:
    status, team = await api.call("POST", "/api/teams", json={"name": name})
    assert status == 201, team
    return team["id"]


async def create_action(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    status, action = await api.call("POST", "/api/alert-actions", json=body)
    assert status == 201, action  # CreateAlertAction: getGenericAPIError(resp, 201)
    return decodable(action, ALERT_ACTION_OUTPUT)


# --- connectors ------------------------------------------------------------------------


async def test_create_connector_answers_a_string_id(api: Api) -> None:
    connector = await create_connector(api)
    assert connector["id"].isdigit()  # the Terraform provider keeps it with d.SetId
    assert connector["params"]["url"] == JIRA["url"] and "password" not in connector["params"]


async def test_get_connector_by_the_string_id(api: Api) -> None:
    made = await create_connector(api)
    status, connector = await api.call("GET", f"/api/connectors/{made['id']}")
    assert status == 200, connector
    assert decodable(connector, CONNECTOR_OUTPUT)["id"] == made["id"]


async def test_get_connectors_lists_decodable_connectors(api: Api) -> None:
    made = await create_connector(api)
    status, listed = await api.call("GET", "/api/connectors")
    assert status == 200, listed
    assert [decodable(c, CONNECTOR_OUTPUT)["id"] for c in listed] == [made["id"]]


async def test_update_connector_by_the_string_id(api: Api) -> None:
    made = await create_connector(api)
    body = {"name": "jira-2", "type": "jira", "params": JIRA}
    status, connector = await api.call("PUT", f"/api/connectors/{made['id']}", json=body)
    assert status == 200, connector  # UpdateConnector: 200
    assert decodable(connector, CONNECTOR_OUTPUT)["name"] == "jira-2"


async def test_search_connector_by_name(api: Api) -> None:
    made = await create_connector(api, name="jira cloud")
    status, connector = await api.call("GET", "/api/connectors/name/jira cloud")
    assert status == 200, connector
    assert decodable(connector, CONNECTOR_OUTPUT)["id"] == made["id"]
    status, problem = await api.call("GET", "/api/connectors/name/nothing")
    assert status == 404 and problem["status"] == 404  # ilert-go's NotFoundAPIError


async def test_delete_connector_answers_204_then_404(api: Api) -> None:
    made = await create_connector(api)
    status, _ = await api.call("DELETE", f"/api/connectors/{made['id']}")
    assert status == 204  # DeleteConnector: catchGenericAPIError(resp, 204)
    status, problem = await api.call("GET", f"/api/connectors/{made['id']}")
    # the Terraform provider drops a resource from its state on a 404
    assert status == 404 and problem["status"] == 404


# --- alert actions ---------------------------------------------------------------------


async def test_create_alert_action_with_one_source(api: Api) -> None:
    """ilert-go moves a single source without teams into ``alertSourceIds``."""
    source = await make_source(api)
    action = await create_action(api, webhook_action(alertSourceIds=[source["id"]]))
    assert action["id"].isdigit()
    assert action["alertSources"] == [{"id": source["id"]}]
    assert action["triggerTypes"] == ["alert-created", "alert-resolved"]
    assert action["params"]["headers"] == [{"key": "X-Team", "value": "ops"}]


async def test_create_alert_action_with_sources_teams_and_a_string_connector_id(
    api: Api,
) -> None:
    """Two sources go as ilert-go's AlertSource structs (their zero fields sent), teams as
    TeamShort, the connector as its string id; an action on a connector sends params null."""
    first, second = await make_source(api), await make_source(api, name="other")
    connector = await create_connector(
        api, name="teams", type="microsoft_teams", params={"url": "https://teams.example.test"}
    )
    sources = [
        {"id": s["id"], "name": "", "integrationType": "", "active": False} for s in (first, second)
    ]
    body = {
        "name": "to teams",
        "alertSources": sources,
        "connectorId": connector["id"],
        "connectorType": "microsoft_teams_webhook",
        "triggerMode": "AUTOMATIC",
        "params": None,
        "teams": [{"id": await make_team(api, "ops")}],
    }
    action = await create_action(api, body)
    assert action["connectorId"] == connector["id"]
    assert action["teams"] == [{"id": body["teams"][0]["id"], "name": "ops"}]
    assert sorted(s["id"] for s in action["alertSources"]) == sorted([first["id"], second["id"]])


async def test_get_alert_action_with_version_by_the_string_id(api: Api) -> None:
    made = await create_action(api, webhook_action())
    status, action = await api.call("GET", f"/api/alert-actions/{made['id']}?version=1")
    assert status == 200, action  # GetAlertAction: 200 (Terraform sends version)
    assert decodable(action, ALERT_ACTION_OUTPUT)["id"] == made["id"]


async def test_get_alert_actions_with_ilert_gos_paging(api: Api) -> None:
    made = await create_action(api, webhook_action())
    status, listed = await api.call("GET", "/api/alert-actions?start-index=0&max-results=50")
    assert status == 200, listed
    assert [decodable(a, ALERT_ACTION_OUTPUT)["id"] for a in listed] == [made["id"]]


async def test_search_alert_action_by_name(api: Api) -> None:
    made = await create_action(api, webhook_action(name="siem hook"))
    status, action = await api.call("GET", "/api/alert-actions/name/siem hook")
    assert status == 200, action
    assert decodable(action, ALERT_ACTION_OUTPUT)["id"] == made["id"]
    status, problem = await api.call("GET", "/api/alert-actions/name/nothing")
    assert status == 404 and problem["status"] == 404


async def test_update_alert_action_with_go_zero_values(api: Api) -> None:
    """An unset trigger mode is ilert-go's "" (the field has no omitempty): the default."""
    made = await create_action(api, webhook_action(triggerMode="MANUAL"))
    body = webhook_action(name="siem-2", triggerMode="", escalationEndedDelaySec=60)
    body["triggerTypes"] = ["alert-escalation-ended"]
    status, action = await api.call("PUT", f"/api/alert-actions/{made['id']}", json=body)
    assert status == 200, action  # UpdateAlertAction: 200
    decodable(action, ALERT_ACTION_OUTPUT)
    assert action["name"] == "siem-2" and action["triggerMode"] == "AUTOMATIC"
    assert action["escalationEndedDelaySec"] == 60


async def test_create_alert_action_with_conditions(api: Api) -> None:
    """ilert-go's newer ``conditions`` keeps ``alertSources`` as they are."""
    source = await make_source(api)
    body = webhook_action(alertSources=[{"id": source["id"]}], conditions='priority == "HIGH"')
    action = await create_action(api, body)
    assert action["conditions"] == 'priority == "HIGH"'


async def test_bad_alert_action_is_a_400_naming_the_field(api: Api) -> None:
    """ilert-go surfaces a 400 as BadRequestAPIError with the message; nothing is made."""
    body = webhook_action(connectorId="not-a-number")
    status, problem = await api.call("POST", "/api/alert-actions", json=body)
    assert status == 400 and problem["field"] == "connectorId", problem
    assert (await api.call("GET", "/api/alert-actions"))[1] == []


async def test_delete_alert_action_answers_204_then_404(api: Api) -> None:
    made = await create_action(api, webhook_action())
    status, _ = await api.call("DELETE", f"/api/alert-actions/{made['id']}")
    assert status == 204  # DeleteAlertAction: getGenericAPIError(resp, 204)
    status, problem = await api.call("GET", f"/api/alert-actions/{made['id']}")
    assert status == 404 and problem["status"] == 404


def test_the_go_check_refuses_what_encoding_json_refuses() -> None:
    """The decoding check can fail: a numeric id is what ilertd answered before, and what
    ilert-go's ``ID string`` cannot take."""
    assert go_decode_errors({"id": 5, "name": None}, CONNECTOR_OUTPUT) == [
        ".id: Go wants str, got 5"
    ]
    assert go_decode_errors({"alertSources": [{"id": "5"}]}, ALERT_ACTION_OUTPUT)
    assert go_decode_errors({"delaySec": True}, ALERT_ACTION_OUTPUT)
    assert not go_decode_errors({"connectorId": None, "extra": 1}, ALERT_ACTION_OUTPUT)


async def test_alert_action_teams_as_ilert_go_sends_them(api: Api) -> None:
    """``Teams *[]TeamShort `json:"teams,omitempty"```: a nil pointer leaves the field out
    (the teams are kept), a pointer to an empty slice sends ``[]`` (they are cleared);
    TeamShort's ``name`` is omitempty, the Terraform provider sets it from a ``team``
    block."""
    ops, dev = await make_team(api, "ops"), await make_team(api, "dev")
    action = await create_action(
        api, webhook_action(teams=[{"id": dev}, {"id": ops, "name": "ops"}])
    )
    url = f"/api/alert-actions/{action['id']}"
    assert action["teams"] == sorted(
        [{"id": ops, "name": "ops"}, {"id": dev, "name": "dev"}], key=lambda t: t["id"]
    )
    status, kept = await api.call("PUT", url, json=webhook_action(name="kept"))
    assert status == 200 and decodable(kept, ALERT_ACTION_OUTPUT)["teams"] == action["teams"]
    status, cleared = await api.call("PUT", url, json=webhook_action(teams=[]))
    assert status == 200 and decodable(cleared, ALERT_ACTION_OUTPUT)["teams"] == []
    status, problem = await api.call("PUT", url, json=webhook_action(teams=[{"id": 987654321}]))
    assert status == 400 and problem["field"] == "teams[0].id"  # a GenericAPIError


async def test_connector_teams_are_kept_by_ilert_gos_connector_which_has_none(api: Api) -> None:
    """ilert-go's Connector has no ``teams``: its PUT leaves teams set elsewhere alone."""
    ops = await make_team(api, "ops")
    body = {"name": "jira", "type": "jira", "params": JIRA, "teams": [{"id": ops}]}
    status, made = await api.call("POST", "/api/connectors", json=body)
    assert status == 201, made
    status, connector = await api.call(
        "PUT",
        f"/api/connectors/{made['id']}",
        json={"name": "jira-2", "type": "jira", "params": JIRA},
    )
    assert status == 200, connector
    assert decodable(connector, CONNECTOR_OUTPUT)["name"] == "jira-2"
    assert connector["teams"] == [{"id": ops, "name": "ops"}]
