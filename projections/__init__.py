"""Read models built from the event store, each owning its tables and tracking row."""

from .alert_sources import AlertSourcesProjection
from .alerts import AlertsProjection
from .base import Projection
from .escalation_policies import EscalationPoliciesProjection
from .outbound_config import OutboundConfigProjection
from .outbox import OutboxProjection
from .pager import PagerProjection
from .runner import ProjectionRunner
from .schedules import SchedulesProjection
from .timers import TimersProjection
from .users import UsersProjection


def all_projections() -> list[Projection]:
    return [
        UsersProjection(),
        AlertsProjection(),
        AlertSourcesProjection(),
        TimersProjection(),
        EscalationPoliciesProjection(),
        SchedulesProjection(),
        OutboundConfigProjection(),
        OutboxProjection(),
        PagerProjection(),
    ]


__all__ = ["Projection", "ProjectionRunner", "UsersProjection", "all_projections"]
