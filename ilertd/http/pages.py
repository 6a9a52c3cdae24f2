"""Answering pages without logging in, and the notifications of an alert.

- ``GET /r/{token}`` shows what the signed link will do and a button; only the ``POST``
  acts, so a mail gateway's link scanner that fetches every URL accepts nothing. A
  ``join`` link joins its user to an incident (``incidents.joining``).
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

from ..alerts.streams import AlertNotFoundError
from ..alerts.views import iso
from ..contract.notifications import Html, InboundSms, Notification, TwiML, VoiceKeypress
from ..domain.errors import DomainError
from ..incidents.joining import join_by_link, join_prompt
from ..notify.links import ActionLink, InvalidLinkError, LinkAction, read_token
from ..notify.settings import twilio_settings
from ..notify.twilio import message_twiml, normalize_number, say_twiml, verify_signature
from ..outbound.settings import public_url
from .body import int64
from .context import SERVICES, runtime
from .field_access import shown
from .problems import ProblemError, json_response
from .routes import FORM, Answer, Call, Param, Route
from .team_access import alert_routes_of_visible_sources

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
    parts, clock = runtime(request), request.app[SERVICES].clock
    try:
        link = read_token(parts.link_secret, request.match_info["token"], clock.now())
    except InvalidLinkError as exc:
        return None, exc.reason
    user = await parts.pool.fetchrow(
        "SELECT id FROM users WHERE id = $1 AND deleted_at IS NULL", link.user_id
    )
    if user is None:
        return None, "for a user who no longer exists"
    return link, None


async def confirm_page(request: web.Request, call: Call) -> web.Response:
    link, reason = await _link(request)
    if link is None:
        return _refused(reason or "invalid")
    if link.action is LinkAction.JOIN:
        title, body = await join_prompt(runtime(request), link)
        return _html(title, body)
    summary = await runtime(request).pool.fetchval(
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
    parts = runtime(request)
    try:
        await parts.alert_commands.respond(alert_id, user_id, channel, answer)
    except AlertNotFoundError:
        return False, f"alert #{alert_id} does not exist"
    except DomainError as exc:
        return False, str(exc)
    # the answer page and the caller's next look at the alert already show it
    await parts.runner.wait_for(await parts.store.head_position())
    return True, f"Alert #{alert_id} {DONE[answer]}."


async def act_on_link(request: web.Request, call: Call) -> web.Response:
    link, reason = await _link(request)
    if link is None:
        return _refused(reason or "invalid")
    if link.action is LinkAction.JOIN:
        ok, text = await join_by_link(runtime(request), link)
    else:
        ok, text = await _answer(request, link.alert_id, link.user_id, "link", link.action.value)
    return _html(
        text if ok else "Nothing changed",
        "" if ok else f"<p>{html.escape(text)}</p>",
        200 if ok else 409,
    )


async def _check_provider(request: web.Request) -> None:
    """The provider's signature over its whole form (every field it sent, not only those
    read), when an auth token is configured."""
    form = {k: str(v) for k, v in (await request.post()).items()}
    services = request.app[SERVICES]
    settings = twilio_settings(services.config)
    if settings is not None and settings.auth_token:
        url = public_url(services.config) + request.path_qs
        if not verify_signature(
            settings.auth_token, url, form, request.headers.get("X-Twilio-Signature")
        ):
            raise ProblemError(403, "FORBIDDEN", "X-Twilio-Signature does not match")


def _twiml(text: str) -> web.Response:
    return web.Response(text=text, content_type="application/xml")


async def inbound_sms(request: web.Request, call: Call) -> web.Response:
    await _check_provider(request)
    form: InboundSms = call.body
    number = normalize_number(form.From)
    answer = ANSWERS.get(form.Body.strip().upper())
    pool = runtime(request).pool
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


async def voice_keypress(request: web.Request, call: Call) -> web.Response:
    await _check_provider(request)
    form: VoiceKeypress = call.body
    secret, clock = runtime(request).link_secret, request.app[SERVICES].clock
    try:
        link = read_token(secret, request.query.get("t", ""), clock.now())
    except InvalidLinkError as exc:
        raise ProblemError(403, "FORBIDDEN", f"the call's token is {exc.reason}") from None
    answer = ANSWERS.get(form.Digits.strip())
    if answer is None:
        return _twiml(say_twiml(f"Nothing was changed. {HELP.replace('Reply', 'Press')}"))
    ok, text = await _answer(request, link.alert_id, link.user_id, "voice", answer)
    return _twiml(say_twiml(text if ok else f"Nothing was changed: {text}"))


def notification_json(row: Any) -> dict[str, Any]:
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


async def alert_notifications(request: web.Request, call: Call) -> web.Response:
    pool = runtime(request).pool
    alert_id = int64(request.match_info["id"])
    if alert_id is None or not await pool.fetchval("SELECT 1 FROM alerts WHERE id = $1", alert_id):
        raise ProblemError(404, "NOT_FOUND", "no such alert")
    rows = await pool.fetch(
        "SELECT * FROM notifications WHERE alert_id = $1 ORDER BY due_at, id", alert_id
    )
    return json_response([shown(Notification, notification_json(row), call.caller) for row in rows])


TAG = "Notifications"
TOKEN = Param("token", "path", {"type": "string"}, "the link's signed token")


def _page(description: str) -> Answer:
    return Answer(description, Html, media="text/html")


def _twiml_answer(description: str) -> Answer:
    return Answer(description, TwiML, media="application/xml")


_ROUTES = (
    Route(
        "GET",
        "/r/{token}",
        confirm_page,
        "confirmActionLink",
        TAG,
        "What the link will do, with a button; a GET never acts (mail scanners fetch links)",
        {200: _page("The confirmation page"), 403: _page("Expired or forged")},
        params=(TOKEN,),
        public=True,
    ),
    Route(
        "POST",
        "/r/{token}",
        act_on_link,
        "runActionLink",
        TAG,
        "Accept, resolve or escalate the alert as the link's user",
        {
            200: _page("Done"),
            403: _page("Expired or forged"),
            409: _page("The alert cannot do that now"),
        },
        params=(TOKEN,),
        public=True,
    ),
    Route(
        "POST",
        "/api/notify/sms",
        inbound_sms,
        "inboundSms",
        TAG,
        "The SMS provider's inbound webhook: a reply 1/ACK, 2/RES or 3/ESC answers the page",
        {200: _twiml_answer("A confirmation SMS (TwiML <Message>)")},
        body=InboundSms,
        body_media=FORM,
        problems=(403,),
        public=True,
        description="Checked with X-Twilio-Signature when an auth token is configured.",
    ),
    Route(
        "POST",
        "/api/notify/voice",
        voice_keypress,
        "voiceKeypress",
        TAG,
        "A keypress on a paging call (1 accept, 2 resolve, 3 escalate)",
        {200: _twiml_answer("What the call says next (TwiML <Say>)")},
        body=VoiceKeypress,
        body_media=FORM,
        problems=(403,),
        params=(Param("t", "query", {"type": "string"}, "the call's signed token", required=True),),
        public=True,
        description="Checked with X-Twilio-Signature when an auth token is configured.",
    ),
    Route(
        "GET",
        "/api/alerts/{id}/notifications",
        alert_notifications,
        "listAlertNotifications",
        TAG,
        "Notifications of the alert's responders: scheduled, sent, failed, cancelled",
        {200: Answer("Notifications", list[Notification])},
        problems=(404,),
        params=(Param("id", "path", {"type": "integer", "format": "int64"}, "the alert's id"),),
    ),
)

#: Routes on one alert answer 404 for an alert of a source the caller may not see.
ROUTES = alert_routes_of_visible_sources(_ROUTES)
