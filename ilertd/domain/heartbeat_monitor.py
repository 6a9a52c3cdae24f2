"""Heartbeat monitors: something that must ping within ``intervalSec``, or an alert opens.

What is recorded, and why: a monitor pinged every 25 s by thousands of senders must not
append an event per ping. A ping is written as the monitor's *last ping time* (a plain
row, ``ilertd.inbound.heartbeats``), and an event is recorded only when something changes:
the first ping (UNKNOWN -> HEALTHY), a ping that ends an overdue period (the alert
resolves), the monitor going overdue (the alert opens), and, when the engine's timer falls
due but newer pings arrived, a checkpoint of the newest one (``Pinged``) that moves the
timer on. So a healthy monitor records at most one event per interval, an overdue one
none. The rules deciding which of these a moment needs are ``decide``: pure, tested with a
fake clock.

Changing ``intervalSec`` issues a new integration key (as ilert does): the old sender's
pings stop counting and the monitor is UNKNOWN again until the first ping with the new
key. An alert that is open stays open until that ping resolves it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from .alert_source import generate_integration_key
from .errors import DomainError, InvalidValueError
from .lifecycle import Replaceable
from .team_ids import checked_teams
from .text import checked_name

MIN_INTERVAL_S = 25
MAX_INTERVAL_S = 2_678_400  # 31 days, ilert's limit
MAX_SUMMARY = 255
#: The interval of an alert source of integrationType HEARTBEAT / HEARTBEAT2 that has no
#: monitor: ilert's legacy heartbeat sources carried it; ilertd's sources do not.
LEGACY_INTERVAL_S = 300
DEFAULT_SUMMARY = "Heartbeat {name} overdue: no ping within {interval} s"
#: A legacy source's implicit monitor has a stream id derived from the source's id, so two
#: instances that see its first ping at once create one monitor, not two.
_LEGACY_NAMESPACE = UUID("8f0f4a52-5b7e-4f7e-9a3c-6e2d1c0b7a11")


class HeartbeatState(StrEnum):
    UNKNOWN = "UNKNOWN"
    HEALTHY = "HEALTHY"
    OVERDUE = "OVERDUE"


class Due(StrEnum):
    """What the timer's moment calls for (``decide``)."""

    #: deleted, never pinged, or overdue already: the timer is stale
    NOTHING = "nothing"
    #: pinged since the last recorded ping: record the newest, wait another interval
    CHECKPOINT = "checkpoint"
    #: no ping within the interval: open the alert
    OVERDUE = "overdue"


