"""The ``teams`` field of alert sources and escalation policies as the Terraform provider
sends it through ilert-go (resource_alert_source.go, resource_escalation_policy.go):
``Teams []TeamShort `json:"teams,omitempty"``` with ``TeamShort{ID int64, Name string
`json:"name,omitempty"`}``. ``team`` blocks (a TypeSet, in no particular order) send
``{"id": n, "name": "..."}`` when a name is declared, else ``{"id": n}``; the deprecated
``teams = [n]`` list sends ``{"id": n}``; a config without teams leaves the field out, so
an update keeps teams assigned elsewhere; dropped blocks send ``[]``. The provider matches
teams by id (the API sorts them) and keeps a name only when the answer carries one."""

from __future__ import annotations

from typing import Any

import pytest

from ..integration.conftest import Api
from .test_outbound import decodable

TEAM_SHORT = [{"id": int, "name": str}]


async def source_body(api: Api) -> dict[str, Any]:
    # buildAlertSource: name and integrationType always, the rest omitempty
    return {"name": "prometheus", "integrationType": "PROMETHEUS", "active": True}


async def policy_body(api: Api) -> dict[str, Any]:
    _, me = await api.call("GET", "/api/users/current")
    # buildEscalationPolicy: ID 0 is left out (omitempty), rules with users {id}
    return {
        "name": "default",
        "escalationRules": [{"escalationTimeout": 15, "users": [{"id": me["id"]}]}],
        "repeating": False,
        "frequency": 1,
    }


KINDS = {"/api/alert-sources": source_body, "/api/escalation-policies": policy_body}


@pytest.fixture(params=sorted(KINDS))
def base(request: pytest.FixtureRequest) -> str:
    return request.param


async def make_team(api: Api, name: str) -> int:
    status, team = await api.call("POST", "/api/teams", json={"id": 0, "name": name})
    assert status == 201, team
    return team["id"]


async def test_team_blocks_and_the_deprecated_list(api: Api, base: str) -> None:
    ops, dev = await make_team(api, "ops"), await make_team(api, "dev")
    body = await KINDS[base](api)
    # team blocks: dev declared first, with its name; ops without one
    sent = {**body, "teams": [{"id": dev, "name": "dev"}, {"id": ops}]}
    status, made = await api.call("POST", base, json=sent)
    assert status == 201, made  # ilert-go's create checks 201
    wanted = [{"id": ops, "name": "ops"}, {"id": dev, "name": "dev"}]  # by id
    assert decodable(made, {"teams": TEAM_SHORT})["teams"] == wanted
    # the deprecated teams = [n] list
    status, other = await api.call("POST", base, json={**body, "teams": [{"id": ops}]})
    assert status == 201 and other["teams"] == [{"id": ops, "name": "ops"}]


async def test_an_update_without_teams_keeps_them_and_dropped_blocks_clear(
    api: Api, base: str
) -> None:
    ops = await make_team(api, "ops")
    body = await KINDS[base](api)
    status, made = await api.call("POST", base, json={**body, "teams": [{"id": ops}]})
    assert status == 201, made
    url = f"{base}/{made['id']}"
    status, kept = await api.call("PUT", url, json={**body, "name": "renamed"})
    assert status == 200 and kept["teams"] == [{"id": ops, "name": "ops"}]  # PUT checks 200
    status, cleared = await api.call("PUT", url, json={**body, "teams": []})
    assert status == 200 and cleared["teams"] == []
    status, got = await api.call("GET", url)
    assert status == 200 and got["teams"] == []


async def test_an_unknown_team_is_a_generic_api_error(api: Api, base: str) -> None:
    body = {**await KINDS[base](api), "teams": [{"id": 987654321, "name": "ghost"}]}
    status, problem = await api.call("POST", base, json=body)
    # getGenericAPIError reads status and message
    assert status == 400 and problem["status"] == 400 and "teams[0].id" in problem["message"]
