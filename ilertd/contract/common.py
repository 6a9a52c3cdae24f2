"""Shapes several resources share."""

from __future__ import annotations

from typing import Annotated

import msgspec

INT64_MAX = 2**63 - 1

#: An API id: a positive int64.
Id = Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]

#: ISO-8601 duration (PT5M) or whole seconds, as ilert's clients send either; answers carry
#: the ISO form.
Duration = Annotated[
    str | int,
    msgspec.Meta(description="ISO-8601 duration such as PT5M (whole seconds accepted on input)"),
]

#: An RFC 3339 UTC time with milliseconds, as every answer writes it.
ReadOnlyTime = Annotated[
    str,
    msgspec.Meta(
        description="read-only; RFC 3339, UTC, milliseconds",
        extra_json_schema={"format": "date-time"},
    ),
]


#: An API id as a string, as the Terraform provider sends ids.
IdText = Annotated[str, msgspec.Meta(pattern="^[0-9]{1,19}$")]


class IdRef(msgspec.Struct):
    """A reference to another resource, ilert's ``{"id": n}`` (``{"id": "n"}`` too)."""

    id: Id | IdText


class UserRef(msgspec.Struct, kw_only=True):
    """A user named in another resource: ``{"id": n}`` on input, names added on output."""

    id: Id | IdText
    username: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    email: Annotated[str, msgspec.Meta(extra_json_schema={"format": "email"})] | None = None
