"""The served status page: what it shows (statuses from published status updates only, the
latest status update, upcoming maintenance, the announcement), what it never shows (an
incident's severity, internal summary, title when a status update gave its own), its Atom
feed and JSON summary, and PRIVATE pages refusing anonymous visitors."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from .conftest import Api

ATOM = "{http://www.w3.org/2005/Atom}"
INTERNAL_SUMMARY = "Primary lost quorum after the kernel upgrade on db-7"
INCIDENT_TITLE = "db-7 split brain"


async def made(api: Api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST, expecting a create (201; 200 for /api/incidents, as ilert-go checks)."""
    got, answer = await api.call("POST", path, json=body)
    assert got in (200, 201), (path, got, answer)
    return answer


async def site(api: Api, path: str, **headers: str) -> tuple[int, str, Any]:
    async with api.session.get(api.url(path), headers=headers) as response:
        return response.status, await response.text(), response.headers


async def scene(api: Api, visibility: str = "PUBLIC") -> dict[str, Any]:
    """Services web and db on a page; an incident on db with a published status update."""
    web = await made(api, "/api/services", {"name": "Web shop"})
    db = await made(api, "/api/services", {"name": "Database"})
    hidden = await made(api, "/api/services", {"name": "Billing"})  # not on the page
    page = await made(
        api,
        "/api/status-pages",
        {
            "name": "Acme",
            "subdomain": "acme.ilert.io",
            "visibility": visibility,
            "pageTitle": "Acme status",
            "announcement": "New data centre <b>online</b>",
            "services": [{"id": web["id"]}, {"id": db["id"]}],
        },
    )
    incident = await made(
        api,
        "/api/incidents",
        {
            "title": INCIDENT_TITLE,
            "summary": INTERNAL_SUMMARY,
            "severity": 1,
            "affectedServices": [
                {"service": {"id": db["id"]}, "impact": "MAJOR_OUTAGE"},
                {"service": {"id": hidden["id"]}, "impact": "MAJOR_OUTAGE"},
            ],
        },
    )
    return {"web": web, "db": db, "page": page, "incident": incident}


def service_status(html: str, service_id: int) -> str:
    marker = f'data-service="{service_id}" data-status="'
    assert marker in html, html
    return html.split(marker, 1)[1].split('"', 1)[0]


async def test_only_what_status_updates_published_is_shown(api: Api) -> None:
    s = await scene(api)
    status, html, headers = await site(api, "/status/acme")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    # the incident is internal until a status update: nothing about it on the page yet
    assert service_status(html, s["db"]["id"]) == "OPERATIONAL"
    assert "All systems operational" in html
    assert INCIDENT_TITLE not in html and INTERNAL_SUMMARY not in html

    await made(
        api,
        f"/api/incidents/{s['incident']['id']}/status-updates",
        {
            "status": "INVESTIGATING",
            "summary": "Database errors",
            "message": "We are looking into failing checkouts.",
            "affectedServices": [{"service": {"id": s["db"]["id"]}, "impact": "PARTIAL_OUTAGE"}],
        },
    )
    status, html, _ = await site(api, "/status/acme")
    assert status == 200
    assert service_status(html, s["db"]["id"]) == "PARTIAL_OUTAGE"
    assert service_status(html, s["web"]["id"]) == "OPERATIONAL"
    assert 'id="overall" class="overall status-partial_outage"' in html
    assert "Database errors" in html and "We are looking into failing checkouts." in html
    assert "Investigating" in html and "Database (Partial outage)" in html
    # never the incident's title (the update has its own), internal summary or severity
    for internal in (INCIDENT_TITLE, INTERNAL_SUMMARY, "SEV1", "everity", "Billing"):
        assert internal not in html, internal
    # autoescaped: the announcement's markup is text
    assert "New data centre &lt;b&gt;online&lt;/b&gt;" in html
    assert html.count('class="bar ') == 180  # 90 days, 2 services

    await made(
        api,
        f"/api/incidents/{s['incident']['id']}/status-updates",
        {"status": "MONITORING", "message": "A fix is rolled out."},
    )
    status, html, _ = await site(api, "/status/acme")
    latest = html.index("A fix is rolled out.")
    assert latest < html.index("We are looking into failing checkouts.")  # newest first


