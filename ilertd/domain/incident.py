"""The incident: the team's coordination record, declared by people, every change an event.

Status runs DECLARED -> INVESTIGATING | IDENTIFIED | MONITORING (any order among these) ->
RESOLVED. RESOLVED is final for every change but a comment and a status update, until an
explicit ``reopen`` (event ``incident-reopened``) puts the incident back to INVESTIGATING.

Severity is 1..5 (SEV1 the worst; default 3); the wire writes it ``SEV1``..``SEV5``.

Numbers: ``INC-<n>`` comes from ``IncidentNumbers``, one counter aggregate for the whole
installation, whose ``Taken`` event is appended in the same atomic append as the incident's
``Declared`` (``Repository.save_together``): two declares that race both expect the counter
at the same version, one wins, the other retries with the next number. So numbers have no
gaps (a number is taken only together with its incident) and no duplicates.

Status updates are the public messages (``StatusUpdatePosted``); they never change the
incident's own status: a RESOLVED status update tells the public it is fixed, resolving the
incident is a separate decision of the team.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import DomainError, InvalidValueError
from .incident_channel import MAX_CHANNELS, checked_channel
from .text import checked_name

Actor = dict[str, Any]

MAX_TITLE = 255
MAX_SUMMARY = 10_000
MAX_MESSAGE = 10_000
MAX_COMMENT = 10_000
MAX_SERVICES = 50
DEFAULT_SEVERITY = 3

#: The one counter's stream id.
NUMBERS_ID = uuid5(UUID("6f1c7a52-3c1e-4b7e-8d0f-2a9e5b4c1d07"), "incident-numbers")


class IncidentStatus(StrEnum):
    DECLARED = "DECLARED"
    INVESTIGATING = "INVESTIGATING"
    IDENTIFIED = "IDENTIFIED"
    MONITORING = "MONITORING"
    RESOLVED = "RESOLVED"


#: What a status update (the public message) may say.
PUBLIC_STATUSES = (
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
    IncidentStatus.RESOLVED,
)


class Impact(StrEnum):
    DEGRADED = "DEGRADED"
    PARTIAL_OUTAGE = "PARTIAL_OUTAGE"
    MAJOR_OUTAGE = "MAJOR_OUTAGE"
    UNDER_MAINTENANCE = "UNDER_MAINTENANCE"


def severity_name(severity: int) -> str:
    return f"SEV{severity}"


def checked_severity(value: Any, field: str = "severity") -> int:
    """``SEV1``..``SEV5`` or 1..5 as the severity number."""
    if isinstance(value, str) and value.upper().startswith("SEV") and value[3:].isdigit():
        value = int(value[3:])
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidValueError(field, "must be one of SEV1, SEV2, SEV3, SEV4, SEV5")
    return value


def checked_text(value: Any, field: str, maximum: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > maximum or "\x00" in value:
        raise InvalidValueError(field, f"must be text of at most {maximum} characters")
    return value.strip()


def checked_impacts(value: Any, field: str = "affectedServices") -> dict[int, str]:
    """{service id: impact} from [(service_id, impact)]; one entry per service."""
    impacts: dict[int, str] = {}
    for index, (service_id, impact) in enumerate(value or ()):
        where = f"{field}[{index}]"
        if service_id in impacts:
            raise InvalidValueError(f"{where}.service.id", f"service {service_id} is listed twice")
        try:
            impacts[service_id] = Impact(impact).value
        except ValueError:
            raise InvalidValueError(
                f"{where}.impact", f"must be one of {', '.join(i.value for i in Impact)}"
            ) from None
    if len(impacts) > MAX_SERVICES:
        raise InvalidValueError(field, f"at most {MAX_SERVICES} services")
    return impacts


class IncidentNumbers(Aggregate):
    """The installation's incident counter: one stream, one event per number taken."""

    @event("Created")
    def __init__(self, id: UUID | None = None) -> None:  # noqa: A002 - the fixed stream id
        self.last = 0

    @classmethod
    def start(cls) -> IncidentNumbers:
        return cls(id=NUMBERS_ID)

    def take(self, incident: UUID) -> int:
        self._taken(number=self.last + 1, incident=incident)
        return self.last

    @event("Taken")
    def _taken(self, number: int, incident: UUID) -> None:
        self.last = number


