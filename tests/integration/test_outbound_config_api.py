"""/api/connectors and /api/alert-actions through HTTP, against a real database.

Connectors hold write-only credentials: they are accepted and kept, never shown (only their
names, in ``secretParams``). Alert actions validate every setting and every reference,
answering 400 naming the field; ilert's spellings (``alertSourceIds``, string ids,
``delaySec``, ``alertFilter``) are accepted. Only ADMINs write; only ADMINs see an action's
signing secret; a rejected write records nothing.
"""

from __future__ import annotations

from typing import Any

from .conftest import Api
from .test_alerts_api import new_user
from .test_events_api import make_source
from .test_users_api import key_for

CONNECTORS = "/api/connectors"
ACTIONS = "/api/alert-actions"

PASSWORD = "hunter2-very-secret-password"
API_KEY = "sk-connector-api-key-0123456789"
CONNECTOR_PARAMS = {
    "url": "https://jira.example.test",
    "email": "bot@example.test",
    "password": PASSWORD,
    "apiKey": API_KEY,
}

#: Every real eventType, in API.md's order: the default of ``triggerTypes``.
REAL_TRIGGER_TYPES = [
    "alert-created",
    "alert-assigned",
    "alert-auto-escalated",
    "alert-acknowledged",
    "alert-raised",
    "alert-comment-added",
    "alert-escalation-ended",
    "alert-resolved",
    "alert-auto-resolved",
    "alert-responder-added",
    "alert-responder-removed",
    "alert-channel-attached",
    "alert-channel-detached",
]
NOT_RESOLVED = "v-alert-not-resolved"


# --- helpers ---------------------------------------------------------------------------------


def connector_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "jira-cloud", "type": "jira", "params": dict(CONNECTOR_PARAMS)} | overrides


def webhook_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "siem",
        "connectorType": "webhook",
        "params": {"webhookUrl": "https://hooks.example.test/in"},
    } | overrides


async def make_connector(api: Api, **overrides: Any) -> dict[str, Any]:
    status, connector = await api.call("POST", CONNECTORS, json=connector_body(**overrides))
    assert status == 201, connector
    return connector


