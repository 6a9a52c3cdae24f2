"""The kinds of entry on an alert's timeline, in ilert's names (``logEntryType``).

One list: the alerts projection writes these, the API document lists them. ilert's own
names where ilert has the kind; the notification and action kinds follow its pattern.
"""

from __future__ import annotations

from enum import StrEnum


class LogEntryType(StrEnum):
    ALERT_RECEIVED = "AlertReceivedLogEntry"
    ALERT_CREATED_BY_USER = "AlertCreatedByUserLogEntry"
    ALERT_ACCEPTED = "AlertAcceptedLogEntry"
    ALERT_RESOLVED = "AlertResolvedLogEntry"
    ALERT_COMMENT = "AlertCommentLogEntry"
    ALERT_ASSIGNED_BY_USER = "AlertAssignedByUserLogEntry"
    ALERT_RESPONDER_ADDED = "AlertResponderAddedLogEntry"
    ALERT_RESPONDER_REMOVED = "AlertResponderRemovedLogEntry"
    ALERT_PRIORITY_RAISED = "AlertPriorityRaisedLogEntry"
    ALERT_ESCALATED = "AlertEscalatedLogEntry"
    ALERT_ESCALATION_ENDED = "AlertEscalationEndedLogEntry"
    ALERT_CHANNEL_ATTACHED = "AlertChannelAttachedLogEntry"
    ALERT_CHANNEL_DETACHED = "AlertChannelDetachedLogEntry"
    USER_RESPONSE = "UserResponseLogEntry"
    ALERT_INCIDENT_LINKED = "AlertIncidentLinkedLogEntry"
    ALERT_INCIDENT_UNLINKED = "AlertIncidentUnlinkedLogEntry"
    ALERT_ACTION_SUCCESS = "AlertActionSuccessLogEntry"
    ALERT_ACTION_FAIL = "AlertActionFailLogEntry"
    NOTIFICATION_SCHEDULED = "NotificationScheduledLogEntry"
    NOTIFICATION_SKIPPED = "NotificationSkippedLogEntry"
    NOTIFICATION_SENT = "NotificationSentLogEntry"
    NOTIFICATION_FAILED = "NotificationFailedLogEntry"
