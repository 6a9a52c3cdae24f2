"""/api/escalation-policies over HTTP: CRUD, levels, resolve by routing key, timeouts in
minutes and ISO-8601, roles, every 4xx writing nothing, and rebuild equals live."""

from __future__ import annotations

from typing import Any

import pytest

from projections.escalation_policies import policy_by_id, policy_by_routing_key, policy_rules

from .conftest import Api

BASE = "/api/escalation-policies"


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


def level(timeout: Any, users: Any = (), schedules: Any = ()) -> dict[str, Any]:
    return {
        "escalationTimeout": timeout,
        "users": [{"id": u} for u in users],
        "schedules": [{"id": s} for s in schedules],
    }


async def create(api: Api, users: list[int], **fields: Any) -> dict[str, Any]:
    body = {"name": "Ops", "escalationRules": [level(5, users)], **fields}
    status, policy = await api.call("POST", BASE, json=body)
    assert status == 201, policy
    return policy


async def new_team(api: Api, name: str) -> int:
    status, team = await api.call("POST", "/api/teams", json={"name": name})
    assert status == 201, team
    return team["id"]


async def head(api: Api) -> int:
    return await api.runtime.store.head_position()


@pytest.fixture
async def alice(api: Api) -> dict[str, Any]:
    return await new_user(api, "alice")


async def test_create_with_defaults_then_read(api: Api, alice: dict[str, Any]) -> None:
    policy = await create(api, [alice["id"]])
    assert policy == {
        "id": policy["id"],
        "name": "Ops",
        "escalationRules": [
            {
                "escalationTimeout": 5,
                "users": [
                    {
                        "id": alice["id"],
                        "firstName": "Alice",
                        "lastName": "Tester",
                        "username": "alice",
                    }
                ],
                "schedules": [],
            }
        ],
        "repeating": False,
        "frequency": 1,
        "delayMin": 0,
        "routingKey": None,
        "teams": [],
    }
    status, read = await api.call("GET", f"{BASE}/{policy['id']}")
    assert status == 200 and read == policy
    status, listed = await api.call("GET", BASE)
    assert status == 200 and listed == [policy]


async def test_id_is_the_position_of_the_created_event_with_actor_and_request_id(
    api: Api, alice: dict[str, Any]
) -> None:
    headers = {"X-Request-Id": "req-ep-1"}
    body = {"name": "Ops", "escalationRules": [level(5, [alice["id"]])]}
    status, policy = await api.call("POST", BASE, json=body, headers=headers)
    assert status == 201
    _, me = await api.call("GET", "/api/users/current")
    row = await api.runtime.store.pool.fetchrow(
        "SELECT type, metadata::text AS metadata FROM events WHERE position = $1", policy["id"]
    )
    assert row["type"] == "escalation-policy-created"
    assert f'"user:{me["id"]}"' in row["metadata"] and "req-ep-1" in row["metadata"]


async def test_create_with_every_field_and_both_timeout_forms(
    api: Api, alice: dict[str, Any]
) -> None:
    bob = await new_user(api, "bob", "USER")
    policy = await create(
        api,
        [],
        name="Database",
        escalationRules=[
            level("PT30S", [alice["id"]]),
            level(30, [bob["id"], alice["id"]], [77]),
            level("PT2H", [], [78]),
            level("PT1M30S", [bob["id"]]),
        ],
        repeating=True,
        frequency=3,
        delayMin=10,
        routingKey="db",
        teams=[
            {"id": (t6 := await new_team(api, "six"))},
            {"id": (t5 := await new_team(api, "five"))},
        ],
        unknownField=True,
        id=99,
    )
    assert policy["id"] != 99 and "unknownField" not in policy
    rules = policy["escalationRules"]
    assert [r["escalationTimeout"] for r in rules] == ["PT30S", 30, 120, "PT1M30S"]
    assert [u["id"] for u in rules[1]["users"]] == [bob["id"], alice["id"]]
    assert rules[1]["schedules"] == [{"id": 77}] and rules[2]["users"] == []
    assert policy["repeating"] is True and policy["frequency"] == 3
    assert policy["delayMin"] == 10 and policy["routingKey"] == "db"
    assert policy["teams"] == [{"id": t6, "name": "six"}, {"id": t5, "name": "five"}]
    # the answer round-trips: PUT it back unchanged and nothing is written
    before = await head(api)
    status, again = await api.call("PUT", f"{BASE}/{policy['id']}", json=policy)
    assert status == 200 and again == policy
    assert await head(api) == before


