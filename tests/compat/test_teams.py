"""ilert-go's team calls (team.go) and the Terraform provider's use of them
(resource_team.go, data_source_team.go), each body as ilert-go serialises its structs:
``Team`` has no ``omitempty`` (``"id": 0`` on create, ``"members": null`` without members,
``"visibility": ""`` when unset), ``TeamMember.User`` is a ``User`` whose fields are all
``omitempty`` (``{"id": n}``). Each answer is checked with the status ilert-go insists on
(create 201, GET and PUT 200, DELETE 204) and decoded as encoding/json would into
ilert-go's ``Team``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from ..integration.conftest import Api
from .test_outbound import decodable

TEAMS = "/api/teams"
#: ilert-go's output struct: Team {ID int64, Name, Visibility string, Members []TeamMember
#: {User User {ID int64, FirstName, LastName, Username, Email ... string}, Role string}}
USER: dict[str, Any] = {
    "id": int,
    "firstName": str,
    "lastName": str,
    "username": str,
    "email": str,
    "role": str,
}
TEAM: dict[str, Any] = {
    "id": int,
    "name": str,
    "visibility": str,
    "members": [{"user": USER, "role": str}],
}


async def add_user(api: Api, name: str) -> int:
    body = {"firstName": name.title(), "lastName": "Example", "email": f"{name}@example.test"}
    status, user = await api.call("POST", "/api/users", json=body)
    assert status == 201, user
    return user["id"]


def terraform_team(name: str, members: list[tuple[int, str]], visibility: str = "PUBLIC"):
    """What buildTeam sends: visibility defaults to PUBLIC in the schema, each member's role
    to RESPONDER, members an empty slice (not nil) when none are declared."""
    return {
        "id": 0,
        "name": name,
        "visibility": visibility,
        "members": [{"user": {"id": user}, "role": role} for user, role in members],
    }


def members(team: dict[str, Any]) -> set[tuple[str, str]]:
    """What flattenMembersList keeps: the role and the user id as a decimal string (a set:
    ``member`` is a TypeSet since provider 2.24)."""
    return {(str(m["user"]["id"]), m["role"]) for m in team["members"] if m["user"]["id"] > 0}


@pytest.fixture
async def ann(api: Api) -> int:
    return await add_user(api, "ann")


@pytest.fixture
async def ben(api: Api) -> int:
    return await add_user(api, "ben")


async def test_terraform_create_then_read(api: Api, ann: int, ben: int) -> None:
    """resourceTeamCreate: CreateTeam 201, d.SetId(ID), then resourceTeamRead: GetTeam 200."""
    body = terraform_team("Ops", [(ann, "ADMIN"), (ben, "RESPONDER")], "PRIVATE")
    status, created = await api.call("POST", TEAMS, json=body)
    assert status == 201, created
    decodable(created, TEAM)
    assert created["id"] > 0
    status, read = await api.call("GET", f"{TEAMS}/{created['id']}")
    assert status == 200
    decodable(read, TEAM)
    assert (read["name"], read["visibility"]) == ("Ops", "PRIVATE")
    assert members(read) == {(str(ann), "ADMIN"), (str(ben), "RESPONDER")}


async def test_ilert_go_zero_values_count_as_absent(api: Api) -> None:
    """A Team built without visibility and members: ``""`` and ``null`` on the wire."""
    body = {"id": 0, "name": "Bare", "visibility": "", "members": None}
    status, created = await api.call("POST", TEAMS, json=body)
    assert status == 201, created
    assert (created["visibility"], created["members"]) == ("PUBLIC", [])
    body = {"id": 0, "name": "Roles", "visibility": "PUBLIC", "members": []}
    status, created = await api.call("POST", TEAMS, json=body)
    assert status == 201, created


async def test_a_member_without_role_is_a_responder(api: Api, ann: int) -> None:
    """TeamMember.Role has no omitempty: an unset one is ``""``; the provider's default
    is RESPONDER, and so is ilertd's."""
    body = {
        "id": 0,
        "name": "Ops",
        "visibility": "PUBLIC",
        "members": [{"user": {"id": ann}, "role": ""}],
    }
    status, created = await api.call("POST", TEAMS, json=body)
    assert status == 201, created
    assert members(created) == {(str(ann), "RESPONDER")}


