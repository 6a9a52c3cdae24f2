"""Secrets stay secret (issue 13): a real daemon, keys of every role, and the exact answers
each role gets of alert actions, connectors, alert sources, schedules, notifications and
log entries; ADMINs read the real values and keep them through GET -> PUT; the document
states the table, and a secret-looking field without an entry fails the walk."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

import msgspec
import pytest

from ilertd.contract.visibility import (
    MASK,
    Masking,
    Visibility,
    looks_masked,
    mask_url,
    masked,
    secret,
)
from ilertd.http import field_access
from ilertd.http.catalogue import declared_routes

from .conftest import Api

ROLES = ("GUEST", "STAKEHOLDER", "RESPONDER", "USER", "ADMIN")
OTHERS = ROLES[:-1]

HOOK = "https://robot:hunter2@receiver.example/in?token=T0K3N&team=ops"
HOOK_MASKED = "https://robot:***@receiver.example/in?token=***&team=ops"
SLACK = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
SLACK_MASKED = "https://hooks.slack.com/***"
SERVICE = "http://svc:PASS@svc.example:8080/api/?access_token=AT&region=eu"
SERVICE_MASKED = "http://svc:***@svc.example:8080/api/?access_token=***&region=eu"


async def make_user(api: Api, name: str, role: str) -> tuple[int, str]:
    """A user of ``role`` and an API key of theirs."""
    status, user = await api.call(
        "POST",
        "/api/users",
        json={"email": f"{name}@example.test", "firstName": name, "lastName": "T", "role": role},
    )
    assert status == 201, user
    status, issued = await api.call("POST", f"/api/users/{user['id']}/api-keys", json={})
    assert status == 201, issued
    return user["id"], issued["apiKey"]


@pytest.fixture
async def keys(api: Api) -> dict[str, str]:
    """role -> an API key of a user holding it (ADMIN: another admin than the bootstrap)."""
    made = {role: await make_user(api, role.lower(), role) for role in ROLES}
    await api.settle()
    return {role: key for role, (_, key) in made.items()}


async def as_each(api: Api, keys: dict[str, str], path: str) -> dict[str, Any]:
    """role -> the 200 answer of GET ``path`` with that role's key."""
    answers = {}
    for role in ROLES:
        status, body = await api.call("GET", path, key=keys[role])
        assert status == 200, (role, body)
        answers[role] = body
    return answers


# --- finding 1: alert actions and connectors ------------------------------------------


async def test_alert_action_secrets_are_masked_for_every_role_but_admin(
    api: Api, keys: dict[str, str]
) -> None:
    webhook = {
        "name": "hook",
        "connectorType": "webhook",
        "params": {
            "webhookUrl": HOOK,
            "headers": [
                {"key": "Authorization", "value": "Bearer s3cr3t"},
                {"key": "X-Team", "value": "ops"},
            ],
        },
    }
    status, created = await api.call("POST", "/api/alert-actions", json=webhook)
    assert status == 201, created
    assert created["params"]["webhookUrl"] == HOOK and created["signingSecret"]
    status, slack = await api.call(
        "POST",
        "/api/alert-actions",
        json={"name": "chat", "connectorType": "slack_webhook", "params": {"url": SLACK}},
    )
    assert status == 201, slack
    masked_hook = {
        "webhookUrl": HOOK_MASKED,
        "headers": [{"key": "Authorization", "value": MASK}, {"key": "X-Team", "value": MASK}],
    }
    for path in (
        f"/api/alert-actions/{created['id']}",
        "/api/alert-actions/name/hook",
    ):
        answers = await as_each(api, keys, path)
        assert answers["ADMIN"] == created
        for role in OTHERS:
            assert answers[role]["params"] == masked_hook, role
            assert "signingSecret" not in answers[role]
            assert {k: v for k, v in answers[role].items() if k != "params"} == {
                k: v for k, v in created.items() if k not in ("params", "signingSecret")
            }
    listed = await as_each(api, keys, "/api/alert-actions")
    assert [a["params"] for a in listed["ADMIN"]] == [created["params"], {"url": SLACK}]
    for role in OTHERS:
        assert [a["params"] for a in listed[role]] == [masked_hook, {"url": SLACK_MASKED}]
        # only ADMINs write: the masked answer can never come back from these roles
        status, _ = await api.call(
            "PUT", f"/api/alert-actions/{created['id']}", json=listed[role][0], key=keys[role]
        )
        assert status == 403