def _interval(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError("intervalSec", "is required: whole seconds")
    if not MIN_INTERVAL_S <= value <= MAX_INTERVAL_S:
        raise InvalidValueError(
            "intervalSec", f"must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S} seconds"
        )
    return value


def _summary(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return checked_name(value, "alertSummary", MAX_SUMMARY)


def _source(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63:
        raise InvalidValueError("alertSource.id", "must be a positive integer id")
    return value


def checked_settings(
    *,
    name: Any,
    interval_s: Any,
    alert_summary: Any = None,
    alert_source_id: Any = None,
    teams: Any = (),
) -> dict[str, Any]:
    """Every setting validated and normalised, or InvalidValueError naming the field."""
    return {
        "name": checked_name(name),
        "interval_s": _interval(interval_s),
        "alert_summary": _summary(alert_summary),
        "alert_source_id": _source(alert_source_id),
        "teams": checked_teams(teams),
    }


def legacy_stream_id(source_id: int) -> UUID:
    """The stream of the implicit monitor of the HEARTBEAT alert source ``source_id``."""
    return uuid5(_LEGACY_NAMESPACE, f"alert-source:{source_id}")


def alert_key(monitor_id: int) -> str:
    """The overdue alert's key: one per monitor, so a repeat joins the open alert."""
    return f"heartbeat-{monitor_id}"


def decide(
    *, now: datetime, recorded: datetime | None, latest: datetime | None, interval_s: int
) -> Due:
    """The timer fell due: ``recorded`` is the last recorded ping, ``latest`` the newest
    ping written since (None: none). Overdue only when even the newest is a whole interval
    old; otherwise a checkpoint, so the timer moves to the newest ping's deadline."""
    if recorded is None:
        return Due.NOTHING
    newest = max(recorded, latest) if latest is not None else recorded
    if newest + timedelta(seconds=interval_s) <= now:
        return Due.OVERDUE
    return Due.CHECKPOINT if newest > recorded else Due.NOTHING


def state_at(
    now: datetime, last_ping: datetime | None, overdue: bool, interval_s: int
) -> HeartbeatState:
    """What the API shows: OVERDUE once the interval has passed, even a moment before the
    engine's timer has recorded it."""
    if overdue:
        return HeartbeatState.OVERDUE
    if last_ping is None:
        return HeartbeatState.UNKNOWN
    if last_ping + timedelta(seconds=interval_s) <= now:
        return HeartbeatState.OVERDUE
    return HeartbeatState.HEALTHY


class HeartbeatMonitor(Replaceable, Aggregate):
    """A heartbeat monitor. ``legacy_source_id``: the implicit monitor of a HEARTBEAT alert
    source (pinged with the source's own key, not listed with the monitors)."""

    label = "heartbeat monitor"
    check_settings = staticmethod(checked_settings)

    @staticmethod
    def create_id(legacy_source_id: int | None = None) -> UUID:
        """eventsourcing passes the ``__init__`` arguments this names."""
        if legacy_source_id is None:
            return uuid4()
        return legacy_stream_id(legacy_source_id)

    @classmethod
    def create(cls, **settings: Any) -> HeartbeatMonitor:
        return cls(
            integration_key=generate_integration_key(),
            legacy_source_id=None,
            **checked_settings(**settings),
        )

    @classmethod
    def for_legacy_source(cls, source_id: int, source_name: str) -> HeartbeatMonitor:
        """The monitor a HEARTBEAT source's key pings: its alerts open on that source."""
        return cls(
            integration_key=None,
            legacy_source_id=source_id,
            name=source_name,
            interval_s=LEGACY_INTERVAL_S,
            alert_summary="",
            alert_source_id=source_id,
            teams=[],
        )

    @event("Created")
    def __init__(
        self,
        name: str,
        interval_s: int,
        alert_summary: str,
        alert_source_id: int | None,
        teams: list[int],
        integration_key: str | None,
        legacy_source_id: int | None,
    ) -> None:
        self.integration_key = integration_key
        self.legacy_source_id = legacy_source_id
        self.deleted = False
        self.last_ping_at: datetime | None = None
        self.overdue = False
        #: the overdue alert is open (opened and not yet resolved by a ping)
        self.alert_open = False
        self._assign(name, interval_s, alert_summary, alert_source_id, teams)

    def _assign(
        self,
        name: str,
        interval_s: int,
        alert_summary: str,
        alert_source_id: int | None,
        teams: list[int],
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self.alert_summary = alert_summary
        self.alert_source_id = alert_source_id
        self.teams = list(teams)

    @property
    def settings(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "interval_s": self.interval_s,
            "alert_summary": self.alert_summary,
            "alert_source_id": self.alert_source_id,
            "teams": list(self.teams),
        }

    def update(self, **settings: Any) -> None:
        """Replace every setting (PUT); a new interval also issues a new key."""
        self._require_live()
        checked = checked_settings(**settings)
        if checked == self.settings:
            return
        new_key = None
        if checked["interval_s"] != self.interval_s and self.legacy_source_id is None:
            new_key = generate_integration_key()
        self._updated(**checked, integration_key=new_key)

    @event("Updated")
    def _updated(
        self,
        name: str,
        interval_s: int,
        alert_summary: str,
        alert_source_id: int | None,
        teams: list[int],
        integration_key: str | None,
    ) -> None:
        self._assign(name, interval_s, alert_summary, alert_source_id, teams)
        if integration_key is not None:
            self.integration_key = integration_key
            self.last_ping_at = None  # the clock starts again at the new key's first ping
            self.overdue = False

    @property
    def summary(self) -> str:
        return self.alert_summary or DEFAULT_SUMMARY.format(
            name=self.name, interval=self.interval_s
        )

    def needs_ping_event(self) -> bool:
        """Does a ping now change anything the events say (the first ping, or the end of an
        overdue period or of its alert)?"""
        return not self.deleted and (self.last_ping_at is None or self.overdue or self.alert_open)

    def ping(self, at: datetime) -> None:
        """A ping that the events must record (``needs_ping_event``): HEALTHY from here."""
        self._require_live()
        if not self.needs_ping_event():
            raise DomainError("this ping changes nothing the events record")
        self._pinged(at=at, interval_s=self.interval_s, recovered=self.alert_open)

    def checkpoint(self, latest: datetime) -> None:
        """The timer fell due, but a newer ping arrived: record it, so the timer moves."""
        self._require_live()
        self._pinged(at=latest, interval_s=self.interval_s, recovered=False)

    @event("Pinged")
    def _pinged(self, at: datetime, interval_s: int, recovered: bool) -> None:
        self.last_ping_at = at
        self.overdue = False
        if recovered:
            self.alert_open = False

    def go_overdue(self, at: datetime, alert_opened: bool) -> None:
        self._require_live()
        if self.overdue or self.last_ping_at is None:
            raise DomainError("the monitor is not waiting for a ping")
        self._went_overdue(at=at, alert_opened=alert_opened)

    @event("WentOverdue")
    def _went_overdue(self, at: datetime, alert_opened: bool) -> None:
        self.overdue = True
        self.alert_open = self.alert_open or alert_opened

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
