"""Services: what customers use (an API, a checkout), the thing incidents affect and status
pages show.

A service's ``status`` is never stored: it is derived from the open incidents' impacts and
the active maintenance windows that name it, the worst winning (``worst_status``); the
read models give the statuses in force (``projections.service_status``), this module the
rules. Uptime is derived the same way from the history of those statuses (``outages``,
``uptime``): pure maths on intervals, tested without a database.

Down, for uptime, means PARTIAL_OUTAGE or MAJOR_OUTAGE (ilert counts outages); DEGRADED and
UNDER_MAINTENANCE are not downtime. The windows are whole: the last 90, 60 and 30 days up
to now, time before the service was created counting as up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any

from eventsourcing.domain import Aggregate, event

from .errors import InvalidValueError
from .lifecycle import Replaceable
from .team_ids import checked_teams
from .text import checked_name

MAX_ALIAS = 255
MAX_DESCRIPTION = 4096
#: Control characters but tab and the line breaks (a description may have lines).
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ServiceStatus(StrEnum):
    """ilert-go's ``ServiceStatusAll``, worst first."""

    MAJOR_OUTAGE = "MAJOR_OUTAGE"
    PARTIAL_OUTAGE = "PARTIAL_OUTAGE"
    DEGRADED = "DEGRADED"
    UNDER_MAINTENANCE = "UNDER_MAINTENANCE"
    OPERATIONAL = "OPERATIONAL"


#: Worse is higher: the order in which statuses win over one another.
_SEVERITY = {status: len(ServiceStatus) - index for index, status in enumerate(ServiceStatus)}
#: The statuses uptime counts as down.
DOWN = frozenset({ServiceStatus.MAJOR_OUTAGE, ServiceStatus.PARTIAL_OUTAGE})
#: The windows ``uptimePercentage`` reports: name -> days up to now.
UPTIME_WINDOWS = {"p90": 90, "p60": 60, "p30": 30}
#: How far back ``uptime`` looks (its ``rangeStart``): the longest window.
UPTIME_RANGE = timedelta(days=max(UPTIME_WINDOWS.values()))


def worst_status(statuses: Iterable[str]) -> ServiceStatus:
    """The status that wins: MAJOR_OUTAGE > PARTIAL_OUTAGE > DEGRADED > UNDER_MAINTENANCE >
    OPERATIONAL; none at all is OPERATIONAL. A name this build does not know is ignored
    rather than trusted."""
    known = [ServiceStatus(s) for s in statuses if s in ServiceStatus.__members__]
    return max(known, key=_SEVERITY.__getitem__, default=ServiceStatus.OPERATIONAL)


@dataclass(frozen=True)
class Interval:
    """A status in force for a service from ``since`` until ``until`` (None: still)."""

    status: str
    since: datetime
    until: datetime | None = None


@dataclass(frozen=True)
class Segment:
    """A stretch of a timeline with one status; ``until`` None when a status in force then
    has no end yet (it goes on past the range)."""

    status: ServiceStatus
    since: datetime
    until: datetime | None


def timeline(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Segment]:
    """The worst status in force at every instant of ``[start, end)``, as consecutive
    segments (OPERATIONAL where nothing is in force; neighbours of one status merged). The
    last segment's ``until`` is None when an open interval (no ``until``) reaches ``end``."""
    if end <= start:
        return []
    # (status, from, until) within the range, and whether it has no end at all
    clipped = [
        (i.status, max(i.since, start), end if i.until is None else min(i.until, end), i.until)
        for i in intervals
        if i.since < end and (i.until is None or i.until > start) and i.since != i.until
    ]
    cuts = sorted({start, end, *(c[1] for c in clipped), *(c[2] for c in clipped)})
    segments: list[Segment] = []
    for low, high in pairwise(cuts):
        # every interval either covers this stretch whole or misses it: its ends are cuts
        covering = [c for c in clipped if c[1] <= low and c[2] >= high]
        status = worst_status(c[0] for c in covering)
        ongoing = high == end and any(c[3] is None and c[0] == status for c in covering)
        until = None if ongoing else high
        if segments and segments[-1].status == status and segments[-1].until == low:
            segments[-1] = Segment(status, segments[-1].since, until)
        else:
            segments.append(Segment(status, low, until))
    return segments


def outages(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Segment]:
    """The stretches of ``[start, end)`` whose worst status is PARTIAL_OUTAGE or
    MAJOR_OUTAGE, each with its status (a partial outage that turns major is two)."""
    return [s for s in timeline(intervals, start, end) if s.status in DOWN]


