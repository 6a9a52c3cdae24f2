"""Visitors subscribe to a status page by e-mail: the form, the double opt-in link, and the
unsubscribe link (with RFC 8058's one-click POST).

- ``POST /status/{slug}/subscribe`` (a plain HTML form, no JavaScript): on a page with
  ``showSubscribeAction``, PUBLIC to anyone, PRIVATE to a signed-in visitor. Refused from
  another site (``Origin`` or ``Sec-Fetch-Site``) or without the page's form token, and
  rate-limited per client and per address; a pending address gets a new confirmation mail
  at most every ``RESEND_AFTER`` (a rule of the subscription, so it holds across restarts
  and instances). Every accepted request answers the same "check your mail", whether the
  address was new, pending or confirmed: the form tells nobody who subscribed. A PRIVATE
  page's request records the signed-in user: only such subscriptions (and those an ADMIN
  added) get a PRIVATE page's news (``projections.status_mail``).
- ``GET /status/{slug}/subscriptions/confirm?token=`` confirms (the token is the mail's;
  it expires); a forged, altered or expired one is refused with a page saying why.
- ``GET /status/{slug}/subscriptions/unsubscribe?token=`` shows a button (a link scanner's
  GET changes nothing); ``POST`` to the same URL unsubscribes, without a login (RFC 8058),
  and is idempotent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import structlog
from aiohttp import web

from eventstore.repository import AggregateNotFoundError

from ..contract.notifications import Html
from ..contract.status_subscribers import SubscribeForm, UnsubscribeForm
from ..domain.errors import DomainError, InvalidValueError
from ..domain.status_subscription import StatusPageSubscription, checked_email, subscription_id
from ..http.auth import client_key, signed_in
from ..http.context import REQUEST_ID, SERVICES, runtime
from ..http.problems import ProblemError
from ..http.routes import FORM, Answer, Call, Param, Route
from ..http.throttle import FailureTable
from ..outbound.settings import public_url
from . import tokens
from .site import SLUG, TAG, _admit, _page, environment

log = structlog.get_logger(__name__)

#: A pending address gets another confirmation mail no sooner than this.
RESEND_AFTER = timedelta(minutes=10)
#: Subscribe requests per minute a client may send, and an address may be named in (then
#: refused for a minute); counted in bounded memory, per process.
PER_CLIENT = 10
PER_ADDRESS = 3
LIMIT_WINDOW_S = 60.0
LIMIT_ENTRIES = 10_000


@dataclass
class Limits:
    client: FailureTable
    address: FailureTable
    public_url: str

    def wait(self, client: str, address: str) -> float:
        """Seconds until the request may be sent again; 0: counted and allowed."""
        wait = max(self.client.wait(client), self.address.wait(address))
        if not wait:
            self.client.failed(client)  # a "failure" here is one more request
            self.address.failed(address)
        return wait


_LIMITS = web.AppKey("status_subscribe_limits", Limits)


def setup(app: web.Application, config: Any) -> None:
    app[_LIMITS] = Limits(
        FailureTable(PER_CLIENT, LIMIT_WINDOW_S, LIMIT_ENTRIES),
        FailureTable(PER_ADDRESS, LIMIT_WINDOW_S, LIMIT_ENTRIES),
        public_url(config),
    )


def _notice(
    row: dict[str, Any],
    heading: str,
    message: str,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> web.Response:
    settings = row["settings"]
    page = (
        environment()
        .get_template("notice.html")
        .render(
            title=settings["page_title"] or settings["name"],
            heading=heading,
            message=message,
            form=form,
            back=f"/status/{row['slug']}",
            dark=settings["appearance"] == "DARK",
        )
    )
    answer = web.Response(text=page, status=status, content_type="text/html")
    answer.headers["Cache-Control"] = "no-store"
    return answer


def _same_origin(request: web.Request, known: str) -> bool:
    """No sign of a cross-site post: ``Sec-Fetch-Site`` and ``Origin`` (when the browser
    sends them) name this site: the request's host, or the configured public URL's."""
    fetch = request.headers.get("Sec-Fetch-Site")
    if fetch is not None and fetch not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    host = urlsplit(origin).netloc
    return bool(host) and host in (request.host, urlsplit(known).netloc)


async def subscribe(request: web.Request, call: Call) -> web.Response:
    row = await _page(request)
    if not row["settings"]["show_subscribe_action"]:
        raise ProblemError(404, "NOT_FOUND", "this status page takes no subscriptions")
    refused = await _admit(request, row, html=True)
    if refused is not None:
        return refused
    limits = request.app[_LIMITS]
    now = request.app[SERVICES].clock.now()
    secret = runtime(request).link_secret
    if not _same_origin(request, limits.public_url):
        return _notice(row, "Not sent", "The form was sent from another site.", 403)
    form: SubscribeForm = call.body
    try:
        token = tokens.read(secret, form.token, tokens.Purpose.FORM, now)
        valid = token.subject == format(row["id"], "x")
    except tokens.InvalidTokenError:
        valid = False
    if not valid:
        return _notice(row, "Not sent", "The form has expired: reload the page and try again.", 403)
    try:
        email = checked_email(form.email)
    except InvalidValueError as exc:
        return _notice(row, "Not an e-mail address", str(exc), 400)
    address = hashlib.sha256(email.encode()).hexdigest()
    wait = limits.wait(client_key(request), address)
    if wait:
        answer = _notice(row, "Too many requests", "Please wait a minute and try again.", 429)
        answer.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        return answer
    parts = runtime(request)
    private = row["settings"]["visibility"] == "PRIVATE"
    user_id = (await signed_in(request))["id"] if private else None
    _, result = await parts.repository.change(
        subscription_id(row["stream_id"], email),
        lambda s: s.request(now, RESEND_AFTER, user_id),
        create=lambda: StatusPageSubscription.open(row["id"], row["stream_id"], email),
        metadata={"actor": "visitor", "request_id": request.get(REQUEST_ID)},
    )
    if result is not None:
        await parts.runner.wait_for(result.last_position)
    return _notice(
        row,
        "Check your mail",
        "If the address can subscribe, a mail with a link to confirm is on its way. Nothing is "
        "sent until the link is followed.",
    )


async def _subscription(
    request: web.Request, row: dict[str, Any], purpose: tokens.Purpose
) -> tuple[StatusPageSubscription | None, tokens.Token | None, str]:
    """The subscription the query's token names on this page, or None and why not."""
    now = request.app[SERVICES].clock.now()
    try:
        token = tokens.read(
            runtime(request).link_secret, request.query.get("token", ""), purpose, now
        )
    except tokens.InvalidTokenError as exc:
        reason = {
            "expired": "This link has expired: subscribe again for a new one.",
            "malformed": "This link is incomplete: copy the whole link from the mail.",
        }.get(exc.reason, "This link is not valid: it was altered or is not from this page.")
        return None, None, reason
    try:
        found = await runtime(request).repository.load(UUID(hex=token.subject))
    except (AggregateNotFoundError, ValueError):
        found = None
    if not isinstance(found, StatusPageSubscription) or found.page_id != row["id"]:
        return None, None, "This link is not valid: it was altered or is not from this page."
    return found, token, ""


