"""``AlertCommands``: the alert feature as the one object ilertd is wired with.

app.py builds it once the database is up and hands its methods to the timer engine, the
HTTP handlers and the dispatcher. The parts share one clock and one set of keyed locks
(streams and (source, key) pairs), as a single class did before; methods are bound here
rather than wrapped, so the Events API's hot path pays no extra call.
"""

from __future__ import annotations

import asyncpg

from eventstore.repository import Repository

from ..clock import Clock, SystemClock
from ..keyed_locks import KeyedLocks
from ..maintenance.gate import MaintenanceGate
from .commands import Commands
from .creation import Creation
from .escalation import Escalation
from .history import History
from .ingest import Ingest
from .policies import Policies
from .streams import stream_of
from .support_hours import SupportHoursBook


class AlertCommands:
    def __init__(
        self,
        repository: Repository,
        pool: asyncpg.Pool,
        clock: Clock | None = None,
        gate: MaintenanceGate | None = None,
        support_hours: SupportHoursBook | None = None,
    ) -> None:
        self.repository = repository
        self.pool = pool
        self.clock = clock or SystemClock()
        locks = KeyedLocks()
        #: which sources are in maintenance; without one given (a test's own commands),
        #: one that reads the windows on every new alert
        self.maintenance = gate or MaintenanceGate(repository, pool, self.clock, cache=False)
        #: the support hours priority rules ask; without one given, read on every ask
        self.support_hours = support_hours or SupportHoursBook(pool, cache=False)
        self.policies = Policies(pool, self.clock)
        self.escalation = Escalation(repository, self.policies, self.clock, locks)
        self.creation = Creation(
            repository, self.policies, self.clock, self.maintenance, self.support_hours
        )
        self.history = History(repository, pool)
        self.commands = Commands(repository, pool, self.clock, locks, self.escalation)
        self.ingest = Ingest(
            repository, pool, self.clock, self.creation.create, locks, self.maintenance
        )

        self.policy = self.policies.policy
        self.escalate = self.escalation.escalate
        self.escalate_due = self.escalation.escalate_due
        self.create = self.creation.create
        self.snapshot = self.history.snapshot
        self.snapshot_of = self.history.snapshot_of
        self.act = self.commands.act
        self.respond = self.commands.respond
        self.auto_resolve = self.commands.auto_resolve
        self.ingest_alert = self.ingest.ingest_alert
        self.ingest_action = self.ingest.ingest_action

    async def stream_of(self, alert_id: int) -> object:
        """The stream of the alert with this id (AlertNotFoundError if there is none)."""
        return await stream_of(self.pool, alert_id)
