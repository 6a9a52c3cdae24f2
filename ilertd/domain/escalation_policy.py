"""Escalation policies: who is paged, level by level, while an alert stays unaccepted.

Commands check every rule, then record a past-tense event. Errors name the field as the
API spells it (``escalationRules[1].escalationTimeout``), because the HTTP layer hands them
straight back to the caller.

A rule (level) is ``{"escalation_timeout_s": int, "users": [int], "schedules": [int]}``:
seconds before the next level is paged, and the API ids of the users and schedules paged on
this level. Timeouts are kept in seconds (ilert speaks whole minutes; ilertd also accepts
ISO-8601 durations such as ``PT30S``). Whether referenced users exist, and whether a routing
key is free, are facts of the read model: the HTTP layer checks them before appending.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import DomainError, InvalidValueError
from .lifecycle import Replaceable

MAX_NAME = 255
MAX_ROUTING_KEY = 255
MAX_RULES = 50
#: Users, schedules (per rule) and teams (per policy).
MAX_TARGETS = 100
#: A level's timeout: a second up to a year.
MAX_TIMEOUT_S = 365 * 86_400
#: The delayed start of level 0: up to a year, in minutes.
MAX_DELAY_MIN = 365 * 1_440
MIN_FREQUENCY, MAX_FREQUENCY = 1, 9
MAX_ID = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class NoSuchLevelError(DomainError):
    """The policy has no rule at that level (the HTTP layer answers 404)."""


def _text(field: str, value: Any, maximum: int) -> str:
    name = value.strip()
    if len(name) > maximum:
        raise InvalidValueError(field, f"must be at most {maximum} characters")
    if _CONTROL.search(name):  # NUL cannot even be stored (PostgreSQL text and jsonb)
        raise InvalidValueError(field, "must not contain control characters")
    return name


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError("name", "is required and must be a non-empty string")
    return _text("name", value, MAX_NAME)


def _routing_key(value: Any) -> str | None:
    """Optional; a blank key counts as none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValueError("routingKey", "must be a string or null")
    return _text("routingKey", value, MAX_ROUTING_KEY) or None