async def confirm(request: web.Request, call: Call) -> web.Response:
    row = await _page(request)
    subscription, token, reason = await _subscription(request, row, tokens.Purpose.CONFIRM)
    if subscription is None or token is None:
        return _notice(row, "Not confirmed", reason, 403)
    parts = runtime(request)
    try:  # reloaded on a conflict: the mailer may be recording the confirmation mail
        _, result = await parts.repository.change(
            subscription.id,
            lambda found: found.confirm(token.number),
            metadata={"actor": "visitor", "request_id": request.get(REQUEST_ID)},
        )
    except DomainError as exc:
        return _notice(row, "Not confirmed", str(exc).capitalize() + ".", 409)
    if result is not None:
        await parts.runner.wait_for(result.last_position)
        log.info("status page subscription confirmed", page_id=row["id"])
    return _notice(row, "Subscribed", "You will get this page's status updates by e-mail.")


async def unsubscribe_page(request: web.Request, call: Call) -> web.Response:
    row = await _page(request)
    subscription, _, reason = await _subscription(request, row, tokens.Purpose.UNSUBSCRIBE)
    if subscription is None:
        return _notice(row, "Not unsubscribed", reason, 403)
    return _notice(
        row,
        "Unsubscribe?",
        "You will get no more status updates of this page by e-mail.",
        form={"action": request.path_qs, "label": "Unsubscribe"},
    )


