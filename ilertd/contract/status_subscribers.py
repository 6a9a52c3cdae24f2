"""Status page subscribers on the wire: the served page's forms, and the ADMINs' API."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .common import ReadOnlyTime

_RO = msgspec.Meta(description="read-only", extra_json_schema={"readOnly": True})


class SubscribeForm(msgspec.Struct, kw_only=True):
    """The served page's subscribe form (application/x-www-form-urlencoded)."""

    email: Annotated[str, msgspec.Meta(description="the visitor's e-mail address")] = ""
    token: Annotated[str, msgspec.Meta(description="the form's token, as the page gave it")] = ""


class UnsubscribeForm(msgspec.Struct, kw_only=True, rename={"one_click": "List-Unsubscribe"}):
    """RFC 8058's one-click body (``List-Unsubscribe=One-Click``); the page's button sends
    the same. The link's token is the authority, so the field is not required."""

    one_click: str = ""


class StatusSubscriber(msgspec.Struct, kw_only=True):
    """One subscriber of a page: an address (personal data: ADMINs only)."""

    id: Annotated[int, _RO] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254, description="an e-mail address")]
    status: (
        Annotated[
            Literal["PENDING", "CONFIRMED"],
            msgspec.Meta(
                description="read-only: PENDING until the double opt-in link is followed; "
                "one an ADMIN adds is CONFIRMED at once",
                extra_json_schema={"readOnly": True},
            ),
        ]
        | None
    ) = None
    private: Annotated[bool, _RO] | None = None
    createdAt: ReadOnlyTime | None = None
    confirmedAt: ReadOnlyTime | None = None
