"""ilert-go's user calls (user.go, user_email_contact.go, user_phone_number_contact.go,
user_alert_preference.go, user_duty_preference.go, user_update_preference.go) and the
Terraform provider's use of them, each body as ilert-go serialises its structs: ``User``'s
fields are all ``omitempty``, a phone contact always carries ``regionCode`` (empty when
unset), a preference always carries ``contact`` (null when unset), ``delayMin`` or
``beforeMin`` and ``type`` (empty when unset). Each answer is checked with the status
ilert-go insists on and for the fields the client reads back."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ..integration.conftest import Api

USERS = "/api/users"
#: what the provider's buildUser sends with every optional attribute set
TERRAFORM_USER = {
    "firstName": "Ann",
    "lastName": "Example",
    "email": "ann@example.test",
    "timezone": "Europe/Berlin",
    "position": "SRE",
    "department": "Operations",
    "language": "de",
    "region": "DE",
    "role": "STAKEHOLDER",
    "shiftColor": "#ff9900",
}


@pytest.fixture
async def ann(api: Api) -> dict[str, Any]:
    status, user = await api.call("POST", USERS, json=TERRAFORM_USER)
    assert status == 201, user
    return user


async def test_create_user_with_every_field_ilert_go_sends(api: Api) -> None:
    """CreateUser: 201, with ``?send-no-invitation`` as ilert-go adds it; reads the user."""
    status, user = await api.call("POST", f"{USERS}?send-no-invitation=true", json=TERRAFORM_USER)
    assert status == 201, user
    assert isinstance(user["id"], int) and user["id"] > 0
    for field, sent in TERRAFORM_USER.items():  # the provider reads every one back
        assert user[field] == sent, field
    assert user["username"] == "ann@example.test"
    status, fetched = await api.call("GET", f"{USERS}/{user['id']}")
    assert status == 200 and fetched == user


async def test_create_user_with_only_the_required_fields(api: Api) -> None:
    body = {"firstName": "Bo", "lastName": "Min", "email": "bo@example.test"}
    status, user = await api.call("POST", USERS, json=body)
    assert status == 201, user
    assert (user["role"], user["language"], user["timezone"]) == ("USER", "en", "UTC")
    # ilert answers the unset ones as empty strings; the provider compares them with ""
    assert [user[f] for f in ("position", "department", "region", "shiftColor")] == [""] * 4


async def test_get_user_by_id_by_username_and_current(api: Api, ann: dict[str, Any]) -> None:
    """GetUser takes an id or a username; GetCurrentUser sends the username "current"."""
    status, by_id = await api.call("GET", f"{USERS}/{ann['id']}")
    assert status == 200 and by_id == ann
    status, by_name = await api.call("GET", f"{USERS}/{ann['username']}")
    assert status == 200 and by_name == ann
    status, by_other_case = await api.call("GET", f"{USERS}/ANN@example.test")
    assert status == 200 and by_other_case["id"] == ann["id"]
    status, problem = await api.call("GET", f"{USERS}/nobody@example.test")
    assert status == 404 and problem["code"] == "NOT_FOUND"
    status, me = await api.call("GET", f"{USERS}/current")
    assert status == 200 and me["role"] == "ADMIN" and isinstance(me["id"], int)


async def test_get_users_pages(api: Api, ann: dict[str, Any]) -> None:
    """GetUsers: start-index and max-results, a JSON array."""
    status, users = await api.call("GET", f"{USERS}?start-index=0&max-results=100")
    assert status == 200 and [u["email"] for u in users] == ["admin@localhost", ann["email"]]
    status, rest = await api.call("GET", f"{USERS}?start-index=1&max-results=1")
    assert status == 200 and rest == [ann]


async def test_search_user_by_email(api: Api, ann: dict[str, Any]) -> None:
    """SearchUser (the provider's user data source): POST search-email with ``{email}``."""
    status, found = await api.call(
        "POST", f"{USERS}/search-email", json={"email": "Ann@Example.test"}
    )
    assert status == 200 and found["id"] == ann["id"] and found["email"] == ann["email"]
    status, problem = await api.call(
        "POST", f"{USERS}/search-email", json={"email": "nobody@example.test"}
    )
    assert status == 404 and problem["code"] == "NOT_FOUND"
    status, problem = await api.call("POST", f"{USERS}/search-email", json={})
    assert status == 400 and problem["field"] == "email"


async def test_update_user_by_id_and_by_username(api: Api, ann: dict[str, Any]) -> None:
    """UpdateUser: PUT the whole user, 200 with it."""
    body = TERRAFORM_USER | {"firstName": "Anna", "timezone": "Europe/Vienna"}
    body |= {"position": "Lead SRE", "shiftColor": "#00AA11", "region": ""}
    status, user = await api.call("PUT", f"{USERS}/{ann['id']}", json=body)
    assert status == 200, user
    assert (user["position"], user["shiftColor"], user["region"]) == ("Lead SRE", "#00aa11", "")
    assert (user["id"], user["firstName"], user["timezone"]) == (
        ann["id"],
        "Anna",
        "Europe/Vienna",
    )
    status, user = await api.call(
        "PUT", f"{USERS}/{ann['username']}", json=body | {"lastName": "Sample"}
    )
    assert status == 200 and user["id"] == ann["id"] and user["lastName"] == "Sample"


async def test_update_current_user(api: Api, ann: dict[str, Any]) -> None:
    """UpdateCurrentUser: PUT /api/users/current, 200; the caller's own profile."""
    status, issued = await api.call("POST", f"{USERS}/{ann['id']}/api-keys", json={})
    assert status == 201
    body = TERRAFORM_USER | {"language": "en"}
    status, user = await api.call("PUT", f"{USERS}/current", json=body, key=issued["apiKey"])
    assert status == 200 and user["id"] == ann["id"] and user["language"] == "en"
    status, problem = await api.call(
        "PUT", f"{USERS}/current", json=body | {"role": "ADMIN"}, key=issued["apiKey"]
    )
    assert status == 403 and problem["field"] == "role"


async def test_delete_user_by_id_and_by_username(api: Api, ann: dict[str, Any]) -> None:
    """DeleteUser: 204; a second delete is a 404, as the provider's read expects."""
    status, body = await api.call("DELETE", f"{USERS}/{ann['id']}")
    assert status == 204 and body is None
    status, _ = await api.call("GET", f"{USERS}/{ann['id']}")
    assert status == 404
    bob = {"firstName": "Bob", "lastName": "Example", "email": "bob@example.test"}
    status, created = await api.call("POST", USERS, json=bob)
    assert status == 201
    status, _ = await api.call("DELETE", f"{USERS}/{created['username']}")
    assert status == 204
    status, _ = await api.call("DELETE", f"{USERS}/{created['username']}")
    assert status == 404


async def test_email_contact_calls(api: Api, ann: dict[str, Any]) -> None:
    """Create (201), get, list, search by target, update (200), delete (204)."""
    base = f"{USERS}/{ann['id']}/contacts/emails"
    status, contact = await api.call("POST", base, json={"target": "ann@work.test"})
    assert status == 201, contact
    assert isinstance(contact["id"], int) and contact["target"] == "ann@work.test"
    status, got = await api.call("GET", f"{base}/{contact['id']}")
    assert status == 200 and got == contact
    status, listed = await api.call("GET", base)
    assert status == 200 and listed == [contact]
    status, found = await api.call(
        "POST", f"{base}/search-target", json={"target": "ANN@work.test"}
    )
    assert status == 200 and found == contact
    status, _ = await api.call("POST", f"{base}/search-target", json={"target": "x@y.test"})
    assert status == 404
    status, changed = await api.call(
        "PUT", f"{base}/{contact['id']}", json={"id": contact["id"], "target": "ann@home.test"}
    )
    assert status == 200 and changed["id"] == contact["id"] and changed["target"] == "ann@home.test"
    status, body = await api.call("DELETE", f"{base}/{contact['id']}")
    assert status == 204 and body is None


async def test_phone_number_contact_calls(api: Api, ann: dict[str, Any]) -> None:
    """ilert-go always sends ``regionCode``: "" when the provider's region_code is unset."""
    base = f"{USERS}/{ann['id']}/contacts/phone-numbers"
    status, contact = await api.call(
        "POST", base, json={"regionCode": "DE", "target": "+4915112345678"}
    )
    assert status == 201, contact
    assert (contact["regionCode"], contact["target"]) == ("DE", "+4915112345678")
    status, bare = await api.call("POST", base, json={"regionCode": "", "target": "+12025550123"})
    assert status == 201 and bare["regionCode"] is None
    status, found = await api.call(
        "POST", f"{base}/search-target", json={"regionCode": "", "target": "+49 151 12345678"}
    )
    assert status == 200 and found["id"] == contact["id"]
    status, changed = await api.call(
        "PUT", f"{base}/{contact['id']}", json={"regionCode": "AT", "target": "+43 660 1234567"}
    )
    assert status == 200 and (changed["regionCode"], changed["target"]) == ("AT", "+436601234567")
    status, got = await api.call("GET", f"{base}/{contact['id']}")
    assert status == 200 and got == changed
    status, _ = await api.call("DELETE", f"{base}/{bare['id']}")
    assert status == 204


async def _contacts(api: Api, user_id: int) -> tuple[int, int]:
    base = f"{USERS}/{user_id}/contacts"
    status, email = await api.call("POST", f"{base}/emails", json={"target": "ann@work.test"})
    assert status == 201
    status, phone = await api.call(
        "POST", f"{base}/phone-numbers", json={"regionCode": "", "target": "+4915112345678"}
    )
    assert status == 201
    return email["id"], phone["id"]


async def test_alert_preference_calls(api: Api, ann: dict[str, Any]) -> None:
    """UserAlertPreference: method, contact {id} (null for PUSH), delayMin, type."""
    _, phone = await _contacts(api, ann["id"])
    base = f"{USERS}/{ann['id']}/notification-preferences/alerts"
    body = {"method": "SMS", "contact": {"id": phone}, "delayMin": 0, "type": "HIGH_PRIORITY"}
    status, rule = await api.call("POST", base, json=body)
    assert status == 201, rule
    assert (rule["method"], rule["contact"]["id"], rule["delayMin"], rule["type"]) == (
        "SMS",
        phone,
        0,
        "HIGH_PRIORITY",
    )
    push = {"method": "PUSH", "contact": None, "delayMin": 5, "type": "LOW_PRIORITY"}
    status, pushed = await api.call("POST", base, json=push)
    assert status == 201 and pushed["contact"] is None
    status, got = await api.call("GET", f"{base}/{rule['id']}")
    assert status == 200 and got == rule
    status, listed = await api.call("GET", base)
    assert status == 200 and {r["id"] for r in listed} == {rule["id"], pushed["id"]}
    status, changed = await api.call(
        "PUT", f"{base}/{rule['id']}", json=body | {"method": "VOICE", "delayMin": 10}
    )
    assert status == 200 and (changed["method"], changed["delayMin"]) == ("VOICE", 10)
    status, _ = await api.call("DELETE", f"{base}/{rule['id']}")
    assert status == 204


async def test_duty_preference_calls(api: Api, ann: dict[str, Any]) -> None:
    """UserDutyPreference: ``type`` ON_CALL (or "" when unset), read back by the provider."""
    email, _ = await _contacts(api, ann["id"])
    base = f"{USERS}/{ann['id']}/notification-preferences/duties"
    body = {"method": "EMAIL", "contact": {"id": email}, "beforeMin": 60, "type": "ON_CALL"}
    status, rule = await api.call("POST", base, json=body)
    assert status == 201, rule
    assert (rule["method"], rule["contact"]["id"], rule["beforeMin"], rule["type"]) == (
        "EMAIL",
        email,
        60,
        "ON_CALL",
    )
    unset = {"method": "PUSH", "contact": None, "beforeMin": 0, "type": ""}
    status, pushed = await api.call("POST", base, json=unset)
    assert status == 201 and pushed["type"] == "ON_CALL"
    status, changed = await api.call("PUT", f"{base}/{rule['id']}", json=body | {"beforeMin": 0})
    assert status == 200 and changed["beforeMin"] == 0 and changed["type"] == "ON_CALL"
    status, got = await api.call("GET", f"{base}/{rule['id']}")
    assert status == 200 and got == changed
    status, _ = await api.call("DELETE", f"{base}/{rule['id']}")
    assert status == 204


async def test_update_preference_calls(api: Api, ann: dict[str, Any]) -> None:
    """UserUpdatePreference: method, contact, type (ALERT_ACCEPTED, ...)."""
    email, _ = await _contacts(api, ann["id"])
    base = f"{USERS}/{ann['id']}/notification-preferences/updates"
    body = {"method": "EMAIL", "contact": {"id": email}, "type": "ALERT_ACCEPTED"}
    status, rule = await api.call("POST", base, json=body)
    assert status == 201, rule
    assert (rule["method"], rule["contact"]["id"], rule["type"]) == (
        "EMAIL",
        email,
        "ALERT_ACCEPTED",
    )
    status, changed = await api.call(
        "PUT", f"{base}/{rule['id']}", json=body | {"type": "ALERT_RESOLVED"}
    )
    assert status == 200 and changed["type"] == "ALERT_RESOLVED"
    status, listed = await api.call("GET", base)
    assert status == 200 and listed == [changed]
    status, _ = await api.call("DELETE", f"{base}/{rule['id']}")
    assert status == 204


async def test_methods_ilertd_lacks_are_400s_naming_method(api: Api, ann: dict[str, Any]) -> None:
    """ilert-go also offers WHATSAPP and TELEGRAM; ilertd says which methods it has."""
    base = f"{USERS}/{ann['id']}/notification-preferences/alerts"
    body = {"method": "WHATSAPP", "contact": None, "delayMin": 0, "type": "HIGH_PRIORITY"}
    status, problem = await api.call("POST", base, json=body)
    assert status == 400 and problem["field"] == "method" and "PUSH" in problem["message"]


# --- Basic auth: ilert-go's WithBasicAuth, the provider's organization/username/password ---

ILERT_GO_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "User-Agent": "ilert-go/3.0.0",
    "Accept-Encoding": "gzip",
}


