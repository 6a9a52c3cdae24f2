"""/api/users/{id}/contacts and /notification-preferences through HTTP, on a real database."""

from __future__ import annotations

from typing import Any

from projections.users import notification_rules

from .conftest import Api

USERS = "/api/users"


async def create_user(api: Api, name: str, role: str = "USER") -> tuple[int, str]:
    """A new user and an API key of theirs."""
    status, user = await api.call(
        "POST",
        USERS,
        json={
            "email": f"{name}@example.test",
            "firstName": name.title(),
            "lastName": "Tester",
            "role": role,
        },
    )
    assert status == 201, user
    status, issued = await api.call("POST", f"{USERS}/{user['id']}/api-keys", json={})
    assert status == 201, issued
    return user["id"], issued["apiKey"]


async def head(api: Api) -> int:
    return await api.runtime.store.head_position()


async def post(api: Api, path: str, body: dict[str, Any], key: str | bool = True) -> Any:
    status, answer = await api.call("POST", path, json=body, key=key)
    assert status == 201, answer
    return answer


async def events_since(api: Api, position: int) -> list[str]:
    return [e.type async for e in api.runtime.store.read_all(position + 1)]


# --- contacts -----------------------------------------------------------------------------


async def test_email_contacts_round_trip(api: Api) -> None:
    user_id, key = await create_user(api, "ada")
    emails = f"{USERS}/{user_id}/contacts/emails"
    before = await head(api)
    first = await post(api, emails, {"target": " ada@example.test ", "primary": True}, key)
    assert first == {"id": 1, "target": "ada@example.test", "primary": True}
    second = await post(api, emails, {"target": "ada@work.test", "regionCode": "ignored"}, key)
    assert second == {"id": 2, "target": "ada@work.test", "primary": False}
    assert await events_since(api, before) == ["user-contact-added"] * 2

    status, listed = await api.call("GET", emails, key=key)
    assert status == 200 and listed == [first, second]
    status, one = await api.call("GET", f"{emails}/2", key=key)
    assert status == 200 and one == second

    # PUT replaces; a new primary demotes the old one
    status, changed = await api.call(
        "PUT", f"{emails}/2", json={"target": "ADA@work.test", "primary": True}, key=key
    )
    assert status == 200 and changed == {"id": 2, "target": "ADA@work.test", "primary": True}
    status, listed = await api.call("GET", emails, key=key)
    assert [c["primary"] for c in listed] == [False, True]

    # the same PUT again writes nothing and answers the same
    at = await head(api)
    status, same = await api.call(
        "PUT", f"{emails}/2", json={"target": "ADA@work.test", "primary": True}, key=key
    )
    assert status == 200 and same == changed and await head(api) == at

    status, body = await api.call("DELETE", f"{emails}/1", key=key)
    assert status == 204 and body is None
    status, _ = await api.call("GET", f"{emails}/1", key=key)
    assert status == 404
    status, listed = await api.call("GET", emails, key=key)
    assert listed == [changed]


async def test_phone_numbers_round_trip(api: Api) -> None:
    user_id, key = await create_user(api, "ada")
    phones = f"{USERS}/{user_id}/contacts/phone-numbers"
    created = await post(api, phones, {"target": "+49 (151) 123-456 78", "regionCode": "de"}, key)
    assert created == {"id": 1, "target": "+4915112345678", "regionCode": "DE", "primary": False}
    bare = await post(api, phones, {"target": "+12025550123", "primary": True}, key)
    assert bare == {"id": 2, "target": "+12025550123", "regionCode": None, "primary": True}
    status, changed = await api.call(
        "PUT", f"{phones}/1", json={"target": "+44 20 7946 0000", "regionCode": "GB"}, key=key
    )
    assert status == 200
    assert changed == {"id": 1, "target": "+442079460000", "regionCode": "GB", "primary": False}
    status, listed = await api.call("GET", phones, key=key)
    assert listed == [changed, bare]
    # an email's id is not a phone number's and the other way round
    email = await post(api, f"{USERS}/{user_id}/contacts/emails", {"target": "a@b.test"}, key)
    for method in ("GET", "PUT", "DELETE"):
        status, problem = await api.call(
            method, f"{phones}/{email['id']}", json={"target": "+12025550199"}, key=key
        )
        assert status == 404 and "phone number" in problem["message"], problem
        status, _ = await api.call(
            method, f"{USERS}/{user_id}/contacts/emails/1", json={"target": "x@y.z"}, key=key
        )
        assert status == 404
    status, _ = await api.call("DELETE", f"{phones}/2", key=key)
    assert status == 204


