"""Shapes several resources share."""

from __future__ import annotations

import zoneinfo
from typing import Annotated, Any

import msgspec

INT64_MAX = 2**63 - 1

#: An API id: a positive int64.
Id = Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]

#: The document's schema of an id in a query or path parameter.
ID_PARAM = {"type": "integer", "format": "int64", "minimum": 1, "maximum": INT64_MAX}

#: What Python's ``str.strip`` and ``re``'s ``\s`` take as whitespace (``str.isspace``).
#: ECMA-262's ``\s``, which the document's patterns would mean, differs (it leaves out
#: U+001C..U+001F and U+0085, and adds U+FEFF), so patterns spell it out.
_PY_SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def spaces(pattern: str) -> str:
    r"""``pattern`` with ``\s`` and ``\S`` spelled as Python's whitespace, in and out of
    character classes, so the document's pattern and ilertd's checks agree."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            if escaped == "s":
                out.append(_PY_SPACE if in_class else f"[{_PY_SPACE}]")
            elif escaped == "S" and not in_class:
                out.append(f"[^{_PY_SPACE}]")
            else:
                out.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        index += 1
    return "".join(out)


#: What the domain's trimmed text checks admit: a non-blank string, no control characters
#: inside once leading and trailing whitespace is trimmed. Only the document carries it
#: (the domain checks, naming the field): a backtracking pattern is not run on requests.
TRIMMED_PATTERN = spaces(r"^\s*[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?\s*$")
#: The same for optional text: blank is allowed (as none).
OPTIONAL_TRIMMED_PATTERN = spaces(r"^\s*(?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?\s*$")
#: Not blank: a character other than whitespace somewhere.
NOT_BLANK = spaces(r"\S")
#: What ``domain.durations.parse_duration`` reads: weeks, days, hours, minutes, seconds.
DURATION_PATTERN = spaces(
    r"^\s*[Pp](?=[0-9]|[Tt][0-9])(?:[0-9]{1,9}[Ww])?(?:[0-9]{1,9}[Dd])?"
    r"(?:[Tt](?=[0-9])(?:[0-9]{1,9}[Hh])?(?:[0-9]{1,9}[Mm])?(?:[0-9]{1,12}[Ss])?)?\s*$"
)


def trimmed(maximum: int, description: str = "") -> Any:
    """Required text the domain trims and refuses blank or with control characters."""
    text = "trimmed; must not be blank or hold control characters"
    return Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=maximum,
            description=f"{description}; {text}" if description else text,
            extra_json_schema={"pattern": TRIMMED_PATTERN},
        ),
    ]


#: A resource's name: required, trimmed, at most 255 characters.
Name = trimmed(255)

#: ISO-8601 duration (PT5M) or whole seconds, as ilert's clients send either; answers carry
#: the ISO form.
#: The longest duration an alert source takes (the domain's MAX_DURATION_S).
MAX_DURATION_S = 365 * 86_400
Duration = Annotated[
    Annotated[str, msgspec.Meta(extra_json_schema={"pattern": DURATION_PATTERN})]
    | Annotated[int, msgspec.Meta(extra_json_schema={"minimum": 1, "maximum": MAX_DURATION_S})],
    msgspec.Meta(description="ISO-8601 duration such as PT5M (whole seconds accepted on input)"),
]

#: An RFC 3339 UTC time with milliseconds, as every answer writes it.
ReadOnlyTime = Annotated[
    str,
    msgspec.Meta(
        description="read-only; RFC 3339, UTC, milliseconds",
        # ignored on input: schemathesis sends none, and tells its absence from a refusal
        extra_json_schema={"format": "date-time", "readOnly": True},
    ),
]

#: The IANA zone names ilertd knows (the domain refuses others), as the document's enum.
ZONE_NAMES = sorted(zoneinfo.available_timezones() | {"UTC"})


def time_zone(description: str) -> Any:
    """An IANA zone name such as Europe/Berlin."""
    return Annotated[
        str, msgspec.Meta(description=description, extra_json_schema={"enum": ZONE_NAMES})
    ]


#: An API id as a string, as the Terraform provider sends ids: no 0, and at most 18 digits
#: (ids count up from 1; the document need not admit a string beyond int64).
IdText = Annotated[str, msgspec.Meta(pattern="^[1-9][0-9]{0,17}$")]


#: added on output, ignored on input
_ReadOnly = Annotated[str, msgspec.Meta(extra_json_schema={"readOnly": True})]


class IdRef(msgspec.Struct):
    """A reference to another resource, ilert's ``{"id": n}`` (``{"id": "n"}`` too)."""

    id: Id | IdText


class UserRef(msgspec.Struct, kw_only=True):
    """A user named in another resource: ``{"id": n}`` on input, names added on output."""

    id: Id | IdText
    username: _ReadOnly | None = None
    firstName: _ReadOnly | None = None
    lastName: _ReadOnly | None = None
    email: _ReadOnly | None = None


#: An alert action's or connector's id. ilert's clients hold these as strings (ilert-go's
#: ``ID string``, ``ConnectorID string``) and Go's JSON decoder refuses a number for a
#: string field, so answers carry them as decimal strings; requests may give either.
#: Other resources' ids stay integers (ilert-go's ``AlertSource.ID int64``).
TextId = Annotated[
    IdText | Id,
    msgspec.Meta(
        description="a decimal string in answers (ilert's clients decode a string); "
        "an integer is accepted on input"
    ),
]