async def test_query_functions(api: Api, alice: dict[str, Any]) -> None:
    policy = await create(
        api, [], escalationRules=[level("PT30S", [alice["id"]], [3])], routingKey="k1"
    )
    pool = api.runtime.store.pool
    row = await policy_by_id(pool, policy["id"])
    assert row is not None and row["routing_key"] == "k1"
    assert policy_rules(row) == [
        {"escalation_timeout_s": 30, "users": [alice["id"]], "schedules": [3]}
    ]
    by_key = await policy_by_routing_key(pool, "k1")
    assert by_key is not None and by_key["id"] == policy["id"]
    assert await policy_by_routing_key(pool, "K1") is None
    assert await policy_by_routing_key(pool, "") is None
    assert await policy_by_id(pool, 2**63) is None


async def test_list_pages_in_id_order_and_over_the_cap_is_400(
    api: Api, alice: dict[str, Any]
) -> None:
    ids = [(await create(api, [alice["id"]], name=f"p{i}"))["id"] for i in range(5)]
    status, first = await api.call("GET", f"{BASE}?start-index=0&max-results=2")
    assert status == 200 and [p["id"] for p in first] == ids[:2]
    status, rest = await api.call("GET", f"{BASE}?start-index=2&max-results=100")
    assert status == 200 and [p["id"] for p in rest] == ids[2:]
    for query, field in (
        ("max-results=101", "max-results"),
        ("max-results=0", "max-results"),
        ("start-index=-1", "start-index"),
        ("max-results=x", "max-results"),
    ):
        status, problem = await api.call("GET", f"{BASE}?{query}")
        assert status == 400 and problem["field"] == field


async def test_put_replaces_the_whole_resource(api: Api, alice: dict[str, Any]) -> None:
    team = await new_team(api, "ops")
    policy = await create(
        api, [alice["id"]], repeating=True, frequency=4, delayMin=3, routingKey="r", teams=[team]
    )
    body = {"name": "Renamed", "escalationRules": [level(10, [], [4]), level(20, [alice["id"]])]}
    status, replaced = await api.call("PUT", f"{BASE}/{policy['id']}", json=body)
    assert status == 200, replaced
    assert replaced["id"] == policy["id"] and replaced["name"] == "Renamed"
    assert replaced["repeating"] is False and replaced["frequency"] == 1
    assert replaced["delayMin"] == 0 and replaced["routingKey"] is None
    assert replaced["teams"] == [{"id": team, "name": "ops"}]  # absent teams are kept
    assert [r["escalationTimeout"] for r in replaced["escalationRules"]] == [10, 20]
    _, read = await api.call("GET", f"{BASE}/{policy['id']}")
    assert read == replaced
    # the freed routing key may be taken by another policy now
    await create(api, [alice["id"]], routingKey="r")


async def test_put_one_level(api: Api, alice: dict[str, Any]) -> None:
    policy = await create(
        api, [], escalationRules=[level(5, [alice["id"]]), level(10, [alice["id"]])]
    )
    path = f"{BASE}/{policy['id']}/levels/1"
    status, replaced = await api.call("PUT", path, json=level("PT45S", [], [9]))
    assert status == 200, replaced
    assert replaced["escalationRules"][0] == policy["escalationRules"][0]
    assert replaced["escalationRules"][1] == {
        "escalationTimeout": "PT45S",
        "users": [],
        "schedules": [{"id": 9}],
    }
    _, read = await api.call("GET", f"{BASE}/{policy['id']}")
    assert read == replaced
    status, again = await api.call(
        "PUT", f"{BASE}/{policy['id']}/levels/0", json=level(15, [alice["id"]])
    )
    assert status == 200 and again["escalationRules"][0]["escalationTimeout"] == 15
    types = await api.runtime.store.pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'escalation-policy-rule-replaced'"
    )
    assert types == 2