def _int(field: str, value: Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidValueError(field, f"must be {what}")
    return value


def _ids(field: str, value: Any) -> list[int]:
    """Positive int64 ids, duplicates dropped (first occurrence kept)."""
    if not isinstance(value, list | tuple):
        raise InvalidValueError(field, "must be a list of ids")
    if len(value) > MAX_TARGETS:
        raise InvalidValueError(field, f"must hold at most {MAX_TARGETS} entries")
    ids: list[int] = []
    for index, item in enumerate(value):
        ident = _int(f"{field}[{index}]", item, 1, MAX_ID, "a positive integer id")
        if ident not in ids:
            ids.append(ident)
    return ids


def checked_rule(rule: Any, prefix: str = "") -> dict[str, Any]:
    """One rule validated and normalised. ``prefix`` goes before each field name in errors
    (``escalationRules[1].``; empty for a rule sent on its own to ``/levels/{level}``)."""
    if not isinstance(rule, dict):
        raise InvalidValueError(prefix.rstrip(".") or "body", "must be an escalation rule object")
    timeout = _int(
        f"{prefix}escalationTimeout",
        rule.get("escalation_timeout_s"),
        1,
        MAX_TIMEOUT_S,
        f"a timeout between 1 second and {MAX_TIMEOUT_S // 86_400} days",
    )
    users = _ids(f"{prefix}users", rule.get("users", []))
    schedules = _ids(f"{prefix}schedules", rule.get("schedules", []))
    if not users and not schedules:
        raise InvalidValueError(
            prefix.rstrip(".") or "users", "a rule needs at least one user or schedule"
        )
    return {"escalation_timeout_s": timeout, "users": users, "schedules": schedules}


def checked_settings(
    *,
    name: Any,
    escalation_rules: Any,
    repeating: Any = False,
    frequency: Any = 1,
    delay_min: Any = 0,
    routing_key: Any = None,
    teams: Any = (),
) -> dict[str, Any]:
    """Every setting validated and normalised, or InvalidValueError naming the field."""
    name = _name(name)
    if not isinstance(escalation_rules, list | tuple) or not escalation_rules:
        raise InvalidValueError("escalationRules", "must be a non-empty list of rules")
    if len(escalation_rules) > MAX_RULES:
        raise InvalidValueError("escalationRules", f"must hold at most {MAX_RULES} rules")
    rules = [
        checked_rule(rule, f"escalationRules[{index}].")
        for index, rule in enumerate(escalation_rules)
    ]
    if not isinstance(repeating, bool):
        raise InvalidValueError("repeating", "must be true or false")
    return {
        "name": name,
        "escalation_rules": rules,
        "repeating": repeating,
        "frequency": _int(
            "frequency",
            frequency,
            MIN_FREQUENCY,
            MAX_FREQUENCY,
            f"an integer from {MIN_FREQUENCY} to {MAX_FREQUENCY}",
        ),
        "delay_min": _int(
            "delayMin", delay_min, 0, MAX_DELAY_MIN, f"an integer from 0 to {MAX_DELAY_MIN}"
        ),
        "routing_key": _routing_key(routing_key),
        # sorted: a PUT that only reorders them changes nothing (answers sort them too)
        "teams": sorted(_ids("teams", list(teams) if isinstance(teams, tuple) else teams)),
    }


class EscalationPolicy(Replaceable, Aggregate):
    """An escalation policy. Deleted policies stay in the stream (history) but refuse
    commands; ``frequency`` is kept whatever ``repeating`` says, and only counts when it
    is true."""

    label = "escalation policy"
    check_settings = staticmethod(checked_settings)

    @classmethod
    def create(cls, *, id: UUID | None = None, **settings: Any) -> EscalationPolicy:  # noqa: A002
        """A new policy; settings as ``checked_settings``."""
        return cls(**checked_settings(**settings), id=id)

    @event("Created")
    def __init__(
        self,
        name: str,
        escalation_rules: list[dict[str, Any]],
        repeating: bool,
        frequency: int,
        delay_min: int,
        routing_key: str | None,
        teams: list[int],
        id: UUID | None = None,  # noqa: A002 - eventsourcing's hook for a chosen stream id
    ) -> None:
        self.deleted = False
        self._assign(
            name=name,
            escalation_rules=escalation_rules,
            repeating=repeating,
            frequency=frequency,
            delay_min=delay_min,
            routing_key=routing_key,
            teams=teams,
        )

    def _assign(self, **settings: Any) -> None:
        self.name: str = settings["name"]
        self.escalation_rules: list[dict[str, Any]] = [
            dict(rule) for rule in settings["escalation_rules"]
        ]
        self.repeating: bool = settings["repeating"]
        self.frequency: int = settings["frequency"]
        self.delay_min: int = settings["delay_min"]
        self.routing_key: str | None = settings["routing_key"]
        self.teams: list[int] = list(settings["teams"])

    @property
    def settings(self) -> dict[str, Any]:
        """Everything a PUT replaces, as ``checked_settings`` gives it."""
        return {
            "name": self.name,
            "escalation_rules": [dict(rule) for rule in self.escalation_rules],
            "repeating": self.repeating,
            "frequency": self.frequency,
            "delay_min": self.delay_min,
            "routing_key": self.routing_key,
            "teams": list(self.teams),
        }

    @event("Updated")
    def _updated(
        self,
        name: str,
        escalation_rules: list[dict[str, Any]],
        repeating: bool,
        frequency: int,
        delay_min: int,
        routing_key: str | None,
        teams: list[int],
    ) -> None:
        self._assign(
            name=name,
            escalation_rules=escalation_rules,
            repeating=repeating,
            frequency=frequency,
            delay_min=delay_min,
            routing_key=routing_key,
            teams=teams,
        )

    def replace_rule(self, level: int, rule: Any) -> None:
        """Replace the rule at zero-based ``level``; records nothing when it is unchanged.
        Field names in errors are the rule's own (``escalationTimeout``, ``users[0]``)."""
        self._require_live()
        if isinstance(level, bool) or not isinstance(level, int):
            raise InvalidValueError("level", "must be an integer")
        if not 0 <= level < len(self.escalation_rules):
            raise NoSuchLevelError(
                f"escalation policy {self.id} has no level {level} "
                f"(levels 0 to {len(self.escalation_rules) - 1})"
            )
        checked = checked_rule(rule)
        if checked != self.escalation_rules[level]:
            self._rule_replaced(level=level, rule=checked)

    @event("RuleReplaced")
    def _rule_replaced(self, level: int, rule: dict[str, Any]) -> None:
        self.escalation_rules[level] = dict(rule)

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
