"""Answering pages without logging in, and the notifications of an alert.

- ``GET /r/{token}`` shows what the signed link will do and a button; only the ``POST``
  acts, so a mail gateway's link scanner that fetches every URL accepts nothing.
- ``POST /api/notify/sms``: the SMS provider's inbound webhook (a form POST). A reply
  ``1``/``ACK`` accepts, ``2``/``RES`` resolves, ``3``/``ESC`` escalates the alert the sender's
  number was last paged about; the answer is a confirmation SMS (TwiML ``<Message>``).
- ``POST /api/notify/voice?t=<token>``: the keypress of a paging call (DTMF 1/2/3).
- ``GET /api/alerts/{id}/notifications``: what was scheduled and sent, and how it went.

Requests from the provider are checked with its ``X-Twilio-Signature`` when an auth token
is configured. Every answer is an event attributed to the user (``UserResponseLogEntry``).
"""

from __future__ import annotations

import html
from typing import Any

from aiohttp import web

from ..alert_commands import AlertNotFoundError
from ..alert_views import iso
from ..domain.errors import DomainError
from ..notify.links import ActionLink, InvalidLinkError, read_token
from ..notify.settings import twilio_settings
from ..notify.twilio import message_twiml, normalize_number, say_twiml, verify_signature
from ..outbound.settings import public_url
from .body import int64
from .context import SERVICES
from .problems import ProblemError, json_response

#: SMS replies and keypresses -> the action they ask for.
ANSWERS = {
    "1": "accept",
    "ACK": "accept",
    "ACCEPT": "accept",
    "2": "resolve",
    "RES": "resolve",
    "RESOLVE": "resolve",
    "3": "escalate",
    "ESC": "escalate",
    "ESCALATE": "escalate",
}
DONE = {"accept": "accepted", "resolve": "resolved", "escalate": "escalated"}
HELP = "Reply 1 to accept, 2 to resolve, 3 to escalate."


def _html(title: str, body: str, status: int = 200) -> web.Response:
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width'>"
        f"<title>{html.escape(title)}</title></head><body style='font-family:sans-serif'>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(text=page, status=status, content_type="text/html")


def _refused(reason: str) -> web.Response:
    return _html(
        "This link cannot be used",
        f"<p>It is {html.escape(reason)}. Open ilertd to act on the alert.</p>",
        403,
    )


async def _link(request: web.Request) -> tuple[ActionLink | None, str | None]:
    """The link the path's token stands for, or None and why it cannot be used."""
    services = request.app[SERVICES]
    services.require_database()
    try:
        link = read_token(services.link_secret, request.match_info["token"], services.clock.now())
    except InvalidLinkError as exc:
        return None, exc.reason
    user = await services.store.pool.fetchrow(
        "SELECT id FROM users WHERE id = $1 AND deleted_at IS NULL", link.user_id
    )
    if user is None:
        return None, "for a user who no longer exists"
    return link, None


async def confirm_page(request: web.Request) -> web.Response:
    link, reason = await _link(request)
    if link is None:
        return _refused(reason or "invalid")
    summary = await request.app[SERVICES].store.pool.fetchval(
        "SELECT summary FROM alerts WHERE id = $1", link.alert_id
    )
    verb = link.action.value.capitalize()
    return _html(
        f"{verb} alert #{link.alert_id}?",
        f"<p>{html.escape(summary or '')}</p>"
        "<form method='post'><button type='submit' style='font-size:1.4em;padding:.5em 1em'>"
        f"{verb}</button></form>",
    )


async def _answer(
    request: web.Request, alert_id: int, user_id: int, channel: str, answer: str
) -> tuple[bool, str]:
    """Act on the alert; (True, text) or (False, why not)."""
    services = request.app[SERVICES]
    try:
        await services.alert_commands.respond(alert_id, user_id, channel, answer)
    except AlertNotFoundError:
        return False, f"alert #{alert_id} does not exist"
    except DomainError as exc:
        return False, str(exc)
    # the answer page and the caller's next look at the alert already show it
    await services.runner.wait_for(await services.store.head_position())
    return True, f"Alert #{alert_id} {DONE[answer]}."


