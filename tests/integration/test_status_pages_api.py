"""/api/status-pages: CRUD as ilert's clients call it, the rules that answer 400 (naming the
field) and 409 (a taken subdomain), groups and structure, teams."""

from __future__ import annotations

from typing import Any

from .conftest import Api


async def service(api: Api, name: str) -> int:
    status, made = await api.call("POST", "/api/services", json={"name": name})
    assert status == 201, made
    return int(made["id"])


def page_body(**fields: Any) -> dict[str, Any]:
    return {"name": "Acme", "subdomain": "acme.ilert.io", "visibility": "PUBLIC", **fields}


async def test_create_read_replace_delete(api: Api) -> None:
    web = await service(api, "web")
    status, made = await api.call(
        "POST",
        "/api/status-pages",
        json=page_body(
            services=[{"id": web}],
            timezone="Europe/Berlin",
            appearance="DARK",
            announcement="  Planned upgrade on Friday  ",
            pageTitle="Acme status",
            domain="",  # as ilert-go sends an unset field
        ),
    )
    assert status == 201, made
    assert made["subdomain"] == "acme.ilert.io"
    assert made["services"] == [{"id": web, "name": "web"}]
    assert made["appearance"] == "DARK"
    assert made["announcement"] == "Planned upgrade on Friday"
    assert made["pageLayout"] == "SINGLE_COLUMN"
    assert made["groups"] == [] and made["structure"] == {"elements": []}
    page_id = made["id"]

    status, got = await api.call("GET", f"/api/status-pages/{page_id}?include=groups")
    assert status == 200 and got == made
    status, listed = await api.call("GET", "/api/status-pages")
    assert status == 200 and [p["id"] for p in listed] == [page_id]
    status, named = await api.call("GET", "/api/status-pages/name/Acme")
    assert status == 200 and named["id"] == page_id

    status, replaced = await api.call(
        "PUT",
        f"/api/status-pages/{page_id}",
        json=page_body(name="Acme Inc", visibility="PRIVATE", services=[{"id": web}]),
    )
    assert status == 200, replaced
    assert replaced["name"] == "Acme Inc" and replaced["visibility"] == "PRIVATE"
    assert replaced["appearance"] == "LIGHT" and replaced["announcement"] == ""  # PUT replaces

    status, _ = await api.call("DELETE", f"/api/status-pages/{page_id}")
    assert status == 204
    status, _ = await api.call("GET", f"/api/status-pages/{page_id}")
    assert status == 404
    status, _ = await api.call("DELETE", f"/api/status-pages/{page_id}")
    assert status == 404


async def test_bad_fields_are_400s_naming_them(api: Api) -> None:
    cases = [
        (page_body(subdomain="Acme"), "subdomain"),
        (page_body(subdomain="-acme"), "subdomain"),
        (page_body(visibility="SECRET"), "visibility"),
        (page_body(appearance="PINK"), "appearance"),
        (page_body(timezone="Mars/Olympus"), "timezone"),
        (page_body(logoUrl="ftp://x.example/logo.png"), "logoUrl"),
        (page_body(services=[{"id": 987654}]), "services[0].id"),
        ({"subdomain": "acme"}, "name"),
        ({"name": "Acme"}, "subdomain"),
        (page_body(structure={"elements": [{"id": 5, "type": "THING"}]}), "structure.elements[0]"),
    ]
    for body, field in cases:
        status, problem = await api.call("POST", "/api/status-pages", json=body)
        assert status == 400, (body, problem)
        assert problem["field"].startswith(field), (field, problem)
    status, listed = await api.call("GET", "/api/status-pages")
    assert status == 200 and listed == []  # nothing was written


async def test_a_taken_subdomain_is_409(api: Api) -> None:
    status, first = await api.call("POST", "/api/status-pages", json=page_body())
    assert status == 201, first
    # the slug is the subdomain's first label: a bare "acme" takes the same /status/acme
    for subdomain in ("acme.ilert.io", "acme", "acme.example.com"):
        status, problem = await api.call(
            "POST", "/api/status-pages", json=page_body(subdomain=subdomain, name="Other")
        )
        assert status == 409, problem
        assert problem["field"] == "subdomain"
    status, other = await api.call("POST", "/api/status-pages", json=page_body(subdomain="beta"))
    assert status == 201, other
    status, problem = await api.call(
        "PUT", f"/api/status-pages/{other['id']}", json=page_body(subdomain="acme")
    )
    assert status == 409 and problem["field"] == "subdomain"
    # a deleted page frees its slug; a page keeps its own on PUT
    status, _ = await api.call("PUT", f"/api/status-pages/{first['id']}", json=page_body())
    assert status == 200
    status, _ = await api.call("DELETE", f"/api/status-pages/{first['id']}")
    assert status == 204
    status, again = await api.call("POST", "/api/status-pages", json=page_body(subdomain="acme"))
    assert status == 201, again