async def test_admin_round_trip_keeps_secrets_and_a_mask_is_never_stored(
    api: Api, keys: dict[str, str]
) -> None:
    body = {
        "name": "hook",
        "connectorType": "webhook",
        "params": {"webhookUrl": HOOK, "headers": [{"key": "Authorization", "value": "B s"}]},
    }
    status, created = await api.call("POST", "/api/alert-actions", json=body)
    assert status == 201
    path = f"/api/alert-actions/{created['id']}"
    status, read = await api.call("GET", path, key=keys["ADMIN"])
    status, replaced = await api.call("PUT", path, json=read, key=keys["ADMIN"])
    assert status == 200 and replaced == created  # nothing changed, nothing lost

    # a mask sent back (copied from another caller's answer) keeps the stored secret
    _, guest_view = await api.call("GET", path, key=keys["GUEST"])
    status, replaced = await api.call("PUT", path, json=guest_view, key=keys["ADMIN"])
    assert status == 200, replaced
    assert replaced["params"] == created["params"]

    # matched by the header's name: reordered headers keep their own values, never swap
    both = [{"key": "X-Team", "value": "ops"}, {"key": "Authorization", "value": "B s"}]
    status, two = await api.call(
        "PUT", path, json={**read, "params": {**read["params"], "headers": both}}
    )
    assert status == 200 and two["params"]["headers"] == both
    _, guest_view = await api.call("GET", path, key=keys["GUEST"])
    swapped = {**guest_view["params"], "headers": guest_view["params"]["headers"][::-1]}
    status, replaced = await api.call(
        "PUT", path, json={**guest_view, "params": swapped}, key=keys["ADMIN"]
    )
    assert status == 200 and replaced["params"]["headers"] == both[::-1], replaced
    status, _ = await api.call("PUT", path, json=read, key=keys["ADMIN"])
    assert status == 200
    _, guest_view = await api.call("GET", path, key=keys["GUEST"])

    # a mask with nothing stored behind it is refused, naming the field, and changes nothing
    head = await api.runtime.store.head_position()
    extra = {**guest_view["params"]}
    extra["headers"] = [*extra["headers"], {"key": "X-Api-Key", "value": MASK}]
    status, problem = await api.call(
        "PUT", path, json={**guest_view, "params": extra}, key=keys["ADMIN"]
    )
    assert status == 400 and problem["field"] == "params.headers[1].value", problem
    status, problem = await api.call(
        "POST",
        "/api/alert-actions",
        json={**body, "params": {"webhookUrl": HOOK_MASKED}},
        key=keys["ADMIN"],
    )
    assert status == 400 and problem["field"] == "params.webhookUrl", problem
    assert await api.runtime.store.head_position() == head
    status, now = await api.call("GET", path)
    assert now["params"] == created["params"]


