"""Read models built from the event store, each owning its tables and tracking row."""

from .alert_sources import AlertSourcesProjection
from .alerts import AlertsProjection
from .base import Projection
from .escalation_policies import EscalationPoliciesProjection
from .heartbeat_monitors import HeartbeatMonitorsProjection
from .incident_people import IncidentPeopleProjection
from .incidents import IncidentsProjection
from .maintenance_windows import Listener as MaintenanceListener
from .maintenance_windows import (
    MaintenanceSuppressionsProjection,
    MaintenanceWindowsProjection,
)
from .outbound_config import OutboundConfigProjection
from .outbox import Listener, OutboxProjection
from .pager import PagerProjection
from .runner import ProjectionRunner
from .schedules import SchedulesProjection
from .services import ServicesProjection
from .status_mail import StatusMailProjection
from .status_pages import StatusPagesProjection
from .status_subscribers import StatusSubscribersProjection
from .support_hours import Listener as SupportHoursListener
from .support_hours import SupportHoursProjection
from .teams import TeamsProjection
from .timers import Listener as TimersListener
from .timers import TimersProjection
from .users import UsersProjection


def all_projections(
    *,
    timers: TimersListener | None = None,
    outbox: Listener | None = None,
    pager: Listener | None = None,
    maintenance: MaintenanceListener | None = None,
    status_mail: Listener | None = None,
    support_hours: SupportHoursListener | None = None,
) -> list[Projection]:
    """Every read model, the leader-only ones told of their changes by the listeners given
    (the timer engine, the dispatcher, the notifier); none where no engine runs. The
    maintenance windows tell the ingest path's cache (``maintenance.gate``); the status page
    mail outbox tells the subscriber mailer; the support hours tell the priority rule's cache
    (``alerts.support_hours``)."""
    return [
        UsersProjection(),
        AlertsProjection(),
        AlertSourcesProjection(),
        TimersProjection(timers),
        EscalationPoliciesProjection(),
        SchedulesProjection(),
        TeamsProjection(),
        OutboundConfigProjection(),
        StatusPagesProjection(),
        ServicesProjection(),
        IncidentsProjection(),
        IncidentPeopleProjection(),
        OutboxProjection(outbox),
        PagerProjection(pager),
        MaintenanceWindowsProjection(maintenance),
        MaintenanceSuppressionsProjection(),
        StatusSubscribersProjection(),
        StatusMailProjection(status_mail),
        SupportHoursProjection(support_hours),
        HeartbeatMonitorsProjection(),
    ]


__all__ = ["Projection", "ProjectionRunner", "UsersProjection", "all_projections"]
