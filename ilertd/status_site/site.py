"""The served status page: ``GET /status/{slug}`` (HTML), ``/status/{slug}/feed.atom`` and
``/status/{slug}/summary.json``; and ``GET /`` for a request whose ``Host`` is a page's
custom ``domain``.

PUBLIC pages need no credentials. A PRIVATE page answers an anonymous visitor 401 with
``WWW-Authenticate: Basic`` (a browser then asks for a user's e-mail or username and
password), and serves any signed-in user: HTTP Basic with a user's password or a Bearer
API key, checked and throttled as on /api (``http.auth.signed_in``). Pages are rendered by
Jinja2 with autoescaping on; the templates and the CSS are package data.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import jinja2
import msgspec
from aiohttp import web

from projections.status_pages import page_by_domain, page_by_slug

from ..contract.notifications import Html
from ..contract.status_pages import StatusSummary
from ..domain.wire_time import wire_time
from ..http.auth import signed_in
from ..http.body import base_url
from ..http.context import SERVICES, runtime
from ..http.problems import ProblemError, json_response
from ..http.routes import Answer, Call, Param, Route
from . import queries
from .tokens import form_token
from .view import LABELS, OVERALL, GroupRow, ServiceRow, day_bars, incidents, layout, worst

TAG = "Status pages"
_NOT_FOUND = "no such status page"
SLUG = Param("slug", "path", {"type": "string"}, "the page's slug: its subdomain's first label")
ATOM = "application/atom+xml"
AtomXml = Annotated[str, msgspec.Meta(description="Atom 1.0 (RFC 4287)")]


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ilertd.status_site", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["LABELS"] = LABELS
    return env


def _zone(settings: dict[str, Any]) -> ZoneInfo:
    return ZoneInfo(settings.get("timezone") or "UTC")


async def _page(request: web.Request) -> dict[str, Any]:
    row = await page_by_slug(runtime(request).pool, request.match_info["slug"])
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


def _challenge(row: dict[str, Any]) -> str:
    realm = row["settings"]["name"].replace("\\", "").replace('"', "")
    return f'Basic realm="{realm}", charset="UTF-8"'


async def _admit(request: web.Request, row: dict[str, Any], html: bool) -> web.Response | None:
    """None when the visitor may see the page; else the answer to give."""
    if row["settings"]["visibility"] != "PRIVATE":
        return None
    if "Authorization" not in request.headers:
        failure = ProblemError(
            401, "UNAUTHORIZED", "this status page is private: sign in with your ilertd user"
        )
    else:
        try:
            await signed_in(request)
            return None
        except ProblemError as exc:
            failure = exc
    if html:
        page = (
            environment()
            .get_template("refused.html")
            .render(
                title=row["settings"]["page_title"] or row["settings"]["name"],
                message=failure.args[0] if failure.args else "sign in",
                dark=row["settings"]["appearance"] == "DARK",
            )
        )
        answer = web.Response(text=page, status=failure.status, content_type="text/html")
        if "Retry-After" in (told := failure.response().headers):
            answer.headers["Retry-After"] = told["Retry-After"]
    else:
        answer = failure.response()
    if failure.status == 401:
        answer.headers["WWW-Authenticate"] = _challenge(row)
    answer.headers["Cache-Control"] = "no-store"
    return answer


async def _model(request: web.Request, row: dict[str, Any]) -> dict[str, Any]:
    """Everything the page, the feed and the summary show, read in one connection."""
    settings = row["settings"]
    now: datetime = request.app[SERVICES].clock.now()
    zone = _zone(settings)
    async with runtime(request).pool.acquire() as conn:
        live = await queries.services(conn, settings["services"])
        ids = [ident for ident in settings["services"] if ident in live]
        current = await queries.statuses(conn, ids, now) if ids else {}
        spans = await queries.intervals(conn, ids, now) if ids else {}
        updates = await queries.status_updates(conn, ids, now) if ids else []
        windows = await queries.maintenance(conn, ids, now) if ids else []
    rows: dict[int, ServiceRow] = {}
    for ident in ids:
        status = current.get(ident, "OPERATIONAL")
        if live[ident]["show_uptime_history"]:
            bars, uptime = day_bars(spans.get(ident, []), now, zone)
            rows[ident] = ServiceRow(ident, live[ident]["name"], status, bars, uptime)
        else:
            rows[ident] = ServiceRow(ident, live[ident]["name"], status)
    opened, resolved = incidents(updates)
    return {
        "row": row,
        "settings": settings,
        "now": now,
        "zone": zone,
        "names": {ident: live[ident]["name"] for ident in ids},
        "status": worst(r.status for r in rows.values()),
        "elements": layout(settings, row["groups"], rows),
        "open": opened,
        "history": resolved,
        "maintenance": windows,
    }


def _subscribe_form(request: web.Request, row: dict[str, Any], now: datetime) -> Any:
    """The subscribe form's action and token, when the page offers subscriptions."""
    if not row["settings"]["show_subscribe_action"]:
        return None
    return {
        "action": f"/status/{row['slug']}/subscribe",
        "token": form_token(runtime(request).link_secret, row["id"], now),
    }


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%-d %b %Y, %H:%M %Z")


async def status_page(request: web.Request, call: Call) -> web.Response:
    return await _render(request, await _page(request))


async def _render(request: web.Request, row: dict[str, Any]) -> web.Response:
    refused = await _admit(request, row, html=True)
    if refused is not None:
        return refused
    model = await _model(request, row)
    zone = model["zone"]
    page = (
        environment()
        .get_template("page.html")
        .render(
            **model,
            overall=OVERALL[model["status"]],
            local=lambda moment: _local(moment, zone),
            is_group=lambda element: isinstance(element, GroupRow),
            feed=f"/status/{request.match_info.get('slug') or row['slug']}/feed.atom",
            subscribe=_subscribe_form(request, row, model["now"]),
        )
    )
    answer = web.Response(text=page, content_type="text/html")
    answer.headers["Cache-Control"] = "no-cache"
    return answer