async def test_connector_urls_are_masked_for_every_role_but_admin(
    api: Api, keys: dict[str, str]
) -> None:
    status, service = await api.call(
        "POST",
        "/api/connectors",
        json={
            "name": "svc",
            "type": "webhook",
            "params": {"url": SERVICE, "username": "svc", "apiToken": "never-shown"},
        },
    )
    assert status == 201, service
    assert service["params"] == {"url": SERVICE, "username": "svc"}
    assert service["secretParams"] == ["apiToken"]
    status, teams = await api.call(
        "POST",
        "/api/connectors",
        json={
            "name": "teams",
            "type": "microsoft_teams",
            "params": {"url": "https://contoso.example/workflows/abc/triggers/run"},
        },
    )
    assert status == 201, teams
    for path in (f"/api/connectors/{service['id']}", "/api/connectors/name/svc"):
        answers = await as_each(api, keys, path)
        assert answers["ADMIN"] == service
        for role in OTHERS:
            assert answers[role] == {
                **service,
                "params": {"url": SERVICE_MASKED, "username": "svc"},
            }, role
    listed = await as_each(api, keys, "/api/connectors")
    for role in OTHERS:
        assert [c["params"] for c in listed[role]] == [
            {"url": SERVICE_MASKED, "username": "svc"},
            {"url": "https://contoso.example/***"},
        ]
    # the masked URL sent back by an ADMIN keeps the real one; a new masked one is a 400
    path = f"/api/connectors/{service['id']}"
    guest_view = listed["GUEST"][0]
    status, replaced = await api.call("PUT", path, json=guest_view, key=keys["ADMIN"])
    assert status == 200 and replaced["params"]["url"] == SERVICE, replaced
    assert replaced["secretParams"] == ["apiToken"]
    status, problem = await api.call(
        "PUT",
        path,
        json={**guest_view, "params": {"url": SERVICE_MASKED.replace("svc.example", "other")}},
        key=keys["ADMIN"],
    )
    assert status == 400 and problem["field"] == "params.url", problem


# --- finding 2: integration keys --------------------------------------------------------


async def test_integration_keys_and_urls_are_admin_only(api: Api, keys: dict[str, str]) -> None:
    status, source = await api.call(
        "POST", "/api/alert-sources", json={"name": "prom", "integrationType": "PROMETHEUS"}
    )
    assert status == 201, source
    key = source["integrationKey"]
    assert len(key) > 20 and source["integrationUrl"].endswith(f"/prometheus/{key}")
    masked = {
        **source,
        "integrationKey": MASK,
        "integrationUrl": source["integrationUrl"].replace(key, MASK),
    }
    answers = await as_each(api, keys, f"/api/alert-sources/{source['id']}")
    listed = await as_each(api, keys, "/api/alert-sources")
    assert answers["ADMIN"] == source and listed["ADMIN"] == [source]
    for role in OTHERS:
        assert answers[role] == masked and listed[role] == [masked], role
    # what a GUEST now has creates nothing; a GUEST's own alert is a 403 as before
    status, _ = await api.call(
        "POST",
        "/api/events",
        json={"integrationKey": MASK, "eventType": "ALERT", "summary": "x"},
        key=None,
    )
    assert status in (400, 401, 403, 404)
    status, _ = await api.call(
        "POST",
        "/api/alerts",
        json={"summary": "x", "alertSource": {"id": source["id"]}},
        key=keys["GUEST"],
    )
    assert status == 403
    _, alerts = await api.call("GET", "/api/alerts")
    assert alerts == []


# --- finding 3: contacts in notifications and log entries ------------------------------


async def test_contacts_on_an_alert_are_their_owners_and_admins_only(
    api: Api, keys: dict[str, str]
) -> None:
    ann, ann_key = await make_user(api, "ann", "RESPONDER")
    address = "ann.private@example.test"
    status, contact = await api.call(
        "POST", f"/api/users/{ann}/contacts/emails", json={"target": address}
    )
    assert status == 201, contact
    status, rule = await api.call(
        "POST",
        f"/api/users/{ann}/notification-preferences/alerts",
        json={"method": "EMAIL", "delayMin": 60, "type": "HIGH_PRIORITY", "contact": contact},
    )
    assert status == 201, rule
    status, source = await api.call(
        "POST", "/api/alert-sources", json={"name": "api", "integrationType": "API"}
    )
    status, alert = await api.call(
        "POST",
        "/api/alerts",
        json={
            "summary": "disk full",
            "alertSource": {"id": source["id"]},
            "responders": [{"user": {"id": ann}}],
        },
    )
    assert status == 201, alert
    path = f"/api/alerts/{alert['id']}"
    for _ in range(150):
        _, found = await api.call("GET", path + "/notifications")
        if found:
            break
        await asyncio.sleep(0.1)
    assert [n["target"] for n in found] == [address]

    viewers = {**keys, "owner": ann_key}
    for who, key in viewers.items():
        status, notes = await api.call("GET", path + "/notifications", key=key)
        assert status == 200
        sees = who in ("ADMIN", "owner")
        assert [(n["target"], n["user"]) for n in notes] == [
            (address if sees else MASK, {"id": ann})
        ], who
        status, entries = await api.call("GET", path + "/log-entries", key=key)
        assert status == 200
        page = [e for e in entries if e["logEntryType"] == "NotificationScheduledLogEntry"]
        assert len(page) == 1, entries
        text, target = page[0]["text"], page[0]["vars"]["target"]
        if sees:
            assert f"by EMAIL to {address} at" in text and target == address, who
        else:
            assert text.startswith(f"Notifying user {ann} by EMAIL to *** at "), (who, text)
            assert target == MASK and address not in repr(entries), who
            assert page[0]["vars"]["user_id"] == ann


