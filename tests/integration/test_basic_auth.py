"""Basic auth with a user's password, as ilert-go's ``WithBasicAuth`` builds the header,
against a real daemon and database; the password never appears in an answer, the log,
the event store or the read model."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from structlog.testing import capture_logs

from .conftest import Api
from .test_users_api import create, key_for, person

PASSWORD = "correct horse battery staple"
ORG = "acme"


def basic(user: str, password: str) -> dict[str, str]:
    """ilert-go: ``SetBasicAuth(fmt.Sprintf("%s@%s", username, organizationID), password)``,
    which Go's net/http sends as Basic base64(StdEncoding) of ``user:password``."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def as_basic(api: Api, method: str, path: str, user: str, password: str, **kw: Any) -> Any:
    return await api.call(method, path, key=False, headers=basic(user, password), **kw)


async def me(api: Api, user: str, password: str) -> tuple[int, Any]:
    return await as_basic(api, "GET", "/api/users/current", user, password)


def never_shows(secret: str, *things: Any) -> None:
    for thing in things:
        assert secret not in repr(thing), thing


async def test_an_admin_sets_a_password_and_the_user_logs_in_as_ilert_go_does(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        status, ann = await api.call(
            "POST", "/api/users", json=person("ann", username="ann", password=PASSWORD)
        )
        assert status == 201, ann
        assert "password" not in ann
        # username@organization, as ilert-go sends it; the email with one; either alone
        for name in (f"ann@{ORG}", f"ann@example.test@{ORG}", "ann", "ANN@example.test"):
            status, found = await me(api, name, PASSWORD)
            assert status == 200, (name, found)
            assert found["id"] == ann["id"] and "password" not in found
        # the caller is ann: her role's rights, her own profile
        status, problem = await as_basic(
            api, "POST", "/api/users", f"ann@{ORG}", PASSWORD, json=person("eve")
        )
        assert status == 403, problem
        status, listed = await as_basic(api, "GET", "/api/users", f"ann@{ORG}", PASSWORD)
        assert status == 200 and all("password" not in user for user in listed)
        status, fetched = await api.call("GET", f"/api/users/{ann['id']}")
        assert status == 200 and "password" not in fetched
    rows = await api.runtime.pool.fetch("SELECT type, data::text AS data FROM events")
    assert "user-password-set" in {row["type"] for row in rows}
    stored = await api.runtime.pool.fetchval("SELECT password_hash FROM user_passwords")
    assert stored.startswith("$argon2id$")
    never_shows(PASSWORD, logs, caplog.text, [row["data"] for row in rows])
    never_shows(basic("ann", PASSWORD)["Authorization"].split()[1], logs, caplog.text)


async def test_wrong_passwords_unknown_users_and_bad_headers_are_401s(api: Api) -> None:
    ann = await create(api, "ann", password=PASSWORD)
    for user, password in (
        (f"ann@{ORG}", PASSWORD + "!"),
        (f"nobody@{ORG}", PASSWORD),
        (f"{ann['email']}x@{ORG}", PASSWORD),
    ):
        status, problem = await me(api, user, password)
        assert status == 401 and problem["code"] == "UNAUTHORIZED", problem
        assert "wrong user or password" in problem["message"]
    bob = await create(api, "bob")  # no password: no password login
    status, _ = await me(api, bob["username"], "")
    assert status == 401
    for header in ("Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode()):
        status, problem = await api.call(
            "GET", "/api/users/current", key=False, headers={"Authorization": header}
        )
        assert status == 401 and "base64" in problem["message"], problem
    async with api.session.get(
        api.url("/api/users/current"), headers=basic(f"ann@{ORG}", "wrong password!")
    ) as response:
        assert response.status == 401
        assert "Basic" in response.headers["WWW-Authenticate"]


async def test_users_set_their_own_password_and_a_put_without_one_keeps_it(api: Api) -> None:
    ann = await create(api, "ann", username="ann")
    ann_key = await key_for(api, ann["id"])
    body = person("ann", username="ann", password=PASSWORD)
    status, mine = await api.call("PUT", "/api/users/current", json=body, key=ann_key)
    assert status == 200 and "password" not in mine, mine
    assert (await me(api, f"ann@{ORG}", PASSWORD))[0] == 200
    # by id too, and the new one replaces the old one
    newer = PASSWORD + " 2"
    status, _ = await api.call(
        "PUT", f"/api/users/{ann['id']}", json={**body, "password": newer}, key=ann_key
    )
    assert status == 200
    assert (await me(api, f"ann@{ORG}", PASSWORD))[0] == 401
    assert (await me(api, f"ann@{ORG}", newer))[0] == 200
    # ilert-go's UpdateUser sends the profile without a password: it stays
    status, updated = await as_basic(
        api,
        "PUT",
        "/api/users/current",
        f"ann@{ORG}",
        newer,
        json=person("ann", username="ann", position="SRE"),
    )
    assert status == 200 and updated["position"] == "SRE"
    assert (await me(api, f"ann@{ORG}", newer))[0] == 200
    # an ADMIN's PUT without one keeps it too
    status, _ = await api.call("PUT", f"/api/users/{ann['id']}", json=person("ann", username="ann"))
    assert status == 200
    assert (await me(api, f"ann@{ORG}", newer))[0] == 200


async def test_only_the_user_or_an_admin_sets_a_password(api: Api) -> None:
    ann = await create(api, "ann", username="ann", password=PASSWORD)
    guest = await create(api, "gus", role="GUEST")
    guest_key = await key_for(api, guest["id"])
    before = await api.runtime.store.head_position()
    status, problem = await api.call(
        "PUT",
        f"/api/users/{ann['id']}",
        json=person("ann", username="ann", password="taken over by gus"),
        key=guest_key,
    )
    assert status == 403 and problem["code"] == "FORBIDDEN", problem
    assert await api.runtime.store.head_position() == before  # nothing recorded
    assert (await me(api, "ann", "taken over by gus"))[0] == 401
    assert (await me(api, "ann", PASSWORD))[0] == 200
    # an ADMIN sets anyone's
    status, _ = await api.call(
        "PUT",
        f"/api/users/{ann['id']}",
        json=person("ann", username="ann", password="reset by admin"),
    )
    assert status == 200
    assert (await me(api, "ann", "reset by admin"))[0] == 200


@pytest.mark.parametrize(
    "password", ["too short", "", "x" * 1025, "twelve chars\x07!", " " * 20, 42]
)
async def test_a_bad_password_is_a_400_naming_it_and_changes_nothing(
    api: Api, password: Any
) -> None:
    ann = await create(api, "ann", username="ann", password=PASSWORD)
    before = await api.runtime.store.head_position()
    status, problem = await api.call(
        "PUT", f"/api/users/{ann['id']}", json=person("ann", username="ann", password=password)
    )
    assert status == 400 and problem["field"] == "password", problem
    if isinstance(password, str) and password.strip():
        assert password not in problem["message"]
    status, problem = await api.call("POST", "/api/users", json=person("bo", password=password))
    assert status == 400 and problem["field"] == "password", problem
    assert await api.runtime.store.head_position() == before
    assert (await me(api, "ann", PASSWORD))[0] == 200


async def test_a_deleted_user_cannot_log_in(api: Api) -> None:
    ann = await create(api, "ann", username="ann", password=PASSWORD)
    assert (await me(api, "ann", PASSWORD))[0] == 200
    status, _ = await api.call("DELETE", f"/api/users/{ann['id']}")
    assert status == 204
    assert (await me(api, "ann", PASSWORD))[0] == 401


async def test_the_password_survives_a_rebuild_of_the_read_model(api: Api) -> None:
    """The hash is in the event, so a rebuilt users read model has it again."""
    ann = await create(api, "ann", username="ann", password=PASSWORD)
    newer = PASSWORD + " again"
    status, _ = await api.call(
        "PUT", f"/api/users/{ann['id']}", json=person("ann", username="ann", password=newer)
    )
    assert status == 200
    await api.runtime.runner.rebuild("users")
    await api.settle()
    assert (await me(api, "ann", newer))[0] == 200
    assert (await me(api, "ann", PASSWORD))[0] == 401


async def test_a_client_sending_basic_on_every_request_pays_one_hash(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ilert's clients send Basic on every call: a login verified a moment ago is not
    hashed again (argon2 is ~20 ms), until the password changes or the user goes."""
    from ilertd.http import auth

    checks: list[str] = []
    real = auth.verify_password

    async def counted(password_hash: str | None, password: str) -> bool:
        checks.append(password)
        return await real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counted)
    ann = await create(api, "ann", username="ann", password=PASSWORD)
    for _ in range(5):
        assert (await me(api, f"ann@{ORG}", PASSWORD))[0] == 200
    assert len(checks) == 1
    # a wrong password is always checked (and never remembered)
    assert (await me(api, f"ann@{ORG}", PASSWORD + "x"))[0] == 401
    assert (await me(api, f"ann@{ORG}", PASSWORD + "x"))[0] == 401
    assert len(checks) == 3
    # a new password: the old one is checked again, and refused
    body = person("ann", username="ann", password=PASSWORD + " 2")
    status, _ = await api.call("PUT", f"/api/users/{ann['id']}", json=body)
    assert status == 200
    assert (await me(api, f"ann@{ORG}", PASSWORD))[0] == 401
    assert len(checks) == 4
