"""A small RFC 5545 (iCalendar) writer: just what a published shift feed needs.

Content lines end in CRLF and are folded at 75 octets (a fold is CRLF plus one space, never
inside a UTF-8 character); TEXT values escape backslash, semicolon, comma and newlines;
date-times are UTC (``19970714T173000Z``). No runtime dependency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

PRODID = "-//ilertd//on-call schedules//EN"
LINE_OCTETS = 75
CRLF = "\r\n"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""


def escape_text(value: str) -> str:
    """RFC 5545 3.3.11 TEXT: ``\\`` ``;`` ``,`` escaped, newlines as ``\\n``, CR dropped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\n")
        .replace("\r", "")
        .replace("\n", "\\n")
    )


def utc_stamp(moment: datetime) -> str:
    """RFC 5545 3.3.5 form #2, UTC time: ``20260329T070000Z``."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """One content line, folded so no physical line exceeds 75 octets (CRLF excluded)."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    limit = LINE_OCTETS
    for char in line:
        octets = len(char.encode())
        if size + octets > limit:
            parts.append("".join(current))
            current, size = [], 0
            limit = LINE_OCTETS - 1  # continuation lines start with a space
        current.append(char)
        size += octets
    parts.append("".join(current))
    return (CRLF + " ").join(parts) + CRLF


def render_calendar(
    name: str, events: Iterable[CalendarEvent], *, stamp: datetime, timezone: str | None = None
) -> str:
    """A VCALENDAR with one VEVENT per event; ``stamp`` is every DTSTAMP."""
    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    if timezone:
        lines.append(f"X-WR-TIMEZONE:{escape_text(timezone)}")
    dtstamp = utc_stamp(stamp)
    for item in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape_text(item.uid)}",
            f"DTSTAMP:{dtstamp}",
            f"DTSTART:{utc_stamp(item.start)}",
            f"DTEND:{utc_stamp(item.end)}",
            f"SUMMARY:{escape_text(item.summary)}",
        ]
        if item.description:
            lines.append(f"DESCRIPTION:{escape_text(item.description)}")
        lines += ["TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) for line in lines)