async def test_bad_contacts_are_400s_naming_the_field(api: Api) -> None:
    user_id, _ = await create_user(api, "ada")
    emails = f"{USERS}/{user_id}/contacts/emails"
    phones = f"{USERS}/{user_id}/contacts/phone-numbers"
    existing = await post(api, emails, {"target": "ada@example.test"})
    cases: list[tuple[str, Any, str]] = [
        (emails, {}, "target"),
        (emails, {"target": None}, "target"),
        (emails, {"target": "nobody"}, "target"),
        (emails, {"target": 42}, "target"),
        (emails, {"target": "a@b.test", "primary": "yes"}, "primary"),
        (emails, [{"target": "a@b.test"}], "body"),
        (phones, {"target": "0151 1234567"}, "target"),
        (phones, {"target": "+49 151"}, "target"),
        (phones, {"target": "+1234567890123456"}, "target"),
        (phones, {"target": "+4915112345678", "regionCode": "DEU"}, "regionCode"),
        (phones, {"target": "+4915112345678", "regionCode": 49}, "regionCode"),
    ]
    before = await head(api)
    for path, body, field in cases:
        for method, url in (("POST", path), ("PUT", f"{emails}/{existing['id']}")):
            if method == "PUT" and path == phones:
                continue
            status, problem = await api.call(method, url, json=body)
            assert status == 400, (method, body, problem)
            assert problem["field"] == field and field in problem["message"], (body, problem)
    status, problem = await api.call(
        "POST", emails, data=b"{", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and problem["field"] == "body"
    assert await head(api) == before


async def test_duplicate_contacts_are_409s(api: Api) -> None:
    user_id, _ = await create_user(api, "ada")
    emails = f"{USERS}/{user_id}/contacts/emails"
    phones = f"{USERS}/{user_id}/contacts/phone-numbers"
    await post(api, emails, {"target": "ada@example.test"})
    other = await post(api, emails, {"target": "ada@work.test"})
    await post(api, phones, {"target": "+4915112345678"})
    before = await head(api)
    for path, method, body in (
        (emails, "POST", {"target": "ADA@example.test"}),
        (f"{emails}/{other['id']}", "PUT", {"target": "ada@example.test"}),
        (phones, "POST", {"target": "+49 151 1234 5678"}),
    ):
        status, problem = await api.call(method, path, json=body)
        assert status == 409 and "already exists" in problem["message"], problem
    assert await head(api) == before
    # other users may have the same contact
    bob_id, bob_key = await create_user(api, "bob")
    await post(api, f"{USERS}/{bob_id}/contacts/emails", {"target": "ada@example.test"}, bob_key)


# --- notification preferences -------------------------------------------------------------


async def contacts(api: Api, user_id: int, key: str | bool = True) -> tuple[int, int]:
    """An email contact and a phone number of the user; their ids."""
    email = await post(api, f"{USERS}/{user_id}/contacts/emails", {"target": "me@x.test"}, key)
    phone = await post(
        api, f"{USERS}/{user_id}/contacts/phone-numbers", {"target": "+4915112345678"}, key
    )
    return email["id"], phone["id"]


async def test_alert_rules_round_trip(api: Api) -> None:
    user_id, key = await create_user(api, "ada")
    email, phone = await contacts(api, user_id, key)
    alerts = f"{USERS}/{user_id}/notification-preferences/alerts"
    before = await head(api)
    late = await post(
        api,
        alerts,
        {"method": "VOICE", "contact": {"id": phone}, "delayMin": 15, "type": "HIGH_PRIORITY"},
        key,
    )
    assert late == {
        "id": 3,
        "method": "VOICE",
        "contact": {"id": phone, "target": "+4915112345678"},
        "delayMin": 15,
        "type": "HIGH_PRIORITY",
    }
    push = await post(api, alerts, {"method": "PUSH", "contact": None, "type": "LOW_PRIORITY"}, key)
    assert push == {
        "id": 4,
        "method": "PUSH",
        "contact": None,
        "delayMin": 0,
        "type": "LOW_PRIORITY",
    }
    mail = await post(
        api,
        alerts,
        {"method": "EMAIL", "contact": email, "delayMin": 5, "type": "HIGH_PRIORITY"},
        key,
    )
    assert mail["contact"] == {"id": email, "target": "me@x.test"}
    assert await events_since(api, before) == ["user-notification-rule-added"] * 3

    status, listed = await api.call("GET", alerts, key=key)
    assert status == 200 and listed == [push, mail, late]  # in the order they fire
    status, one = await api.call("GET", f"{alerts}/{late['id']}", key=key)
    assert status == 200 and one == late

    status, changed = await api.call(
        "PUT",
        f"{alerts}/{late['id']}",
        json={"method": "SMS", "contact": {"id": phone}, "delayMin": 120, "type": "LOW_PRIORITY"},
        key=key,
    )
    assert status == 200
    assert changed == {
        "id": late["id"],
        "method": "SMS",
        "contact": {"id": phone, "target": "+4915112345678"},
        "delayMin": 120,
        "type": "LOW_PRIORITY",
    }
    # a changed contact target shows in the rules that use it
    status, _ = await api.call(
        "PUT", f"{USERS}/{user_id}/contacts/phone-numbers/{phone}", json={"target": "+12025550123"}
    )
    assert status == 200
    status, one = await api.call("GET", f"{alerts}/{late['id']}", key=key)
    assert one["contact"] == {"id": phone, "target": "+12025550123"}

    status, _ = await api.call("DELETE", f"{alerts}/{push['id']}", key=key)
    assert status == 204
    status, listed = await api.call("GET", alerts, key=key)
    assert [r["id"] for r in listed] == [mail["id"], late["id"]]
    status, _ = await api.call("GET", f"{alerts}/{push['id']}", key=key)
    assert status == 404


async def test_duty_and_update_rules_round_trip(api: Api) -> None:
    user_id, key = await create_user(api, "ada")
    email, phone = await contacts(api, user_id, key)
    prefs = f"{USERS}/{user_id}/notification-preferences"
    day = await post(
        api,
        f"{prefs}/duties",
        {"method": "EMAIL", "contact": {"id": email}, "beforeMin": 1440},
        key,
    )
    assert day == {
        "id": 3,
        "method": "EMAIL",
        "contact": {"id": email, "target": "me@x.test"},
        "beforeMin": 1440,
        "type": "ON_CALL",
    }
    now = await post(api, f"{prefs}/duties", {"method": "PUSH"}, key)
    assert now == {"id": 4, "method": "PUSH", "contact": None, "beforeMin": 0, "type": "ON_CALL"}
    status, listed = await api.call("GET", f"{prefs}/duties", key=key)
    assert listed == [now, day]
    status, changed = await api.call(
        "PUT",
        f"{prefs}/duties/{day['id']}",
        json={"method": "SMS", "contact": {"id": phone}, "beforeMin": 10080, "delayMin": 3},
        key=key,
    )
    assert status == 200, changed
    assert changed == {
        "id": day["id"],
        "method": "SMS",
        "contact": {"id": phone, "target": "+4915112345678"},
        "beforeMin": 10080,
        "type": "ON_CALL",
    }

    update = await post(
        api,
        f"{prefs}/updates",
        {"method": "SMS", "contact": {"id": phone}, "type": "ALERT_ACCEPTED"},
        key,
    )
    assert update == {
        "id": 5,
        "method": "SMS",
        "contact": {"id": phone, "target": "+4915112345678"},
        "type": "ALERT_ACCEPTED",
    }
    status, changed = await api.call(
        "PUT", f"{prefs}/updates/5", json={"method": "PUSH", "type": "ALERT_ESCALATED"}, key=key
    )
    assert status == 200
    assert changed == {"id": 5, "method": "PUSH", "contact": None, "type": "ALERT_ESCALATED"}
    status, listed = await api.call("GET", f"{prefs}/updates", key=key)
    assert listed == [changed]
    # a rule's id is 404 under another kind
    for method in ("GET", "PUT", "DELETE"):
        status, _ = await api.call(
            method, f"{prefs}/alerts/5", json={"method": "PUSH", "type": "HIGH_PRIORITY"}
        )
        assert status == 404
    for kind, rule_id in (("updates", 5), ("duties", 3), ("duties", 4)):
        status, _ = await api.call("DELETE", f"{prefs}/{kind}/{rule_id}", key=key)
        assert status == 204
    for kind in ("alerts", "duties", "updates"):
        status, listed = await api.call("GET", f"{prefs}/{kind}", key=key)
        assert status == 200 and listed == []


async def test_bad_rules_are_400s_naming_the_field(api: Api) -> None:
    user_id, _ = await create_user(api, "ada")
    email, phone = await contacts(api, user_id)
    prefs = f"{USERS}/{user_id}/notification-preferences"
    high = {"type": "HIGH_PRIORITY"}
    cases: list[tuple[str, Any, str]] = [
        ("alerts", {**high}, "method"),
        ("alerts", {"method": "FAX", **high}, "method"),
        ("alerts", {"method": 1, **high}, "method"),
        ("alerts", {"method": "PUSH"}, "type"),
        ("alerts", {"method": "PUSH", "type": "ALERT_ACCEPTED"}, "type"),
        ("alerts", {"method": "PUSH", "delayMin": 121, **high}, "delayMin"),
        ("alerts", {"method": "PUSH", "delayMin": -1, **high}, "delayMin"),
        ("alerts", {"method": "PUSH", "delayMin": "5", **high}, "delayMin"),
        ("alerts", {"method": "PUSH", "delayMin": 1.5, **high}, "delayMin"),
        ("alerts", {"method": "PUSH", "contact": {"id": phone}, **high}, "contact"),
        ("alerts", {"method": "EMAIL", **high}, "contact"),
        ("alerts", {"method": "EMAIL", "contact": {"id": phone}, **high}, "contact"),
        ("alerts", {"method": "VOICE", "contact": {"id": email}, **high}, "contact"),
        ("alerts", {"method": "SMS", "contact": {"id": 99}, **high}, "contact"),
        ("alerts", {"method": "SMS", "contact": {}, **high}, "contact.id"),
        ("alerts", {"method": "SMS", "contact": {"id": "2"}, **high}, "contact.id"),
        ("alerts", {"method": "SMS", "contact": {"id": 0}, **high}, "contact.id"),
        ("alerts", {"method": "SMS", "contact": "2", **high}, "contact"),
        ("alerts", {"method": "SMS", "contact": [phone], **high}, "contact"),
        ("duties", {"method": "VOICE", "contact": {"id": phone}}, "method"),
        ("duties", {"method": "PUSH", "beforeMin": 10081}, "beforeMin"),
        ("duties", {"method": "SMS"}, "contact"),
        ("duties", {"method": "PUSH", "type": "OFF_DUTY"}, "type"),
        ("updates", {"method": "PUSH"}, "type"),
        ("updates", {"method": "PUSH", "type": "HIGH_PRIORITY"}, "type"),
        ("updates", {"method": "EMAIL", "type": "ALERT_RESOLVED"}, "contact"),
        ("updates", "PUSH", "body"),
    ]
    rules = {
        "alerts": await post(api, f"{prefs}/alerts", {"method": "PUSH", **high}),
        "duties": await post(api, f"{prefs}/duties", {"method": "PUSH"}),
        "updates": await post(
            api, f"{prefs}/updates", {"method": "PUSH", "type": "ALERT_ACCEPTED"}
        ),
    }
    before = await head(api)
    for kind, body, field in cases:
        for method, url in (
            ("POST", f"{prefs}/{kind}"),
            ("PUT", f"{prefs}/{kind}/{rules[kind]['id']}"),
        ):
            status, problem = await api.call(method, url, json=body)
            assert status == 400, (method, kind, body, problem)
            assert problem["field"] == field and field in problem["message"], (body, problem)
    assert await head(api) == before


async def test_a_contact_in_use_cannot_be_removed(api: Api) -> None:
    user_id, key = await create_user(api, "ada")
    _, phone = await contacts(api, user_id, key)
    prefs = f"{USERS}/{user_id}/notification-preferences"
    rule = await post(api, f"{prefs}/duties", {"method": "SMS", "contact": {"id": phone}}, key)
    path = f"{USERS}/{user_id}/contacts/phone-numbers/{phone}"
    status, problem = await api.call("DELETE", path, key=key)
    assert status == 409 and problem["code"] == "CONFLICT"
    assert f"notification rule(s) {rule['id']}" in problem["message"]
    status, _ = await api.call("DELETE", f"{prefs}/duties/{rule['id']}", key=key)
    assert status == 204
    status, _ = await api.call("DELETE", path, key=key)
    assert status == 204


# --- who may, and unknown things ----------------------------------------------------------


def every_route(user_id: int, item_id: int) -> list[tuple[str, str, Any]]:
    """Every route with a body that would pass; ``item_id`` for the single-item ones."""
    base = f"{USERS}/{user_id}"
    collections: list[tuple[str, Any]] = [
        ("contacts/emails", {"target": "new@x.test"}),
        ("contacts/phone-numbers", {"target": "+12025550199"}),
        ("notification-preferences/alerts", {"method": "PUSH", "type": "HIGH_PRIORITY"}),
        ("notification-preferences/duties", {"method": "PUSH"}),
        ("notification-preferences/updates", {"method": "PUSH", "type": "ALERT_RESOLVED"}),
    ]
    routes: list[tuple[str, str, Any]] = []
    for segment, body in collections:
        routes += [
            ("GET", f"{base}/{segment}", None),
            ("POST", f"{base}/{segment}", body),
            ("GET", f"{base}/{segment}/{item_id}", None),
            ("PUT", f"{base}/{segment}/{item_id}", body),
            ("DELETE", f"{base}/{segment}/{item_id}", None),
        ]
    return routes


async def test_only_the_user_themself_or_an_admin(api: Api) -> None:
    ada_id, ada_key = await create_user(api, "ada")
    _, bob_key = await create_user(api, "bob", role="USER")
    _, chief_key = await create_user(api, "chief", role="ADMIN")
    await contacts(api, ada_id, ada_key)
    before = await head(api)
    for method, path, body in every_route(ada_id, 1):
        status, problem = await api.call(method, path, json=body, key=bob_key)
        assert status == 403 and problem["code"] == "FORBIDDEN", (method, path, problem)
        status, _ = await api.call(method, path, json=body, key=False)
        assert status == 401, (method, path)
    assert await head(api) == before
    # an ADMIN other than the bootstrap one may, and so may ada herself
    status, listed = await api.call("GET", f"{USERS}/{ada_id}/contacts/emails", key=chief_key)
    assert status == 200 and [c["id"] for c in listed] == [1]
    await post(api, f"{USERS}/{ada_id}/contacts/emails", {"target": "boss@x.test"}, chief_key)
    status, listed = await api.call("GET", f"{USERS}/{ada_id}/contacts/emails", key=ada_key)
    assert [c["target"] for c in listed] == ["me@x.test", "boss@x.test"]


async def test_unknown_users_and_items_are_404s(api: Api) -> None:
    user_id, _ = await create_user(api, "ada")
    before = await head(api)
    for method, path, body in every_route(999_999, 1):
        status, problem = await api.call(method, path, json=body)
        assert status == 404 and "no user 999999" in problem["message"], (method, path)
    for item in ("1", "77", "abc", "99999999999", "99999999999999999999999"):
        for method, path, body in every_route(user_id, item):  # type: ignore[arg-type]
            if path.endswith(f"/{item}"):
                status, problem = await api.call(method, path, json=body)
                assert status == 404 and problem["code"] == "NOT_FOUND", (method, path, problem)
    assert await head(api) == before


async def test_a_deleted_user_has_no_contacts_or_rules(api: Api) -> None:
    user_id, key = await create_user(api, "ada")
    email, _ = await contacts(api, user_id, key)
    prefs = f"{USERS}/{user_id}/notification-preferences"
    await post(
        api,
        f"{prefs}/alerts",
        {"method": "EMAIL", "contact": {"id": email}, "type": "HIGH_PRIORITY"},
    )
    status, _ = await api.call("DELETE", f"{USERS}/{user_id}")
    assert status == 204
    for method, path, body in every_route(user_id, 1):
        status, _ = await api.call(method, path, json=body)
        assert status == 404, (method, path)
    pool = api.runtime.store.pool
    for table in ("user_contacts", "user_notification_rules"):
        assert await pool.fetchval(f"SELECT count(*) FROM {table} WHERE user_id = $1", user_id) == 0


# --- the read model -----------------------------------------------------------------------


async def test_notification_rules_query_joins_the_contact_in_firing_order(api: Api) -> None:
    user_id, _ = await create_user(api, "ada")
    email, phone = await contacts(api, user_id)
    prefs = f"{USERS}/{user_id}/notification-preferences"
    high = {"type": "HIGH_PRIORITY"}
    await post(
        api, f"{prefs}/alerts", {"method": "SMS", "contact": {"id": phone}, "delayMin": 10, **high}
    )
    await post(api, f"{prefs}/alerts", {"method": "EMAIL", "contact": {"id": email}, **high})
    await post(api, f"{prefs}/alerts", {"method": "PUSH", "delayMin": 10, **high})
    await post(api, f"{prefs}/duties", {"method": "PUSH", "beforeMin": 30})
    await post(
        api, f"{prefs}/duties", {"method": "EMAIL", "contact": {"id": email}, "beforeMin": 5}
    )
    async with api.runtime.store.pool.acquire() as conn:
        alerts = await notification_rules(conn, user_id, "alerts")
        duties = await notification_rules(conn, user_id, "duties")
        updates = await notification_rules(conn, user_id, "updates")
    assert [
        (r["rule_id"], r["method"], r["delay_min"], r["target"], r["channel"]) for r in alerts
    ] == [
        (4, "EMAIL", 0, "me@x.test", "EMAIL"),
        (3, "SMS", 10, "+4915112345678", "PHONE"),
        (5, "PUSH", 10, None, None),
    ]
    assert [(r["rule_id"], r["before_min"], r["target"]) for r in duties] == [
        (7, 5, "me@x.test"),
        (6, 30, None),
    ]
    assert updates == []
    assert alerts[0]["priority_type"] == "HIGH_PRIORITY" and alerts[0]["user_id"] == user_id


async def test_rebuilt_projection_equals_the_live_one(api: Api) -> None:
    ada_id, ada_key = await create_user(api, "ada")
    bob_id, bob_key = await create_user(api, "bob")
    for user_id, key in ((ada_id, ada_key), (bob_id, bob_key)):
        email, phone = await contacts(api, user_id, key)
        base = f"{USERS}/{user_id}"
        prefs = f"{base}/notification-preferences"
        second = await post(
            api, f"{base}/contacts/emails", {"target": "two@x.test", "primary": True}, key
        )
        await api.call(
            "PUT",
            f"{base}/contacts/emails/{email}",
            json={"target": "one@x.test", "primary": True},
            key=key,
        )
        await api.call("DELETE", f"{base}/contacts/emails/{second['id']}", key=key)
        rule = await post(
            api,
            f"{prefs}/alerts",
            {"method": "SMS", "contact": {"id": phone}, "type": "HIGH_PRIORITY"},
            key,
        )
        await api.call(
            "PUT",
            f"{prefs}/alerts/{rule['id']}",
            json={
                "method": "VOICE",
                "contact": {"id": phone},
                "delayMin": 7,
                "type": "LOW_PRIORITY",
            },
            key=key,
        )
        await post(
            api,
            f"{prefs}/duties",
            {"method": "EMAIL", "contact": {"id": email}, "beforeMin": 60},
            key,
        )
        gone = await post(
            api, f"{prefs}/updates", {"method": "PUSH", "type": "ALERT_ACCEPTED"}, key
        )
        await api.call("DELETE", f"{prefs}/updates/{gone['id']}", key=key)
        await post(
            api,
            f"{prefs}/updates",
            {"method": "EMAIL", "contact": {"id": email}, "type": "ALERT_RESOLVED"},
            key,
        )
    await api.call("DELETE", f"{USERS}/{bob_id}")
    cy_id, cy_key = await create_user(api, "cy")
    await contacts(api, cy_id, cy_key)
    pool = api.runtime.store.pool
    queries = (
        "SELECT * FROM user_contacts ORDER BY user_id, contact_id",
        "SELECT * FROM user_notification_rules ORDER BY user_id, rule_id",
        "SELECT * FROM users ORDER BY id",
    )
    live = [[dict(row) for row in await pool.fetch(query)] for query in queries]
    assert len(live[0]) == 4 and len(live[1]) == 3  # ada's two contacts and three rules, cy's two
    await api.runtime.runner.rebuild("users")
    assert [[dict(row) for row in await pool.fetch(query)] for query in queries] == live
