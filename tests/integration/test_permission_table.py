"""Who may call what: the reviewed table below, asserted against the served document and
against every role's answers.

``TABLE`` is the permission table in one place, keyed by operation id: ``"PUBLIC"`` (no API
key; an integration key, a provider's signature or a signed link instead), ``None`` (any
authenticated caller), a role (that role or higher), ``("SELF", role)`` (the user the
path names, or that role), or ``("TEAM", role)`` (that role by the account's role, or a
member holding that role in the team the path names, or in one of the teams of the resource
the path names; on a create, in the teams the body names). A route whose access changes,
or a new route, fails here until the table says so; the document states the same
(``x-ilertd-access``), and each role's calls show the route table enforcing it: a role
below the minimum gets a 403 before the body is read (on a real resource of a team it does
not administer, for a TEAM row), one at or above it never gets a 401 or 403, no key gets a
401.
"""

from __future__ import annotations

from typing import Any

import pytest

from ilertd.domain.user import Role
from ilertd.http.authz import RANKS

from .conftest import Api

Access = str | None | tuple[str, str]

TABLE: dict[str, Access] = {
    "healthz": "PUBLIC",
    "readyz": "PUBLIC",
    "metrics": "PUBLIC",
    "getOpenApi": "PUBLIC",
    "getOpenApiApi": "PUBLIC",
    "getApiReference": "PUBLIC",
    "getApiReferenceAsset": "PUBLIC",
    # users: anyone signed in reads the directory; the user themself or an ADMIN edits
    "getCurrentUser": None,
    "replaceCurrentUser": None,
    "searchUserByEmail": None,
    "listUsers": None,
    "createUser": "ADMIN",
    "getUser": None,
    "replaceUser": ("SELF", "ADMIN"),
    "deleteUser": "ADMIN",
    "listApiKeys": ("SELF", "ADMIN"),
    "issueApiKey": ("SELF", "ADMIN"),
    "revokeApiKey": ("SELF", "ADMIN"),
    **{
        f"{verb}{kind}": ("SELF", "ADMIN")
        for kind in (
            "EmailContact",
            "PhoneContact",
            "AlertNotificationPreference",
            "DutyNotificationPreference",
            "UpdateNotificationPreference",
        )
        for verb in ("add", "get", "replace", "remove")
    },
    **{
        f"list{kind}s": ("SELF", "ADMIN")
        for kind in (
            "EmailContact",
            "PhoneContact",
            "AlertNotificationPreference",
            "DutyNotificationPreference",
            "UpdateNotificationPreference",
        )
    },
    "searchEmailContact": ("SELF", "ADMIN"),
    "searchPhoneContact": ("SELF", "ADMIN"),
    # alerts: anyone reads (those of a source whose teams are all PRIVATE only its teams'
    # members); RESPONDERs act, in the account or in a team of the alert's source
    "listAlerts": None,
    "createAlert": "RESPONDER",
    "countAlerts": None,
    "getAlert": None,
    "acceptAlert": ("TEAM", "RESPONDER"),
    "resolveAlert": ("TEAM", "RESPONDER"),
    "raiseAlert": ("TEAM", "RESPONDER"),
    "escalateAlert": ("TEAM", "RESPONDER"),
    "assignAlert": ("TEAM", "RESPONDER"),
    "commentAlert": ("TEAM", "RESPONDER"),
    "listAlertLogEntries": None,
    "addAlertResponder": ("TEAM", "RESPONDER"),
    "removeAlertResponder": ("TEAM", "RESPONDER"),
    "attachAlertChannel": ("TEAM", "RESPONDER"),
    "detachAlertChannel": ("TEAM", "RESPONDER"),
    "listAlertNotifications": None,
    "listAlertActionsOfAlert": None,
    "runAlertAction": ("TEAM", "RESPONDER"),
    # configuration: anyone reads (secrets masked below ADMIN; a resource whose teams are all
    # PRIVATE only their members); ADMINs write, and ADMINs of one of the resource's teams
    # (http.team_access: team_writer, team_creator)
    "listAlertSources": None,
    "createAlertSource": ("TEAM", "ADMIN"),
    "getAlertSource": None,
    "replaceAlertSource": ("TEAM", "ADMIN"),
    "deleteAlertSource": ("TEAM", "ADMIN"),
    "resolveEscalationPolicy": None,
    "listEscalationPolicies": None,
    "createEscalationPolicy": ("TEAM", "ADMIN"),
    "getEscalationPolicy": None,
    "replaceEscalationPolicy": ("TEAM", "ADMIN"),
    "deleteEscalationPolicy": ("TEAM", "ADMIN"),
    "replaceEscalationLevel": ("TEAM", "ADMIN"),
    "listSchedules": None,
    "createSchedule": ("TEAM", "ADMIN"),
    "getScheduleByName": None,
    "getSchedule": None,
    "replaceSchedule": ("TEAM", "ADMIN"),
    "deleteSchedule": ("TEAM", "ADMIN"),
    "getScheduleShifts": None,
    "listScheduleOverrides": None,
    "addScheduleOverride": ("TEAM", "ADMIN"),
    "replaceScheduleOverrides": ("TEAM", "ADMIN"),
    "getScheduleUserOnCall": None,
    "getScheduleIcal": "PUBLIC",
    "listOnCalls": None,
    "listConnectors": None,
    "createConnector": ("TEAM", "ADMIN"),
    "getConnector": None,
    "replaceConnector": ("TEAM", "ADMIN"),
    "deleteConnector": ("TEAM", "ADMIN"),
    "getConnectorByName": None,
    "listAlertActions": None,
    "createAlertAction": ("TEAM", "ADMIN"),
    "getAlertAction": None,
    "replaceAlertAction": ("TEAM", "ADMIN"),
    "deleteAlertAction": ("TEAM", "ADMIN"),
    "getAlertActionByName": None,
    "listServices": None,
    "createService": ("TEAM", "ADMIN"),
    "getServiceByName": None,
    "getService": None,
    "replaceService": ("TEAM", "ADMIN"),
    "deleteService": ("TEAM", "ADMIN"),
    "listServiceOutages": None,
    # status pages: as services (team resources); the pages themselves are served to
    # anyone (PUBLIC pages) or to a login the site checks (PRIVATE ones)
    "listStatusPages": None,
    "createStatusPage": ("TEAM", "ADMIN"),
    "getStatusPage": None,
    "replaceStatusPage": ("TEAM", "ADMIN"),
    "deleteStatusPage": ("TEAM", "ADMIN"),
    "getStatusPageByName": None,
    "listStatusPageGroups": None,
    "createStatusPageGroup": ("TEAM", "ADMIN"),
    "getStatusPageGroupByName": None,
    "getStatusPageGroup": None,
    "replaceStatusPageGroup": ("TEAM", "ADMIN"),
    "deleteStatusPageGroup": ("TEAM", "ADMIN"),
    "getStatusPageSite": "PUBLIC",
    "getStatusPageFeed": "PUBLIC",
    "getStatusPageSummary": "PUBLIC",
    "getStatusPageOnDomain": "PUBLIC",
    # subscribers' addresses are personal data: account ADMINs only; visitors subscribe
    # and confirm or unsubscribe by signed links, without a key
    "listStatusPageSubscribers": "ADMIN",
    "addStatusPageSubscriber": "ADMIN",
    "removeStatusPageSubscriber": "ADMIN",
    "subscribeToStatusPage": "PUBLIC",
    "confirmStatusPageSubscription": "PUBLIC",
    "showStatusPageUnsubscribe": "PUBLIC",
    "unsubscribeFromStatusPage": "PUBLIC",
    # teams: anyone reads (PRIVATE ones only their members and ADMINs); ADMINs create; the
    # other writes let any caller in and check the team role in the handler: ADMINs and
    # the team's own ADMIN members (http.teams.require_team_role)
    "listTeams": None,
    "createTeam": "ADMIN",
    "getTeamByName": None,
    "getTeam": None,
    "replaceTeam": ("TEAM", "ADMIN"),
    "deleteTeam": ("TEAM", "ADMIN"),
    "addTeamMember": ("TEAM", "ADMIN"),
    "removeTeamMember": ("TEAM", "ADMIN"),
    # incidents: anyone reads; RESPONDERs declare, change, comment, link, post status
    # updates; a responder joins by themself; declaring from an alert is an action on the
    # alert (a RESPONDER of its source's team too)
    "listIncidents": None,
    "createIncident": "RESPONDER",
    "getIncident": None,
    "replaceIncident": "RESPONDER",
    "reopenIncident": "RESPONDER",
    "getIncidentTimeline": None,
    "commentIncident": "RESPONDER",
    "linkIncidentAlert": "RESPONDER",
    "unlinkIncidentAlert": "RESPONDER",
    "addIncidentResponder": "RESPONDER",
    "removeIncidentResponder": "RESPONDER",
    "joinIncident": ("SELF", "RESPONDER"),
    "postIncidentStatusUpdate": "RESPONDER",
    "listIncidentStatusUpdates": None,
    "declareIncidentFromAlert": ("TEAM", "RESPONDER"),
    # paging into incidents: anyone reads the notifications (targets masked as for
    # alerts); RESPONDERs subscribe users; a subscriber unsubscribes themself
    "listIncidentNotifications": None,
    "addIncidentSubscriber": "RESPONDER",
    "removeIncidentSubscriber": ("SELF", "RESPONDER"),
    # incident channels: RESPONDERs attach and detach, as they change the incident
    "attachIncidentChannel": "RESPONDER",
    "detachIncidentChannel": "RESPONDER",
    # maintenance windows: anyone reads; RESPONDERs and above write (no team owns one)
    "listMaintenanceWindows": None,
    "createMaintenanceWindow": "RESPONDER",
    "getMaintenanceWindow": None,
    "replaceMaintenanceWindow": "RESPONDER",
    "deleteMaintenanceWindow": "RESPONDER",
    "listMaintenanceWindowSuppressedEvents": None,
    # support hours: a team resource, as services
    "listSupportHoursList": None,
    "createSupportHours": ("TEAM", "ADMIN"),
    "getSupportHoursByName": None,
    "getSupportHours": None,
    "replaceSupportHours": ("TEAM", "ADMIN"),
    "deleteSupportHours": ("TEAM", "ADMIN"),
    "listDeliveries": None,
    "getDelivery": None,
    "retryDelivery": "RESPONDER",
    "listAuditEvents": "ADMIN",
    # authenticated by other means
    "confirmActionLink": "PUBLIC",
    "runActionLink": "PUBLIC",
    "inboundSms": "PUBLIC",
    "voiceKeypress": "PUBLIC",
    "createEvent": "PUBLIC",
    "createEventV1": "PUBLIC",
    # tool webhooks: the integration key in the path (Alertmanager) or body (PagerDuty)
    "createAlertmanagerEvent": "PUBLIC",
    "createAlertmanagerEventV1": "PUBLIC",
    "enqueuePagerDutyEvent": "PUBLIC",
    "createPagerDutyV1Event": "PUBLIC",
    # heartbeat monitors: team resources as services; pings carry their key in the path
    "listHeartbeatMonitors": None,
    "createHeartbeatMonitor": ("TEAM", "ADMIN"),
    "getHeartbeatMonitorByName": None,
    "getHeartbeatMonitor": None,
    "replaceHeartbeatMonitor": ("TEAM", "ADMIN"),
    "deleteHeartbeatMonitor": ("TEAM", "ADMIN"),
    **{
        f"{verb}Heartbeat{suffix}": "PUBLIC"
        for verb in ("headPing", "getPing", "postPing")
        for suffix in ("", "V1")
    },
    # tool webhooks, the integration key in the path (ilertd/http/webhooks.py)
    "createGrafanaEvent": "PUBLIC",
    "createGrafanaEventV1": "PUBLIC",
    "createWebhookEvent": "PUBLIC",
    "createWebhookEventV1": "PUBLIC",
}