# --- finding 4: the calendar feed token ------------------------------------------------


async def test_the_feed_token_is_admin_only(api: Api, keys: dict[str, str]) -> None:
    user, _ = await make_user(api, "sam", "RESPONDER")
    status, schedule = await api.call(
        "POST",
        "/api/schedules",
        json={
            "name": "ops",
            "timezone": "Europe/Berlin",
            "type": "STATIC",
            "shifts": [
                {
                    "user": {"id": user},
                    "start": "2026-01-01T00:00:00Z",
                    "end": "2027-01-01T00:00:00Z",
                }
            ],
        },
    )
    assert status == 201, schedule
    real = schedule["icalUrl"]
    token = re.fullmatch(r".*/api/schedules/\d+/ical\?token=(.+)", real)
    assert token is not None
    masked = real.replace(token[1], MASK)
    for path in (f"/api/schedules/{schedule['id']}", "/api/schedules/name/ops"):
        answers = await as_each(api, keys, path)
        assert answers["ADMIN"]["icalUrl"] == real
        for role in OTHERS:
            assert answers[role]["icalUrl"] == masked, role
            assert {k: v for k, v in answers[role].items() if k != "icalUrl"} == {
                k: v for k, v in answers["ADMIN"].items() if k != "icalUrl"
            }
    listed = await as_each(api, keys, "/api/schedules")
    assert [s["icalUrl"] for s in listed["ADMIN"]] == [real]
    for role in OTHERS:
        assert [s["icalUrl"] for s in listed[role]] == [masked]
    feed = masked.split("/api/", 1)[1]
    status, _ = await api.call("GET", "/api/" + feed.replace(MASK, "%2A%2A%2A"), key=None)
    assert status in (401, 403)
    status, text = await api.call("GET", "/api/" + real.split("/api/", 1)[1], key=None)
    assert status == 200 and "BEGIN:VCALENDAR" in text


# --- the table: stated by the document, complete over the contract ----------------------


async def test_the_document_states_the_table(api: Api) -> None:
    status, document = await api.call("GET", "/api/openapi.json")
    assert status == 200
    schemas = document["components"]["schemas"]

    def marks(schema: str, field: str) -> tuple[Any, Any]:
        prop = schemas[schema]["properties"][field]
        branch = next((b for b in prop.get("anyOf", [prop]) if "x-visible-to" in b), prop)
        return branch.get("x-visible-to"), branch.get("x-masked-as")

    admins = ["ADMIN", "ADMIN members of the resource's teams"]
    assert marks("AlertSource", "integrationKey") == (admins, MASK)
    assert marks("AlertActionParams", "webhookUrl")[0] == admins
    assert marks("WebhookHeader", "value") == (admins, MASK)
    assert marks("Schedule", "icalUrl")[0] == admins
    assert marks("Connector", "params")[0] == admins
    assert marks("Notification", "target") == (["ADMIN", "the user it belongs to"], MASK)
    assert marks("LogEntry", "text")[0] == ["ADMIN", "the user it belongs to"]
    assert marks("AlertSource", "name") == (None, None)


