"""Every aggregate's events under their stored type names (``user-registered``, ...)."""

from __future__ import annotations

from eventstore.mapping import EventRegistry

from .action_delivery import ActionDelivery
from .alert import Alert
from .alert_action import AlertAction
from .alert_notifications import AlertNotifications
from .alert_source import AlertSource
from .connector import Connector
from .duty_reminders import ShiftReminders
from .escalation_policy import EscalationPolicy
from .heartbeat_monitor import HeartbeatMonitor
from .incident import Incident, IncidentNumbers
from .maintenance_window import MaintenanceSuppression, MaintenanceWindow
from .schedule import Schedule
from .service import Service
from .status_page import StatusPage
from .status_subscription import StatusPageSubscription
from .support_hours import SupportHours
from .team import Team
from .user import User


def build_registry() -> EventRegistry:
    registry = EventRegistry()
    registry.register(User)
    registry.register(Alert)
    registry.register(AlertSource)
    registry.register(EscalationPolicy)
    registry.register(Schedule)
    registry.register(Connector)
    registry.register(AlertAction)
    registry.register(ActionDelivery)
    registry.register(AlertNotifications)
    registry.register(ShiftReminders)
    registry.register(Team)
    registry.register(StatusPage)
    registry.register(Service)
    registry.register(Incident)
    registry.register(IncidentNumbers)
    registry.register(MaintenanceWindow)
    registry.register(MaintenanceSuppression)
    registry.register(StatusPageSubscription)
    registry.register(SupportHours)
    registry.register(HeartbeatMonitor)
    return registry