#: A path value no resource has, per parameter schema: a caller who may call the route gets
#: a 404 or 400 for it, never a 401 or 403, and nothing is changed.
ABSENT = {"integer": "987654321", "uuid": "00000000-0000-0000-0000-00000000abcd"}


def stated(access: dict[str, Any]) -> Access:
    """The document's ``x-ilertd-access`` in the table's notation."""
    if access.get("public"):
        return "PUBLIC"
    if "self" in access:
        return ("SELF", access["role"])
    if "team" in access:
        return ("TEAM", access["team"]["role"])
    return access["role"]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def concrete(
    path: str,
    operation: dict[str, Any],
    *,
    self_id: int | None = None,
    owned: dict[str, int] | None = None,
) -> str:
    """``path`` with each parameter replaced by a value that names nothing (or, for the
    ``self`` parameter when ``self_id`` is given, the caller; for the team parameter when
    ``owned`` is given, the id it holds for the path's collection: a team, or a resource
    of a team)."""
    access = operation["x-ilertd-access"]
    team_param = access.get("team", {}).get("param")
    team_id = None
    if owned is not None:
        team_id = next(
            (ident for base, ident in owned.items() if path.startswith(base + "/")), None
        )
    for param in operation.get("parameters", ()):
        if param["in"] != "path":
            continue
        schema = param["schema"]
        if self_id is not None and param["name"] == access.get("self"):
            value = str(self_id)
        elif team_id is not None and param["name"] == team_param:
            value = str(team_id)
        elif schema.get("type") == "integer":
            value = ABSENT["integer"]
        elif schema.get("format") == "uuid":
            value = ABSENT["uuid"]
        else:
            value = "nothing-by-this-name"
        path = path.replace("{" + param["name"] + "}", value)
    return path