#: Answer fields whose names look secret but are not, each with the reason; any other
#: secret-looking field of an answer must be in the table (``secret(...)`` on the field).
NOT_SECRET = {
    "Alert.alertKey": "the dedup key the sender chose, not a credential",
    "Alert.alertSource": "an id and a name",
    "Channel.url": "the chat channel's address for people, not a webhook",
    "IncidentChannel.url": "the chat channel's address for people; the webhook is the "
    "connector's secret",
    "Image.src": "a picture the sender attached",
    "Image.href": "a link the sender attached",
    "Link.href": "a link the sender attached",
    "EventResponse.alertKey": "the dedup key the sender chose",
    "EventResponse.alertUrl": "the alert's page",
    "Connector.secretParams": "names of the credentials that are set, never values",
    "AlertAction.connectorId": "an id",
    "AlertAction.alertFilter": "a condition",
    "AlertSource.escalationPolicy": "an id",
    "Notification.user": "the owner's id",
    "WebhookHeader.key": "a header's name; its value is in the table",
    "EscalationPolicy.routingKey": "picks a policy for an event that needs an integration key",
    "EventResponse.incidentKey": "ilert's older name of alertKey",
    "EventResponse.incidentUrl": "ilert's older name of alertUrl",
    # not these resources' (users.py, user_contacts.py: issue 13's other findings)
    "ApiKeyCreated.apiKey": "shown once, to whoever issued it, by users.py",
    "User.email": "the account's login address: users.py decides who reads it",
    "UserRef.email": "a responder's account address, as User.email",
    "EmailContact.target": "the contact routes answer the user and ADMINs only",
    "PhoneContact.target": "as EmailContact.target",
    "ContactRef.target": "a notification rule's contact: the user's and ADMINs' routes only",
    "AlertNotificationRule.contact": "as ContactRef.target",
    "DutyNotificationRule.contact": "as ContactRef.target",
    "UpdateNotificationRule.contact": "as ContactRef.target",
    "User.password": "write-only: users.py never answers it",
    "StatusPage.faviconUrl": "a public picture the page shows its visitors",
    "StatusPage.logoUrl": "a public picture the page shows its visitors",
    "StatusSummary.url": "the public page's own address",
    "SuppressedEvent.alertKey": "the dedup key the sender chose, as Alert.alertKey",
    "StatusSubscriber.email": "personal data, not a credential: its routes are ADMIN-only",
    "PagerDutyAccepted.dedup_key": "the dedup key the sender chose (or was given), as alertKey",
    "PagerDutyV1Accepted.incident_key": "PagerDuty v1's name of dedup_key",
    "AlertSource.alertKeyTemplate": "a template of the dedup key, e.g. {{ groupKey }}",
    "LinkTemplate.hrefTemplate": "a template of a link shown on the source's alerts",
}
_LOOKS_SECRET = re.compile(
    r"(?i)key|token|secret|password|passwd|credential|signature|url|href|src|header|"
    r"target|email|phone|contact|auth"
)


def _answer_fields() -> dict[str, tuple[type, str]]:
    """ "Type.path" -> (answer type, path) of every field of every declared answer."""
    found: dict[str, tuple[type, str]] = {}

    def walk(info: msgspec.inspect.Type, owner: str, path: str, top: type, seen: set) -> None:
        if isinstance(info, msgspec.inspect.StructType):
            if info.cls in seen:
                return
            for field in info.fields:
                here = f"{path}.{field.encode_name}" if path else field.encode_name
                found.setdefault(f"{info.cls.__name__}.{field.encode_name}", (top, here))
                walk(field.type, info.cls.__name__, here, top, seen | {info.cls})
        elif isinstance(info, msgspec.inspect.ListType | msgspec.inspect.DictType):
            item = info.item_type if isinstance(info, msgspec.inspect.ListType) else info.value_type
            walk(item, owner, path + "[]", top, seen)
        elif isinstance(info, msgspec.inspect.UnionType):
            for member in info.types:
                walk(member, owner, path, top, seen)
        elif isinstance(info, msgspec.inspect.Metadata):
            walk(info.type, owner, path, top, seen)

    for route in declared_routes():
        for answer in route.answers.values():
            if answer.type is not None:
                info = msgspec.inspect.type_info(answer.type)
                # lists of, and types with rules for the document (Annotated), unwrapped
                while isinstance(info, msgspec.inspect.ListType | msgspec.inspect.Metadata):
                    listed = isinstance(info, msgspec.inspect.ListType)
                    info = info.item_type if listed else info.type
                if isinstance(info, msgspec.inspect.StructType):
                    walk(info, info.cls.__name__, "", info.cls, set())
    return found