async def unsubscribe(request: web.Request, call: Call) -> web.Response:
    row = await _page(request)
    subscription, _, reason = await _subscription(request, row, tokens.Purpose.UNSUBSCRIBE)
    if subscription is None:
        return _notice(row, "Not unsubscribed", reason, 403)
    parts = runtime(request)

    def command(found: StatusPageSubscription) -> bool:
        return found.unsubscribe("link")

    _, result = await parts.repository.change(
        subscription.id,
        command,
        metadata={"actor": "visitor", "request_id": request.get(REQUEST_ID)},
    )
    if result is not None:
        await parts.runner.wait_for(result.last_position)
    return _notice(row, "Unsubscribed", "You will get no more status updates by e-mail.")


def _html(description: str) -> Answer:
    return Answer(description, Html, media="text/html")


TOKEN = Param(
    "token", "query", {"type": "string", "maxLength": 200}, "the mail's signed link token"
)
_LINK_ANSWERS = {
    200: _html("Done (or, for a GET of the unsubscribe link, its button)"),
    403: _html("A forged, altered or expired link, or one of another page: the page says why"),
    409: _html("The subscription was ended, or a newer confirmation mail was sent"),
}

ROUTES = (
    Route(
        "POST",
        "/status/{slug}/subscribe",
        subscribe,
        "subscribeToStatusPage",
        TAG,
        "Subscribe an e-mail address to the page's status updates (double opt-in)",
        {
            200: _html("Check your mail (the same answer for a new, pending or known address)"),
            400: _html("Not an e-mail address (the page names the field: email)"),
            401: _html("A PRIVATE page, without credentials"),
            403: _html("Sent from another site, without a valid form token, or a wrong key"),
            429: _html("Too many requests from this client or for this address (Retry-After)"),
        },
        body=SubscribeForm,
        body_media=FORM,
        problems=(404,),
        params=(SLUG,),
        public=True,
        description="404 when the page takes no subscriptions (showSubscribeAction off). "
        "The served page's form posts here; PRIVATE pages take signed-in visitors "
        "only. A mail with a link to confirm goes to the address; nothing else is sent until "
        "it is followed.",
    ),
    Route(
        "GET",
        "/status/{slug}/subscriptions/confirm",
        confirm,
        "confirmStatusPageSubscription",
        TAG,
        "Confirm a subscription: the link of the confirmation mail",
        _LINK_ANSWERS,
        problems=(404,),
        params=(SLUG, TOKEN),
        public=True,
        description="No login: the signed, expiring token is the authority.",
    ),
    Route(
        "GET",
        "/status/{slug}/subscriptions/unsubscribe",
        unsubscribe_page,
        "showStatusPageUnsubscribe",
        TAG,
        "The unsubscribe link of every mail: a page with the button (a GET changes nothing)",
        _LINK_ANSWERS,
        problems=(404,),
        params=(SLUG, TOKEN),
        public=True,
    ),
    Route(
        "POST",
        "/status/{slug}/subscriptions/unsubscribe",
        unsubscribe,
        "unsubscribeFromStatusPage",
        TAG,
        "Unsubscribe (RFC 8058 one-click: List-Unsubscribe=One-Click), idempotent",
        _LINK_ANSWERS,
        body=UnsubscribeForm,
        body_media=FORM,
        problems=(404,),
        params=(SLUG, TOKEN),
        public=True,
        description="No login: the signed token is the authority; unsubscribing twice is fine.",
    ),
)
