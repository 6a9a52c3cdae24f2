"""Alert sources: where alerts come from, and the integration key that lets them in.

Commands check every rule, then record a past-tense event. Errors name the field as the
API spells it, because the HTTP layer hands them straight back to the caller. The
integration key is random and lives in the events: ilert's API shows it to every reader,
so the key is not hashed like an API key is.
"""

from __future__ import annotations

import re
import secrets
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from .errors import InvalidValueError
from .lifecycle import Replaceable
from .source_templates import checked_templates
from .team_ids import checked_teams


class AlertCreation(StrEnum):
    ONE_ALERT_PER_EMAIL = "ONE_ALERT_PER_EMAIL"
    ONE_ALERT_PER_EMAIL_SUBJECT = "ONE_ALERT_PER_EMAIL_SUBJECT"
    ONE_PENDING_ALERT_ALLOWED = "ONE_PENDING_ALERT_ALLOWED"
    ONE_OPEN_ALERT_ALLOWED = "ONE_OPEN_ALERT_ALLOWED"
    ONE_ALERT_GROUPED_PER_WINDOW = "ONE_ALERT_GROUPED_PER_WINDOW"


class AlertPriorityRule(StrEnum):
    HIGH = "HIGH"
    LOW = "LOW"
    HIGH_DURING_SUPPORT_HOURS = "HIGH_DURING_SUPPORT_HOURS"
    LOW_DURING_SUPPORT_HOURS = "LOW_DURING_SUPPORT_HOURS"


#: ilert's older names (``incidentCreation``), still sent by old clients.
LEGACY_ALERT_CREATION = {
    "ONE_INCIDENT_PER_EMAIL": AlertCreation.ONE_ALERT_PER_EMAIL,
    "ONE_INCIDENT_PER_EMAIL_SUBJECT": AlertCreation.ONE_ALERT_PER_EMAIL_SUBJECT,
    "ONE_PENDING_INCIDENT_ALLOWED": AlertCreation.ONE_PENDING_ALERT_ALLOWED,
    "ONE_OPEN_INCIDENT_ALLOWED": AlertCreation.ONE_OPEN_ALERT_ALLOWED,
}

DEFAULT_INTEGRATION_TYPE = "API"
MAX_NAME = 255
#: ilert adds integration types every release: any upper-case word is accepted.
INTEGRATION_TYPE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Grouping windows and auto-resolution timeouts: a second up to a year.
MAX_DURATION_S = 365 * 86_400
MAX_POLICY_ID = 2**63 - 1
#: 160 random bits as 40 hex digits: unguessable, and safe in URLs, paths and e-mail.
KEY_BYTES = 20


def generate_integration_key() -> str:
    return secrets.token_hex(KEY_BYTES)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError("name", "is required and must be a non-empty string")
    name = value.strip()
    if len(name) > MAX_NAME:
        raise InvalidValueError("name", f"must be at most {MAX_NAME} characters")
    if _CONTROL.search(name):  # NUL cannot even be stored (PostgreSQL text and jsonb)
        raise InvalidValueError("name", "must not contain control characters")
    return name


