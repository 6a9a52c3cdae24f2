"""/api/alert-sources over HTTP: CRUD, lookup by integration key, roles, and every 4xx."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ilertd.domain.alert_source import AlertSource
from ilertd.domain.user import User
from ilertd.security import hash_api_key

from .conftest import Api

BASE = "/api/alert-sources"
USER_KEY = "ilk_integration_plain_user_key_0123456789"


async def create(api: Api, **fields: Any) -> dict[str, Any]:
    status, body = await api.call("POST", BASE, json={"name": "Prod", **fields})
    assert status == 201, body
    return body


async def add_user(api: Api, role: str, key: str) -> None:
    user = User(username=f"{role.lower()}-user", email=f"{role.lower()}@x.test", role=role)
    user.issue_api_key(uuid.uuid4(), hash_api_key(key), "test")
    await api.runtime.repository.save(user, metadata={"actor": "test"})
    await api.settle()


async def head(api: Api) -> int:
    return await api.runtime.store.head_position()


async def test_create_with_defaults_then_read_by_id_and_by_key(api: Api) -> None:
    source = await create(api)
    base = api.url("/").rstrip("/")
    assert source["name"] == "Prod"
    assert source["integrationType"] == "API"
    assert source["integrationUrl"] == f"{base}/api/events"
    assert source["escalationPolicy"] is None
    assert source["alertCreation"] == "ONE_OPEN_ALERT_ALLOWED"
    assert source["alertGroupingWindow"] is None
    assert source["alertPriorityRule"] == "HIGH"
    assert source["autoResolutionTimeout"] is None
    assert source["active"] is True and source["status"] == "ALL_RESOLVED"
    assert source["createdAt"].endswith("Z") and source["createdAt"] == source["updatedAt"]
    status, by_id = await api.call("GET", f"{BASE}/{source['id']}")
    assert status == 200 and by_id == source
    status, by_key = await api.call("GET", f"{BASE}/{source['integrationKey']}")
    assert status == 200 and by_key == source


async def test_id_is_the_position_of_the_created_event_and_actor_is_recorded(api: Api) -> None:
    source = await create(api)
    _, me = await api.call("GET", "/api/users/current")
    pool = api.runtime.store.pool
    row = await pool.fetchrow(
        "SELECT type, metadata::text AS metadata FROM events WHERE position = $1", source["id"]
    )
    assert row["type"] == "alert-source-created"
    assert f'"user:{me["id"]}"' in row["metadata"]


async def a_policy(api: Api) -> int:
    _, me = await api.call("GET", "/api/users/current")
    status, policy = await api.call(
        "POST",
        "/api/escalation-policies",
        json={
            "name": "p",
            "escalationRules": [{"escalationTimeout": 5, "users": [{"id": me["id"]}]}],
        },
    )
    assert status == 201, policy
    return policy["id"]


async def test_create_with_every_field(api: Api) -> None:
    policy = await a_policy(api)
    source = await create(
        api,
        name="Alertmanager",
        integrationType="PROMETHEUS",
        escalationPolicy={"id": policy},
        alertCreation="ONE_ALERT_GROUPED_PER_WINDOW",
        alertGroupingWindow="PT5M",
        alertPriorityRule="LOW",
        autoResolutionTimeout=7200,
        active=False,
        unknownField={"ignored": True},
        id=999,
        integrationKey="mine",
    )
    key = source["integrationKey"]
    assert key != "mine" and source["id"] != 999
    assert source["integrationUrl"] == api.url(f"/api/v1/events/prometheus/{key}")
    assert source["escalationPolicy"] == {"id": policy}
    assert source["alertGroupingWindow"] == "PT5M"
    assert source["autoResolutionTimeout"] == "PT2H"
    assert source["alertPriorityRule"] == "LOW"
    assert source["active"] is False and source["status"] == "DISABLED"
    assert "unknownField" not in source


async def test_heartbeat_url_and_legacy_field_names(api: Api) -> None:
    policy = await a_policy(api)
    source = await create(
        api,
        integrationType="heartbeat2",
        incidentCreation="ONE_INCIDENT_PER_EMAIL",
        incidentPriorityRule="LOW",
        alertGroupingWindow=600,
        escalationPolicy={"id": str(policy)},
    )
    assert source["integrationType"] == "HEARTBEAT2"
    assert source["integrationUrl"] == api.url(f"/api/heartbeats/{source['integrationKey']}")
    assert source["alertCreation"] == "ONE_ALERT_PER_EMAIL"
    assert source["alertPriorityRule"] == "LOW"
    assert source["alertGroupingWindow"] == "PT10M"
    assert source["escalationPolicy"] == {"id": policy}


async def test_integration_keys_are_long_random_and_distinct(api: Api) -> None:
    keys = [(await create(api, name=f"s{i}"))["integrationKey"] for i in range(8)]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert len(key) * 4 >= 128 and int(key, 16) >= 0  # hex: 4 bits a character
        assert len(key) == 40


async def test_list_pages_in_id_order(api: Api) -> None:
    ids = [(await create(api, name=f"s{i}"))["id"] for i in range(5)]
    status, everything = await api.call("GET", BASE)
    assert status == 200 and [s["id"] for s in everything] == ids
    status, page = await api.call("GET", BASE, params={"start-index": "1", "max-results": "2"})
    assert status == 200 and [s["id"] for s in page] == ids[1:3]
    status, page = await api.call("GET", BASE, params={"start-index": "10"})
    assert status == 200 and page == []
    status, page = await api.call("GET", BASE, params={"max-results": "100"})
    assert status == 200 and len(page) == 5


async def test_list_defaults_to_50(api: Api) -> None:
    for i in range(51):
        await api.runtime.repository.save(AlertSource.create(name=f"s{i}"))
    await api.settle()
    status, page = await api.call("GET", BASE)
    assert status == 200 and len(page) == 50
    status, rest = await api.call("GET", BASE, params={"start-index": "50"})
    assert status == 200 and len(rest) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"max-results": "101"}, "max-results"),
        ({"max-results": "0"}, "max-results"),
        ({"max-results": "-1"}, "max-results"),
        ({"max-results": "ten"}, "max-results"),
        ({"start-index": "-1"}, "start-index"),
        ({"start-index": "1.5"}, "start-index"),
        ({"start-index": "99999999999999999999999"}, "start-index"),
    ],
)
async def test_bad_paging_is_400_naming_the_parameter(
    api: Api, params: dict[str, str], field: str
) -> None:
    status, problem = await api.call("GET", BASE, params=params)
    assert status == 400 and problem["field"] == field and field in problem["message"]


async def test_put_replaces_the_whole_resource_and_keeps_the_key(api: Api) -> None:
    policy = await a_policy(api)
    source = await create(
        api,
        integrationType="GRAFANA",
        escalationPolicy={"id": policy},
        autoResolutionTimeout="PT4H",
    )
    status, updated = await api.call(
        "PUT",
        f"{BASE}/{source['id']}",
        json={"name": "Renamed", "alertPriorityRule": "LOW", "id": 1},
    )
    assert status == 200, updated
    assert updated["id"] == source["id"]
    assert updated["integrationKey"] == source["integrationKey"]
    assert updated["name"] == "Renamed"
    assert updated["integrationType"] == "API"  # absent: back to the default
    assert updated["escalationPolicy"] is None and updated["autoResolutionTimeout"] is None
    assert updated["alertPriorityRule"] == "LOW"
    assert (
        updated["createdAt"] == source["createdAt"] and updated["updatedAt"] > source["updatedAt"]
    )
    status, read = await api.call("GET", f"{BASE}/{source['id']}")
    assert status == 200 and read == updated


async def test_put_by_key_and_put_without_change_writes_nothing(api: Api) -> None:
    source = await create(api, autoResolutionTimeout="PT60M")
    body = {"name": "Prod", "autoResolutionTimeout": 3600}
    before = await head(api)
    status, same = await api.call("PUT", f"{BASE}/{source['integrationKey']}", json=body)
    assert status == 200 and same == source
    assert await head(api) == before


async def test_delete_then_everything_is_404(api: Api) -> None:
    source = await create(api)
    other = await create(api, name="Other")
    status, body = await api.call("DELETE", f"{BASE}/{source['id']}")
    assert status == 204 and body is None
    for path in (f"{BASE}/{source['id']}", f"{BASE}/{source['integrationKey']}"):
        status, problem = await api.call("GET", path)
        assert status == 404 and problem["status"] == 404
    status, problem = await api.call("PUT", f"{BASE}/{source['id']}", json={"name": "x"})
    assert status == 404
    status, problem = await api.call("DELETE", f"{BASE}/{source['id']}")
    assert status == 404
    status, listed = await api.call("GET", BASE)
    assert [s["id"] for s in listed] == [other["id"]]


async def test_delete_by_key(api: Api) -> None:
    source = await create(api)
    status, _ = await api.call("DELETE", f"{BASE}/{source['integrationKey']}")
    assert status == 204
    status, _ = await api.call("GET", f"{BASE}/{source['id']}")
    assert status == 404


@pytest.mark.parametrize(
    "ident",
    [
        "0",
        "123456",
        "9223372036854775807",
        "99999999999999999999",
        "no-such-key",
        "x" * 300,
        "%00",
        "a%00b",
        "%F0%9F%94%A5",
    ],
)
async def test_unknown_ids_are_404(api: Api, ident: str) -> None:
    await create(api)
    status, problem = await api.call("GET", f"{BASE}/{ident}")
    assert status == 404 and problem["code"] == "NOT_FOUND"


async def test_regenerated_key_replaces_the_old_one(api: Api) -> None:
    source = await create(api)
    pool = api.runtime.store.pool  # type: ignore[union-attr]
    stream_id = await pool.fetchval(
        "SELECT stream_id FROM alert_sources WHERE id = $1", source["id"]
    )
    aggregate = await api.runtime.repository.load(stream_id)
    aggregate.regenerate_key()
    await api.runtime.repository.save(aggregate)
    await api.settle()
    status, _ = await api.call("GET", f"{BASE}/{source['integrationKey']}")
    assert status == 404
    status, fresh = await api.call("GET", f"{BASE}/{aggregate.integration_key}")
    assert status == 200 and fresh["id"] == source["id"]


async def test_roles_any_user_reads_only_admins_write(api: Api) -> None:
    source = await create(api)
    await add_user(api, "USER", USER_KEY)
    status, listed = await api.call("GET", BASE, key=USER_KEY)
    assert status == 200 and len(listed) == 1
    status, _ = await api.call("GET", f"{BASE}/{source['id']}", key=USER_KEY)
    assert status == 200
    before = await head(api)
    for method, path in (("POST", BASE), ("PUT", f"{BASE}/{source['id']}")):
        status, problem = await api.call(method, path, json={"name": "x"}, key=USER_KEY)
        assert status == 403 and problem["code"] == "FORBIDDEN"
    status, _ = await api.call("DELETE", f"{BASE}/{source['id']}", key=USER_KEY)
    assert status == 403
    assert await head(api) == before


async def test_unauthenticated_is_401(api: Api) -> None:
    for method in ("GET", "POST"):
        status, problem = await api.call(method, BASE, json={"name": "x"}, key=None)
        assert status == 401 and problem["code"] == "UNAUTHORIZED"


async def test_a_policy_that_does_not_exist_is_400_and_writes_nothing(api: Api) -> None:
    source = await create(api)
    before = await head(api)
    for method, path in (("POST", BASE), ("PUT", f"{BASE}/{source['id']}")):
        body = {"name": "x", "escalationPolicy": {"id": 424242}}
        status, problem = await api.call(method, path, json=body)
        assert status == 400 and problem["field"] == "escalationPolicy.id", problem
        assert "no escalation policy with id 424242" in problem["message"]
    assert await head(api) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": 12}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "a\u0000b"}, "name"),
        ({"name": "x", "integrationType": "not a type"}, "integrationType"),
        ({"name": "x", "integrationType": ["API"]}, "integrationType"),
        ({"name": "x", "integrationType": "A" * 10_000}, "integrationType"),
        ({"name": "x", "escalationPolicy": "abc"}, "escalationPolicy"),
        ({"name": "x", "escalationPolicy": {"id": "abc"}}, "escalationPolicy.id"),
        ({"name": "x", "escalationPolicy": {"id": -1}}, "escalationPolicy.id"),
        ({"name": "x", "escalationPolicy": {"id": 2**64}}, "escalationPolicy.id"),
        ({"name": "x", "escalationPolicy": True}, "escalationPolicy"),
        ({"name": "x", "escalationPolicy": {"id": "9" * 5000}}, "escalationPolicy.id"),
        ({"name": "x", "alertCreation": "SOMETIMES"}, "alertCreation"),
        ({"name": "x", "alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW"}, "alertGroupingWindow"),
        ({"name": "x", "alertGroupingWindow": "5 minutes"}, "alertGroupingWindow"),
        ({"name": "x", "alertGroupingWindow": "P1M"}, "alertGroupingWindow"),
        ({"name": "x", "alertGroupingWindow": 0}, "alertGroupingWindow"),
        ({"name": "x", "alertGroupingWindow": 1.5}, "alertGroupingWindow"),
        ({"name": "x", "alertPriorityRule": "URGENT"}, "alertPriorityRule"),
        ({"name": "x", "autoResolutionTimeout": "PT"}, "autoResolutionTimeout"),
        ({"name": "x", "autoResolutionTimeout": "P" + "9" * 100 + "D"}, "autoResolutionTimeout"),
        ({"name": "x", "autoResolutionTimeout": 10**30}, "autoResolutionTimeout"),
        ({"name": "x", "autoResolutionTimeout": False}, "autoResolutionTimeout"),
        ({"name": "x", "autoResolutionTimeout": {"s": 1}}, "autoResolutionTimeout"),
        ({"name": "x", "active": "true"}, "active"),
        ({"name": "x", "active": 1}, "active"),
    ],
)
async def test_bad_fields_are_400_naming_the_field_and_write_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    source = await create(api)
    before = await head(api)
    status, problem = await api.call("POST", BASE, json=body)
    assert status == 400, problem
    assert problem["field"] == field and field in problem["message"]
    status, problem = await api.call("PUT", f"{BASE}/{source['id']}", json=body)
    assert status == 400 and problem["field"] == field
    assert await head(api) == before


@pytest.mark.parametrize(
    "raw", [b"", b"not json", b"[1, 2]", b'"name"', b"null", b"42", b'{"name": "x"']
)
async def test_body_that_is_not_a_json_object_is_400(api: Api, raw: bytes) -> None:
    source = await create(api)
    before = await head(api)
    headers = {"Content-Type": "application/json"}
    for method, path in (("POST", BASE), ("PUT", f"{BASE}/{source['id']}")):
        status, problem = await api.call(method, path, data=raw, headers=headers)
        assert status == 400 and problem["field"] == "body", problem
    assert await head(api) == before


async def test_rebuilt_projection_equals_the_live_one(api: Api) -> None:
    kept = await create(api, integrationType="GRAFANA", autoResolutionTimeout="PT30M")
    await api.call("PUT", f"{BASE}/{kept['id']}", json={"name": "Kept", "active": False})
    gone = await create(api, name="Gone")
    await api.call("DELETE", f"{BASE}/{gone['id']}")
    pool = api.runtime.store.pool
    query = "SELECT * FROM alert_sources ORDER BY id"
    live = [dict(row) for row in await pool.fetch(query)]
    await api.runtime.runner.rebuild("alert_sources")
    assert [dict(row) for row in await pool.fetch(query)] == live
    assert [row["deleted"] for row in live] == [False, True]