def allowed(access: Access, role: Role) -> bool:
    """Whether ``role`` may call it by role alone (not as the user or team member named: a
    team role raises a user's rights in that team, the user's own role holds everywhere)."""
    minimum = access[1] if isinstance(access, tuple) else access
    return minimum is None or RANKS[role] >= RANKS[Role(minimum)]


@pytest.fixture
async def keys(api: Api) -> dict[Role, tuple[int, str]]:
    """A user and an API key of every role (the bootstrap ADMIN's own for ADMIN)."""
    found: dict[Role, tuple[int, str]] = {}
    status, me = await api.call("GET", "/api/users/current")
    assert status == 200
    for role in Role:
        if role is Role.ADMIN:
            found[role] = (me["id"], api.key or "")
            continue
        body = {
            "email": f"{role.value.lower()}@example.test",
            "firstName": role.value.title(),
            "lastName": "Tester",
            "role": role.value,
        }
        status, user = await api.call("POST", "/api/users", json=body)
        assert status == 201, user
        status, issued = await api.call("POST", f"/api/users/{user['id']}/api-keys", json={})
        assert status == 201, issued
        found[role] = (user["id"], issued["apiKey"])
    return found


@pytest.fixture
async def owned(api: Api) -> dict[str, int]:
    """A PUBLIC team nobody but the bootstrap ADMIN administers, and one resource of each
    kind that belongs to it, by collection: the other roles see them and may not change
    them."""
    status, team = await api.call("POST", "/api/teams", json={"name": "ops"})
    assert status == 201, team
    _, me = await api.call("GET", "/api/users/current")
    teams = [{"id": team["id"]}]
    bodies = {
        "/api/escalation-policies": {
            "name": "ops",
            "escalationRules": [{"escalationTimeout": 5, "users": [{"id": me["id"]}]}],
            "teams": teams,
        },
        "/api/alert-sources": {"name": "ops", "teams": teams},
        "/api/schedules": {
            "name": "ops",
            "timezone": "UTC",
            "type": "STATIC",
            "shifts": [
                {
                    "user": {"id": me["id"]},
                    "start": "2026-01-01T00:00:00Z",
                    "end": "2026-01-02T00:00:00Z",
                }
            ],
            "teams": teams,
        },
        "/api/connectors": {
            "name": "ops",
            "type": "webhook",
            "params": {"url": "https://hooks.example.test/"},
            "teams": teams,
        },
        "/api/alert-actions": {
            "name": "ops",
            "connectorType": "webhook",
            "params": {"webhookUrl": "https://hooks.example.test/in"},
            "teams": teams,
        },
        "/api/services": {"name": "ops", "teams": teams},
        "/api/status-pages": {"name": "ops", "subdomain": "ops-status", "teams": teams},
        "/api/support-hours": {"name": "ops", "timezone": "UTC", "teams": teams},
        "/api/heartbeat-monitors": {"name": "ops", "intervalSec": 60, "teams": teams},
    }
    found = {"/api/teams": team["id"]}
    for base, body in bodies.items():
        status, made = await api.call("POST", base, json=body)
        assert status == 201, made
        found[base] = int(made["id"])
        if base == "/api/alert-sources":  # and an alert of the team's source
            event = {"integrationKey": made["integrationKey"], "eventType": "ALERT", "summary": "x"}
            status, opened = await api.call("POST", "/api/events", json=event, key=False)
            assert status == 202, opened
            found["/api/alerts"] = opened["alertId"]
    return found


