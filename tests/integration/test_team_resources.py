"""Resources that belong to teams, over HTTP, for each kind (escalation policies, alert
sources, schedules, connectors, alert actions, services, heartbeat monitors): ``teams``
stored and read back with names sorted by id, ``[]`` clearing, an absent field keeping (on
PUT too), unknown teams a 400 naming ``teams[i].id`` that writes nothing, a team ADMIN's
rights (and a team member's lack of them), PRIVATE teams' resources invisible to
non-members, and ``team-context``."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import Api

Body = Callable[[Api], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Kind:
    """One kind of resource: where it lives and a valid body of it (without teams)."""

    base: str
    body: Body
    #: a name lookup, ``{base}/name/{name}``, when the kind has one
    by_name: bool = False


async def _me(api: Api) -> int:
    _, me = await api.call("GET", "/api/users/current")
    return me["id"]


async def _policy(api: Api) -> dict[str, Any]:
    rule = {"escalationTimeout": 5, "users": [{"id": await _me(api)}]}
    return {"name": "Ops", "escalationRules": [rule]}


async def _source(api: Api) -> dict[str, Any]:
    return {"name": "Ops", "integrationType": "API"}


async def _schedule(api: Api) -> dict[str, Any]:
    shift = {
        "user": {"id": await _me(api)},
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-01-02T00:00:00Z",
    }
    return {"name": "Ops", "timezone": "UTC", "type": "STATIC", "shifts": [shift]}


async def _connector(api: Api) -> dict[str, Any]:
    return {"name": "Ops", "type": "webhook", "params": {"url": "https://hooks.example.test/"}}


async def _action(api: Api) -> dict[str, Any]:
    return {
        "name": "Ops",
        "connectorType": "webhook",
        "params": {"webhookUrl": "https://hooks.example.test/in"},
    }


async def _service(api: Api) -> dict[str, Any]:
    return {"name": "Ops", "description": "the shop"}


_MONITORS = itertools.count(1)


async def _monitor(api: Api) -> dict[str, Any]:
    """Names differ: a heartbeat monitor's name is unique (a second one is a 409)."""
    return {"name": f"Ops {next(_MONITORS)}", "intervalSec": 60}


