"""/api/teams over HTTP: CRUD, name lookup, members, 409/400/404/403 by role, PRIVATE
teams invisible to non-members, a deleted user leaving every team, every 4xx writing
nothing, read-your-writes, the read API for other resources, and rebuild equals live."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ilertd.domain.user import Role
from ilertd.http.problems import ProblemError
from ilertd.http.teams import (
    ALL_TEAMS,
    MY_TEAMS,
    TeamContext,
    context_team_ids,
    team_role_allows,
)
from projections.teams import Membership, team_ids_of_user, team_role_of, teams_of_user
from projections.users import user_by_id

from .conftest import Api

BASE = "/api/teams"


async def new_user(api: Api, name: str, role: str = "RESPONDER") -> dict[str, Any]:
    body = {
        "email": f"{name}@example.test",
        "firstName": name.title(),
        "lastName": "Tester",
        "username": name,
        "role": role,
    }
    status, user = await api.call("POST", "/api/users", json=body)
    assert status == 201, user
    return user


async def key_for(api: Api, user_id: int) -> str:
    status, issued = await api.call("POST", f"/api/users/{user_id}/api-keys", json={})
    assert status == 201, issued
    return issued["apiKey"]


def member(user: dict[str, Any], role: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"user": {"id": user["id"]}}
    if role is not None:
        found["role"] = role
    return found


async def create(api: Api, name: str = "Ops", **fields: Any) -> dict[str, Any]:
    status, team = await api.call("POST", BASE, json={"name": name, **fields})
    assert status == 201, team
    return team


async def head(api: Api) -> int:
    return await api.runtime.store.head_position()


@pytest.fixture
async def alice(api: Api) -> dict[str, Any]:
    return await new_user(api, "alice", "USER")


@pytest.fixture
async def bob(api: Api) -> dict[str, Any]:
    return await new_user(api, "bob", "RESPONDER")


def ids_and_roles(team: dict[str, Any]) -> list[tuple[int, str]]:
    return [(m["user"]["id"], m["role"]) for m in team["members"]]


async def test_crud_round_trip(api: Api, alice: dict[str, Any], bob: dict[str, Any]) -> None:
    team = await create(api, "  Ops  ", members=[member(alice, "ADMIN"), member(bob)])
    assert team["name"] == "Ops" and team["visibility"] == "PUBLIC"
    assert ids_and_roles(team) == [(alice["id"], "ADMIN"), (bob["id"], "RESPONDER")]
    assert team["members"][0]["user"]["username"] == "alice"
    assert team["createdAt"] == team["updatedAt"]
    status, got = await api.call("GET", f"{BASE}/{team['id']}")
    assert status == 200 and got == team
    status, listed = await api.call("GET", BASE)
    assert status == 200 and listed == [team]
    status, by_name = await api.call("GET", f"{BASE}/name/Ops")
    assert status == 200 and by_name == team

    body = {"name": "Platform", "visibility": "PRIVATE", "members": [member(bob, "USER")]}
    status, replaced = await api.call("PUT", f"{BASE}/{team['id']}", json=body)
    assert status == 200, replaced
    assert (replaced["name"], replaced["visibility"]) == ("Platform", "PRIVATE")
    assert ids_and_roles(replaced) == [(bob["id"], "USER")]
    status, got = await api.call("GET", f"{BASE}/{team['id']}")
    assert status == 200 and got == replaced  # read your writes
    before = await head(api)
    status, again = await api.call("PUT", f"{BASE}/{team['id']}", json=body)
    assert status == 200 and again == replaced and await head(api) == before  # no change

    status, _ = await api.call("DELETE", f"{BASE}/{team['id']}")
    assert status == 204
    for path in (f"{BASE}/{team['id']}", f"{BASE}/name/Platform"):
        status, _ = await api.call("GET", path)
        assert status == 404, path
    status, listed = await api.call("GET", BASE)
    assert listed == []
    status, _ = await api.call("DELETE", f"{BASE}/{team['id']}")
    assert status == 404
    # the name is free again once the team is gone
    assert (await create(api, "Platform"))["id"] != team["id"]


async def test_members_are_added_re_roled_and_removed(
    api: Api, alice: dict[str, Any], bob: dict[str, Any]
) -> None:
    team = await create(api)
    path = f"{BASE}/{team['id']}/members"
    status, added = await api.call("POST", path, json=member(alice, "STAKEHOLDER"))
    assert status == 201 and ids_and_roles(added) == [(alice["id"], "STAKEHOLDER")]
    before = await head(api)
    status, same = await api.call("POST", path, json=member(alice, "STAKEHOLDER"))
    assert status == 200 and same["members"] == added["members"] and await head(api) == before
    status, re_roled = await api.call("POST", path, json=member(alice, "ADMIN"))
    assert status == 200 and ids_and_roles(re_roled) == [(alice["id"], "ADMIN")]
    status, both = await api.call("POST", path, json={"user": {"id": str(bob["id"])}})
    assert status == 201 and ids_and_roles(both)[1] == (bob["id"], "RESPONDER")

    status, _ = await api.call("DELETE", f"{path}/{alice['id']}")
    assert status == 204
    status, got = await api.call("GET", f"{BASE}/{team['id']}")
    assert ids_and_roles(got) == [(bob["id"], "RESPONDER")]
    for missing in (alice["id"], 999_999, "x", 2**63):
        status, _ = await api.call("DELETE", f"{path}/{missing}")
        assert status == 404, missing


async def test_a_taken_name_is_409_naming_it_and_writes_nothing(api: Api) -> None:
    first = await create(api, "Ops")
    other = await create(api, "Dev")
    before = await head(api)
    status, problem = await api.call("POST", BASE, json={"name": "Ops"})
    assert status == 409 and problem["field"] == "name"
    status, problem = await api.call("PUT", f"{BASE}/{other['id']}", json={"name": " Ops "})
    assert status == 409 and problem["field"] == "name"
    assert await head(api) == before
    # keeping one's own name is no conflict
    status, _ = await api.call("PUT", f"{BASE}/{first['id']}", json={"name": "Ops"})
    assert status == 200


async def test_racing_creates_of_one_name_leave_one_team(api: Api) -> None:
    answers = await asyncio.gather(
        *(api.call("POST", BASE, json={"name": "Ops"}) for _ in range(5))
    )
    assert sorted(status for status, _ in answers) == [201, 409, 409, 409, 409]
    _, listed = await api.call("GET", BASE)
    assert [t["name"] for t in listed] == ["Ops"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "Ops", "visibility": "HIDDEN"}, "visibility"),
        ({"name": "Ops", "members": [{"role": "ADMIN"}]}, "members[0].user"),
        ({"name": "Ops", "members": [{"user": {"id": "abc"}}]}, "members[0].user.id"),
        ({"name": "Ops", "members": [{"user": {"id": 999_999}}]}, "members[0].user"),
        ({"name": "Ops", "members": "all"}, "members"),
    ],
)
async def test_bad_bodies_are_400_naming_the_field_and_write_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    before = await head(api)
    status, problem = await api.call("POST", BASE, json=body)
    assert status == 400, problem
    assert problem["field"] == field
    assert await head(api) == before


async def test_members_must_be_live_users(
    api: Api, alice: dict[str, Any], bob: dict[str, Any]
) -> None:
    status, _ = await api.call("DELETE", f"/api/users/{bob['id']}")
    assert status == 204
    before = await head(api)
    body = {"name": "Ops", "members": [member(alice), member(bob)]}
    status, problem = await api.call("POST", BASE, json=body)
    assert status == 400 and problem["field"] == "members[1].user"
    body = {"name": "Ops", "members": [member(alice, "OWNER")]}
    status, problem = await api.call("POST", BASE, json=body)
    assert status == 400 and problem["field"] == "members[0].role"
    body = {"name": "Ops", "members": [member(alice), member(alice, "ADMIN")]}
    status, problem = await api.call("POST", BASE, json=body)
    assert status == 400 and problem["field"] == "members[1].user"
    team = await create(api)
    before = await head(api)
    status, problem = await api.call("POST", f"{BASE}/{team['id']}/members", json=member(bob))
    assert status == 400 and problem["field"] == "user"
    assert await head(api) == before


async def test_writes_need_admin_or_team_admin(
    api: Api, alice: dict[str, Any], bob: dict[str, Any]
) -> None:
    """Account ADMINs write every team; a team's ADMIN members write that team only;
    nobody else writes; only account ADMINs create."""
    carol = await new_user(api, "carol", "GUEST")
    mine = await create(api, "Mine", members=[member(alice, "ADMIN"), member(carol, "USER")])
    theirs = await create(api, "Theirs", members=[member(alice, "USER")])
    alice_key, bob_key, carol_key = [await key_for(api, u["id"]) for u in (alice, bob, carol)]
    before = await head(api)

    status, problem = await api.call("POST", BASE, json={"name": "New"}, key=alice_key)
    assert status == 403, problem
    for key in (bob_key, carol_key):  # not a team ADMIN of Mine
        status, _ = await api.call("PUT", f"{BASE}/{mine['id']}", json={"name": "X"}, key=key)
        assert status == 403
        status, _ = await api.call("DELETE", f"{BASE}/{mine['id']}", key=key)
        assert status == 403
        path = f"{BASE}/{mine['id']}/members"
        status, _ = await api.call("POST", path, json=member(bob), key=key)
        assert status == 403
        status, _ = await api.call("DELETE", f"{path}/{alice['id']}", key=key)
        assert status == 403
    # alice is ADMIN in Mine, only USER in Theirs
    status, _ = await api.call("PUT", f"{BASE}/{theirs['id']}", json={"name": "X"}, key=alice_key)
    assert status == 403
    status, _ = await api.call("DELETE", f"{BASE}/{theirs['id']}", key=alice_key)
    assert status == 403
    assert await head(api) == before

    # ...and every read is open to every role
    for key in (alice_key, bob_key, carol_key):
        status, listed = await api.call("GET", BASE, key=key)
        assert status == 200 and [t["name"] for t in listed] == ["Mine", "Theirs"]

    path = f"{BASE}/{mine['id']}/members"
    status, team = await api.call("POST", path, json=member(bob, "RESPONDER"), key=alice_key)
    assert status == 201 and (bob["id"], "RESPONDER") in ids_and_roles(team)
    status, _ = await api.call("DELETE", f"{path}/{carol['id']}", key=alice_key)
    assert status == 204
    body = {"name": "Mine too", "members": [member(alice, "ADMIN")]}
    status, team = await api.call("PUT", f"{BASE}/{mine['id']}", json=body, key=alice_key)
    assert status == 200 and team["name"] == "Mine too"
    status, _ = await api.call("DELETE", f"{BASE}/{mine['id']}", key=alice_key)
    assert status == 204
    status, _ = await api.call("DELETE", f"{BASE}/{theirs['id']}")  # the account ADMIN
    assert status == 204


async def test_a_team_admin_who_steps_down_loses_the_right(api: Api, alice: dict[str, Any]) -> None:
    team = await create(api, members=[member(alice, "ADMIN")])
    key = await key_for(api, alice["id"])
    body = {"name": "Ops", "members": [member(alice, "USER")]}
    status, _ = await api.call("PUT", f"{BASE}/{team['id']}", json=body, key=key)
    assert status == 200
    status, _ = await api.call("PUT", f"{BASE}/{team['id']}", json=body, key=key)
    assert status == 403  # read your writes: the new role counts at once


async def test_private_teams_are_invisible_to_non_members(
    api: Api, alice: dict[str, Any], bob: dict[str, Any]
) -> None:
    private = await create(api, "Secret", visibility="PRIVATE", members=[member(alice)])
    public = await create(api, "Open")
    alice_key, bob_key = await key_for(api, alice["id"]), await key_for(api, bob["id"])
    paths = [f"{BASE}/{private['id']}", f"{BASE}/name/Secret"]
    for path in paths:
        status, got = await api.call("GET", path, key=alice_key)
        assert status == 200 and got["id"] == private["id"]
        status, problem = await api.call("GET", path, key=bob_key)
        assert status == 404 and problem["code"] == "NOT_FOUND"
        status, got = await api.call("GET", path)  # the account ADMIN sees it
        assert status == 200
    status, listed = await api.call("GET", BASE, key=bob_key)
    assert [t["id"] for t in listed] == [public["id"]]
    status, listed = await api.call("GET", BASE, key=alice_key)
    assert [t["id"] for t in listed] == [private["id"], public["id"]]
    # writing an invisible team is 404 too, not 403: it does not exist for bob
    status, _ = await api.call("PUT", paths[0], json={"name": "X"}, key=bob_key)
    assert status == 404
    status, _ = await api.call("DELETE", paths[0], key=bob_key)
    assert status == 404


async def test_a_deleted_user_leaves_every_team(
    api: Api, alice: dict[str, Any], bob: dict[str, Any]
) -> None:
    one = await create(api, "One", members=[member(alice, "ADMIN"), member(bob)])
    two = await create(api, "Two", visibility="PRIVATE", members=[member(bob, "USER")])
    pool = api.runtime.pool
    assert await teams_of_user(pool, bob["id"]) == [
        Membership(one["id"], "RESPONDER"),
        Membership(two["id"], "USER"),
    ]
    status, _ = await api.call("DELETE", f"/api/users/{bob['id']}")
    assert status == 204
    status, got = await api.call("GET", f"{BASE}/{one['id']}")
    assert ids_and_roles(got) == [(alice["id"], "ADMIN")]
    status, got = await api.call("GET", f"{BASE}/{two['id']}")
    assert got["members"] == []
    assert await teams_of_user(pool, bob["id"]) == []
    status, _ = await api.call("DELETE", f"{BASE}/{one['id']}/members/{bob['id']}")
    assert status == 404
    # the rebuilt read model is the live one
    before = await _tables(api)
    await api.runtime.runner.rebuild("teams")
    assert await _tables(api) == before


async def _tables(api: Api) -> tuple[list[Any], list[Any]]:
    pool = api.runtime.pool
    teams = await pool.fetch("SELECT * FROM teams ORDER BY id")
    members = await pool.fetch("SELECT * FROM team_members ORDER BY team_id, user_id")
    return [dict(r) for r in teams], [dict(r) for r in members]


async def test_the_read_api_for_other_resources(
    api: Api, alice: dict[str, Any], bob: dict[str, Any]
) -> None:
    one = await create(api, "One", members=[member(alice, "ADMIN")])
    two = await create(api, "Two", visibility="PRIVATE", members=[member(alice, "VIEWER")])
    three = await create(api, "Three", visibility="PRIVATE")
    pool = api.runtime.pool
    assert await team_ids_of_user(pool, alice["id"]) == [one["id"], two["id"]]
    assert await team_role_of(pool, two["id"], alice["id"]) == "VIEWER"
    assert await team_role_of(pool, three["id"], alice["id"]) is None
    alice_row = await user_by_id(pool, alice["id"])
    assert await context_team_ids(pool, alice_row, ALL_TEAMS) is None
    assert await context_team_ids(pool, alice_row, MY_TEAMS) == [one["id"], two["id"]]
    assert await context_team_ids(pool, alice_row, TeamContext("team", two["id"])) == [two["id"]]
    for hidden in (three["id"], 999_999):
        with pytest.raises(ProblemError) as raised:
            await context_team_ids(pool, alice_row, TeamContext("team", hidden))
        assert (raised.value.status, raised.value.field) == (404, "team-context")
    bob_row = await user_by_id(pool, bob["id"])
    assert await context_team_ids(pool, bob_row, MY_TEAMS) == []

    # a resource of several teams: the best of the caller's roles there counts
    assert await team_role_allows(pool, alice_row, one["id"], Role.ADMIN)
    assert await team_role_allows(pool, alice_row, [three["id"], one["id"]], Role.ADMIN)
    assert not await team_role_allows(pool, alice_row, [two["id"], three["id"]], Role.ADMIN)
    assert await team_role_allows(pool, alice_row, [two["id"]], Role.USER)  # her own role
    assert not await team_role_allows(pool, alice_row, [], Role.ADMIN)
    assert not await team_role_allows(pool, bob_row, [one["id"], two["id"]], Role.USER)
    admin_row = await user_by_id(pool, (await api.call("GET", "/api/users/current"))[1]["id"])
    assert await team_role_allows(pool, admin_row, [], Role.ADMIN)


async def test_unknown_and_malformed_ids_are_404(api: Api) -> None:
    for ident in ("999999", "abc", str(2**63), "-1"):
        status, _ = await api.call("GET", f"{BASE}/{ident}")
        assert status == 404, ident
        status, _ = await api.call("PUT", f"{BASE}/{ident}", json={"name": "X"})
        assert status == 404, ident
    status, _ = await api.call("GET", f"{BASE}/name/nobody")
    assert status == 404


async def test_paging(api: Api) -> None:
    for name in ("A", "B", "C"):
        await create(api, name)
    status, listed = await api.call("GET", f"{BASE}?start-index=1&max-results=1")
    assert status == 200 and [t["name"] for t in listed] == ["B"]
    status, problem = await api.call("GET", f"{BASE}?max-results=101")
    assert status == 400 and problem["field"] == "max-results"
