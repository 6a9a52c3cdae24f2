"""The served OpenAPI document: public, valid, and describing exactly the app's routes."""

from __future__ import annotations

import json
import re

import openapi_spec_validator
import pytest

import ilertd
from ilertd.http.document import DOC_PATHS

from ..contract import check_answer
from .conftest import Api

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def _normalise(path: str) -> str:
    """``/api/users/{id:[0-9]+}`` and ``/api/users/{userId}`` both become ``/api/users/{}``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _app_routes(api: Api) -> set[tuple[str, str]]:
    routes = set()
    for route in api.server.app.router.routes():
        if route.method in ("HEAD", "*") or route.resource is None:
            continue
        routes.add((route.method.upper(), _normalise(route.resource.canonical)))
    return routes


def _documented(document: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), _normalise(path))
        for path, item in document["paths"].items()
        for method in item
        # HEAD is left out on both sides (aiohttp adds one per GET; the heartbeat pings
        # declare theirs, and test_heartbeats sends HEAD to each)
        if method in METHODS and method != "head"
    }


async def _fetch(api: Api, path: str) -> tuple[int, str, dict]:
    async with api.session.get(api.url(path)) as response:
        return response.status, response.content_type, await response.json()


async def test_both_paths_serve_the_same_document_without_auth(api: Api) -> None:
    answers = [await _fetch(api, path) for path in DOC_PATHS]
    for status, content_type, _ in answers:
        assert status == 200
        assert content_type == "application/json"
    assert answers[0][2] == answers[1][2]
    assert answers[0][2]["info"]["version"] == ilertd.__version__


async def test_the_document_is_valid_openapi_3_1(api: Api) -> None:
    _, _, document = await _fetch(api, "/api-docs/openapi.json")
    assert document["openapi"].startswith("3.1.")
    for key in ("info", "paths", "components"):
        assert key in document
    assert {"title", "version"} <= document["info"].keys()
    schemas = document["components"]["schemas"]
    refs = re.findall(r'"\$ref":\s*"#/components/schemas/([^"]+)"', json.dumps(document))
    assert refs and set(refs) <= schemas.keys()
    operation_ids = [
        op["operationId"] for item in document["paths"].values() for op in item.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))
    for item in document["paths"].values():
        for op in item.values():
            assert op["responses"], op["operationId"]


async def test_the_document_passes_openapi_spec_validator(api: Api) -> None:
    _, _, document = await _fetch(api, "/api-docs/openapi.json")
    openapi_spec_validator.validate(document)


async def test_the_document_lists_exactly_the_registered_routes(api: Api) -> None:
    _, _, document = await _fetch(api, "/api/openapi.json")
    registered = _app_routes(api)
    documented = _documented(document)
    assert {r for r in registered if r[1].startswith("/api")} == {
        r for r in documented if r[1].startswith("/api")
    }
    # the operational routes are described too, so the whole sets agree
    assert registered == documented


async def test_path_parameters_match_the_path_templates(api: Api) -> None:
    _, _, document = await _fetch(api, "/api/openapi.json")
    for path, item in document["paths"].items():
        names = set(re.findall(r"\{([^}]+)\}", path))
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (method, path)


async def test_security_is_global_and_lifted_only_where_no_key_is_needed(api: Api) -> None:
    _, _, document = await _fetch(api, "/api/openapi.json")
    # either scheme: a Bearer API key, or Basic user@org:password as ilert's clients send
    assert document["security"] == [{"bearer": []}, {"basic": []}]
    schemes = document["components"]["securitySchemes"]
    assert (schemes["bearer"]["scheme"], schemes["basic"]["scheme"]) == ("bearer", "basic")
    public = {
        path
        for path, item in document["paths"].items()
        for op in item.values()
        if op.get("security") == []
    }
    assert public == {
        "/api/events",
        "/api/v1/events",
        # tool webhooks: Alertmanager (the key in the path), PagerDuty v2 and v1 (in the body)
        "/api/events/prometheus/{key}",
        "/api/v1/events/prometheus/{key}",
        "/v2/enqueue",
        "/generic/2010-04-15/create_event.json",
        "/api/heartbeats/{key}",
        "/api/v1/heartbeats/{key}",
        # tool webhooks: the integration key in the path (ilertd/http/webhooks.py)
        "/api/events/grafana/{key}",
        "/api/v1/events/grafana/{key}",
        "/api/events/{type}/{key}",
        "/api/v1/events/{type}/{key}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/notify/sms",
        "/api/notify/voice",
        "/r/{token}",
        # a calendar app's feed token or a Bearer key (ilertd/http/auth.py checks both)
        "/api/schedules/{id}/ical",
        *DOC_PATHS,
        "/api-docs",
        "/api-docs/assets/{name}",
        # the status pages ilertd serves: PUBLIC pages to anyone, PRIVATE ones to a login
        # checked by the site itself (ilertd/status_site/site.py)
        "/status/{slug}",
        "/status/{slug}/feed.atom",
        "/status/{slug}/summary.json",
        # a visitor's subscribe form, and the links of the subscription mails (signed
        # tokens; ilertd/status_site/subscribe.py)
        "/status/{slug}/subscribe",
        "/status/{slug}/subscriptions/confirm",
        "/status/{slug}/subscriptions/unsubscribe",
        "/",
    }
    # and the server agrees: public operations answer without a key, the rest with 401
    status, _ = await api.call("GET", "/api/alerts", key=None)
    assert status == 401


async def test_schemas_carry_the_contract_enums(api: Api) -> None:
    _, _, document = await _fetch(api, "/api/openapi.json")
    schemas = document["components"]["schemas"]
    for name in (
        "Alert",
        "AlertSource",
        "User",
        "EventRequest",
        "EventResponse",
        "LogEntry",
        "Problem",
        "ApiKeyCreated",
        "Responder",
        "Channel",
    ):
        assert name in schemas
    alert = schemas["Alert"]["properties"]
    assert alert["status"]["enum"] == ["PENDING", "ACCEPTED", "RESOLVED"]
    assert alert["priority"]["enum"] == ["HIGH", "LOW"]
    assert schemas["User"]["properties"]["role"]["enum"] == [
        "ADMIN",
        "USER",
        "RESPONDER",
        "STAKEHOLDER",
        "GUEST",
    ]
    event = schemas["EventRequest"]["properties"]
    assert {"integrationKey", "apiKey", "alertKey", "incidentKey"} <= event.keys()
    assert "NO_OPEN_ALERT" in schemas["EventResponse"]["properties"]["responseCode"]["enum"]
    assert set(schemas["Problem"]["properties"]) == {
        "status",
        "code",
        "message",
        "title",
        "detail",
        "field",
    }


def test_the_answer_check_finds_departures() -> None:
    """The check every API test's answers go through can fail: a wrong type, an undeclared
    enum value and an undeclared status are each a finding."""
    path = "/api/alert-sources/7"
    check_answer("GET", path, 404, "application/problem+json", _problem(404))
    with pytest.raises(AssertionError, match="departs from the document at id"):
        check_answer("GET", path, 200, "application/json", {"id": "seven", "name": "x"})
    with pytest.raises(AssertionError, match="departs from the document at 0/logEntryType"):
        check_answer(
            "GET",
            "/api/alerts/7/log-entries",
            200,
            "application/json",
            [
                {
                    "id": 1,
                    "timestamp": "2026-12-03T00:00:00.000Z",
                    "logEntryType": "MadeUpLogEntry",
                    "text": "x",
                    "alertId": 7,
                }
            ],
        )
    with pytest.raises(AssertionError, match="status 418 is not in the document"):
        check_answer("GET", path, 418, "application/json", {})


def _problem(status: int) -> dict:
    return {"status": status, "code": "NOT_FOUND", "message": "no", "title": "Not Found"}


async def test_the_rendered_reference_is_served_from_the_package_without_a_key(api: Api) -> None:
    status, page = await api.call("GET", "/api-docs", key=None)
    assert status == 200 and "<title>ilertd API</title>" in page
    scripts = re.findall(r'(?:src|href)="(/api-docs/assets/[^"]+)"', page)
    assert "/api-docs/assets/swagger-ui-bundle.js" in scripts and len(scripts) == 4
    for asset in scripts:
        async with api.session.get(api.url(asset)) as response:
            body = await response.read()
            assert response.status == 200, asset
            assert response.content_type in ("text/javascript", "text/css"), asset
            assert body, asset
    async with api.session.get(api.url("/api-docs/assets/start.js")) as response:
        assert '"/api-docs/openapi.json"' in await response.text()
    status, problem = await api.call("GET", "/api-docs/assets/index.html", key=None)
    assert status == 404 and problem["code"] == "NOT_FOUND"