@pytest.mark.parametrize("bad_level", ["2", "99", "x", "-1", "9" * 30])
async def test_put_a_missing_level_is_404_and_writes_nothing(
    api: Api, alice: dict[str, Any], bad_level: str
) -> None:
    policy = await create(
        api, [], escalationRules=[level(5, [alice["id"]]), level(5, [alice["id"]])]
    )
    before = await head(api)
    path = f"{BASE}/{policy['id']}/levels/{bad_level}"
    status, problem = await api.call("PUT", path, json=level(5, [alice["id"]]))
    assert status == 404 and problem["code"] == "NOT_FOUND"
    assert await head(api) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"users": [{"id": 1}]}, "escalationTimeout"),
        ({"escalationTimeout": 0, "users": [{"id": 1}]}, "escalationTimeout"),
        ({"escalationTimeout": "soon", "users": [{"id": 1}]}, "escalationTimeout"),
        ({"escalationTimeout": 5}, "users"),
        ({"escalationTimeout": 5, "users": [{"id": "x1"}]}, "users[0].id"),
        ({"escalationTimeout": 5, "users": [{"id": 10**12}]}, "users[0]"),
        ({"escalationTimeout": 5, "schedules": "1"}, "schedules"),
        ([1], "body"),
    ],
)
async def test_put_level_with_a_bad_rule_is_400(
    api: Api, alice: dict[str, Any], body: Any, field: str
) -> None:
    policy = await create(api, [alice["id"]])
    before = await head(api)
    status, problem = await api.call("PUT", f"{BASE}/{policy['id']}/levels/0", json=body)
    assert status == 400, problem
    assert problem["field"] == field
    assert await head(api) == before


async def test_resolve_by_routing_key(api: Api, alice: dict[str, Any]) -> None:
    await create(api, [alice["id"]], routingKey="other")
    policy = await create(api, [alice["id"]], name="Web", routingKey="web-team")
    status, found = await api.call("GET", f"{BASE}/resolve?routing-key=web-team")
    assert status == 200 and found == policy
    status, problem = await api.call("GET", f"{BASE}/resolve?routing-key=nobody")
    assert status == 404 and problem["code"] == "NOT_FOUND"
    for query in ("", "?routing-key=", "?routing-key=%20"):
        status, problem = await api.call("GET", f"{BASE}/resolve{query}")
        assert status == 400 and problem["field"] == "routing-key"
    await api.call("DELETE", f"{BASE}/{policy['id']}")
    status, _ = await api.call("GET", f"{BASE}/resolve?routing-key=web-team")
    assert status == 404


async def test_duplicate_routing_key_is_409_and_writes_nothing(
    api: Api, alice: dict[str, Any]
) -> None:
    first = await create(api, [alice["id"]], routingKey="dup")
    second = await create(api, [alice["id"]], routingKey="other")
    before = await head(api)
    body = {"name": "x", "escalationRules": [level(5, [alice["id"]])], "routingKey": "dup"}
    status, problem = await api.call("POST", BASE, json=body)
    assert status == 409 and problem["field"] == "routingKey"
    status, problem = await api.call("PUT", f"{BASE}/{second['id']}", json=body)
    assert status == 409 and problem["code"] == "CONFLICT"
    assert await head(api) == before
    # keeping its own key is no conflict
    status, _ = await api.call("PUT", f"{BASE}/{first['id']}", json={**body, "name": "Kept"})
    assert status == 200
    # a deleted policy's key is free again
    assert (await api.call("DELETE", f"{BASE}/{first['id']}"))[0] == 204
    await create(api, [alice["id"]], routingKey="dup")


async def test_delete_then_everything_is_404(api: Api, alice: dict[str, Any]) -> None:
    policy = await create(api, [alice["id"]])
    path = f"{BASE}/{policy['id']}"
    status, _ = await api.call("DELETE", path)
    assert status == 204
    body = {"name": "x", "escalationRules": [level(5, [alice["id"]])]}
    for method, target, payload in (
        ("GET", path, None),
        ("PUT", path, body),
        ("DELETE", path, None),
        ("PUT", f"{path}/levels/0", level(5, [alice["id"]])),
    ):
        status, problem = await api.call(method, target, json=payload)
        assert status == 404, (method, target, problem)
    _, listed = await api.call("GET", BASE)
    assert listed == []


@pytest.mark.parametrize("ident", ["0", "123456789", "9" * 19, "9" * 25, "abc"])
async def test_unknown_ids_are_404(api: Api, ident: str) -> None:
    status, problem = await api.call("GET", f"{BASE}/{ident}")
    assert status == 404 and problem["code"] == "NOT_FOUND"


async def test_roles_any_user_reads_only_admins_write(api: Api, alice: dict[str, Any]) -> None:
    policy = await create(api, [alice["id"]], routingKey="r")
    key = await key_for(api, alice["id"])
    status, listed = await api.call("GET", BASE, key=key)
    assert status == 200 and listed == [policy]
    for path in (f"{BASE}/{policy['id']}", f"{BASE}/resolve?routing-key=r"):
        status, read = await api.call("GET", path, key=key)
        assert status == 200 and read == policy
    before = await head(api)
    body = {"name": "x", "escalationRules": [level(5, [alice["id"]])]}
    for method, path, payload in (
        ("POST", BASE, body),
        ("PUT", f"{BASE}/{policy['id']}", body),
        ("PUT", f"{BASE}/{policy['id']}/levels/0", level(5, [alice["id"]])),
        ("DELETE", f"{BASE}/{policy['id']}", None),
    ):
        status, problem = await api.call(method, path, json=payload, key=key)
        assert status == 403 and problem["code"] == "FORBIDDEN", (method, path)
    assert await head(api) == before