def _covered(top: type, path: str) -> bool:
    """Whether a rule of ``top``'s table is the field at ``path``, holds it, or lies in it
    (a list of headers is covered by its values' rule)."""
    return any(
        path == rule.name
        or path.startswith((rule.name + ".", rule.name + "[]"))
        or rule.name.startswith((path + ".", path + "[]"))
        for rule in field_access.table(top)
    )


def test_every_secret_looking_answer_field_is_in_the_table() -> None:
    fields = _answer_fields()
    assert "AlertAction.signingSecret" in fields and "LogEntry.vars" in fields  # the walk works
    missing = [
        name
        for name, (top, path) in sorted(fields.items())
        if _LOOKS_SECRET.search(name.split(".", 1)[1])
        and name not in NOT_SECRET
        and not _covered(top, path)
    ]
    assert missing == [], f"secret-looking answer fields without an entry: {missing}"
    stale = [name for name in NOT_SECRET if name not in fields]
    assert stale == [], f"NOT_SECRET names fields no answer has: {stale}"


class _Leaf(msgspec.Struct):
    token: Annotated[str, secret(Masking.VALUE, "test")] = ""
    plain: str = ""


class _Outer(msgspec.Struct):
    items: list[_Leaf] | None = None


def test_the_walk_finds_a_secret_at_any_depth() -> None:
    """The table is read from the annotations, nested structs and lists included, so a
    field added with ``secret(...)`` is masked without another line anywhere; and the walk
    over the answers would name a secret-looking field nobody declared."""
    assert [r.name for r in field_access.table(_Outer)] == ["items[].token"]
    body = {"items": [{"token": "t", "plain": "p"}]}
    assert field_access.shown(_Outer, body, None) == {"items": [{"token": MASK, "plain": "p"}]}
    assert body == {"items": [{"token": "t", "plain": "p"}]}  # the answer was copied
    assert not _covered(_Outer, "items[].plain") and _covered(_Outer, "items[].token")


# --- the masking forms ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (HOOK, HOOK_MASKED),
        (SERVICE, SERVICE_MASKED),
        ("https://T0K3N@api.example/x", "https://***@api.example/x"),
        (
            "https://h.example/?key=1&monkey=2&api_key=3&X-Amz-Signature=4&sig=5&code=6#top",
            "https://h.example/?key=***&monkey=2&api_key=***&X-Amz-Signature=***&sig=***"
            "&code=***#top",
        ),
        ("https://h.example/?q=a%20b&flag&token=", "https://h.example/?q=a%20b&flag&token="),
        ("https://x.hooks.slack.com/services/A/B/C?x=1", "https://x.hooks.slack.com/***"),
        ("https://chat.googleapis.com/v1/spaces/S/messages", "https://chat.googleapis.com/***"),
        ("https://plain.example/path", "https://plain.example/path"),
    ],
)
def test_a_url_keeps_what_is_not_secret(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_contacts_are_scrubbed_from_texts_numbers_by_their_last_digits_too() -> None:
    text = Visibility(Masking.CONTACT_TEXT, "t", owner="user.id", contact="target")
    note = {"target": "+4915112345678", "user": {"id": 7}}
    assert masked(text, "Notified user 7 by SMS to …5678", note) == "Notified user 7 by SMS to ***"
    assert masked(text, "550 +4915112345678 unknown", note) == "550 *** unknown"
    variables = Visibility(Masking.CONTACT_VARS, "t")
    assert masked(variables, {"target": "a@b.test", "error": "a@b.test: no", "n": 1}, {}) == {
        "target": MASK,
        "error": "***: no",
        "n": 1,
    }
    assert looks_masked(MASK) and looks_masked(HOOK_MASKED) and looks_masked(SLACK_MASKED)
    assert not looks_masked("pa***word") and not looks_masked(HOOK)