async def act_on_link(request: web.Request) -> web.Response:
    link, reason = await _link(request)
    if link is None:
        return _refused(reason or "invalid")
    ok, text = await _answer(request, link.alert_id, link.user_id, "link", link.action.value)
    return _html(
        text if ok else "Nothing changed",
        "" if ok else f"<p>{html.escape(text)}</p>",
        200 if ok else 409,
    )


async def _provider_form(request: web.Request) -> dict[str, str]:
    """The provider's form, after checking its signature when a token is configured."""
    form = {k: str(v) for k, v in (await request.post()).items()}
    services = request.app[SERVICES]
    settings = twilio_settings(services.config)
    if settings is not None and settings.auth_token:
        url = public_url(services.config) + request.path_qs
        if not verify_signature(
            settings.auth_token, url, form, request.headers.get("X-Twilio-Signature")
        ):
            raise ProblemError(403, "FORBIDDEN", "X-Twilio-Signature does not match")
    return form


def _twiml(text: str) -> web.Response:
    return web.Response(text=text, content_type="application/xml")


async def inbound_sms(request: web.Request) -> web.Response:
    form = await _provider_form(request)
    number = normalize_number(form.get("From", ""))
    answer = ANSWERS.get(form.get("Body", "").strip().upper())
    pool = request.app[SERVICES].require_database()
    paged = None
    if number is not None:
        paged = await pool.fetchrow(
            "SELECT alert_id, user_id FROM notifications WHERE status = 'SUCCESS' "
            "AND method = 'SMS' AND kind = 'ALERT' AND target = $1 "
            "ORDER BY updated_at DESC LIMIT 1",
            number,
        )
    if paged is None:
        return _twiml(message_twiml("ilertd: no alert was sent to this number."))
    if answer is None:
        return _twiml(message_twiml(f"ilertd: alert #{paged['alert_id']}. {HELP}"))
    ok, text = await _answer(request, paged["alert_id"], paged["user_id"], "sms", answer)
    return _twiml(message_twiml(f"ilertd: {text}" if ok else f"ilertd: not done: {text}"))


async def voice_keypress(request: web.Request) -> web.Response:
    form = await _provider_form(request)
    services = request.app[SERVICES]
    services.require_database()
    try:
        link = read_token(services.link_secret, request.query.get("t", ""), services.clock.now())
    except InvalidLinkError as exc:
        raise ProblemError(403, "FORBIDDEN", f"the call's token is {exc.reason}") from None
    answer = ANSWERS.get(form.get("Digits", "").strip())
    if answer is None:
        return _twiml(say_twiml(f"Nothing was changed. {HELP.replace('Reply', 'Press')}"))
    ok, text = await _answer(request, link.alert_id, link.user_id, "voice", answer)
    return _twiml(say_twiml(text if ok else f"Nothing was changed: {text}"))


def _notification_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "type": row["kind"],
        "method": row["method"],
        "target": row["target"],
        "user": {"id": row["user_id"]},
        "notificationTime": iso(row["due_at"]),
        "status": row["status"],
        "attempts": row["attempts"],
        "error": row["last_error"],
        "updatedAt": iso(row["updated_at"]),
    }


async def alert_notifications(request: web.Request) -> web.Response:
    pool = request.app[SERVICES].require_database()
    alert_id = int64(request.match_info["id"])
    if alert_id is None or not await pool.fetchval("SELECT 1 FROM alerts WHERE id = $1", alert_id):
        raise ProblemError(404, "NOT_FOUND", "no such alert")
    rows = await pool.fetch(
        "SELECT * FROM notifications WHERE alert_id = $1 ORDER BY due_at, id", alert_id
    )
    return json_response([_notification_json(row) for row in rows])


def add_routes(app: web.Application) -> None:
    app.router.add_get("/r/{token}", confirm_page)
    app.router.add_post("/r/{token}", act_on_link)
    app.router.add_post("/api/notify/sms", inbound_sms)
    app.router.add_post("/api/notify/voice", voice_keypress)
    app.router.add_get("/api/alerts/{id}/notifications", alert_notifications)
