"""/api/users and /api/users/{id}/api-keys through HTTP, against a real database."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import pytest

from ilertd.bootstrap import BOOTSTRAP_ADMIN_ID
from ilertd.domain.user import User

from .conftest import Api

USER_FIELDS = {
    "id",
    "username",
    "firstName",
    "lastName",
    "email",
    "timezone",
    "language",
    "role",
    "position",
    "department",
    "region",
    "shiftColor",
    "mutedUntil",
    "createdAt",
    "updatedAt",
}


def person(name: str, **extra: Any) -> dict[str, Any]:
    base = {"email": f"{name}@example.test", "firstName": name.title(), "lastName": "Tester"}
    return base | extra


async def create(api: Api, name: str, **extra: Any) -> dict[str, Any]:
    status, user = await api.call("POST", "/api/users", json=person(name, **extra))
    assert status == 201, user
    return user


async def key_for(api: Api, user_id: int, label: str = "test") -> str:
    status, issued = await api.call("POST", f"/api/users/{user_id}/api-keys", json={"label": label})
    assert status == 201, issued
    return issued["apiKey"]


async def head(api: Api) -> int:
    return await api.runtime.store.head_position()


def parse_time(value: str) -> datetime:
    assert value.endswith("Z")
    return datetime.fromisoformat(value)


async def test_create_then_get_and_list(api: Api) -> None:
    status, created = await api.call(
        "POST",
        "/api/users",
        json=person(
            "ada",
            timezone="Europe/Berlin",
            language="de",
            role="RESPONDER",
            mutedUntil="2030-01-01T10:00:00+02:00",
            favouriteColour="green",  # unknown fields are ignored
        ),
    )
    assert status == 201
    assert set(created) == USER_FIELDS
    assert created["username"] == created["email"] == "ada@example.test"
    assert (created["firstName"], created["lastName"]) == ("Ada", "Tester")
    assert (created["timezone"], created["language"], created["role"]) == (
        "Europe/Berlin",
        "de",
        "RESPONDER",
    )
    assert created["mutedUntil"] == "2030-01-01T08:00:00.000Z"
    assert parse_time(created["createdAt"]) == parse_time(created["updatedAt"])
    assert isinstance(created["id"], int) and created["id"] > 2  # after the bootstrap events

    status, fetched = await api.call("GET", f"/api/users/{created['id']}")
    assert status == 200 and fetched == created
    status, everyone = await api.call("GET", "/api/users")
    assert status == 200
    assert [u["email"] for u in everyone] == ["admin@localhost", "ada@example.test"]
    assert everyone[1] == created

    status, plain = await api.call("POST", "/api/users", json=person("bob"))
    assert status == 201
    assert (plain["timezone"], plain["language"], plain["role"], plain["mutedUntil"]) == (
        "UTC",
        "en",
        "USER",
        None,
    )
    status, named = await api.call("POST", "/api/users", json=person("cy", username="cy"))
    assert status == 201 and named["username"] == "cy"


async def test_events_carry_actor_and_request_id(api: Api) -> None:
    status, me = await api.call("GET", "/api/users/current")
    status, created = await api.call(
        "POST", "/api/users", json=person("ada"), headers={"X-Request-Id": "req-users-1"}
    )
    assert status == 201
    status, _ = await api.call("DELETE", f"/api/users/{created['id']}")
    assert status == 204
    events = await events_of(api, created["id"])
    assert [e.type for e in events] == ["user-registered", "user-deleted"]
    assert events[0].position == created["id"]
    assert events[0].metadata == {"actor": f"user:{me['id']}", "request_id": "req-users-1"}
    assert events[1].metadata["actor"] == f"user:{me['id']}"
    assert events[1].metadata["request_id"]  # generated when the client sent none


async def events_of(api: Api, user_id: int) -> list[Any]:
    """The stream of the user whose user-registered event sits at position ``user_id``."""
    [first] = [e async for e in api.runtime.store.read_all(user_id, to_position=user_id)]
    return await api.runtime.store.read_stream(first.stream_id)


BAD_BODIES = [
    ({"firstName": "A", "lastName": "B"}, "email", "required"),
    (person("x", email=None), "email", "must be a string, got null"),
    (person("x", email=42), "email", "string"),
    (person("x", email=["a@b.c"]), "email", "string"),
    (person("x", email="nobody"), "email", "email address"),
    (person("x", email="a@" + "b" * 300 + ".test"), "email", "at most 255"),
    ({"email": "x@example.test", "lastName": "B"}, "firstName", "required"),
    (person("x", firstName="   "), "firstName", "empty"),
    (person("x", firstName={"a": 1}), "firstName", "object"),
    (person("x", lastName=True), "lastName", "boolean"),
    (person("x", lastName="y" * 100_000), "lastName", "at most 255"),
    (person("x", lastName="nul\u0000byte"), "lastName", "NUL character"),
    (person("x", lastName="tab\tbyte"), "lastName", "control characters"),
    (person("x", username="u" * 256), "username", "at most 255"),
    (person("x", username=7), "username", "string"),
    (person("x", timezone="Mars/Olympus_Mons"), "timezone", "IANA"),
    (person("x", timezone="../../../../etc/passwd"), "timezone", "IANA"),
    (person("x", timezone="t" * 5000), "timezone", "IANA"),
    (person("x", timezone=1), "timezone", "string"),
    (person("x", timezone=""), "timezone", "IANA"),
    (person("x", role=""), "role", "one of"),
    (person("x", language="fr"), "language", "one of de, en"),
    (person("x", role="OWNER"), "role", "one of"),
    (person("x", role=["ADMIN"]), "role", "array"),
    (person("x", mutedUntil="tomorrow"), "mutedUntil", "ISO-8601"),
    (person("x", mutedUntil=1700000000), "mutedUntil", "string"),
    (person("x", mutedUntil="0001-01-01T00:00:00+14:00"), "mutedUntil", "out of range"),
    (person("x", shiftColor="orange"), "shiftColor", "colour such as #1e88e5"),
    (person("x", shiftColor="#12345"), "shiftColor", "colour"),
    (person("x", shiftColor=255), "shiftColor", "string"),
    (person("x", position="p" * 256), "position", "at most 255"),
    (person("x", department="a\u0007b"), "department", "control characters"),
    (person("x", region=["DE"]), "region", "array"),
]


@pytest.mark.parametrize(("body", "field", "words"), BAD_BODIES)
async def test_bad_fields_are_400s_that_name_the_field(
    api: Api, body: dict, field: str, words: str
) -> None:
    before = await head(api)
    status, problem = await api.call("POST", "/api/users", json=body)
    assert status == 400, problem
    assert problem["status"] == 400 and problem["field"] == field
    assert field in problem["message"] and words in problem["message"]
    assert await head(api) == before


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"text"', b"null", b"{", b"\xff"])
async def test_a_body_that_is_no_json_object_is_a_400(api: Api, raw: bytes) -> None:
    before = await head(api)
    status, problem = await api.call(
        "POST", "/api/users", data=raw, headers={"Content-Type": "application/json"}
    )
    assert status == 400 and problem["field"] == "body" and "body" in problem["message"]
    status, problem = await api.call("PUT", "/api/users/1", data=raw)
    assert status == 400 and problem["field"] == "body" and "body" in problem["message"]
    assert await head(api) == before


async def test_odd_input_never_gets_a_500(api: Api) -> None:
    bodies: list[Any] = [
        {"email": "a@b.c", "firstName": "A", "lastName": "B", "role": None, "timezone": ""},
        {"email": "a@b.c", "firstName": 1.5e308, "lastName": []},
        {"email": "\ud7ff@b.c", "firstName": "\U0001f600", "lastName": "\u202e"},
        {"email": "x@y", "firstName": "A", "lastName": "B", "mutedUntil": "2030-02-30"},
        {"email": "x@y", "firstName": "A", "lastName": "B", "mutedUntil": "9999-12-31T23:59-14:00"},
        {"email": {"$ne": None}, "firstName": "A", "lastName": "B"},
        {"": "", "email": "e@e.e", "firstName": "A", "lastName": "B", "language": "EN"},
    ]
    for body in bodies:
        for method, path in (("POST", "/api/users"), ("PUT", "/api/users/1")):
            status, answer = await api.call(method, path, json=body)
            assert status in (200, 201, 400, 404, 409), (body, answer)
    for path in ("/api/users/99999999999999999999999", "/api/users/0", "/api/users/abc"):
        status, problem = await api.call("GET", path)
        assert status == 404 and problem["status"] == 404
    status, problem = await api.call("PATCH", "/api/users/1", json={})
    assert status == 405


async def test_duplicate_emails_and_usernames_are_409s(api: Api) -> None:
    ada = await create(api, "ada", username="ada")
    before = await head(api)
    status, problem = await api.call(
        "POST", "/api/users", json=person("other", email="ADA@example.test")
    )
    assert status == 409 and problem["field"] == "email" and "already taken" in problem["message"]
    status, problem = await api.call("POST", "/api/users", json=person("other", username="Ada"))
    assert status == 409 and problem["field"] == "username"
    status, problem = await api.call("POST", "/api/users", json=person("admin", email="admin@x"))
    assert status == 201  # the bootstrap admin's username is "admin", but not its email
    assert problem["username"] == "admin@x"
    status, problem = await api.call("POST", "/api/users", json=person("root", username="ADMIN"))
    assert status == 409 and problem["field"] == "username"
    assert await head(api) == before + 1

    bob = await create(api, "bob")
    status, problem = await api.call(
        "PUT", f"/api/users/{bob['id']}", json=person("bob", email="ada@example.test")
    )
    assert status == 409 and problem["field"] == "email"
    status, same = await api.call(
        "PUT", f"/api/users/{ada['id']}", json=person("ada", username="ada")
    )
    assert status == 200 and same["email"] == "ada@example.test"  # its own email is no clash

    status, _ = await api.call("DELETE", f"/api/users/{ada['id']}")
    assert status == 204
    again = await create(api, "ada", username="ada")  # deleted users free their email
    assert again["id"] != ada["id"]


async def test_put_replaces_the_whole_user(api: Api) -> None:
    ada = await create(
        api,
        "ada",
        username="ada",
        timezone="Asia/Tokyo",
        language="de",
        role="STAKEHOLDER",
        mutedUntil="2030-01-01T00:00:00Z",
        position="  Engineer ",
        department="Analytical Engines",
        shiftColor="#ABCDEF",
    )
    assert (ada["position"], ada["department"], ada["shiftColor"]) == (
        "Engineer",
        "Analytical Engines",
        "#abcdef",
    )
    status, replaced = await api.call(
        "PUT", f"/api/users/{ada['id']}", json=person("augusta", id=999)
    )
    assert status == 200
    assert replaced["id"] == ada["id"]  # the id in the body is ignored
    assert replaced["username"] == replaced["email"] == "augusta@example.test"
    assert (replaced["firstName"], replaced["timezone"], replaced["language"]) == (
        "Augusta",
        "UTC",
        "en",
    )
    assert (replaced["role"], replaced["mutedUntil"]) == ("USER", None)
    assert (replaced["position"], replaced["department"], replaced["shiftColor"]) == ("", "", "")
    assert replaced["createdAt"] == ada["createdAt"]
    assert parse_time(replaced["updatedAt"]) > parse_time(ada["updatedAt"])
    status, fetched = await api.call("GET", f"/api/users/{ada['id']}")
    assert fetched == replaced

    before = await head(api)
    status, problem = await api.call(
        "PUT", f"/api/users/{ada['id']}", json={"email": "augusta@example.test"}
    )
    assert status == 400 and problem["field"] == "firstName"
    status, problem = await api.call(
        "PUT", f"/api/users/{ada['id']}", json=person("augusta", language="klingon")
    )
    assert status == 400 and problem["field"] == "language"
    status, problem = await api.call("PUT", "/api/users/123456", json=person("nobody"))
    assert status == 404 and "123456" in problem["message"]
    assert await head(api) == before
    status, fetched = await api.call("GET", f"/api/users/{ada['id']}")
    assert fetched == replaced


async def test_roles_decide_who_may_do_what(api: Api) -> None:
    users = {role: await create(api, role.lower(), role=role) for role in ("USER", "GUEST")}
    keys = {role: await key_for(api, user["id"]) for role, user in users.items()}
    guest, plain = users["GUEST"], users["USER"]

    status, listed = await api.call("GET", "/api/users", key=keys["GUEST"])
    assert status == 200 and len(listed) == 3
    status, fetched = await api.call("GET", f"/api/users/{plain['id']}", key=keys["GUEST"])
    assert status == 200 and fetched["email"] == plain["email"]
    status, me = await api.call("GET", "/api/users/current", key=keys["GUEST"])
    assert status == 200 and me["id"] == guest["id"] and me["role"] == "GUEST"

    before = await head(api)
    for key in keys.values():
        status, problem = await api.call("POST", "/api/users", json=person("eve"), key=key)
        assert status == 403 and "ADMIN" in problem["message"]
        status, problem = await api.call("DELETE", f"/api/users/{guest['id']}", key=key)
        assert status == 403 and "ADMIN" in problem["message"]
    status, problem = await api.call(
        "PUT", f"/api/users/{guest['id']}", json=person("guest", role="GUEST"), key=keys["USER"]
    )
    assert status == 403
    status, problem = await api.call(
        "PUT", f"/api/users/{guest['id']}", json=person("guest", role="ADMIN"), key=keys["GUEST"]
    )
    assert status == 403 and problem["field"] == "role" and "send role GUEST" in problem["message"]
    status, problem = await api.call(
        "POST", f"/api/users/{plain['id']}/api-keys", json={}, key=keys["GUEST"]
    )
    assert status == 403
    status, problem = await api.call("GET", f"/api/users/{plain['id']}/api-keys", key=keys["GUEST"])
    assert status == 403
    status, problem = await api.call("GET", "/api/users", key=None)
    assert status == 401 and problem["code"] == "UNAUTHORIZED"
    status, problem = await api.call("POST", "/api/users", json=person("eve"), key=None)
    assert status == 401
    assert await head(api) == before

    status, mine = await api.call(
        "PUT",
        f"/api/users/{guest['id']}",
        json=person("guest", role="GUEST", timezone="Europe/Vienna"),
        key=keys["GUEST"],
    )
    assert status == 200 and mine["timezone"] == "Europe/Vienna" and mine["role"] == "GUEST"
    status, promoted = await api.call(
        "PUT", f"/api/users/{guest['id']}", json=person("guest", role="ADMIN")
    )
    assert status == 200 and promoted["role"] == "ADMIN"
    status, made = await api.call("POST", "/api/users", json=person("eve"), key=keys["GUEST"])
    assert status == 201 and made["email"] == "eve@example.test"


async def test_delete_hides_the_user_and_revokes_its_keys(api: Api) -> None:
    ada = await create(api, "ada")
    key = await key_for(api, ada["id"])
    status, me = await api.call("GET", "/api/users/current", key=key)
    assert status == 200 and me["id"] == ada["id"]

    status, body = await api.call("DELETE", f"/api/users/{ada['id']}")
    assert status == 204 and body is None
    status, problem = await api.call("GET", f"/api/users/{ada['id']}")
    assert status == 404
    status, listed = await api.call("GET", "/api/users")
    assert [u["email"] for u in listed] == ["admin@localhost"]
    status, problem = await api.call("GET", "/api/users/current", key=key)
    assert status == 403 and "not valid" in problem["message"]
    for method, path in (
        ("DELETE", f"/api/users/{ada['id']}"),
        ("PUT", f"/api/users/{ada['id']}"),
        ("GET", f"/api/users/{ada['id']}/api-keys"),
        ("POST", f"/api/users/{ada['id']}/api-keys"),
    ):
        status, problem = await api.call(method, path, json=person("ada"))
        assert status == 404, (method, path, problem)
    assert [e.type for e in await events_of(api, ada["id"])][-1] == "user-deleted"


async def test_the_bootstrap_admin_stays(api: Api) -> None:
    status, me = await api.call("GET", "/api/users/current")
    await create(api, "second", role="ADMIN")  # even with another ADMIN around
    before = await head(api)
    status, problem = await api.call("DELETE", f"/api/users/{me['id']}")
    assert status == 409 and "bootstrap admin cannot be deleted" in problem["message"]
    status, problem = await api.call(
        "PUT", f"/api/users/{me['id']}", json=person("admin", role="USER")
    )
    assert status == 409 and "bootstrap admin cannot be demoted" in problem["message"]
    assert await head(api) == before
    status, renamed = await api.call(
        "PUT", f"/api/users/{me['id']}", json=person("root", role="ADMIN", lastName="Admin")
    )
    assert status == 200 and renamed["email"] == "root@example.test"
    assert renamed["role"] == "ADMIN"


async def test_the_last_admin_can_neither_go_nor_be_demoted(api: Api) -> None:
    second = await create(api, "second", role="ADMIN")
    second_key = await key_for(api, second["id"])
    # A database from before the bootstrap rule: its first admin was demoted.
    repository = api.runtime.repository
    assert repository is not None
    bootstrap: User = await repository.load(BOOTSTRAP_ADMIN_ID)
    demoted = asdict(bootstrap.profile) | {"role": "USER"}
    bootstrap.trigger_event(User.Updated, **demoted)
    await repository.save(bootstrap)
    await api.settle()

    before = await head(api)
    status, problem = await api.call("DELETE", f"/api/users/{second['id']}", key=second_key)
    assert status == 409 and "last ADMIN cannot be deleted" in problem["message"]
    status, problem = await api.call(
        "PUT", f"/api/users/{second['id']}", json=person("second"), key=second_key
    )
    assert status == 409 and "last ADMIN cannot be demoted" in problem["message"]
    assert await head(api) == before

    status, third = await api.call(
        "POST", "/api/users", json=person("third", role="ADMIN"), key=second_key
    )
    assert status == 201 and third["role"] == "ADMIN"
    status, _ = await api.call("DELETE", f"/api/users/{second['id']}", key=second_key)
    assert status == 204  # another ADMIN remains now
    status, problem = await api.call("GET", "/api/users", key=second_key)
    assert status == 403  # the key died with its user


async def test_api_keys_are_issued_listed_and_revoked(api: Api) -> None:
    ada = await create(api, "ada")
    base = f"/api/users/{ada['id']}/api-keys"
    status, issued = await api.call("POST", base, json={"label": "  laptop "})
    assert status == 201
    assert set(issued) == {"id", "label", "apiKey", "createdAt"}
    assert issued["apiKey"].startswith("ilk_") and issued["label"] == "laptop"
    key = issued["apiKey"]
    status, me = await api.call("GET", "/api/users/current", key=key)
    assert status == 200 and me["email"] == "ada@example.test"

    status, second = await api.call("POST", base, key=key)  # no body; the user themself
    assert status == 201 and second["label"] == ""
    status, listed = await api.call("GET", base, key=key)
    assert status == 200
    assert [k["id"] for k in listed] == [issued["id"], second["id"]]
    assert all(set(k) == {"id", "label", "createdAt"} for k in listed)
    assert listed[0] == {k: issued[k] for k in ("id", "label", "createdAt")}

    before = await head(api)
    for body, field in (({"label": 5}, "label"), ({"label": "l" * 256}, "label")):
        status, problem = await api.call("POST", base, json=body)
        assert status == 400 and problem["field"] == field and "label" in problem["message"]
    status, problem = await api.call("POST", base, json=["label"])
    assert status == 400 and problem["message"] == "body: must be an object, got an array"
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        status, problem = await api.call("DELETE", f"{base}/{bad}")
        assert status == 404
    status, me = await api.call("GET", "/api/users/current")
    status, problem = await api.call("DELETE", f"/api/users/{me['id']}/api-keys/{issued['id']}")
    assert status == 404  # another user's key
    assert await head(api) == before

    status, body = await api.call("DELETE", f"{base}/{issued['id']}", key=second["apiKey"])
    assert status == 204 and body is None
    status, problem = await api.call("GET", "/api/users/current", key=key)
    assert status == 403
    status, problem = await api.call("DELETE", f"{base}/{issued['id']}")
    assert status == 404
    status, listed = await api.call("GET", base)
    assert [k["id"] for k in listed] == [second["id"]]


async def test_pagination(api: Api) -> None:
    made = [await create(api, f"user{i}") for i in range(4)]
    status, everyone = await api.call("GET", "/api/users")
    assert status == 200 and len(everyone) == 5
    ids = [u["id"] for u in everyone]
    assert ids == sorted(ids) and ids[1:] == [u["id"] for u in made]
    status, page = await api.call("GET", "/api/users?start-index=1&max-results=2")
    assert status == 200 and [u["id"] for u in page] == ids[1:3]
    status, page = await api.call("GET", "/api/users?start-index=4&max-results=100")
    assert status == 200 and [u["id"] for u in page] == ids[4:]
    status, page = await api.call("GET", "/api/users?start-index=50")
    assert status == 200 and page == []
    for query, field in (
        ("max-results=101", "max-results"),
        ("max-results=0", "max-results"),
        ("max-results=ten", "max-results"),
        ("start-index=-1", "start-index"),
        ("start-index=1e3", "start-index"),
        ("start-index=99999999999999999999999999", "start-index"),
    ):
        status, problem = await api.call("GET", f"/api/users?{query}")
        assert status == 400 and problem["field"] == field, query
        assert field in problem["message"]
    status, problem = await api.call("GET", "/api/users?max-results=101")
    assert "from 1 to 100" in problem["message"]
