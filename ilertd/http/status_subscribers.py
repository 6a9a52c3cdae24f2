"""/api/status-pages/{id}/subscribers: a page's e-mail subscribers, for ADMINs only.

Addresses are personal data, so only account ADMINs list, add and remove them (no team
role reaches them). Listing shows the subscriptions that have not ended (PENDING or
CONFIRMED). POST adds an address CONFIRMED at once, without the double opt-in (ilert's
private subscribers: people an ADMIN knows want the news); adding a confirmed address again
changes nothing and answers it. DELETE ends the subscription as the unsubscribe link does.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from projections.status_pages import page_by_id
from projections.status_subscribers import subscriber, subscriber_by_stream, subscribers_of

from ..alerts.views import iso
from ..contract.common import ID_PARAM
from ..contract.status_subscribers import StatusSubscriber
from ..domain.errors import InvalidValueError
from ..domain.status_subscription import StatusPageSubscription, checked_email, subscription_id
from ..domain.user import Role
from .paging import PAGING, page
from .problems import ProblemError, json_response
from .routes import Answer, Call, Param, Route
from .writes import metadata, parse_id, path_id, pool, writer

TAG = "Status pages"
_NOT_FOUND = "no such status page"
_NO_SUBSCRIBER = "no such subscriber"
BASE = "/api/status-pages/{id}/subscribers"


def subscriber_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "email": row["email"],
        "status": row["status"],
        "private": row["private"],
        "createdAt": iso(row["created_at"]),
        "confirmedAt": iso(row["confirmed_at"]) if row["confirmed_at"] else None,
    }


async def _page(request: web.Request) -> dict[str, Any]:
    row = await page_by_id(pool(request), path_id(request, _NOT_FOUND))
    if row is None:
        raise ProblemError(404, "NOT_FOUND", _NOT_FOUND)
    return row


async def list_subscribers(request: web.Request, call: Call) -> web.Response:
    row = await _page(request)
    start, limit = page(request)
    rows = await subscribers_of(pool(request), row["id"], start, limit)
    return json_response([subscriber_json(r) for r in rows])


async def add_subscriber(request: web.Request, call: Call) -> web.Response:
    row = await _page(request)
    try:
        email = checked_email(call.body.email)
    except InvalidValueError as exc:
        raise ProblemError(400, "BAD_REQUEST", str(exc), field=exc.field) from None
    repository, runner = writer(request)
    stream = subscription_id(row["stream_id"], email)
    _, result = await repository.change(
        stream,
        lambda s: s.add(),
        create=lambda: StatusPageSubscription.open(row["id"], row["stream_id"], email),
        metadata=metadata(request, call.caller),
    )
    if result is not None:
        await runner.wait_for(result.last_position)
    found = await subscriber_by_stream(pool(request), stream)
    assert found is not None, "an added subscriber is in the read model"
    return json_response(subscriber_json(found), status=201)


async def remove_subscriber(request: web.Request, call: Call) -> web.Response:
    row = await _page(request)
    ident = parse_id(request.match_info["subscriber_id"])
    found = await subscriber(pool(request), row["id"], ident) if ident is not None else None
    if found is None or found["status"] not in ("PENDING", "CONFIRMED"):
        raise ProblemError(404, "NOT_FOUND", _NO_SUBSCRIBER)
    repository, runner = writer(request)
    _, result = await repository.change(
        found["stream_id"],
        lambda s: s.unsubscribe("admin"),
        metadata=metadata(request, call.caller),
    )
    if result is not None:
        await runner.wait_for(result.last_position)
    return web.Response(status=204)


PAGE_ID = Param("id", "path", ID_PARAM, "the status page's id")
SUBSCRIBER_ID = Param("subscriber_id", "path", ID_PARAM, "the subscriber's id")
_ADMINS = "Account ADMINs only: subscribers' addresses are personal data."

ROUTES = (
    Route(
        "GET",
        BASE,
        list_subscribers,
        "listStatusPageSubscribers",
        TAG,
        "The page's e-mail subscribers (pending and confirmed)",
        {200: Answer("Subscribers", list[StatusSubscriber])},
        role=Role.ADMIN,
        problems=(400, 404),
        params=(PAGE_ID, *PAGING),
        description=_ADMINS,
    ),
    Route(
        "POST",
        BASE,
        add_subscriber,
        "addStatusPageSubscriber",
        TAG,
        "Add a subscriber, confirmed at once (a private subscriber: no double opt-in)",
        {201: Answer("The subscriber", StatusSubscriber)},
        role=Role.ADMIN,
        body=StatusSubscriber,
        problems=(400, 404),
        params=(PAGE_ID,),
        description=_ADMINS,
    ),
    Route(
        "DELETE",
        BASE + "/{subscriber_id}",
        remove_subscriber,
        "removeStatusPageSubscriber",
        TAG,
        "End a subscription (as its unsubscribe link does)",
        {204: Answer("Removed")},
        role=Role.ADMIN,
        problems=(404,),
        params=(PAGE_ID, SUBSCRIBER_ID),
        description=_ADMINS,
    ),
)
