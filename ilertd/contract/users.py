"""A user and their API keys on the wire (ilert's ``User``; API keys are ilertd's)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..domain.user import LANGUAGES, MAX_PASSWORD, MAX_TEXT, MIN_PASSWORD, Role
from .common import OPTIONAL_TRIMMED_PATTERN, ReadOnlyTime, spaces, time_zone, trimmed

#: Roles highest first, as the domain ranks them (a Literal's schema would sort them); the
#: domain checks the value.
RoleName = Annotated[
    str,
    msgspec.Meta(
        description="highest first; USER when left out",
        extra_json_schema={"enum": [r.value for r in Role]},
    ),
]
#: enum values from the domain's own (msgspec documents and checks them)
Language = Literal[LANGUAGES]  # type: ignore[valid-type]

#: the domain's check (name@domain, trimmed); not the "email" format, which is stricter
#: than what ilertd (and ilert) take and keep
EMAIL_PATTERN = spaces(
    r"^\s*[^@\s\x00-\x1f\x7f]+@[^@\s.\x00-\x1f\x7f]+(?:\.[^@\s.\x00-\x1f\x7f]+)*\s*$"
)
Email = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_TEXT,
        description="an email address",
        extra_json_schema={"pattern": EMAIL_PATTERN},
    ),
]
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
#: optional profile text: trimmed, blank is none, no control characters
OptionalText = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_TEXT,
        description="trimmed; blank is none",
        extra_json_schema={"pattern": OPTIONAL_TRIMMED_PATTERN},
    ),
]
Password = Annotated[
    str,
    msgspec.Meta(
        min_length=MIN_PASSWORD,
        max_length=MAX_PASSWORD,
        description=(
            "write-only: sets the password for Basic auth (user@org:password, as ilert's "
            "clients send it); the user themself or an ADMIN; left out, the current one "
            "stays; only an argon2id hash is stored"
        ),
        extra_json_schema={
            "writeOnly": True,
            "format": "password",
            # no control characters, not only spaces
            "pattern": spaces(r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"),
        },
    ),
]


class User(msgspec.Struct, kw_only=True, omit_defaults=False):
    """PUT replaces the whole profile: absent (or null) fields take their defaults; only an
    ADMIN changes a role. The exception is ``password``: write-only, never answered, and a
    PUT without it keeps the current one (ilert's clients never send it). Each other field
    but the read-only ones is a ``domain.user.Profile`` field under its wire name
    (``shiftColor`` for ``shift_color``); adding one to the profile means adding it here
    and to the User aggregate's two events, nothing else."""

    email: Email
    firstName: trimmed(MAX_TEXT)  # type: ignore[valid-type]
    lastName: Annotated[
        Text, msgspec.Meta(description="the bootstrap admin's is empty; required on input")
    ]
    id: Annotated[int, msgspec.Meta(description="read-only")] | None = None
    username: (
        Annotated[OptionalText, msgspec.Meta(description="the email when left out")] | None
    ) = None
    timezone: time_zone("IANA zone; UTC when left out") | None = None  # type: ignore[valid-type]
    language: Annotated[Language, msgspec.Meta(description="en when left out")] | None = None
    role: RoleName = Role.USER.value
    mutedUntil: (
        Annotated[
            str,
            msgspec.Meta(
                description="ISO-8601 date-time; without an offset it is UTC",
                extra_json_schema={"format": "date-time"},
            ),
        ]
        | None
    ) = None
    position: OptionalText | None = None
    department: OptionalText | None = None
    region: OptionalText | None = None
    shiftColor: (
        Annotated[
            str,
            msgspec.Meta(
                description="#rrggbb, the colour of the user's shifts; blank is none",
                extra_json_schema={"pattern": spaces(r"^\s*(?:#[0-9a-fA-F]{6})?\s*$")},
            ),
        ]
        | None
    ) = None
    password: Password | None = None
    createdAt: ReadOnlyTime | None = None
    updatedAt: ReadOnlyTime | None = None


class UserInput(User, kw_only=True):
    """A User as a request sends it: ``lastName`` is required and not blank there (answers
    may carry an empty one: the bootstrap admin is made without it)."""

    lastName: trimmed(MAX_TEXT)  # type: ignore[valid-type]


class UserSearch(msgspec.Struct, kw_only=True):
    """What ilert-go's ``SearchUser`` sends: the email to look for (case ignored)."""

    email: Email


class ApiKeyRequest(msgspec.Struct, kw_only=True):
    label: Text | None = None


class ApiKey(msgspec.Struct, kw_only=True):
    id: Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
    label: str
    createdAt: ReadOnlyTime


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    """The issued key: the only answer that shows ``apiKey``; only its hash is stored."""

    id: Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
    label: str
    createdAt: ReadOnlyTime
    apiKey: Annotated[str, msgspec.Meta(description="the key itself: shown only once")]
