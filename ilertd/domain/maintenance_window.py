"""Maintenance windows: a span of time in which some alert sources raise no alerts and some
services show UNDER_MAINTENANCE.

A window is active while ``start <= now < end`` by the injected clock: nothing fires at its
start or end, the Events API and ``POST /api/alerts`` ask at ingest time (``active_in``).
``start`` and ``end`` are instants; a date-time without an offset is a wall-clock time in the
window's ``timezone`` (as schedules read theirs: a DST gap moves it forward, a repeated hour
takes the first), stored as UTC. Alert sources and services are referenced by id; whether
they exist (and the caller may see them) is a question for the read models, which the HTTP
layer asks. ``notifications``: ``at_creation`` and ``at_start`` mail the subscribers of the
status pages showing the window's services (``projections.status_mail``); ``at_end`` is kept
and echoed, not sent.

An event a window kept from opening an alert is not dropped silently: it is recorded as a
``MaintenanceSuppression`` of its own (one short stream per suppressed event, so a storm
during maintenance never contends on the window's stream).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from ..oncall.walltime import load_zone
from .errors import InvalidValueError
from .lifecycle import Replaceable
from .schedule import parse_instant
from .text import checked_name
from .wire_time import wire_time

MAX_SUMMARY = 255
MAX_DESCRIPTION = 10_000
#: ilert's limits on either list
MAX_SOURCES = 50
MAX_SERVICES = 50
MAX_ID = 2**63 - 1
DEFAULT_TIMEZONE = "UTC"
NOTIFICATIONS = ("at_creation", "at_start", "at_end")


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidValueError("description", "must be a string")
    if len(value) > MAX_DESCRIPTION:
        raise InvalidValueError("description", f"must be at most {MAX_DESCRIPTION} characters")
    if "\x00" in value:
        raise InvalidValueError("description", "must not contain NUL characters")
    return value.strip()


def _timezone(value: Any) -> str:
    if value is None:
        return DEFAULT_TIMEZONE
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise InvalidValueError("timezone", "must be an IANA zone name such as Europe/Berlin")
    try:
        load_zone(value.strip())
    except ValueError:
        raise InvalidValueError("timezone", f"unknown IANA zone {value.strip()!r}") from None
    return value.strip()


def _ids(field: str, value: Any, cap: int) -> list[int]:
    """Positive int64 ids in the order first given, duplicates dropped."""
    if value is None:
        return []
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise InvalidValueError(field, "must be a list")
    if len(value) > cap:
        raise InvalidValueError(field, f"must have at most {cap} items")
    ids: list[int] = []
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= MAX_ID:
            raise InvalidValueError(f"{field}[{index}].id", "must be a positive integer id")
        if item not in ids:
            ids.append(item)
    return ids


def _notifications(value: Any) -> dict[str, bool]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InvalidValueError("notifications", "must be an object")
    result = {}
    for name in NOTIFICATIONS:
        flag = value.get(name, False)
        if flag is None:
            flag = False
        if not isinstance(flag, bool):
            raise InvalidValueError(f"notifications.{_camel(name)}", "must be a boolean")
        result[name] = flag
    return result


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def check_settings(
    *,
    summary: Any,
    description: Any = None,
    start: Any,
    end: Any,
    timezone: Any = None,
    alert_sources: Any = (),
    services: Any = (),
    notifications: Any = None,
) -> dict[str, Any]:
    """The window's canonical settings (times as UTC wire strings), or the first broken
    rule as an ``InvalidValueError`` naming the field as the API spells it."""
    zone_name = _timezone(timezone)
    zone = load_zone(zone_name)
    starts = parse_instant("start", start, zone)
    ends = parse_instant("end", end, zone)
    if ends <= starts:
        raise InvalidValueError("end", "must be after start")
    return {
        "summary": checked_name(summary, "summary", MAX_SUMMARY),
        "description": _description(description),
        "timezone": zone_name,
        "start": wire_time(starts),
        "end": wire_time(ends),
        "alert_sources": _ids("alertSources", alert_sources, MAX_SOURCES),
        "services": _ids("services", services, MAX_SERVICES),
        "notifications": _notifications(notifications),
    }


def is_active(start: datetime, end: datetime, now: datetime) -> bool:
    """The one rule of activity: from ``start`` (included) to ``end`` (excluded)."""
    return start <= now < end


@dataclass(frozen=True)
class Span:
    """A window as the ingest path keeps it: its id, summary and instants."""

    window_id: int
    summary: str
    start: datetime
    end: datetime


def active_in(spans: Iterable[Span], now: datetime) -> Span | None:
    """The window that holds ``now`` (the one that started first, then the oldest), if any."""
    active = [span for span in spans if is_active(span.start, span.end, now)]
    return min(active, key=lambda s: (s.start, s.window_id)) if active else None


class MaintenanceWindow(Replaceable, Aggregate):
    label = "maintenance-window"
    check_settings = staticmethod(check_settings)

    @classmethod
    def create(cls, *, created_by: int | None, **settings: Any) -> MaintenanceWindow:
        """A new window; ``created_by``: the user who made it (None: ilertd itself)."""
        return cls(created_by=created_by, **check_settings(**settings))

    @event("Created")
    def __init__(
        self,
        summary: str,
        description: str,
        timezone: str,
        start: str,
        end: str,
        alert_sources: list[int],
        services: list[int],
        notifications: dict[str, bool],
        created_by: int | None,
    ) -> None:
        self.created_by = created_by
        self.deleted = False
        self.settings = {
            "summary": summary,
            "description": description,
            "timezone": timezone,
            "start": start,
            "end": end,
            "alert_sources": list(alert_sources),
            "services": list(services),
            "notifications": dict(notifications),
        }

    @event("Updated")
    def _updated(
        self,
        summary: str,
        description: str,
        timezone: str,
        start: str,
        end: str,
        alert_sources: list[int],
        services: list[int],
        notifications: dict[str, bool],
    ) -> None:
        self.settings = {
            "summary": summary,
            "description": description,
            "timezone": timezone,
            "start": start,
            "end": end,
            "alert_sources": list(alert_sources),
            "services": list(services),
            "notifications": dict(notifications),
        }

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True


class MaintenanceSuppression(Aggregate):
    """One inbound event a maintenance window kept from opening an alert: what came in,
    from which source, and which window held it."""

    label = "maintenance-suppression"

    @event("Recorded")
    def __init__(
        self,
        window_id: int,
        source_id: int,
        alert_key: str | None,
        summary: str,
        via: str,
    ) -> None:
        self.window_id = window_id
        self.source_id = source_id
        self.alert_key = alert_key
        self.summary = summary
        self.via = via