def _micros(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def uptime_percentage(intervals: Sequence[Interval], end: datetime, days: int) -> float:
    """The share of the ``days`` before ``end`` that was not down, in percent with three
    decimals, rounded down: 100.0 only without any downtime at all."""
    start = end - timedelta(days=days)
    total = _micros(end - start)
    down = sum(_micros((s.until or end) - s.since) for s in outages(intervals, start, end))
    return (100_000 * (total - down) // total) / 1000


@dataclass(frozen=True)
class Uptime:
    range_start: datetime
    range_end: datetime
    outages: list[Segment]
    #: ``UPTIME_WINDOWS``' names -> percent
    percentages: dict[str, float]


def uptime(intervals: Sequence[Interval], now: datetime) -> Uptime:
    """A service's uptime over the last 90 days (``UPTIME_RANGE``) up to ``now``."""
    start = now - UPTIME_RANGE
    return Uptime(
        range_start=start,
        range_end=now,
        outages=outages(intervals, start, now),
        percentages={
            name: uptime_percentage(intervals, now, days) for name, days in UPTIME_WINDOWS.items()
        },
    )


# --- the aggregate ---------------------------------------------------------------------


def _optional_text(field: str, value: Any, maximum: int, *, lines: bool = False) -> str | None:
    """Trimmed text or None (absent or blank)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValueError(field, "must be a string")
    text = value.strip()
    if len(text) > maximum:
        raise InvalidValueError(field, f"must be at most {maximum} characters")
    if (_CONTROL_BUT_LINES if lines else _CONTROL).search(text):
        raise InvalidValueError(field, "must not contain control characters")
    return text or None


def _flag(field: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidValueError(field, "must be true or false")
    return value


def checked_settings(
    *,
    name: Any,
    alias: Any = None,
    description: Any = None,
    teams: Any = (),
    one_open_incident_only: Any = None,
    show_uptime_history: Any = None,
) -> dict[str, Any]:
    """Every setting validated and normalised, or InvalidValueError naming the field as
    the API spells it. ``showUptimeHistory`` defaults to true (the Terraform provider's
    default), ``oneOpenIncidentOnly`` to false."""
    return {
        "name": checked_name(name),
        "alias": _optional_text("alias", alias, MAX_ALIAS),
        "description": _optional_text("description", description, MAX_DESCRIPTION, lines=True),
        "teams": checked_teams(teams),
        "one_open_incident_only": _flag("oneOpenIncidentOnly", one_open_incident_only, False),
        "show_uptime_history": _flag("showUptimeHistory", show_uptime_history, True),
    }


class Service(Replaceable, Aggregate):
    """A service. Its status is derived, never a setting; deleted services stay in the
    stream (history, ids) but refuse commands."""

    label = "service"
    check_settings = staticmethod(checked_settings)

    @classmethod
    def create(cls, **settings: Any) -> Service:
        """A new service; settings as ``checked_settings``."""
        return cls(**checked_settings(**settings))

    @event("Created")
    def __init__(
        self,
        name: str,
        alias: str | None,
        description: str | None,
        teams: list[int],
        one_open_incident_only: bool,
        show_uptime_history: bool,
    ) -> None:
        self.deleted = False
        self._assign(name, alias, description, teams, one_open_incident_only, show_uptime_history)

    def _assign(
        self,
        name: str,
        alias: str | None,
        description: str | None,
        teams: list[int],
        one_open_incident_only: bool,
        show_uptime_history: bool,
    ) -> None:
        self.name = name
        self.alias = alias
        self.description = description
        self.teams = list(teams)
        self.one_open_incident_only = one_open_incident_only
        self.show_uptime_history = show_uptime_history

    @property
    def settings(self) -> dict[str, Any]:
        """Everything a PUT replaces, as ``checked_settings`` gives it."""
        return {
            "name": self.name,
            "alias": self.alias,
            "description": self.description,
            "teams": list(self.teams),
            "one_open_incident_only": self.one_open_incident_only,
            "show_uptime_history": self.show_uptime_history,
        }

    @event("Updated")
    def _updated(
        self,
        name: str,
        alias: str | None,
        description: str | None,
        teams: list[int],
        one_open_incident_only: bool,
        show_uptime_history: bool,
    ) -> None:
        self._assign(name, alias, description, teams, one_open_incident_only, show_uptime_history)

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