KINDS = {
    "escalation-policies": Kind("/api/escalation-policies", _policy),
    "alert-sources": Kind("/api/alert-sources", _source),
    "schedules": Kind("/api/schedules", _schedule, by_name=True),
    "connectors": Kind("/api/connectors", _connector, by_name=True),
    "alert-actions": Kind("/api/alert-actions", _action, by_name=True),
    "services": Kind("/api/services", _service, by_name=True),
    "heartbeat-monitors": Kind("/api/heartbeat-monitors", _monitor, by_name=True),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KINDS[request.param]


async def user_with_key(api: Api, name: str, role: str) -> tuple[dict[str, Any], str]:
    body = {
        "email": f"{name}@example.test",
        "firstName": name.title(),
        "lastName": "Tester",
        "username": name,
        "role": role,
    }
    status, user = await api.call("POST", "/api/users", json=body)
    assert status == 201, user
    status, issued = await api.call("POST", f"/api/users/{user['id']}/api-keys", json={})
    assert status == 201, issued
    return user, issued["apiKey"]


async def team(
    api: Api, name: str, members: tuple[tuple[dict[str, Any], str], ...] = (), **fields: Any
) -> int:
    body = {
        "name": name,
        "members": [{"user": {"id": user["id"]}, "role": role} for user, role in members],
        **fields,
    }
    status, made = await api.call("POST", "/api/teams", json=body)
    assert status == 201, made
    return made["id"]


async def create(api: Api, kind: Kind, key: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {**await kind.body(api), **fields}
    status, made = await api.call("POST", kind.base, json=body, key=key or True)
    assert status == 201, made
    return made


def ids(listed: list[dict[str, Any]]) -> list[int]:
    return [int(item["id"]) for item in listed]


async def head(api: Api) -> int:
    return await api.runtime.store.head_position()


async def test_teams_are_stored_and_read_back_sorted_with_names(api: Api, kind: Kind) -> None:
    first = await team(api, "first")
    second = await team(api, "second")
    # as the Terraform provider sends them: {"id": n}, a name along, or ids as strings
    sent = [{"id": str(second), "name": "ignored"}, {"id": first}, second]
    made = await create(api, kind, teams=sent)
    wanted = [{"id": first, "name": "first"}, {"id": second, "name": "second"}]
    assert made["teams"] == wanted
    status, read = await api.call("GET", f"{kind.base}/{made['id']}")
    assert status == 200 and read["teams"] == wanted
    status, listed = await api.call("GET", kind.base)
    assert status == 200 and [item["teams"] for item in listed] == [wanted]
    # a renamed team is named anew; a deleted one is left out
    await api.call("PUT", f"/api/teams/{first}", json={"name": "renamed"})
    await api.call("DELETE", f"/api/teams/{second}")
    _, read = await api.call("GET", f"{kind.base}/{made['id']}")
    assert read["teams"] == [{"id": first, "name": "renamed"}]


async def test_absent_teams_are_kept_and_an_empty_list_clears_them(api: Api, kind: Kind) -> None:
    ops = await team(api, "ops")
    made = await create(api, kind, teams=[{"id": ops}])
    url = f"{kind.base}/{made['id']}"
    body = {**await kind.body(api), "name": "Renamed"}
    for absent in (body, {**body, "teams": None}):
        status, replaced = await api.call("PUT", url, json=absent)
        assert status == 200, replaced
        assert replaced["name"] == "Renamed" and replaced["teams"] == [{"id": ops, "name": "ops"}]
    status, cleared = await api.call("PUT", url, json={**body, "teams": []})
    assert status == 200 and cleared["teams"] == []
    _, read = await api.call("GET", url)
    assert read["teams"] == []
    status, again = await api.call("PUT", url, json={**body, "teams": [{"id": ops}]})
    assert status == 200 and again["teams"] == [{"id": ops, "name": "ops"}]


async def test_unknown_teams_are_a_400_naming_the_entry_and_write_nothing(
    api: Api, kind: Kind
) -> None:
    ops = await team(api, "ops")
    gone = await team(api, "gone")
    await api.call("DELETE", f"/api/teams/{gone}")
    made = await create(api, kind, teams=[{"id": ops}])
    before = await head(api)
    body = await kind.body(api)
    cases = [
        ([{"id": ops}, {"id": 987654321}], "teams[1].id"),
        ([{"id": gone}], "teams[0].id"),
        ([{"id": "x"}], "teams[0].id"),
        ([{"id": 0}], "teams[0].id"),
    ]
    for teams, field in cases:
        status, problem = await api.call("POST", kind.base, json={**body, "teams": teams})
        assert status == 400 and problem["field"] == field, (teams, problem)
        url = f"{kind.base}/{made['id']}"
        status, problem = await api.call("PUT", url, json={**body, "teams": teams})
        assert status == 400 and problem["field"] == field, (teams, problem)
    assert await head(api) == before
    _, read = await api.call("GET", f"{kind.base}/{made['id']}")
    assert read["teams"] == [{"id": ops, "name": "ops"}]


async def test_a_team_admin_writes_the_teams_resources_and_no_others(api: Api, kind: Kind) -> None:
    lead, lead_key = await user_with_key(api, "lead", "USER")
    helper, helper_key = await user_with_key(api, "helper", "USER")
    mine = await team(api, "mine", ((lead, "ADMIN"), (helper, "RESPONDER")))
    other = await team(api, "other", ((helper, "ADMIN"),))
    body = await kind.body(api)

    # creating: into teams they administer only, and not into no team
    status, made = await api.call(
        "POST", kind.base, json={**body, "teams": [{"id": mine}]}, key=lead_key
    )
    assert status == 201, made
    for teams in ([], [{"id": mine}, {"id": other}]):
        before = await head(api)
        status, problem = await api.call(
            "POST", kind.base, json={**body, "teams": teams}, key=lead_key
        )
        assert status == 403, (teams, problem)
        assert await head(api) == before
    status, problem = await api.call("POST", kind.base, json=body, key=lead_key)
    assert status == 403, problem

    # replacing: their team's resource, not a resource of another team or of none
    url = f"{kind.base}/{made['id']}"
    status, replaced = await api.call("PUT", url, json={**body, "name": "Lead's"}, key=lead_key)
    assert status == 200 and replaced["name"] == "Lead's", replaced
    foreign = await create(api, kind, teams=[{"id": other}])
    teamless = await create(api, kind)
    for resource in (foreign, teamless):
        target = f"{kind.base}/{resource['id']}"
        status, problem = await api.call("PUT", target, json={}, key=lead_key)
        assert status == 403, problem  # before the body is read: {} is no valid body
        status, problem = await api.call("DELETE", target, key=lead_key)
        assert status == 403, problem
    # a RESPONDER member of the team has no more rights than their own role
    status, problem = await api.call("PUT", url, json=body, key=helper_key)
    assert status == 403, problem
    # moving it to a team they do not administer, or out of every team, is refused
    for teams in ([{"id": other}], [{"id": mine}, {"id": other}], []):
        status, problem = await api.call("PUT", url, json={**body, "teams": teams}, key=lead_key)
        assert status == 403, (teams, problem)
    # a deleted team may be dropped by anyone who may write the resource
    doomed = await team(api, "doomed")
    status, both = await api.call(
        "PUT", url, json={**body, "teams": [{"id": mine}, {"id": doomed}]}
    )
    assert status == 200, both
    await api.call("DELETE", f"/api/teams/{doomed}")
    status, dropped = await api.call(
        "PUT", url, json={**body, "teams": [{"id": mine}]}, key=lead_key
    )
    assert status == 200 and dropped["teams"] == [{"id": mine, "name": "mine"}], dropped
    # deleting
    status, _ = await api.call("DELETE", url, key=lead_key)
    assert status == 204
    status, _ = await api.call("GET", url)
    assert status == 404


async def test_private_teams_resources_are_invisible_to_non_members(api: Api, kind: Kind) -> None:
    insider, insider_key = await user_with_key(api, "insider", "GUEST")
    outsider, outsider_key = await user_with_key(api, "outsider", "USER")
    hidden = await team(api, "hidden", ((insider, "VIEWER"),), visibility="PRIVATE")
    own = await team(api, "own", ((outsider, "ADMIN"),))
    public = await team(api, "public")
    secret = await create(api, kind, teams=[{"id": hidden}], name="Secret")
    shared = await create(api, kind, teams=[{"id": hidden}, {"id": public}], name="Shared")
    plain = await create(api, kind, name="Plain")
    everything = [int(secret["id"]), int(shared["id"]), int(plain["id"])]

    status, listed = await api.call("GET", kind.base, key=outsider_key)
    assert status == 200 and ids(listed) == everything[1:]
    status, _ = await api.call("GET", f"{kind.base}/{secret['id']}", key=outsider_key)
    assert status == 404
    # writes answer 404 too, before the body: the resource does not exist for them
    status, _ = await api.call("DELETE", f"{kind.base}/{secret['id']}", key=outsider_key)
    assert status == 404
    for key in (insider_key, True):  # a member, and an ADMIN
        status, listed = await api.call("GET", kind.base, key=key)
        assert status == 200 and ids(listed) == everything
        status, read = await api.call("GET", f"{kind.base}/{secret['id']}", key=key)
        assert status == 200 and read["name"] == "Secret"
    # a team they cannot see is as unknown to them as one that does not exist
    body = {**await kind.body(api), "teams": [{"id": own}, {"id": hidden}]}
    status, problem = await api.call("POST", kind.base, json=body, key=outsider_key)
    assert status == 400 and problem["field"] == "teams[1].id", problem
    if kind.by_name:
        status, _ = await api.call("GET", f"{kind.base}/name/Secret", key=outsider_key)
        assert status == 404
        status, found = await api.call("GET", f"{kind.base}/name/Secret", key=insider_key)
        assert status == 200 and found["id"] == secret["id"]


async def test_team_context_selects_the_teams_resources(api: Api, kind: Kind) -> None:
    member, key = await user_with_key(api, "member", "GUEST")
    red = await team(api, "red", ((member, "RESPONDER"),))
    blue = await team(api, "blue")
    in_red = await create(api, kind, teams=[{"id": red}])
    in_blue = await create(api, kind, teams=[{"id": blue}])
    in_both = await create(api, kind, teams=[{"id": red}, {"id": blue}])
    in_none = await create(api, kind)
    every = ids([in_red, in_blue, in_both, in_none])

    async def listed(context: str | None, caller: str | bool = True) -> list[int]:
        headers = {} if context is None else {"team-context": context}
        status, answer = await api.call("GET", kind.base, headers=headers, key=caller)
        assert status == 200, answer
        return ids(answer)

    assert await listed(None) == every
    assert await listed("0") == every
    assert await listed(str(red)) == ids([in_red, in_both])
    assert await listed(str(blue)) == ids([in_blue, in_both])
    assert await listed("-1", key) == ids([in_red, in_both])
    assert await listed("-1") == []  # the bootstrap ADMIN is in no team
    for bad, status_wanted in (("x", 400), ("-2", 400), ("987654321", 404)):
        status, problem = await api.call("GET", kind.base, headers={"team-context": bad})
        assert status == status_wanted and problem["field"] == "team-context", problem


async def test_a_team_admin_reads_the_secrets_of_the_teams_resources(api: Api) -> None:
    """Secrets are for ADMINs "and the owning team's admins": an ADMIN member of the team
    reads what they may write; a plain member and an outsider see the masks."""
    lead, lead_key = await user_with_key(api, "lead", "USER")
    member, member_key = await user_with_key(api, "member", "USER")
    _, outsider_key = await user_with_key(api, "outsider", "USER")
    ops = await team(api, "ops", ((lead, "ADMIN"), (member, "RESPONDER")))
    headers = [{"key": "Authorization", "value": "Bearer s3cret-header"}]
    url = "https://bot:pa55@hooks.example.test/in?token=t0ken"
    action = await create(
        api,
        KINDS["alert-actions"],
        teams=[{"id": ops}],
        params={"webhookUrl": url, "headers": headers},
    )
    source = await create(api, KINDS["alert-sources"], teams=[{"id": ops}])
    for key, sees in ((lead_key, True), (member_key, False), (outsider_key, False)):
        status, got = await api.call("GET", f"/api/alert-actions/{action['id']}", key=key)
        assert status == 200, got
        assert (got["params"]["webhookUrl"] == url) is sees, got["params"]
        assert (got["params"]["headers"][0]["value"] == "Bearer s3cret-header") is sees
        status, got = await api.call("GET", f"/api/alert-sources/{source['id']}", key=key)
        assert status == 200 and (got["integrationKey"] == source["integrationKey"]) is sees
    # a resource of no team: the team's ADMIN is nobody's admin there
    other = await create(api, KINDS["alert-sources"], name="Other")
    status, got = await api.call("GET", f"/api/alert-sources/{other['id']}", key=lead_key)
    assert status == 200 and got["integrationKey"] != other["integrationKey"]


async def test_alerts_of_a_private_teams_source_are_as_invisible_as_the_source(api: Api) -> None:
    insider, insider_key = await user_with_key(api, "insider", "RESPONDER")
    _, outsider_key = await user_with_key(api, "outsider", "RESPONDER")
    hidden = await team(api, "hidden", ((insider, "RESPONDER"),), visibility="PRIVATE")
    secret = await create(api, KINDS["alert-sources"], teams=[{"id": hidden}], name="Secret")
    public = await create(api, KINDS["alert-sources"], name="Public")
    alert_ids = {}
    for source in (secret, public):
        body = {"integrationKey": source["integrationKey"], "eventType": "ALERT", "summary": "x"}
        status, made = await api.call("POST", "/api/events", json=body, key=False)
        assert status == 202, made
        alert_ids[source["name"]] = made["alertId"]
    hidden_alert = alert_ids["Secret"]
    for key, sees in ((True, True), (insider_key, True), (outsider_key, False)):
        status, listed = await api.call("GET", "/api/alerts", key=key)
        assert status == 200
        assert (hidden_alert in [a["id"] for a in listed]) is sees
        assert alert_ids["Public"] in [a["id"] for a in listed]
        status, counted = await api.call("GET", "/api/alerts/count", key=key)
        assert status == 200 and counted["count"] == (2 if sees else 1)
        for path in ("", "/log-entries", "/notifications", "/actions"):
            status, _ = await api.call("GET", f"/api/alerts/{hidden_alert}{path}", key=key)
            assert (status == 200) is sees and (status == 404) is (not sees), (path, status)
    # acting on it: the same 404, before the body is read
    status, problem = await api.call(
        "POST", f"/api/alerts/{hidden_alert}/comments", json={"bad": 1}, key=outsider_key
    )
    assert status == 404 and "no such alert" in problem["message"]
    status, _ = await api.call("PUT", f"/api/alerts/{hidden_alert}/accept", key=outsider_key)
    assert status == 404
    status, accepted = await api.call("PUT", f"/api/alerts/{hidden_alert}/accept", key=insider_key)
    assert status == 200 and accepted["status"] == "ACCEPTED"


async def test_a_team_responder_acts_on_the_teams_alerts_only(api: Api) -> None:
    """A team role raises a user's rights on that team's alerts: a GUEST who is RESPONDER
    in the team of an alert's source accepts and comments on it, not on other alerts."""
    guest, guest_key = await user_with_key(api, "guest", "GUEST")
    ops = await team(api, "ops", ((guest, "RESPONDER"),))
    ours = await create(api, KINDS["alert-sources"], teams=[{"id": ops}], name="Ours")
    theirs = await create(api, KINDS["alert-sources"], name="Theirs")
    opened = {}
    for source in (ours, theirs):
        body = {"integrationKey": source["integrationKey"], "eventType": "ALERT", "summary": "x"}
        status, made = await api.call("POST", "/api/events", json=body, key=False)
        assert status == 202, made
        opened[source["name"]] = made["alertId"]
    status, accepted = await api.call("PUT", f"/api/alerts/{opened['Ours']}/accept", key=guest_key)
    assert status == 200 and accepted["status"] == "ACCEPTED", accepted
    status, _ = await api.call(
        "POST", f"/api/alerts/{opened['Ours']}/comments", json={"content": "on it"}, key=guest_key
    )
    assert status in (200, 201)
    status, problem = await api.call("PUT", f"/api/alerts/{opened['Theirs']}/accept", key=guest_key)
    assert status == 403 and "RESPONDER" in problem["message"]
    status, problem = await api.call(
        "POST", f"/api/alerts/{opened['Theirs']}/comments", json={"bad": 1}, key=guest_key
    )
    assert status == 403, problem  # before the body