async def make_action(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    status, action = await api.call("POST", ACTIONS, json=body)
    assert status == 201, action
    return action


async def responder_key(api: Api) -> str:
    """An API key of a fresh user with the RESPONDER role (below ADMIN: reads only)."""
    return await key_for(api, await new_user(api, "rita", "RESPONDER"))


async def raw_text(api: Api, path: str) -> str:
    """The undecoded answer body, to search for values anywhere in it."""
    headers = {"Authorization": f"Bearer {api.key}"}
    async with api.session.get(api.url(path), headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.text()


async def head(api: Api) -> int:
    return await api.runtime.store.head_position()


async def snapshot(api: Api, collection: str) -> tuple[int, Any]:
    """What a rejected write must not change: the listed resources and the event log."""
    status, listed = await api.call("GET", collection)
    assert status == 200, listed
    return await head(api), listed


async def assert_rejected(
    api: Api, method: str, path: str, body: Any, field: str, *, collection: str = ACTIONS
) -> dict[str, Any]:
    """``body`` is answered 400 naming ``field``, and nothing at all is written."""
    before = await snapshot(api, collection)
    status, problem = await api.call(method, path, json=body)
    assert status == 400, (field, status, problem)
    assert problem["field"] == field, (field, problem)
    assert field in problem["message"]
    assert await snapshot(api, collection) == before, f"a rejected {field} wrote something"
    return problem


# --- /api/connectors ---------------------------------------------------------------------


async def test_connector_create_answers_201_without_credential_values(api: Api) -> None:
    connector = await make_connector(api)

    assert connector["name"] == "jira-cloud" and connector["type"] == "jira"
    assert connector["params"] == {"url": "https://jira.example.test", "email": "bot@example.test"}
    assert connector["secretParams"] == ["apiKey", "password"]
    # a decimal string: ilert's clients decode the id into a string (ilert-go's ID string)
    assert isinstance(connector["id"], str) and connector["id"].isdigit()
    assert connector["createdAt"] == connector["updatedAt"]


async def test_connector_get_and_list_never_contain_credential_values(api: Api) -> None:
    connector = await make_connector(api)

    for path in (f"{CONNECTORS}/{connector['id']}", CONNECTORS):
        text = await raw_text(api, path)
        assert PASSWORD not in text and API_KEY not in text, path
        assert '"password":' not in text and '"apiKey":' not in text, path
    status, fetched = await api.call("GET", f"{CONNECTORS}/{connector['id']}")
    assert status == 200 and fetched == connector
    status, listed = await api.call("GET", CONNECTORS)
    assert status == 200 and listed == [connector]


async def test_connector_put_keeps_an_omitted_credential_and_empty_string_removes_it(
    api: Api,
) -> None:
    connector = await make_connector(api)
    path = f"{CONNECTORS}/{connector['id']}"

    # a client that GETs and PUTs back what it saw never saw the credentials
    status, kept = await api.call(
        "PUT",
        path,
        json={"name": "jira", "type": "jira", "params": {"url": "https://jira2.example.test"}},
    )
    assert status == 200, kept
    assert kept["name"] == "jira" and kept["params"] == {"url": "https://jira2.example.test"}
    assert kept["secretParams"] == ["apiKey", "password"]

    status, removed = await api.call(
        "PUT", path, json={"name": "jira", "type": "jira", "params": {"password": ""}}
    )
    assert status == 200, removed
    assert removed["secretParams"] == ["apiKey"]
    status, fetched = await api.call("GET", path)
    assert status == 200 and fetched["secretParams"] == ["apiKey"]
    assert PASSWORD not in await raw_text(api, path)


async def test_connector_bad_input_is_400_naming_the_field(api: Api) -> None:
    no_name = connector_body()
    del no_name["name"]
    cases: list[tuple[dict[str, Any], str]] = [
        (no_name, "name"),
        (connector_body(type="Not A Type"), "type"),
        (connector_body(params=["url", "https://x.example.test"]), "params"),
        (connector_body(params={"email": 5}), "params.email"),
        (connector_body(params={"url": "ftp://x"}), "params.url"),
        (connector_body(params={"url": "javascript:alert(1)"}), "params.url"),
    ]
    for body, field in cases:
        await assert_rejected(api, "POST", CONNECTORS, body, field, collection=CONNECTORS)

    connector = await make_connector(api)
    path = f"{CONNECTORS}/{connector['id']}"
    for body, field in cases:
        await assert_rejected(api, "PUT", path, body, field, collection=CONNECTORS)
    status, unchanged = await api.call("GET", path)
    assert status == 200 and unchanged == connector


async def test_connector_unknown_or_non_numeric_id_is_404(api: Api) -> None:
    for connector_id in ("424242", "abc", "1e3", "99999999999999999999"):
        path = f"{CONNECTORS}/{connector_id}"
        for method, body in (("GET", None), ("PUT", connector_body()), ("DELETE", None)):
            status, problem = await api.call(method, path, json=body)
            assert status == 404, (method, path, problem)
            assert problem["code"] == "NOT_FOUND"


async def test_responder_reads_connectors_but_cannot_write_them(api: Api) -> None:
    connector = await make_connector(api)
    path = f"{CONNECTORS}/{connector['id']}"
    key = await responder_key(api)

    status, fetched = await api.call("GET", path, key=key)
    assert status == 200 and fetched == connector
    for method, target, body in (
        ("POST", CONNECTORS, connector_body(name="mine")),
        ("PUT", path, connector_body(name="mine")),
        ("DELETE", path, None),
    ):
        before = await snapshot(api, CONNECTORS)
        status, problem = await api.call(method, target, json=body, key=key)
        assert status == 403, (method, problem)
        assert "ADMIN" in problem["message"]
        assert await snapshot(api, CONNECTORS) == before


async def test_connector_delete_answers_204_then_404(api: Api) -> None:
    connector = await make_connector(api)
    path = f"{CONNECTORS}/{connector['id']}"

    status, body = await api.call("DELETE", path)
    assert status == 204 and body is None
    for method, payload in (("GET", None), ("PUT", connector_body()), ("DELETE", None)):
        assert (await api.call(method, path, json=payload))[0] == 404, method
    status, listed = await api.call("GET", CONNECTORS)
    assert status == 200 and listed == []


async def test_connector_used_by_an_alert_action_cannot_be_deleted(api: Api) -> None:
    connector = await make_connector(api, type="webhook", params={"url": "https://h.example.test"})
    action = await make_action(api, webhook_body(params={}, connectorId=connector["id"]))
    assert action["connectorId"] == connector["id"]
    assert "webhookUrl" not in action["params"]  # the connector's URL is used
    path = f"{CONNECTORS}/{connector['id']}"

    status, problem = await api.call("DELETE", path)
    assert status == 409 and str(action["id"]) in problem["message"]
    assert (await api.call("GET", path))[0] == 200

    assert (await api.call("DELETE", f"{ACTIONS}/{action['id']}"))[0] == 204
    assert (await api.call("DELETE", path))[0] == 204


# --- /api/alert-actions: creating and reading ------------------------------------------------


async def test_webhook_action_is_created_with_ilert_defaults(api: Api) -> None:
    source = await make_source(api)
    action = await make_action(api, webhook_body(alertSources=[{"id": source["id"]}]))

    assert isinstance(action["id"], str) and action["id"].isdigit()
    assert action["name"] == "siem"
    assert action["alertSources"] == [{"id": source["id"]}]
    assert action["connectorId"] is None and action["connectorType"] == "webhook"
    assert action["triggerMode"] == "AUTOMATIC"
    assert action["triggerTypes"] == REAL_TRIGGER_TYPES
    assert action["conditions"] is None
    assert action["escalationEndedDelaySec"] == 0 and action["notResolvedDelaySec"] == 0
    assert action["params"]["webhookUrl"] == "https://hooks.example.test/in"
    assert isinstance(action["signingSecret"], str) and len(action["signingSecret"]) >= 32

    status, fetched = await api.call("GET", f"{ACTIONS}/{action['id']}")
    assert status == 200 and fetched == action
    status, listed = await api.call("GET", ACTIONS)
    assert status == 200 and listed == [action]


async def test_responder_reads_actions_without_the_signing_secret_and_cannot_write(
    api: Api,
) -> None:
    action = await make_action(api, webhook_body())
    path = f"{ACTIONS}/{action['id']}"
    key = await responder_key(api)

    status, fetched = await api.call("GET", path, key=key)
    assert status == 200 and "signingSecret" not in fetched
    assert fetched == {k: v for k, v in action.items() if k != "signingSecret"}
    status, listed = await api.call("GET", ACTIONS, key=key)
    assert status == 200 and [a.get("signingSecret") for a in listed] == [None]

    for method, target, body in (
        ("POST", ACTIONS, webhook_body()),
        ("PUT", path, webhook_body(name="mine")),
        ("DELETE", path, None),
    ):
        before = await snapshot(api, ACTIONS)
        status, problem = await api.call(method, target, json=body, key=key)
        assert status == 403, (method, problem)
        assert await snapshot(api, ACTIONS) == before


async def test_ilert_spellings_of_sources_ids_and_delay_are_accepted(api: Api) -> None:
    first, second = await make_source(api), await make_source(api, name="other")
    connector = await make_connector(api, type="webhook", params={"url": "https://h.example.test"})

    by_ids = await make_action(api, webhook_body(alertSourceIds=[second["id"], first["id"]]))
    assert by_ids["alertSources"] == [{"id": first["id"]}, {"id": second["id"]}]

    as_strings = await make_action(
        api,
        webhook_body(
            params={},
            connectorId=int(connector["id"]),  # the number, as ilertd answered it once
            alertSources=[{"id": str(first["id"])}],
            delaySec=120,
        ),
    )
    assert as_strings["connectorId"] == connector["id"]
    assert as_strings["alertSources"] == [{"id": first["id"]}]
    assert as_strings["escalationEndedDelaySec"] == 120 and as_strings["delaySec"] == 120


async def test_alert_filter_is_stored_as_a_conditions_expression(api: Api) -> None:
    alert_filter = {
        "operator": "AND",
        "predicates": [{"field": "ALERT_PRIORITY", "criteria": "IS_STRING", "value": "HIGH"}],
    }
    action = await make_action(api, webhook_body(alertFilter=alert_filter))

    assert action["conditions"] == 'priority == "HIGH"'
    status, fetched = await api.call("GET", f"{ACTIONS}/{action['id']}")
    assert status == 200 and fetched["conditions"] == 'priority == "HIGH"'


async def test_not_resolved_delay_adds_the_virtual_trigger_type(api: Api) -> None:
    implied = await make_action(api, webhook_body(notResolvedDelaySec=600))
    assert implied["notResolvedDelaySec"] == 600
    assert implied["triggerTypes"] == [*REAL_TRIGGER_TYPES, NOT_RESOLVED]

    chosen = await make_action(
        api,
        webhook_body(triggerTypes=[NOT_RESOLVED, "alert-created"], notResolvedDelaySec=60),
    )
    assert chosen["triggerTypes"] == ["alert-created", NOT_RESOLVED]


async def test_jira_and_email_actions_are_created_with_their_params(api: Api) -> None:
    jira = await make_connector(api)
    ticket = await make_action(
        api,
        {
            "name": "tickets",
            "connectorType": "jira",
            "connectorId": jira["id"],
            "params": {"project": "OPS"},
        },
    )
    assert ticket["connectorId"] == jira["id"]
    assert ticket["params"] == {"project": "OPS", "issueType": "Task"}

    mail = await make_action(
        api,
        {
            "name": "mail",
            "connectorType": "email",
            "params": {"recipients": [" ops@example.test "]},
        },
    )
    assert mail["params"] == {"recipients": ["ops@example.test"]}


# --- /api/alert-actions: validation ---------------------------------------------------------


async def test_action_bad_settings_are_400_naming_the_field_and_write_nothing(api: Api) -> None:
    no_name = webhook_body()
    del no_name["name"]
    cases: list[tuple[dict[str, Any], str]] = [
        (no_name, "name"),
        (webhook_body(connectorType="pagerduty"), "connectorType"),
        (webhook_body(params={}), "params.webhookUrl"),
        (webhook_body(params={"webhookUrl": "ftp://x"}), "params.webhookUrl"),
        (webhook_body(params={"webhookUrl": "javascript:alert(1)"}), "params.webhookUrl"),
        (webhook_body(triggerTypes=["alert-exploded"]), "triggerTypes[0]"),
        (webhook_body(triggerTypes=[NOT_RESOLVED]), "notResolvedDelaySec"),
        (webhook_body(conditions="priority =="), "conditions"),
        (webhook_body(alertFilter={"operator": "XOR", "predicates": []}), "alertFilter"),
        (
            webhook_body(
                alertFilter={
                    "operator": "AND",
                    "predicates": [{"field": "NOPE", "criteria": "IS_STRING", "value": "x"}],
                }
            ),
            "alertFilter",
        ),
        (
            webhook_body(
                params={
                    "webhookUrl": "https://hooks.example.test/in",
                    "headers": [{"key": "Host", "value": "evil.example.test"}],
                }
            ),
            "params.headers[0].key",
        ),
        (
            webhook_body(
                params={
                    "webhookUrl": "https://hooks.example.test/in",
                    "headers": [
                        {"key": "X-Team", "value": "ops"},
                        {"key": "X-Ilertd-Foo", "value": "forged"},
                    ],
                }
            ),
            "params.headers[1].key",
        ),
        (
            {"name": "mail", "connectorType": "email", "params": {"subject": "x"}},
            "params.recipients",
        ),
    ]
    await make_action(api, webhook_body(name="existing"))  # the list is not empty
    for body, field in cases:
        await assert_rejected(api, "POST", ACTIONS, body, field)


async def test_action_missing_or_unsuitable_references_are_400_naming_the_field(
    api: Api,
) -> None:
    source = await make_source(api)
    hook = await make_connector(api, type="webhook", params={"url": "https://h.example.test"})
    cases: list[tuple[dict[str, Any], str]] = [
        (webhook_body(alertSources=[{"id": 424242}]), "alertSources[0]"),
        (webhook_body(alertSourceIds=[source["id"], 424242]), "alertSources[1]"),
        (webhook_body(connectorId=424242), "connectorId"),
        (webhook_body(connectorId=str(source["id"])), "connectorId"),  # a source, not a connector
        ({"name": "t", "connectorType": "jira", "params": {"project": "OPS"}}, "connectorId"),
        (
            {
                "name": "t",
                "connectorType": "jira",
                "connectorId": hook["id"],
                "params": {"project": "OPS"},
            },
            "connectorId",
        ),
    ]
    for body, field in cases:
        await assert_rejected(api, "POST", ACTIONS, body, field)


async def test_rejected_put_leaves_the_action_unchanged(api: Api) -> None:
    action = await make_action(api, webhook_body())
    path = f"{ACTIONS}/{action['id']}"

    await assert_rejected(api, "PUT", path, webhook_body(triggerMode="SOMETIMES"), "triggerMode")
    await assert_rejected(api, "PUT", path, webhook_body(connectorId=424242), "connectorId")
    status, fetched = await api.call("GET", path)
    assert status == 200 and fetched == action


# --- /api/alert-actions: replacing, deleting, listing ---------------------------------------


async def test_put_replaces_the_action(api: Api) -> None:
    source = await make_source(api)
    action = await make_action(
        api, webhook_body(alertSources=[{"id": source["id"]}], conditions='priority == "HIGH"')
    )
    path = f"{ACTIONS}/{action['id']}"

    status, replaced = await api.call(
        "PUT", path, json=webhook_body(name="siem-manual", triggerMode="manual")
    )
    assert status == 200, replaced
    assert replaced["name"] == "siem-manual" and replaced["triggerMode"] == "MANUAL"
    # a PUT replaces everything: what it leaves out goes back to the default
    assert replaced["alertSources"] == [] and replaced["conditions"] is None
    assert replaced["id"] == action["id"] and replaced["createdAt"] == action["createdAt"]
    assert replaced["signingSecret"] == action["signingSecret"]
    status, fetched = await api.call("GET", path)
    assert status == 200 and fetched == replaced


async def test_identical_put_keeps_updated_at_and_writes_nothing(api: Api) -> None:
    action = await make_action(api, webhook_body(triggerMode="MANUAL", delaySec=30))
    path = f"{ACTIONS}/{action['id']}"
    before = await head(api)

    status, same = await api.call(
        "PUT", path, json=webhook_body(triggerMode="MANUAL", escalationEndedDelaySec=30)
    )
    assert status == 200 and same == action
    assert same["updatedAt"] == action["updatedAt"]
    assert await head(api) == before


async def test_delete_action_answers_204_then_404(api: Api) -> None:
    action = await make_action(api, webhook_body())
    path = f"{ACTIONS}/{action['id']}"

    status, body = await api.call("DELETE", path)
    assert status == 204 and body is None
    for method, payload in (("GET", None), ("PUT", webhook_body()), ("DELETE", None)):
        status, problem = await api.call(method, path, json=payload)
        assert status == 404, (method, problem)
    assert (await api.call("GET", f"{ACTIONS}/not-a-number"))[0] == 404
    status, listed = await api.call("GET", ACTIONS)
    assert status == 200 and listed == []


async def test_action_list_pages_and_refuses_more_than_100_per_page(api: Api) -> None:
    made = [await make_action(api, webhook_body(name=f"a{i}")) for i in range(3)]

    status, page = await api.call("GET", f"{ACTIONS}?start-index=1&max-results=1")
    assert status == 200 and [a["id"] for a in page] == [made[1]["id"]]
    status, full = await api.call("GET", f"{ACTIONS}?max-results=100")
    assert status == 200 and [a["id"] for a in full] == [a["id"] for a in made]
    for query, field in (("max-results=101", "max-results"), ("start-index=-1", "start-index")):
        status, problem = await api.call("GET", f"{ACTIONS}?{query}")
        assert status == 400 and problem["field"] == field, (query, problem)


async def test_a_connector_in_use_keeps_fitting_its_actions(api: Api) -> None:
    """A PUT may not turn a jira connector into something else, nor drop the url an action
    without its own URL depends on; credentials are hidden whatever their spelling."""
    jira = await make_connector(api)
    await make_action(
        api,
        {
            "name": "t",
            "connectorType": "jira",
            "connectorId": jira["id"],
            "params": {"project": "OPS"},
        },
    )
    status, problem = await api.call(
        "PUT", f"{CONNECTORS}/{jira['id']}", json=connector_body(type="webhook")
    )
    assert status == 409 and "jira" in problem["message"], problem

    hook = await make_connector(api, type="webhook", params={"url": "https://h.example.test"})
    await make_action(api, webhook_body(connectorId=hook["id"], params={}))
    status, problem = await api.call(
        "PUT", f"{CONNECTORS}/{hook['id']}", json=connector_body(type="webhook", params={})
    )
    assert status == 409 and "url" in problem["message"], problem
    bare = await make_connector(api, type="webhook", params={})
    status, problem = await api.call(
        "POST", ACTIONS, json=webhook_body(connectorId=bare["id"], params={})
    )
    assert status == 400 and problem["field"] == "connectorId", problem

    odd = await make_connector(
        api,
        type="webhook",
        params={"url": "https://o.test", "clientSecret": "s3", "Password": "p4"},
    )
    assert odd["params"] == {"url": "https://o.test"}
    assert odd["secretParams"] == ["Password", "clientSecret"]