async def test_feed_and_summary(api: Api) -> None:
    s = await scene(api)
    await made(
        api,
        f"/api/incidents/{s['incident']['id']}/status-updates",
        {
            "status": "IDENTIFIED",
            "summary": "Database errors",
            "message": "Failover & recovery under way.",
            "affectedServices": [{"service": {"id": s["db"]["id"]}, "impact": "DEGRADED"}],
        },
    )
    start = datetime.now(UTC) + timedelta(days=1)
    await made(
        api,
        "/api/maintenance-windows",
        {
            "summary": "Web shop upgrade",
            "description": "Expect short interruptions.",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=2)).isoformat(),
            "services": [{"id": s["web"]["id"]}],
        },
    )
    status, text, headers = await site(api, "/status/acme/feed.atom")
    assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(text)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    assert entries[0].findtext(f"{ATOM}title") == "[IDENTIFIED] Database errors"
    assert "Failover & recovery under way." in (entries[0].findtext(f"{ATOM}content") or "")
    assert INTERNAL_SUMMARY not in text and "everity" not in text

    status, summary = await api.call("GET", "/status/acme/summary.json", key=False)
    assert status == 200, summary
    assert summary["status"] == "DEGRADED" and summary["name"] == "Acme status"
    assert [(x["name"], x["status"]) for x in summary["services"]] == [
        ("Web shop", "OPERATIONAL"),
        ("Database", "DEGRADED"),
    ]
    [update] = summary["openUpdates"]
    assert update["summary"] == "Database errors" and update["status"] == "IDENTIFIED"
    assert set(update) == {
        "id",
        "incidentId",
        "status",
        "summary",
        "message",
        "createdAt",
        "services",
    }
    [window] = summary["upcomingMaintenance"]
    assert window["summary"] == "Web shop upgrade" and window["services"] == [s["web"]["id"]]
    status, html, _ = await site(api, "/status/acme")
    assert "Scheduled maintenance" in html and "Web shop upgrade" in html

    # resolved: out of the open updates, into the history
    await made(
        api,
        f"/api/incidents/{s['incident']['id']}/status-updates",
        {"status": "RESOLVED", "message": "All good again."},
    )
    status, summary = await api.call("GET", "/status/acme/summary.json", key=False)
    assert summary["status"] == "OPERATIONAL" and summary["openUpdates"] == []
    status, html, _ = await site(api, "/status/acme")
    assert 'id="history"' in html and "All good again." in html


async def test_a_private_page_needs_a_signed_in_user(api: Api) -> None:
    s = await scene(api, visibility="PRIVATE")
    for path in ("/status/acme", "/status/acme/feed.atom", "/status/acme/summary.json"):
        status, body, headers = await site(api, path)
        assert status == 401, path
        assert headers["WWW-Authenticate"].startswith("Basic "), headers
        assert "Database" not in body and "Web shop" not in body
    # a user signs in with their password (Basic), or a Bearer API key
    await made(
        api,
        "/api/users",
        {
            "email": "viewer@example.test",
            "firstName": "Vi",
            "lastName": "Ewer",
            "role": "GUEST",
            "password": "correct horse battery staple",
        },
    )
    token = base64.b64encode(b"viewer@example.test:correct horse battery staple").decode()
    status, html, _ = await site(api, "/status/acme", Authorization=f"Basic {token}")
    assert status == 200 and "Web shop" in html
    assert 'name="robots" content="noindex"' in html
    status, html, _ = await site(api, "/status/acme", Authorization=f"Bearer {api.key}")
    assert status == 200 and service_status(html, s["db"]["id"]) == "OPERATIONAL"
    wrong = base64.b64encode(b"viewer@example.test:wrong").decode()
    status, html, headers = await site(api, "/status/acme", Authorization=f"Basic {wrong}")
    assert status == 401 and "Web shop" not in html and "WWW-Authenticate" in headers
    status, _, _ = await site(api, "/status/acme", Authorization="Bearer ilk_not_a_key")
    assert status == 403


async def test_unknown_pages_and_custom_domains(api: Api) -> None:
    status, _, _ = await site(api, "/status/nothing-here")
    assert status == 404
    status, _, _ = await site(api, "/")
    assert status == 404
    await made(
        api,
        "/api/status-pages",
        {"name": "Beta", "subdomain": "beta", "domain": "status.beta.example"},
    )
    status, html, _ = await site(api, "/", Host="Status.Beta.example:8080")
    assert status == 200 and "<title>Beta</title>" in html
    # a deleted page is gone from its slug
    _, pages = await api.call("GET", "/api/status-pages")
    status, _ = await api.call("DELETE", f"/api/status-pages/{pages[0]['id']}")
    assert status == 204
    status, _, _ = await site(api, "/status/beta")
    assert status == 404


async def test_the_subscribe_form_of_a_private_page_is_for_signed_in_visitors(api: Api) -> None:
    s = await scene(api, visibility="PRIVATE")
    body = {**s["page"], "showSubscribeAction": True}
    status, _ = await api.call("PUT", f"/api/status-pages/{s['page']['id']}", json=body)
    assert status == 200
    signed_in = {"Authorization": f"Bearer {api.key}"}
    status, html, _ = await site(api, "/status/acme", **signed_in)
    assert status == 200 and 'action="/status/acme/subscribe"' in html
    token = html.split('name="token" value="', 1)[1].split('"', 1)[0]
    form = {"email": "viewer@example.test", "token": token}
    async with api.session.post(api.url("/status/acme/subscribe"), data=form) as response:
        assert response.status == 401  # anonymous: the page's own refusal
        assert "WWW-Authenticate" in response.headers
    async with api.session.post(
        api.url("/status/acme/subscribe"), data=form, headers=signed_in
    ) as response:
        assert response.status == 200 and "Check your mail" in await response.text()
    status, listed = await api.call("GET", f"/api/status-pages/{s['page']['id']}/subscribers")
    assert status == 200
    assert [(r["email"], r["status"]) for r in listed] == [("viewer@example.test", "PENDING")]
