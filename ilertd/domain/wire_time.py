"""The one written form of an instant, in every answer and in the events that store one:
RFC 3339 in UTC with milliseconds and a ``Z`` (``2026-12-03T00:47:12.345Z``), as ilert
writes them."""

from __future__ import annotations

from datetime import UTC, datetime


def wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wire_time_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else wire_time(moment)