async def test_a_taken_domain_is_409(api: Api) -> None:
    status, _ = await api.call(
        "POST", "/api/status-pages", json=page_body(domain="status.acme.example")
    )
    assert status == 201
    status, problem = await api.call(
        "POST",
        "/api/status-pages",
        json=page_body(subdomain="other", domain="Status.Acme.example"),
    )
    assert status == 409 and problem["field"] == "domain", problem


async def test_groups_and_structure(api: Api) -> None:
    web, db = await service(api, "web"), await service(api, "db")
    services = [{"id": web}, {"id": db}]
    status, made = await api.call("POST", "/api/status-pages", json=page_body(services=services))
    assert status == 201, made
    base = f"/api/status-pages/{made['id']}"
    status, group = await api.call("POST", f"{base}/groups", json={"id": 0, "name": "Backend"})
    assert status == 201 and group == {"id": 1, "name": "Backend"}, group
    status, groups = await api.call("GET", f"{base}/groups")
    assert status == 200 and groups == [group]
    status, named = await api.call("GET", f"{base}/groups/name/Backend")
    assert status == 200 and named == group
    status, renamed = await api.call("PUT", f"{base}/groups/1", json={"name": "Data"})
    assert status == 200 and renamed == {"id": 1, "name": "Data"}

    structure = {
        "elements": [
            {"id": web, "type": "SERVICE"},
            {
                "id": 1,
                "type": "GROUP",
                "options": ["expand"],
                "children": [{"id": db, "type": "SERVICE", "options": ["no-graph"]}],
            },
        ]
    }
    status, page = await api.call(
        "PUT", base, json=page_body(services=services, structure=structure)
    )
    assert status == 200, page
    assert page["structure"]["elements"][1]["children"][0]["id"] == db
    assert page["groups"] == [{"id": 1, "name": "Data"}]  # a PUT without groups keeps them

    bad = [
        ({"elements": [{"id": 2, "type": "GROUP"}]}, "structure.elements[0].id"),
        ({"elements": [{"id": 987654, "type": "SERVICE"}]}, "structure.elements[0].id"),
        ({"elements": [{"id": web, "type": "SERVICE"}] * 2}, "structure.elements[1].id"),
    ]
    for wrong, field in bad:
        status, problem = await api.call(
            "PUT", base, json=page_body(services=services, structure=wrong)
        )
        assert status == 400 and problem["field"] == field, (wrong, problem)
    # a service the structure names cannot leave the page while it does
    status, problem = await api.call(
        "PUT", base, json=page_body(services=[{"id": web}], structure=structure)
    )
    assert status == 400, problem

    # removing a group takes it (and its services) out of the structure
    status, _ = await api.call("DELETE", f"{base}/groups/1")
    assert status == 204
    status, page = await api.call("GET", base)
    assert page["groups"] == []
    assert page["structure"] == {"elements": [{"id": web, "type": "SERVICE", "options": []}]}
    status, _ = await api.call("GET", f"{base}/groups/1")
    assert status == 404
    status, next_group = await api.call("POST", f"{base}/groups", json={"name": "Again"})
    assert status == 201 and next_group["id"] == 2  # group ids never recur in a page


async def test_teams_like_other_team_resources(api: Api) -> None:
    status, team = await api.call(
        "POST", "/api/teams", json={"name": "web", "visibility": "PRIVATE"}
    )
    assert status == 201, team
    status, made = await api.call(
        "POST", "/api/status-pages", json=page_body(teams=[{"id": team["id"]}])
    )
    assert status == 201 and made["teams"] == [{"id": team["id"], "name": "web"}], made
    status, user = await api.call(
        "POST",
        "/api/users",
        json={"email": "u@example.test", "firstName": "U", "lastName": "Ser", "role": "USER"},
    )
    assert status == 201
    status, issued = await api.call("POST", f"/api/users/{user['id']}/api-keys", json={})
    key = issued["apiKey"]
    # the page of a PRIVATE team is invisible to a non-member
    status, _ = await api.call("GET", f"/api/status-pages/{made['id']}", key=key)
    assert status == 404
    status, listed = await api.call("GET", "/api/status-pages", key=key)
    assert status == 200 and listed == []
    # a team ADMIN member may change it, and absent teams are kept
    status, _ = await api.call(
        "POST",
        f"/api/teams/{team['id']}/members",
        json={"user": {"id": user["id"]}, "role": "ADMIN"},
    )
    assert status == 201
    status, replaced = await api.call(
        "PUT", f"/api/status-pages/{made['id']}", json=page_body(name="Web"), key=key
    )
    assert status == 200, replaced
    assert replaced["teams"] == made["teams"]
    status, problem = await api.call(
        "POST", "/api/status-pages", json=page_body(subdomain="nogroup"), key=key
    )
    assert status == 403, problem  # a team ADMIN's page must belong to their team
    status, problem = await api.call(
        "POST", "/api/status-pages", json=page_body(teams=[{"id": 987654}], subdomain="x")
    )
    assert status == 400 and problem["field"] == "teams[0].id"