async def test_unauthenticated_is_401(api: Api) -> None:
    for method, path in (
        ("GET", BASE),
        ("POST", BASE),
        ("GET", f"{BASE}/1"),
        ("GET", f"{BASE}/resolve?routing-key=x"),
        ("PUT", f"{BASE}/1/levels/0"),
    ):
        status, problem = await api.call(method, path, key=None)
        assert status == 401, (method, path, problem)


async def test_rules_must_name_live_users(api: Api, alice: dict[str, Any]) -> None:
    gone = await new_user(api, "gone")
    assert (await api.call("DELETE", f"/api/users/{gone['id']}"))[0] == 204
    before = await head(api)
    for users, field in (
        ([alice["id"], gone["id"]], "escalationRules[1].users[1]"),
        ([123456789], "escalationRules[1].users[0]"),
    ):
        body = {"name": "x", "escalationRules": [level(5, [alice["id"]]), level(5, users)]}
        status, problem = await api.call("POST", BASE, json=body)
        assert status == 400 and problem["field"] == field, problem
    assert await head(api) == before


def _rules(*rules: Any) -> dict[str, Any]:
    return {"name": "x", "escalationRules": list(rules)}


GOOD = {"escalationTimeout": 5, "users": [], "schedules": [{"id": 1}]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"escalationRules": [GOOD]}, "name"),
        ({"name": "", "escalationRules": [GOOD]}, "name"),
        ({"name": 7, "escalationRules": [GOOD]}, "name"),
        ({"name": "x" * 256, "escalationRules": [GOOD]}, "name"),
        ({"name": "x"}, "escalationRules"),
        (_rules(), "escalationRules"),
        ({"name": "x", "escalationRules": {"0": GOOD}}, "escalationRules"),
        (_rules(*[GOOD] * 51), "escalationRules"),
        (_rules(GOOD, "rule"), "escalationRules[1]"),
        (_rules(GOOD, {**GOOD, "escalationTimeout": None}), "escalationRules[1].escalationTimeout"),
        (_rules(GOOD, {**GOOD, "escalationTimeout": 0}), "escalationRules[1].escalationTimeout"),
        (_rules(GOOD, {**GOOD, "escalationTimeout": -5}), "escalationRules[1].escalationTimeout"),
        (_rules(GOOD, {**GOOD, "escalationTimeout": 1.5}), "escalationRules[1].escalationTimeout"),
        (_rules(GOOD, {**GOOD, "escalationTimeout": True}), "escalationRules[1].escalationTimeout"),
        (_rules({**GOOD, "escalationTimeout": "PT0S"}), "escalationRules[0].escalationTimeout"),
        (_rules({**GOOD, "escalationTimeout": "P1M"}), "escalationRules[0].escalationTimeout"),
        (_rules({**GOOD, "escalationTimeout": "PT"}), "escalationRules[0].escalationTimeout"),
        (_rules({**GOOD, "escalationTimeout": 10**30}), "escalationRules[0].escalationTimeout"),
        (
            _rules({**GOOD, "escalationTimeout": "P" + "9" * 100 + "D"}),
            "escalationRules[0].escalationTimeout",
        ),
        (_rules({**GOOD, "escalationTimeout": "P9999D"}), "escalationRules[0].escalationTimeout"),
        (_rules({"escalationTimeout": 5}), "escalationRules[0]"),
        (_rules({"escalationTimeout": 5, "users": [], "schedules": []}), "escalationRules[0]"),
        (_rules({**GOOD, "users": {"id": 1}}), "escalationRules[0].users"),
        (_rules({**GOOD, "users": [{"name": "a"}]}), "escalationRules[0].users[0].id"),
        (_rules({**GOOD, "users": [{"id": -1}]}), "escalationRules[0].users[0].id"),
        (_rules({**GOOD, "schedules": [{"id": 0}]}), "escalationRules[0].schedules[0].id"),
        (_rules({**GOOD, "schedules": [{"id": 2**63}]}), "escalationRules[0].schedules[0].id"),
        (_rules({**GOOD, "schedules": [None]}), "escalationRules[0].schedules[0]"),
        ({**_rules(GOOD), "repeating": "true"}, "repeating"),
        ({**_rules(GOOD), "frequency": 0}, "frequency"),
        ({**_rules(GOOD), "frequency": 10}, "frequency"),
        ({**_rules(GOOD), "frequency": "2"}, "frequency"),
        ({**_rules(GOOD), "delayMin": -1}, "delayMin"),
        ({**_rules(GOOD), "delayMin": 1.5}, "delayMin"),
        ({**_rules(GOOD), "delayMin": 10**30}, "delayMin"),
        ({**_rules(GOOD), "routingKey": 5}, "routingKey"),
        ({**_rules(GOOD), "routingKey": "k" * 256}, "routingKey"),
        ({**_rules(GOOD), "routingKey": "a\nb"}, "routingKey"),
        ({**_rules(GOOD), "teams": 5}, "teams"),
        ({**_rules(GOOD), "teams": [{"id": "x"}]}, "teams[0].id"),
        ({**_rules(GOOD), "teams": [{"id": 0}]}, "teams[0].id"),
    ],
)
async def test_bad_fields_are_400_naming_the_field_and_write_nothing(
    api: Api, alice: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    policy = await create(api, [alice["id"]])
    before = await head(api)
    status, problem = await api.call("POST", BASE, json=body)
    assert status == 400, problem
    assert problem["field"] == field and field in problem["message"]
    status, problem = await api.call("PUT", f"{BASE}/{policy['id']}", json=body)
    assert status == 400 and problem["field"] == field, problem
    assert await head(api) == before


@pytest.mark.parametrize(
    "raw", [b"", b"not json", b"[1, 2]", b'"name"', b"null", b"42", b'{"name": "x"']
)
async def test_body_that_is_not_a_json_object_is_400(
    api: Api, alice: dict[str, Any], raw: bytes
) -> None:
    policy = await create(api, [alice["id"]])
    before = await head(api)
    headers = {"Content-Type": "application/json"}
    for method, path in (
        ("POST", BASE),
        ("PUT", f"{BASE}/{policy['id']}"),
        ("PUT", f"{BASE}/{policy['id']}/levels/0"),
    ):
        status, problem = await api.call(method, path, data=raw, headers=headers)
        assert status == 400 and problem["field"] == "body", (method, raw, problem)
    assert await head(api) == before


async def test_rebuilt_projection_equals_the_live_one(api: Api, alice: dict[str, Any]) -> None:
    kept = await create(
        api,
        [],
        escalationRules=[level("PT30S", [alice["id"]]), level(10, [], [3])],
        routingKey="kept",
        teams=[await new_team(api, "ops")],
    )
    await api.call(
        "PUT",
        f"{BASE}/{kept['id']}",
        json={"name": "Kept", "escalationRules": [level(1, [alice["id"]]), level(2, [], [3])]},
    )
    await api.call("PUT", f"{BASE}/{kept['id']}/levels/1", json=level("PT90S", [alice["id"]]))
    gone = await create(api, [alice["id"]], name="Gone", routingKey="gone")
    await api.call("DELETE", f"{BASE}/{gone['id']}")
    pool = api.runtime.store.pool
    query = "SELECT * FROM escalation_policies ORDER BY id"
    live = [dict(row) for row in await pool.fetch(query)]
    _, live_api = await api.call("GET", f"{BASE}/{kept['id']}")
    await api.runtime.runner.rebuild("escalation_policies")
    assert [dict(row) for row in await pool.fetch(query)] == live
    assert [row["deleted"] for row in live] == [False, True]
    _, rebuilt_api = await api.call("GET", f"{BASE}/{kept['id']}")
    assert rebuilt_api == live_api
    assert [r["escalationTimeout"] for r in live_api["escalationRules"]] == [1, "PT1M30S"]


async def test_ids_as_decimal_strings_as_the_terraform_provider_sends_them(
    api: Api, alice: dict[str, Any]
) -> None:
    body = {
        "name": "TF",
        "escalationRules": [
            {"escalationTimeout": 5, "users": [{"id": str(alice["id"])}], "schedules": ["7"]}
        ],
        "teams": [{"id": str(team := await new_team(api, "tf"))}],
    }
    status, policy = await api.call("POST", "/api/escalation-policies", json=body)
    assert status == 201, policy
    rule = policy["escalationRules"][0]
    assert rule["users"][0]["id"] == alice["id"] and rule["schedules"] == [{"id": 7}]
    assert policy["teams"] == [{"id": team, "name": "tf"}]
