"""Which webhook ``eventType`` (API.md, "Outbound") an alert or incident event becomes."""

from __future__ import annotations

from typing import Any

_PLAIN = {
    "alert-created": "alert-created",
    "alert-accepted": "alert-acknowledged",
    "alert-rerouted": "alert-assigned",
    # ilert has one type for escalations: the engine's and a person's "escalate now"
    "alert-escalated": "alert-auto-escalated",
    "alert-priority-raised": "alert-raised",
    "alert-commented": "alert-comment-added",
    "alert-escalation-ended": "alert-escalation-ended",
    "alert-responder-added": "alert-responder-added",
    "alert-responder-removed": "alert-responder-removed",
    "alert-channel-attached": "alert-channel-attached",
    "alert-channel-detached": "alert-channel-detached",
}
#: Incident events (stored type -> eventType); a reopen is a status change (RESOLVED to
#: INVESTIGATING), a resolve has its own type.
INCIDENT_EVENTS = {
    "incident-declared": "incident-created",
    "incident-status-changed": "incident-status-changed",
    "incident-reopened": "incident-status-changed",
    "incident-severity-changed": "incident-severity-changed",
    "incident-resolved": "incident-resolved",
    "incident-status-update-posted": "incident-status-update-posted",
}
_PLAIN.update(INCIDENT_EVENTS)
#: Alert and incident events that can trigger an action (dedup hits,
#: ``alert-event-received``, cannot).
TRIGGERING_EVENTS = frozenset({*_PLAIN, "alert-resolved"})


def webhook_event_type(stored_type: str, data: dict[str, Any]) -> str | None:
    """The eventType of a stored alert event; None for events no action reacts to."""
    if stored_type == "alert-escalated" and not data.get("level") and not data.get("round"):
        return None  # paging level 0 as the alert opens is part of its creation
    if stored_type == "alert-resolved":
        return "alert-auto-resolved" if data.get("reason") == "AUTO_RESOLVE" else "alert-resolved"
    return _PLAIN.get(stored_type)