async def status_feed(request: web.Request, call: Call) -> web.Response:
    row = await _page(request)
    refused = await _admit(request, row, html=False)
    if refused is not None:
        return refused
    model = await _model(request, row)
    updates = sorted(
        (update for view in model["open"] + model["history"] for update in view.updates),
        key=lambda u: (u["created_at"], u["id"]),
        reverse=True,
    )[:50]
    base = base_url(request)
    feed = (
        environment()
        .get_template("feed.atom")
        .render(
            **model,
            updates=updates,
            base=base,
            slug=row["slug"],
            updated=wire_time(updates[0]["created_at"] if updates else row["updated_at"]),
            wire_time=wire_time,
        )
    )
    return web.Response(text=feed, content_type=ATOM, charset="utf-8")


async def status_summary(request: web.Request, call: Call) -> web.Response:
    row = await _page(request)
    refused = await _admit(request, row, html=False)
    if refused is not None:
        return refused
    model = await _model(request, row)
    services: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    for element in model["elements"]:
        members = element.services if isinstance(element, GroupRow) else [element]
        services.extend({"id": s.id, "name": s.name, "status": s.status} for s in members)
        if isinstance(element, GroupRow):
            groups.append(
                {
                    "id": element.id,
                    "name": element.name,
                    "status": element.status,
                    "services": [s.id for s in members],
                }
            )
    summary = {
        "name": model["settings"]["page_title"] or model["settings"]["name"],
        "url": f"/status/{row['slug']}",
        "status": model["status"],
        "announcement": model["settings"]["announcement"],
        "services": services,
        "groups": groups,
        "openUpdates": [
            {
                "id": view.latest["id"],
                "incidentId": view.incident_id,
                "status": view.latest["status"],
                "summary": view.latest["summary"],
                "message": view.latest["message"],
                "createdAt": wire_time(view.latest["created_at"]),
                "services": [s["service_id"] for s in view.latest["services"]],
            }
            for view in model["open"]
        ],
        "upcomingMaintenance": [
            {
                "id": window["id"],
                "summary": window["summary"],
                "start": wire_time(window["start"]),
                "end": wire_time(window["end"]),
                "services": window["services"],
            }
            for window in model["maintenance"]
        ],
        "updatedAt": wire_time(model["now"]),
    }
    answer = json_response(msgspec.to_builtins(msgspec.convert(summary, StatusSummary)))
    answer.headers["Cache-Control"] = "no-cache"
    answer.headers["Access-Control-Allow-Origin"] = "*" if _public(row) else "null"
    return answer


def _public(row: dict[str, Any]) -> bool:
    return row["settings"]["visibility"] != "PRIVATE"


async def domain_root(request: web.Request, call: Call) -> web.Response:
    """``/`` on a page's custom domain: that page."""
    host = request.host.rsplit(":", 1)[0] if request.host else ""
    row = await page_by_domain(runtime(request).pool, host) if host else None
    if row is None:
        raise ProblemError(404, "NOT_FOUND", "no status page is served on this host")
    return await _render(request, row)


def _html(description: str) -> Answer:
    return Answer(description, Html, media="text/html")


_PRIVATE = (
    "PUBLIC pages need no credentials; a PRIVATE one answers an anonymous visitor 401 with "
    "WWW-Authenticate: Basic and serves any signed-in user (Basic with a user's e-mail or "
    "username and password, or a Bearer API key; a wrong key is a 403)."
)
_SHOWN = (
    " Only what status updates published is shown (their summary, message, status, time "
    "and the services they name with an impact), never an incident's severity, internal "
    "summary or responders."
)

_REFUSALS = {
    200: _html("The page"),
    401: _html("A PRIVATE page, without credentials or with a wrong password"),
    403: _html("A PRIVATE page, with an API key that is not valid"),
    429: _html("Too many failed sign-ins from this address (Retry-After says when to retry)"),
}

ROUTES = (
    Route(
        "GET",
        "/status/{slug}",
        status_page,
        "getStatusPageSite",
        TAG,
        "The status page as HTML: current status per service and group, open status "
        "updates, upcoming maintenance, 90 days of uptime bars and incident history",
        _REFUSALS,
        problems=(404,),
        params=(SLUG,),
        public=True,
        description=_PRIVATE + _SHOWN,
    ),
    Route(
        "GET",
        "/status/{slug}/feed.atom",
        status_feed,
        "getStatusPageFeed",
        TAG,
        "The page's status updates of the last 90 days as an Atom feed (newest first, 50)",
        {200: Answer("An Atom 1.0 feed", AtomXml, media=ATOM)},
        problems=(401, 403, 404, 429),
        params=(SLUG,),
        public=True,
        description=_PRIVATE + _SHOWN,
    ),
    Route(
        "GET",
        "/status/{slug}/summary.json",
        status_summary,
        "getStatusPageSummary",
        TAG,
        "A small JSON summary for widgets: overall, per service and per group status, open "
        "status updates (their latest), upcoming maintenance",
        {200: Answer("The summary", StatusSummary)},
        problems=(401, 403, 404, 429),
        params=(SLUG,),
        public=True,
        description=_PRIVATE + _SHOWN,
    ),
    Route(
        "GET",
        "/",
        domain_root,
        "getStatusPageOnDomain",
        TAG,
        "The status page whose custom domain the request's Host header names",
        _REFUSALS,
        problems=(404,),
        public=True,
        description="As GET /status/{slug}, for the page whose domain is the Host. " + _PRIVATE,
    ),
)