@pytest.mark.parametrize("role", ["ADMIN", "USER", "RESPONDER", "STAKEHOLDER", "VIEWER"])
async def test_every_role_the_provider_validates(api: Api, ann: int, role: str) -> None:
    status, created = await api.call("POST", TEAMS, json=terraform_team("Ops", [(ann, role)]))
    assert status == 201, created
    assert members(created) == {(str(ann), role)}


async def test_terraform_update_replaces_the_members(api: Api, ann: int, ben: int) -> None:
    """resourceTeamUpdate: UpdateTeam PUT 200 with the whole team, then GetTeam."""
    status, created = await api.call("POST", TEAMS, json=terraform_team("Ops", [(ann, "ADMIN")]))
    assert status == 201
    body = terraform_team("Ops renamed", [(ben, "STAKEHOLDER")], "PRIVATE")
    status, updated = await api.call("PUT", f"{TEAMS}/{created['id']}", json=body)
    assert status == 200, updated
    decodable(updated, TEAM)
    status, read = await api.call("GET", f"{TEAMS}/{created['id']}")
    assert status == 200
    assert (read["name"], read["visibility"]) == ("Ops renamed", "PRIVATE")
    assert members(read) == {(str(ben), "STAKEHOLDER")}
    body = terraform_team("Ops renamed", [])  # every member block removed
    status, updated = await api.call("PUT", f"{TEAMS}/{created['id']}", json=body)
    assert status == 200 and updated["members"] == []


async def test_get_teams_with_ilert_gos_paging(api: Api) -> None:
    """GetTeams: ?start-index=&max-results=, a JSON array of Team."""
    for name in ("A", "B", "C"):
        status, _ = await api.call("POST", TEAMS, json=terraform_team(name, []))
        assert status == 201
    status, listed = await api.call("GET", f"{TEAMS}?max-results=100&start-index=0")
    assert status == 200
    decodable(listed, [TEAM])
    assert [t["name"] for t in listed] == ["A", "B", "C"]
    status, rest = await api.call("GET", f"{TEAMS}?start-index=2")
    assert status == 200 and [t["name"] for t in rest] == ["C"]


async def test_search_team_by_name_for_the_data_source(api: Api) -> None:
    """SearchTeam: GET /api/teams/name/{name} (the name as Sprintf puts it: a space stays a
    space, which the HTTP client escapes); the data source reads ID, Name, Visibility."""
    status, created = await api.call("POST", TEAMS, json=terraform_team("On call", [], "PRIVATE"))
    assert status == 201
    status, found = await api.call("GET", f"{TEAMS}/name/{quote('On call')}")
    assert status == 200
    decodable(found, TEAM)
    assert (found["id"], found["name"], found["visibility"]) == (
        created["id"],
        "On call",
        "PRIVATE",
    )
    status, problem = await api.call("GET", f"{TEAMS}/name/nobody")
    assert status == 404 and problem["code"] == "NOT_FOUND"


async def test_terraform_delete_then_read_removes_from_state(api: Api) -> None:
    """DeleteTeam 204; the next read (or Exists) gets 404, ilert-go's NotFoundAPIError, and
    the provider drops the resource from its state."""
    status, created = await api.call("POST", TEAMS, json=terraform_team("Ops", []))
    assert status == 201
    status, body = await api.call("DELETE", f"{TEAMS}/{created['id']}")
    assert status == 204 and body is None
    status, problem = await api.call("GET", f"{TEAMS}/{created['id']}")
    assert status == 404 and problem["status"] == 404


async def test_errors_ilert_go_reports(api: Api) -> None:
    """A duplicate name and an unknown member come back as ilert's error JSON, which
    getGenericAPIError turns into the message it shows."""
    status, _ = await api.call("POST", TEAMS, json=terraform_team("Ops", []))
    assert status == 201
    status, problem = await api.call("POST", TEAMS, json=terraform_team("Ops", []))
    assert status == 409 and problem["message"].startswith("name:")
    status, problem = await api.call("POST", TEAMS, json=terraform_team("Dev", [(999_999, "USER")]))
    assert status == 400 and problem["field"] == "members[0].user"