async def test_the_document_states_the_table(api: Api) -> None:
    status, document = await api.call("GET", "/api-docs/openapi.json", key=False)
    assert status == 200
    served = {op["operationId"]: stated(op["x-ilertd-access"]) for _, _, op in operations(document)}
    assert set(served) - set(TABLE) == set(), "routes missing from the table"
    assert set(TABLE) - set(served) == set(), "table rows without a route"
    differing = {name: (served[name], TABLE[name]) for name in TABLE if served[name] != TABLE[name]}
    assert differing == {}, "served vs table"


async def call(api: Api, method: str, path: str, operation: dict[str, Any], key: str | None):
    """The operation with an empty body of its media type (a role check comes first)."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/x-www-form-urlencoded" in content:
        return await api.call(method, path, data={}, key=key)
    if content:
        return await api.call(method, path, json={}, key=key)
    return await api.call(method, path, key=key)


async def test_every_role_gets_what_the_table_says(
    api: Api, keys: dict[Role, tuple[int, str]], owned: dict[str, int]
) -> None:
    status, document = await api.call("GET", "/api-docs/openapi.json", key=False)
    assert status == 200
    wrong: list[str] = []
    for method, path, operation in operations(document):
        access = TABLE[operation["operationId"]]
        where = f"{method} {path}"
        status, answer = await call(api, method, concrete(path, operation), operation, None)
        if access == "PUBLIC":  # it may want credentials of its own (a token, a signature)
            if status == 401 and "API key" in str(answer):
                wrong.append(f"{where}: public, but asks for an API key")
            continue
        if status != 401:
            wrong.append(f"{where}: {status} without a key, not 401")
        for role, (user_id, key) in keys.items():
            mine = owned if not allowed(access, role) else None  # real ones, to be refused
            target = concrete(path, operation, owned=mine)
            status, answer = await call(api, method, target, operation, key)
            if allowed(access, role):
                if status in (401, 403):
                    wrong.append(f"{where}: {role.value} may call it, got {status} {answer}")
            elif status != 403:
                wrong.append(f"{where}: {role.value} may not call it, got {status}")
            if isinstance(access, tuple) and access[0] == "SELF" and not allowed(access, role):
                own = concrete(path, operation, self_id=user_id)
                status, answer = await call(api, method, own, operation, key)
                if status in (401, 403):
                    wrong.append(f"{where}: {role.value} on itself, got {status} {answer}")
    assert not wrong, "\n".join(wrong)


async def test_a_team_admin_may_call_every_team_route(
    api: Api, keys: dict[Role, tuple[int, str]], owned: dict[str, int]
) -> None:
    """A USER who is ADMIN of the team the fixtures belong to is let in by every ("TEAM",
    role) row: never a 401 or 403, on the team and on each of its resources (deletes last,
    the team's own at the very end, so every call still finds what it names)."""
    user_id, key = keys[Role.USER]
    status, team = await api.call(
        "POST",
        f"/api/teams/{owned['/api/teams']}/members",
        json={"user": {"id": user_id}, "role": "ADMIN"},
    )
    assert status == 201, team
    status, document = await api.call("GET", "/api-docs/openapi.json", key=False)
    assert status == 200
    rows = [
        (method, path, operation)
        for method, path, operation in operations(document)
        if isinstance(TABLE[operation["operationId"]], tuple)
        and TABLE[operation["operationId"]][0] == "TEAM"
    ]
    rows.sort(key=lambda row: (row[0] == "DELETE", row[1].startswith("/api/teams")))
    assert rows, "no TEAM rows"
    wrong = []
    for method, path, operation in rows:
        target = concrete(path, operation, owned=owned)
        status, answer = await call(api, method, target, operation, key)
        if status in (401, 403):
            wrong.append(f"{method} {target}: a team ADMIN got {status} {answer}")
    assert not wrong, "\n".join(wrong)