def ilert_go_basic(organization: str, username: str, password: str) -> dict[str, str]:
    """NewClient with ILERT_ORGANIZATION, ILERT_USERNAME and ILERT_PASSWORD set (or the
    provider's ``organization``/``username``/``password``): WithBasicAuth calls resty's
    ``SetBasicAuth(fmt.Sprintf("%s@%s", username, organizationID), password)``, sent as
    ``Basic`` and the standard base64 of ``user:password``."""
    pair = f"{username}@{organization}:{password}".encode()
    return ILERT_GO_HEADERS | {"Authorization": "Basic " + base64.b64encode(pair).decode()}


async def test_ilert_go_with_basic_auth(api: Api, ann: dict[str, Any]) -> None:
    """A password set by an ADMIN, then the provider configured with it: the username is
    ann's email, so the user part is ``ann@example.test@acme``."""
    password = "terraform says hello"
    status, user = await api.call(
        "PUT", f"{USERS}/{ann['id']}", json=TERRAFORM_USER | {"password": password}
    )
    assert status == 200 and "password" not in user
    headers = ilert_go_basic("acme", ann["email"], password)
    # GetCurrentUser, GetUsers, GetUser: what the provider's data sources read
    status, me = await api.call("GET", f"{USERS}/current", key=False, headers=headers)
    assert status == 200 and me["id"] == ann["id"] and me["role"] == "STAKEHOLDER"
    status, users = await api.call("GET", USERS, key=False, headers=headers)
    assert status == 200 and ann["id"] in [u["id"] for u in users]
    # UpdateCurrentUser sends ilert-go's User struct, which has no password: it stays
    body = TERRAFORM_USER | {"position": "Platform"}
    status, user = await api.call("PUT", f"{USERS}/current", json=body, key=False, headers=headers)
    assert status == 200 and user["position"] == "Platform"
    status, _ = await api.call("GET", f"{USERS}/current", key=False, headers=headers)
    assert status == 200
    # a wrong password: the error body decodes as ilert-go's GenericAPIError
    wrong = ilert_go_basic("acme", ann["email"], "not the password")
    status, problem = await api.call("GET", f"{USERS}/current", key=False, headers=wrong)
    assert status == 401
    assert isinstance(problem["status"], int) and problem["status"] == 401
    assert isinstance(problem["code"], str) and isinstance(problem["message"], str)