def _integration_type(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidValueError("integrationType", "must be a string of at most 64 characters")
    upper = value.strip().upper()
    if not INTEGRATION_TYPE.fullmatch(upper):
        raise InvalidValueError(
            "integrationType", "must be a word of letters, digits and _ such as API or PROMETHEUS"
        )
    return upper


def _choice(field: str, value: Any, choices: type[StrEnum], legacy: dict[str, Any]) -> str:
    if isinstance(value, str) and len(value) <= 64:
        upper = value.strip().upper()
        if upper in legacy:
            return str(legacy[upper])
        if upper in choices.__members__:
            return upper
    allowed = ", ".join(choices.__members__)
    raise InvalidValueError(field, f"must be one of {allowed}")


def _seconds(field: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError(field, "must be a whole number of seconds")
    if not 1 <= value <= MAX_DURATION_S:
        raise InvalidValueError(
            field, f"must be between 1 second and {MAX_DURATION_S // 86_400} days"
        )
    return value


def _policy(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_POLICY_ID:
        raise InvalidValueError("escalationPolicy", "id must be a positive integer")
    return value


def _support_hours(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_POLICY_ID:
        raise InvalidValueError("supportHours", "id must be a positive integer")
    return value


def _active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValueError("active", "must be true or false")
    return value


def checked_settings(
    *,
    name: Any,
    integration_type: Any = DEFAULT_INTEGRATION_TYPE,
    escalation_policy_id: Any = None,
    alert_creation: Any = AlertCreation.ONE_OPEN_ALERT_ALLOWED.value,
    alert_grouping_window_s: Any = None,
    alert_priority_rule: Any = AlertPriorityRule.HIGH.value,
    auto_resolution_timeout_s: Any = None,
    active: Any = True,
    teams: Any = (),
    support_hours_id: Any = None,
    templates: Any = None,
) -> dict[str, Any]:
    """Every setting validated and normalised (trimmed, upper-cased), or InvalidValueError.
    A ``*_DURING_SUPPORT_HOURS`` rule needs the support hours it asks."""
    settings = {
        "name": _name(name),
        "integration_type": _integration_type(integration_type),
        "escalation_policy_id": _policy(escalation_policy_id),
        "alert_creation": _choice(
            "alertCreation", alert_creation, AlertCreation, LEGACY_ALERT_CREATION
        ),
        "alert_grouping_window_s": _seconds("alertGroupingWindow", alert_grouping_window_s),
        "alert_priority_rule": _choice(
            "alertPriorityRule", alert_priority_rule, AlertPriorityRule, {}
        ),
        "auto_resolution_timeout_s": _seconds("autoResolutionTimeout", auto_resolution_timeout_s),
        "active": _active(active),
        "teams": checked_teams(teams),
        "support_hours_id": _support_hours(support_hours_id),
        # ilert's template fields by their API names (``source_templates``)
        "templates": checked_templates(templates),
    }
    if (
        settings["alert_priority_rule"].endswith("_DURING_SUPPORT_HOURS")
        and settings["support_hours_id"] is None
    ):
        raise InvalidValueError(
            "supportHours",
            f"is required when alertPriorityRule is {settings['alert_priority_rule']}",
        )
    if (
        settings["alert_creation"] == AlertCreation.ONE_ALERT_GROUPED_PER_WINDOW
        and settings["alert_grouping_window_s"] is None
    ):
        raise InvalidValueError(
            "alertGroupingWindow", "is required when alertCreation is ONE_ALERT_GROUPED_PER_WINDOW"
        )
    return settings


class AlertSource(Replaceable, Aggregate):
    """An alert source. Deleted sources stay in the stream (history) but refuse commands."""

    label = "alert source"
    check_settings = staticmethod(checked_settings)

    @classmethod
    def create(cls, **settings: Any) -> AlertSource:
        """A new source with a fresh integration key; settings as ``checked_settings``."""
        return cls(integration_key=generate_integration_key(), **checked_settings(**settings))

    @event("Created")
    def __init__(
        self,
        name: str,
        integration_type: str,
        integration_key: str,
        escalation_policy_id: int | None,
        alert_creation: str,
        alert_grouping_window_s: int | None,
        alert_priority_rule: str,
        auto_resolution_timeout_s: int | None,
        active: bool,
        teams: list[int] = (),  # type: ignore[assignment]  # none in events before teams
        support_hours_id: int | None = None,  # none in events before support hours
        templates: dict[str, Any] | None = None,  # none in events before templates
    ) -> None:
        self.integration_key = integration_key
        self.deleted = False
        self._assign(
            name=name,
            integration_type=integration_type,
            escalation_policy_id=escalation_policy_id,
            alert_creation=alert_creation,
            alert_grouping_window_s=alert_grouping_window_s,
            alert_priority_rule=alert_priority_rule,
            auto_resolution_timeout_s=auto_resolution_timeout_s,
            active=active,
            teams=teams,
            support_hours_id=support_hours_id,
            templates=templates,
        )

    def _assign(self, **settings: Any) -> None:
        self.name: str = settings["name"]
        self.integration_type: str = settings["integration_type"]
        self.escalation_policy_id: int | None = settings["escalation_policy_id"]
        self.alert_creation: str = settings["alert_creation"]
        self.alert_grouping_window_s: int | None = settings["alert_grouping_window_s"]
        self.alert_priority_rule: str = settings["alert_priority_rule"]
        self.auto_resolution_timeout_s: int | None = settings["auto_resolution_timeout_s"]
        self.active: bool = settings["active"]
        self.teams: list[int] = list(settings["teams"])
        self.support_hours_id: int | None = settings["support_hours_id"]
        self.templates: dict[str, Any] = dict(settings["templates"] or {})

    @property
    def settings(self) -> dict[str, Any]:
        """The replaceable settings (everything but the key), as ``checked_settings`` gives."""
        return {
            "name": self.name,
            "integration_type": self.integration_type,
            "escalation_policy_id": self.escalation_policy_id,
            "alert_creation": self.alert_creation,
            "alert_grouping_window_s": self.alert_grouping_window_s,
            "alert_priority_rule": self.alert_priority_rule,
            "auto_resolution_timeout_s": self.auto_resolution_timeout_s,
            "active": self.active,
            "teams": list(self.teams),
            "support_hours_id": self.support_hours_id,
            "templates": dict(self.templates),
        }

    @event("Updated")
    def _updated(
        self,
        name: str,
        integration_type: str,
        escalation_policy_id: int | None,
        alert_creation: str,
        alert_grouping_window_s: int | None,
        alert_priority_rule: str,
        auto_resolution_timeout_s: int | None,
        active: bool,
        teams: list[int] = (),  # type: ignore[assignment]  # none in events before teams
        support_hours_id: int | None = None,  # none in events before support hours
        templates: dict[str, Any] | None = None,  # none in events before templates
    ) -> None:
        self._assign(
            name=name,
            integration_type=integration_type,
            escalation_policy_id=escalation_policy_id,
            alert_creation=alert_creation,
            alert_grouping_window_s=alert_grouping_window_s,
            alert_priority_rule=alert_priority_rule,
            auto_resolution_timeout_s=auto_resolution_timeout_s,
            active=active,
            teams=teams,
            support_hours_id=support_hours_id,
            templates=templates,
        )

    def regenerate_key(self) -> None:
        """A new integration key; the old one stops working (a leaked key is revoked so)."""
        self._require_live()
        self._key_regenerated(integration_key=generate_integration_key())

    @event("KeyRegenerated")
    def _key_regenerated(self, integration_key: str) -> None:
        self.integration_key = integration_key

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