class Incident(Aggregate):
    label = "incident"

    @classmethod
    def declare(
        cls,
        *,
        number: int,
        title: Any,
        summary: Any = "",
        severity: Any = DEFAULT_SEVERITY,
        actor: Actor,
        id: UUID | None = None,  # noqa: A002
    ) -> Incident:
        return cls(
            number=number,
            title=checked_name(title, "title", MAX_TITLE),
            summary=checked_text(summary, "summary", MAX_SUMMARY),
            severity=checked_severity(severity),
            actor=actor,
            id=id,
        )

    @event("Declared")
    def __init__(
        self,
        number: int,
        title: str,
        summary: str,
        severity: int,
        actor: Actor,
        id: UUID | None = None,  # noqa: A002 - eventsourcing's hook for a chosen stream id
    ) -> None:
        self.number = number
        self.title = title
        self.summary = summary
        self.severity = severity
        self.status = IncidentStatus.DECLARED
        #: user id -> ADDED (asked to respond) | JOINED
        self.responders: dict[int, str] = {}
        self.commander: int | None = None
        #: alert id -> its stream
        self.alerts: dict[int, UUID] = {}
        #: service id -> impact (the internal view)
        self.services: dict[int, str] = {}
        self.status_updates = 0
        self.last_message = ""
        self.send_notification = False
        #: service id -> impact, as the latest status update told the public
        self.public_services: dict[int, str] = {}
        #: users told of changes besides the responders (``subscribe``)
        self.subscribers: set[int] = set()
        #: channel id -> {id, name, url, channel_type, connector_id} (incident_channel)
        self.channels: dict[int, dict[str, Any]] = {}
        self.channels_attached = 0

    @property
    def reference(self) -> str:
        return f"INC-{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status is not IncidentStatus.RESOLVED

    def _require_open(self, what: str) -> None:
        if not self.is_open:
            raise DomainError(f"cannot {what}: {self.reference} is resolved (reopen it first)")

    # -- title, summary, severity, status ------------------------------------------------

    def change(
        self, *, actor: Actor, title: Any = None, summary: Any = None, severity: Any = None
    ) -> None:
        """Change what is given (None: unchanged); records only real changes."""
        new_title = None if title is None else checked_name(title, "title", MAX_TITLE)
        new_summary = None if summary is None else checked_text(summary, "summary", MAX_SUMMARY)
        new_severity = None if severity is None else checked_severity(severity)
        changes = (
            (new_title is not None and new_title != self.title)
            or (new_summary is not None and new_summary != self.summary)
            or (new_severity is not None and new_severity != self.severity)
        )
        if changes:
            self._require_open("change it")
        if new_title is not None and new_title != self.title:
            self._title_changed(title=new_title, actor=actor)
        if new_summary is not None and new_summary != self.summary:
            self._summary_changed(summary=new_summary, actor=actor)
        if new_severity is not None and new_severity != self.severity:
            self._severity_changed(severity=new_severity, previous=self.severity, actor=actor)

    @event("TitleChanged")
    def _title_changed(self, title: str, actor: Actor) -> None:
        self.title = title

    @event("SummaryChanged")
    def _summary_changed(self, summary: str, actor: Actor) -> None:
        self.summary = summary

    @event("SeverityChanged")
    def _severity_changed(self, severity: int, previous: int, actor: Actor) -> None:
        self.severity = severity

    def set_status(self, status: Any, actor: Actor) -> bool:
        """Move to ``status``; RESOLVED resolves. False (no event) when already there."""
        try:
            wanted = IncidentStatus(status)
        except ValueError:
            raise InvalidValueError(
                "status", f"must be one of {', '.join(s.value for s in IncidentStatus)}"
            ) from None
        if wanted is self.status:
            return False
        if wanted is IncidentStatus.RESOLVED:
            self.resolve(actor)
            return True
        self._require_open("change its status")
        if wanted is IncidentStatus.DECLARED:
            raise InvalidValueError("status", "an incident is DECLARED only when it is declared")
        self._status_changed(status=wanted.value, previous=self.status.value, actor=actor)
        return True

    @event("StatusChanged")
    def _status_changed(self, status: str, previous: str, actor: Actor) -> None:
        self.status = IncidentStatus(status)

    def resolve(self, actor: Actor) -> None:
        self._require_open("resolve it")
        self._resolved(previous=self.status.value, actor=actor)

    @event("Resolved")
    def _resolved(self, previous: str, actor: Actor) -> None:
        self.status = IncidentStatus.RESOLVED

    def reopen(self, actor: Actor) -> None:
        if self.is_open:
            raise DomainError(f"{self.reference} is not resolved")
        self._reopened(status=IncidentStatus.INVESTIGATING.value, actor=actor)

    @event("Reopened")
    def _reopened(self, status: str, actor: Actor) -> None:
        self.status = IncidentStatus(status)

    # -- comments ------------------------------------------------------------------------

    def comment(self, content: Any, actor: Actor) -> None:
        text = checked_text(content, "content", MAX_COMMENT)
        if not text:
            raise InvalidValueError("content", "must not be blank")
        self._commented(content=text, actor=actor)

    @event("Commented")
    def _commented(self, content: str, actor: Actor) -> None:
        pass

    # -- alerts ----------------------------------------------------------------------------

    def link_alert(self, alert_id: int, alert_stream: UUID, actor: Actor) -> None:
        self._require_open("link an alert")
        if alert_id in self.alerts:
            raise DomainError(f"alert {alert_id} is already linked to {self.reference}")
        self._alert_linked(
            alert_id=alert_id, alert_stream=alert_stream, reference=self.reference, actor=actor
        )

    @event("AlertLinked")
    def _alert_linked(
        self, alert_id: int, alert_stream: UUID, reference: str, actor: Actor
    ) -> None:
        self.alerts[alert_id] = alert_stream

    def unlink_alert(self, alert_id: int, actor: Actor) -> None:
        if alert_id not in self.alerts:
            raise DomainError(f"alert {alert_id} is not linked to {self.reference}")
        self._require_open("unlink an alert")
        self._alert_unlinked(alert_id=alert_id, reference=self.reference, actor=actor)

    @event("AlertUnlinked")
    def _alert_unlinked(self, alert_id: int, reference: str, actor: Actor) -> None:
        del self.alerts[alert_id]

    # -- responders ----------------------------------------------------------------------

    def add_responder(
        self, user_id: int, actor: Actor, *, via: str = "user", named: int | None = None
    ) -> None:
        """``via``: how the user was named (user, schedule, escalationPolicy, team, alert);
        ``named``: the id of that schedule, policy or team. The engine pages them."""
        self._require_open("add a responder")
        if user_id in self.responders:
            raise DomainError(f"user {user_id} already is a responder of {self.reference}")
        self._responder_added(user_id=user_id, via=via, named=named, actor=actor)

    @event("ResponderAdded")
    def _responder_added(
        self, user_id: int, via: str, actor: Actor, named: int | None = None
    ) -> None:
        self.responders[user_id] = "ADDED"

    def join(self, user_id: int, actor: Actor) -> None:
        """The responder joins: they are working on it, so their page stops."""
        self._require_open("join")
        state = self.responders.get(user_id)
        if state is None:
            raise DomainError(f"user {user_id} is not a responder of {self.reference}")
        if state == "JOINED":
            raise DomainError(f"user {user_id} has joined already")
        self._responder_joined(user_id=user_id, actor=actor)

    @event("ResponderJoined")
    def _responder_joined(self, user_id: int, actor: Actor) -> None:
        self.responders[user_id] = "JOINED"

    def remove_responder(self, user_id: int, actor: Actor) -> None:
        self._require_open("remove a responder")
        if user_id not in self.responders:
            raise DomainError(f"user {user_id} is not a responder of {self.reference}")
        self._responder_removed(user_id=user_id, actor=actor)

    @event("ResponderRemoved")
    def _responder_removed(self, user_id: int, actor: Actor) -> None:
        del self.responders[user_id]
        if self.commander == user_id:
            self.commander = None

    def set_commander(self, user_id: int | None, actor: Actor) -> None:
        """One responder (or nobody, None) is the incident commander."""
        self._require_open("set the commander")
        if user_id is not None and user_id not in self.responders:
            raise DomainError(f"user {user_id} is not a responder of {self.reference}")
        if user_id != self.commander:
            self._commander_set(user_id=user_id, actor=actor)

    @event("CommanderSet")
    def _commander_set(self, user_id: int | None, actor: Actor) -> None:
        self.commander = user_id

    # -- affected services ---------------------------------------------------------------

    def affect_services(self, impacts: dict[int, str], actor: Actor) -> None:
        """The services affected are now exactly ``impacts`` (service id -> impact)."""
        checked = checked_impacts(impacts.items())
        if checked == self.services:
            return
        self._require_open("change the affected services")
        for service_id in [s for s in self.services if s not in checked]:
            self._service_unaffected(service_id=service_id, actor=actor)
        for service_id, impact in checked.items():
            if self.services.get(service_id) != impact:
                self._service_affected(service_id=service_id, impact=impact, actor=actor)

    @event("ServiceAffected")
    def _service_affected(self, service_id: int, impact: str, actor: Actor) -> None:
        self.services[service_id] = impact

    @event("ServiceUnaffected")
    def _service_unaffected(self, service_id: int, actor: Actor) -> None:
        del self.services[service_id]

    # -- status updates (public) ---------------------------------------------------------

    def post_status_update(
        self,
        *,
        status: Any,
        message: Any,
        actor: Actor,
        summary: Any = None,
        services: dict[int, str] | None = None,
        send_notification: bool = False,
    ) -> None:
        """A public message. ``summary`` (the public title) defaults to the incident's
        title; ``services`` (None: those the previous update named) what the public sees
        affected. It never changes the incident's own status."""
        try:
            public = IncidentStatus(status)
        except ValueError:
            public = None
        if public not in PUBLIC_STATUSES:
            raise InvalidValueError(
                "status", f"must be one of {', '.join(s.value for s in PUBLIC_STATUSES)}"
            )
        text = checked_text(message, "message", MAX_MESSAGE)
        if not text:
            raise InvalidValueError("message", "must not be blank")
        title = self.title if summary is None or not str(summary).strip() else summary
        named = (
            self.public_services
            if services is None
            else checked_impacts(services.items(), "affectedServices")
        )
        self._status_update_posted(
            status=public.value,
            message=text,
            summary=checked_name(title, "summary", MAX_TITLE),
            services=[{"service_id": s, "impact": i} for s, i in named.items()],
            send_notification=bool(send_notification),
            actor=actor,
        )

    @event("StatusUpdatePosted")
    def _status_update_posted(
        self,
        status: str,
        message: str,
        summary: str,
        services: list[dict[str, Any]],
        send_notification: bool,
        actor: Actor,
    ) -> None:
        self.status_updates += 1
        self.last_message = message
        self.send_notification = send_notification
        self.public_services = {s["service_id"]: s["impact"] for s in services}

    # -- subscribers -----------------------------------------------------------------------

    def subscribe(self, user_id: int, actor: Actor) -> None:
        """``user_id`` is told of status and severity changes and status updates (over
        their ``updates`` rules). Responders are told anyway; subscribing one is allowed."""
        if user_id in self.subscribers:
            raise DomainError(f"user {user_id} already is a subscriber of {self.reference}")
        self._subscriber_added(user_id=user_id, actor=actor)

    @event("SubscriberAdded")
    def _subscriber_added(self, user_id: int, actor: Actor) -> None:
        self.subscribers.add(user_id)

    def unsubscribe(self, user_id: int, actor: Actor) -> None:
        if user_id not in self.subscribers:
            raise DomainError(f"user {user_id} is not a subscriber of {self.reference}")
        self._subscriber_removed(user_id=user_id, actor=actor)

    @event("SubscriberRemoved")
    def _subscriber_removed(self, user_id: int, actor: Actor) -> None:
        self.subscribers.discard(user_id)

    # -- chat channels (incident_channel) ------------------------------------------------

    def attach_channel(
        self, *, name: Any, url: Any, channel_type: Any, connector_id: int, actor: Actor
    ) -> int:
        """Attach a channel (its connector was checked by the caller); its id, numbered
        per incident and never reused."""
        channel = checked_channel(name, url, channel_type)
        self._require_open("attach a channel")
        if any(c["url"] == channel["url"] for c in self.channels.values()):
            raise DomainError(f"a channel at {channel['url']} is attached already")
        if len(self.channels) >= MAX_CHANNELS:
            raise DomainError(f"at most {MAX_CHANNELS} channels per incident")
        channel_id = self.channels_attached + 1
        self._channel_attached(
            channel_id=channel_id, connector_id=connector_id, actor=actor, **channel
        )
        return channel_id

    @event("ChannelAttached")
    def _channel_attached(
        self,
        channel_id: int,
        name: str,
        url: str,
        channel_type: str,
        connector_id: int,
        actor: Actor,
    ) -> None:
        self.channels_attached = max(self.channels_attached, channel_id)
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "url": url,
            "channel_type": channel_type,
            "connector_id": connector_id,
        }

    def detach_channel(self, channel_id: int, actor: Actor) -> None:
        """Detach; allowed on a resolved incident too (nothing is posted after)."""
        if channel_id not in self.channels:
            raise DomainError(f"channel {channel_id} is not attached to {self.reference}")
        self._channel_detached(channel_id=channel_id, actor=actor)

    @event("ChannelDetached")
    def _channel_detached(self, channel_id: int, actor: Actor) -> None:
        del self.channels[channel_id]
