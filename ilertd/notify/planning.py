"""Which notifications a page request becomes: pure rules, so a batch of requests is
decided in memory after one read of the users and rules involved.

A page (kind ``ALERT``, or ``INCIDENT``: paged into an incident) follows the user's
``alerts`` rules for the alert's priority (an incident's: HIGH for SEV1 and SEV2), each
due after its delay; a user without such rules gets an e-mail at once to their address. A
status update (kind ``ALERT_ACCEPTED``...) follows the user's ``updates`` rules of that
kind, all at once. A deleted or muted user's request is skipped, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..domain.alert_notifications import PAGE_KINDS

PRIORITY_RULE = {"HIGH": "HIGH_PRIORITY", "LOW": "LOW_PRIORITY"}


def incident_priority(severity: int) -> str:
    """An incident page's urgency: HIGH for SEV1 and SEV2, LOW otherwise."""
    return "HIGH" if severity <= 2 else "LOW"


@dataclass(frozen=True)
class Planned:
    """One notification to schedule."""

    method: str
    target: str
    delay_min: int
    rule_id: int | None


@dataclass(frozen=True)
class Decision:
    """The notifications a request becomes, or why it is skipped."""

    plans: tuple[Planned, ...] = ()
    skipped: str | None = None


def decide(
    kind: str,
    priority: str,
    user: Mapping[str, Any] | None,
    rules: Sequence[Mapping[str, Any]],
    now: datetime,
    push_topic_prefix: str,
) -> Decision:
    """``user``: id, email, muted_until, deleted_at; ``rules``: the user's rules of the
    kind that applies (``alerts`` for a page, ``updates`` for a status update)."""
    if user is None or user["deleted_at"] is not None:
        return Decision(skipped="the user does not exist")
    muted = user["muted_until"]
    if muted is not None and muted > now:
        return Decision(skipped=f"the user is muted until {muted.isoformat()}")
    if kind not in PAGE_KINDS:
        plans = _plans(user, [r for r in rules if r["update_type"] == kind], push_topic_prefix)
        if not plans:
            return Decision(skipped=f"the user has no updates rule for {kind} any more")
        return Decision(plans)
    wanted = PRIORITY_RULE.get(priority, "HIGH_PRIORITY")
    matching = [r for r in rules if (r["priority_type"] or "HIGH_PRIORITY") == wanted]
    if not matching:
        if user["email"]:
            return Decision((Planned("EMAIL", user["email"], 0, None),))
        return Decision(skipped="the user has no way to be reached")
    plans = _plans(user, matching, push_topic_prefix)
    if not plans:
        return Decision(skipped="the user has no way to be reached")
    return Decision(plans)


def _plans(
    user: Mapping[str, Any], rules: Sequence[Mapping[str, Any]], push_topic_prefix: str
) -> tuple[Planned, ...]:
    plans = []
    for rule in rules:
        target = rule["target"]
        if rule["method"] == "PUSH":
            target = f"{push_topic_prefix}{user['id']}"
        if target:
            plans.append(Planned(rule["method"], target, rule["delay_min"] or 0, rule["rule_id"]))
    return tuple(plans)


def notification_id(page: str, rule_id: int | None) -> str:
    """A scheduled notification: its page request and the rule (0: the default e-mail)."""
    return f"{page}-{rule_id or 0}"
