"""Every part of the daemon that needs the database, built in one go once it is up.

``build_runtime`` gives each part what it needs at construction, so nothing is filled in
later and nothing is half built: an HTTP request finds either no runtime (the readiness
middleware answers 503) or a whole one. With ``app.Services`` (what exists before the
database) this is the only place that knows every part.

Construction order: secrets (the sealing keys checked against every sealed value stored,
so a missing key stops the start naming it), repository, alert commands, then the timer
engine (it needs the commands, not the runner), then the projections with their listeners,
the runner, caches and read barrier, then the leader's senders. The one cycle, senders read their
projection's position from the runner while the projection in it wakes them, is broken by
a ``Wakeup`` made before both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Literal

import asyncpg
import structlog

from eventstore import EventStore
from eventstore.mapping import EventMapper
from eventstore.repository import Repository
from projections import ProjectionRunner, all_projections
from projections.alert_sources import source_by_id, source_by_key
from projections.cache import ReadModelCache
from projections.freshness import ReadBarrier
from projections.maintenance_windows import NAME as MAINTENANCE_WINDOWS
from projections.support_hours import NAME as SUPPORT_HOURS
from projections.users import user_by_id, user_by_key_hash

from .alerts.service import AlertCommands
from .alerts.support_hours import SupportHoursBook
from .clock import Clock
from .config import Config
from .domain.registry import build_registry
from .domain.timers import TimerKind
from .engine.invariants import InvariantCheck
from .engine.leader import Leadership
from .engine.timers import TimerEngine
from .engine.worker import Wakeup
from .inbound.heartbeats import HeartbeatCommands
from .incidents.commands import IncidentCommands
from .maintenance.gate import MaintenanceGate
from .metrics import Metrics
from .notify.duties import DutyReminders
from .notify.notifier import Notifier
from .notify.settings import notify_settings
from .outbound.dispatcher import Dispatcher
from .outbound.settings import dispatch_settings
from .sealing import Sealer, load_sealer, verify
from .secrets_store import installation_secret
from .status_site.mailer import SubscriberMailer, mailer_settings

log = structlog.get_logger(__name__)

#: "all": read models and engine; "http": read models only, never leads (an engine process
#: beside it does); "engine": only the engine and its own read models.
Role = Literal["all", "http", "engine"]

CLOSE_STEP_TIMEOUT_S = 20.0


async def bounded(step: str, closing: Awaitable[None]) -> None:
    """A shutdown step that hangs must not hang the whole shutdown: say which, go on."""
    try:
        await asyncio.wait_for(closing, CLOSE_STEP_TIMEOUT_S)
    except TimeoutError:
        log.error("shutdown step did not finish in time; going on", step=step)


@dataclass(frozen=True)
class Engine:
    """What the leader runs: started on gaining the leader lock, stopped on losing it."""

    runner: ProjectionRunner
    metrics: Metrics
    timers: TimerEngine
    invariants: InvariantCheck
    dispatcher: Dispatcher
    notifier: Notifier
    duty_reminders: DutyReminders
    #: Its sweep finishes resolve cascades a dead process left (incidents.commands).
    incidents: IncidentCommands
    #: Status page subscribers' mails (confirmations, status updates, maintenance).
    subscriber_mail: SubscriberMailer

    async def lead(self) -> None:
        self.metrics.leader.set(1)
        # the leader-only read models are the leader's own: bring each up to date, start
        # what reads it, and follow it live so every change reaches that reader
        await self.runner.catch_up_one("timers")
        await self.timers.start()
        self.runner.follow_one("timers")
        self.invariants.start()
        await self.runner.catch_up_one("outbox")
        self.runner.follow_one("outbox")
        await self.dispatcher.start()
        await self.runner.catch_up_one("pager")
        self.runner.follow_one("pager")
        await self.notifier.start()
        await self.duty_reminders.start()
        await self.runner.catch_up_one("status_mail")
        self.runner.follow_one("status_mail")
        await self.subscriber_mail.start()
        try:
            await self.incidents.finish_cascades()
        except Exception:  # the next leadership tries again
            log.exception("finishing incident resolve cascades failed")

    async def follow(self) -> None:
        self.metrics.leader.set(0)
        await self.dispatcher.stop()
        await self.runner.stop_one("outbox")
        await self.notifier.stop()
        await self.runner.stop_one("pager")
        await self.duty_reminders.stop()
        await self.subscriber_mail.stop()
        await self.runner.stop_one("status_mail")
        await self.invariants.stop()
        await self.runner.stop_one("timers")
        await self.timers.stop()


@dataclass(frozen=True)
class Runtime:
    role: Role
    store: EventStore
    repository: Repository
    alert_commands: AlertCommands
    incident_commands: IncidentCommands
    #: Heartbeat pings, and the overdue checks the engine's timers make.
    heartbeats: HeartbeatCommands
    runner: ProjectionRunner
    #: What HTTP requests wait on to read their writes.
    read_barrier: ReadBarrier
    #: API keys' users and users by id; alert sources by id and by integration key.
    users_cache: ReadModelCache[asyncpg.Record]
    sources_cache: ReadModelCache[asyncpg.Record]
    engine: Engine
    #: Built for every role; contended for only where the engine may run (not "http").
    leadership: Leadership
    #: Signs action links in notifications, and calendar feed tokens.
    link_secret: bytes
    feed_secret: bytes
    #: Seals connector and alert action secrets in events; unseals them from read models.
    sealer: Sealer

    @property
    def pool(self) -> asyncpg.Pool:
        return self.store.pool

    async def start(self) -> None:
        """Catch up (the API is not ready before), follow live, contend for leadership."""
        await self.runner.catch_up()
        self.runner.start()
        if self.role != "http":
            self.leadership.start()

    async def close(self) -> None:
        """Step down, stop the projections, finish in-flight appends and close the pool."""
        await bounded("engine", self.leadership.stop())
        await bounded("projections", self.runner.stop())
        await bounded("event store", self.store.close())

    async def user_for_key(self, key_hash: str) -> asyncpg.Record | None:
        """The live user holding the API key with this hash (cached while users last)."""
        return await self.users_cache.get(
            ("key", key_hash), lambda: user_by_key_hash(self.pool, key_hash)
        )

    async def live_user(self, user_id: int) -> asyncpg.Record | None:
        return await self.users_cache.get(("id", user_id), lambda: user_by_id(self.pool, user_id))

    async def source_with_id(self, source_id: int) -> asyncpg.Record | None:
        return await self.sources_cache.get(
            ("id", source_id), lambda: source_by_id(self.pool, source_id)
        )

    async def source_with_key(self, key: str) -> asyncpg.Record | None:
        """The live alert source whose integration key this is (how events find theirs)."""
        return await self.sources_cache.get(("key", key), lambda: source_by_key(self.pool, key))


async def build_runtime(
    store: EventStore,
    config: Config,
    metrics: Metrics,
    clock: Clock,
    role: Role,
    *,
    session_name: str,
) -> Runtime:
    """Every part, on ``store`` (open); projections prepared but not caught up yet
    (``Runtime.start``), so /readyz can show the catching up."""
    pool = store.pool
    feed_secret = await installation_secret(pool, "calendar-feeds")
    link_secret = await installation_secret(pool, "action-links")
    sealer = load_sealer(config)
    await verify(sealer, pool)
    log.info("sealing keys loaded", source=sealer.source, keys=list(sealer.fingerprints))
    repository = Repository(store, EventMapper(build_registry(), sealer))
    # made before the projections that tell it of window changes (and the commands); an
    # engine process keeps no windows' read model to be told by, so it caches nothing
    maintenance = MaintenanceGate(repository, pool, clock, cache=role != "engine")
    support_hours = SupportHoursBook(pool, cache=role != "engine")  # as the windows
    commands = AlertCommands(repository, pool, clock, maintenance, support_hours)
    incidents = IncidentCommands(repository, pool, commands)
    heartbeats = HeartbeatCommands(
        repository, pool, clock, commands, lambda source_id: source_by_id(pool, source_id)
    )
    timers = TimerEngine(
        pool,
        {
            TimerKind.AUTO_RESOLVE: commands.auto_resolve,
            TimerKind.ESCALATE: commands.escalate_due,
            TimerKind.HEARTBEAT: heartbeats.check_due,
        },
        clock,
        metrics,
    )
    outbox_changed, pager_changed, mail_changed = Wakeup(), Wakeup(), Wakeup()
    projections = all_projections(
        timers=timers.apply,
        outbox=outbox_changed,
        pager=pager_changed,
        maintenance=maintenance.changed,
        status_mail=mail_changed,
        support_hours=support_hours.changed,
    )
    if role == "engine":  # the HTTP process keeps the shared read models
        projections = [p for p in projections if p.leader_only]
    runner = ProjectionRunner(store, projections)
    await runner.prepare()
    sources_cache: ReadModelCache[asyncpg.Record] = ReadModelCache(runner, "alert_sources")

    def read_model_changed(name: str) -> None:  # another instance changed a source
        if name == "alert_sources":
            sources_cache.invalidate()
        elif name == MAINTENANCE_WINDOWS:
            maintenance.invalidate()
        elif name == SUPPORT_HOURS:
            support_hours.invalidate()

    store.notifier.read_model_listeners.append(read_model_changed)
    settings = notify_settings(config, link_secret)
    engine = Engine(
        runner,
        metrics,
        timers,
        InvariantCheck(pool, clock),
        Dispatcher(
            pool,
            repository,
            commands,
            runner,
            clock,
            dispatch_settings(config),
            metrics,
            woken_by=outbox_changed,
            sealer=sealer,
        ),
        Notifier(pool, repository, runner, clock, settings, woken_by=pager_changed),
        DutyReminders(pool, repository, clock, settings),
        incidents,
        subscriber_mail=SubscriberMailer(
            pool,
            repository,
            runner,
            clock,
            mailer_settings(config, settings),
            woken_by=mail_changed,
        ),
    )
    return Runtime(
        role=role,
        store=store,
        repository=repository,
        alert_commands=commands,
        incident_commands=incidents,
        heartbeats=heartbeats,
        runner=runner,
        read_barrier=ReadBarrier(store, runner),
        users_cache=ReadModelCache(runner, "users"),
        sources_cache=sources_cache,
        engine=engine,
        leadership=Leadership(
            store.dsn,
            engine.lead,
            engine.follow,
            retry_s=config["engine.leader_retry_s"],
            application_name=session_name,
        ),
        link_secret=link_secret,
        feed_secret=feed_secret,
        sealer=sealer,
    )
