"""The error answer every route shares, and what each problem status means."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

PROBLEM_TEXT = {
    400: "Malformed request: the problem names the field",
    401: "Missing credentials, or a wrong Basic user or password (WWW-Authenticate)",
    403: "Wrong key or role",
    404: "Unknown or invisible",
    408: "The body was not received within http.body_timeout_s",
    409: "Conflicts with the resource's state",
    413: "Body over the size limit",
    415: "The body is not in the media type the route takes",
    422: "The Idempotency-Key was used by a request with a different body",
    429: "Over the integration key's rate, or too many failed authentications (Retry-After)",
    503: (
        "Not ready, the read models stayed behind http.read_wait_s, or the database did not "
        "answer within its bounds (Retry-After)"
    ),
}


def _text(description: str) -> msgspec.Meta:
    return msgspec.Meta(description=description)


class Problem(msgspec.Struct, kw_only=True):
    """An error (served as application/problem+json)."""

    status: Annotated[int, _text("the HTTP status")]
    code: Annotated[str, _text("machine-readable, e.g. BAD_REQUEST, NOT_FOUND, CONFLICT")]
    message: Annotated[str, _text("what went wrong; for 400s it starts with the field's name")]
    title: Annotated[str, _text("RFC 9457: the status' reason phrase")] | UnsetType = UNSET
    detail: Annotated[str, _text("RFC 9457: same as message")] | UnsetType = UNSET
    field: (
        Annotated[str, _text("the offending field or parameter, when there is one")] | UnsetType
    ) = UNSET
