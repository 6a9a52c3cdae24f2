"""What the served page shows, from what the read models hold: pure, so the rules (worst
status wins, a group is as bad as its worst service, a day's bar is its worst status, an
incident is open until a status update resolves it) are tested without a database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..domain.service import Interval, uptime_percentage, worst_status

LABELS = {
    "OPERATIONAL": "Operational",
    "UNDER_MAINTENANCE": "Under maintenance",
    "DEGRADED": "Degraded performance",
    "PARTIAL_OUTAGE": "Partial outage",
    "MAJOR_OUTAGE": "Major outage",
}
OVERALL = {
    "OPERATIONAL": "All systems operational",
    "UNDER_MAINTENANCE": "Maintenance in progress",
    "DEGRADED": "Some systems are degraded",
    "PARTIAL_OUTAGE": "Partial outage",
    "MAJOR_OUTAGE": "Major outage",
}
HISTORY_DAYS = 90


def worst(statuses: Iterable[str]) -> str:
    """The services' rule (``domain.service.worst_status``), as a name."""
    return worst_status(statuses).value


@dataclass(frozen=True)
class DayBar:
    day: date
    status: str

    @property
    def title(self) -> str:
        return f"{self.day.isoformat()}: {LABELS[self.status]}"


@dataclass(frozen=True)
class ServiceRow:
    id: int
    name: str
    status: str
    bars: list[DayBar] | None = None
    uptime: float | None = None

    @property
    def label(self) -> str:
        return LABELS[self.status]


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    services: list[ServiceRow]
    expanded: bool = False

    @property
    def status(self) -> str:
        return worst(s.status for s in self.services)

    @property
    def label(self) -> str:
        return LABELS[self.status]


@dataclass
class IncidentView:
    """One incident as its status updates told it, newest update first."""

    incident_id: int
    updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def latest(self) -> dict[str, Any]:
        return self.updates[0]

    @property
    def open(self) -> bool:
        return self.latest["status"] != "RESOLVED"

    @property
    def title(self) -> str:
        return str(self.latest["summary"])


def days(now: datetime, zone: ZoneInfo, count: int = HISTORY_DAYS) -> list[tuple[date, datetime]]:
    """The last ``count`` local days up to today's, each with its local midnight."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=count - 1)
    return [
        (day, datetime.combine(day, time(), zone))
        for day in (first + timedelta(days=n) for n in range(count))
    ]


def day_bars(
    intervals: Sequence[tuple[str, datetime, datetime | None]],
    now: datetime,
    zone: ZoneInfo,
    count: int = HISTORY_DAYS,
) -> tuple[list[DayBar], float]:
    """A service's bars (each local day's worst status) and its uptime percentage over
    the last ``count`` days, as the services API computes it (``domain.service``: time in a
    partial or major outage is down), from its status intervals ``(status, from, until or
    None while it lasts)``."""
    window = days(now, zone, count)
    ends = [begin for _, begin in window[1:]] + [now]
    bars = []
    for (day, begin), end in zip(window, ends, strict=True):
        seen = [
            status
            for status, low, high in intervals
            if low < end and (high is None or high > begin) and low != high
        ]
        bars.append(DayBar(day, worst(seen)))
    spans = [Interval(status, low, high) for status, low, high in intervals]
    return bars, uptime_percentage(spans, now, count)


def layout(
    settings: Mapping[str, Any],
    groups: Sequence[Mapping[str, Any]],
    rows: Mapping[int, ServiceRow],
) -> list[ServiceRow | GroupRow]:
    """The page's services and groups in its structure's order; without a structure its
    services in their order. Services of the page the structure leaves out come last;
    services no longer live (``rows`` lacks them) are left out. A ``no-graph`` option
    drops the service's bars."""

    def service(element: Mapping[str, Any]) -> ServiceRow | None:
        row = rows.get(element["id"])
        if row is None:
            return None
        if "no-graph" in element.get("options", ()):
            return ServiceRow(row.id, row.name, row.status)
        return row

    names = {group["id"]: group["name"] for group in groups}
    shown: list[ServiceRow | GroupRow] = []
    placed: set[int] = set()
    for element in settings.get("structure") or ():
        if element["type"] == "SERVICE":
            placed.add(element["id"])
            if (row := service(element)) is not None:
                shown.append(row)
        elif element["id"] in names:
            children = [service(child) for child in element.get("children", ())]
            placed.update(child["id"] for child in element.get("children", ()))
            members = [child for child in children if child is not None]
            expanded = "expand" in element.get("options", ())
            shown.append(GroupRow(element["id"], names[element["id"]], members, expanded))
    shown.extend(
        rows[ident] for ident in settings["services"] if ident not in placed and ident in rows
    )
    return shown


def incidents(
    updates: Iterable[Mapping[str, Any]],
) -> tuple[list[IncidentView], list[IncidentView]]:
    """(open incidents, resolved ones), each newest first, from status update rows
    (``incident_id``, ``status``, ``summary``, ``message``, ``created_at``, ...)."""
    by_incident: dict[int, IncidentView] = {}
    for update in sorted(updates, key=lambda u: (u["created_at"], u["id"]), reverse=True):
        view = by_incident.setdefault(update["incident_id"], IncidentView(update["incident_id"]))
        view.updates.append(dict(update))
    views = sorted(by_incident.values(), key=lambda v: v.latest["created_at"], reverse=True)
    return [v for v in views if v.open], [v for v in views if not v.open]
