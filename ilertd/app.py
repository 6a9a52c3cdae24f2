"""Wiring: config -> database -> event store -> projections -> HTTP. The only place that
knows every part."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from pathlib import Path
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
from projections.users import user_by_id, user_by_key_hash

from .alert_commands import AlertCommands
from .bootstrap import ensure_admin
from .clock import Clock, SystemClock
from .config import Config, mask_url
from .domain.registry import build_registry
from .embedded import EmbeddedPostgres, start_embedded
from .engine.invariants import InvariantCheck
from .engine.leader import Leadership, engine_session_name
from .engine.timers import TimerEngine
from .http.problems import ProblemError
from .metrics import Metrics
from .notify.duties import DutyReminders
from .notify.notifier import Notifier
from .notify.settings import notify_settings
from .outbound.dispatcher import Dispatcher
from .outbound.settings import dispatch_settings
from .secrets_store import installation_secret

log = structlog.get_logger(__name__)

Role = Literal["all", "http", "engine"]

DATABASE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


async def resolve_database(config: Config) -> tuple[str, EmbeddedPostgres | None]:
    """The configured URL, or the embedded server's (started if needed)."""
    if config["database.url"]:
        return config["database.url"], None
    embedded = await asyncio.to_thread(start_embedded, Path(config.data_dir))
    return embedded.uri, embedded


CLOSE_STEP_TIMEOUT_S = 20.0


async def _bounded(step: str, closing: Awaitable[None]) -> None:
    """A shutdown step that hangs must not hang the whole shutdown: say which, go on."""
    try:
        await asyncio.wait_for(closing, CLOSE_STEP_TIMEOUT_S)
    except TimeoutError:
        log.error("shutdown step did not finish in time; going on", step=step)


class Services:
    """Everything a running daemon holds; HTTP handlers reach it through the app."""

    def __init__(
        self,
        config: Config,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        *,
        role: Role = "all",
    ) -> None:
        #: "all": read models and engine; "http": read models only, never leads (an engine
        #: process beside it does); "engine": only the engine and its own read models.
        self.role = role
        self.config = config
        self.metrics = metrics or Metrics()
        self.clock = clock or SystemClock()
        self.timers: TimerEngine | None = None
        self.leadership: Leadership | None = None
        self.invariants: InvariantCheck | None = None
        self.dispatcher: Dispatcher | None = None
        self.notifier: Notifier | None = None
        self.duty_reminders: DutyReminders | None = None
        self.link_secret = b""
        self.feed_secret = b""
        self.mapper = EventMapper(build_registry())
        self.store: EventStore | None = None
        self.repository: Repository | None = None
        self.alert_commands: AlertCommands | None = None
        self.runner: ProjectionRunner | None = None
        #: What HTTP requests wait on to read their writes (set once projections are set up).
        self.read_barrier: ReadBarrier | None = None
        #: API keys' users and users by id; alert sources by id and by integration key.
        self.users_cache: ReadModelCache[asyncpg.Record] | None = None
        self.sources_cache: ReadModelCache[asyncpg.Record] | None = None
        self.embedded: EmbeddedPostgres | None = None
        self.ready = False
        self.database_state = "connecting"

    def require_database(self) -> asyncpg.Pool:
        if self.store is None:
            raise ProblemError(503, "UNAVAILABLE", "ilertd is starting: the database is not ready")
        return self.store.pool

    async def user_for_key(self, key_hash: str) -> asyncpg.Record | None:
        """The live user holding the API key with this hash (cached while users last)."""
        pool = self.require_database()
        if self.users_cache is None:
            return await user_by_key_hash(pool, key_hash)
        return await self.users_cache.get(
            ("key", key_hash), lambda: user_by_key_hash(pool, key_hash)
        )

    async def live_user(self, user_id: int) -> asyncpg.Record | None:
        pool = self.require_database()
        if self.users_cache is None:
            return await user_by_id(pool, user_id)
        return await self.users_cache.get(("id", user_id), lambda: user_by_id(pool, user_id))

    async def source_with_id(self, source_id: int) -> asyncpg.Record | None:
        pool = self.require_database()
        if self.sources_cache is None:
            return await source_by_id(pool, source_id)
        return await self.sources_cache.get(
            ("id", source_id), lambda: source_by_id(pool, source_id)
        )

    def _read_model_changed(self, name: str) -> None:
        if name == "alert_sources" and self.sources_cache is not None:
            self.sources_cache.invalidate()

    async def source_with_key(self, key: str) -> asyncpg.Record | None:
        """The live alert source whose integration key this is (how events find theirs)."""
        pool = self.require_database()
        if self.sources_cache is None:
            return await source_by_key(pool, key)
        return await self.sources_cache.get(("key", key), lambda: source_by_key(pool, key))

    async def start(self) -> None:
        """Connect (retrying while unreachable), migrate, catch up, bootstrap; then ready."""
        await self._connect()
        assert self.store is not None
        self.feed_secret = await installation_secret(self.store.pool, "calendar-feeds")
        self.repository = Repository(self.store, self.mapper)
        self.alert_commands = AlertCommands(self.repository, self.store.pool, self.clock)
        projections = all_projections()
        if self.role == "engine":  # the HTTP process keeps the shared read models
            projections = [p for p in projections if p.leader_only]
        self.runner = ProjectionRunner(self.store, projections)
        await self.runner.prepare()
        # from here on requests wait (bounded) for the read models instead of reading stale
        self.read_barrier = ReadBarrier(self.store, self.runner)
        self.users_cache = ReadModelCache(self.runner, "users")
        self.sources_cache = ReadModelCache(self.runner, "alert_sources")
        self.store.notifier.read_model_listeners.append(self._read_model_changed)
        await self.runner.catch_up()
        self.timers = TimerEngine(
            self.store.pool,
            {
                "auto-resolve": self.alert_commands.auto_resolve,
                "escalate": self.alert_commands.escalate_due,
            },
            self.clock,
            self.metrics,
        )
        self.invariants = InvariantCheck(self.store.pool, self.clock)
        self.runner.projections["timers"].listener = self.timers.apply  # type: ignore[attr-defined]
        self.dispatcher = Dispatcher(
            self.store.pool,
            self.repository,
            self.alert_commands,
            self.runner,
            self.clock,
            dispatch_settings(self.config),
            self.metrics,
        )
        self.runner.projections["outbox"].listener = self.dispatcher.wake  # type: ignore[attr-defined]
        self.link_secret = await installation_secret(self.store.pool, "action-links")
        settings = notify_settings(self.config, self.link_secret)
        self.notifier = Notifier(
            self.store.pool,
            self.repository,
            self.runner,
            self.clock,
            settings,
        )
        self.duty_reminders = DutyReminders(self.store.pool, self.repository, self.clock, settings)
        self.runner.projections["pager"].listener = self.notifier.wake  # type: ignore[attr-defined]
        self.runner.start()
        if self.role != "http":
            self.leadership = Leadership(
                self.store.dsn,
                self._lead,
                self._follow,
                retry_s=self.config["engine.leader_retry_s"],
                application_name=self._session_name(),
            )
            self.leadership.start()
        if self.role == "engine":
            self.ready = True
            log.info("engine ready", positions=self.runner.positions)
            return
        created = await ensure_admin(
            self.repository, self.config["admin_api_key"], self.config["http.listen"]
        )
        if created:
            await self.runner.wait_for(await self.store.head_position())
        self.ready = True
        log.info("ready", positions=self.runner.positions)

    def _session_name(self) -> str:
        parent = os.environ.get("ILERTD_ENGINE_PARENT_PID")
        if self.role == "engine" and parent:
            return engine_session_name(int(parent))
        return "ilertd-engine"

    async def _lead(self) -> None:
        """This instance runs the engine now."""
        assert self.timers is not None and self.invariants is not None
        assert self.runner is not None
        self.metrics.leader.set(1)
        # the timers read model is the leader's own: bring it up to date, load it into the
        # scheduler, then follow it live so every change reaches this scheduler
        await self.runner.catch_up_one("timers")
        await self.timers.start()
        self.runner.follow_one("timers")
        self.invariants.start()
        assert self.dispatcher is not None
        await self.runner.catch_up_one("outbox")
        self.runner.follow_one("outbox")
        await self.dispatcher.start()
        assert self.notifier is not None
        await self.runner.catch_up_one("pager")
        self.runner.follow_one("pager")
        await self.notifier.start()
        assert self.duty_reminders is not None
        await self.duty_reminders.start()

    async def _follow(self) -> None:
        assert self.timers is not None and self.invariants is not None
        assert self.runner is not None
        self.metrics.leader.set(0)
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        await self.runner.stop_one("outbox")
        if self.notifier is not None:
            await self.notifier.stop()
        await self.runner.stop_one("pager")
        if self.duty_reminders is not None:
            await self.duty_reminders.stop()
        await self.invariants.stop()
        await self.runner.stop_one("timers")
        await self.timers.stop()

    async def _connect(self) -> None:
        retry = self.config["database.connect_retry_s"]
        attempt = 0
        while True:
            attempt += 1
            shown = mask_url(self.config["database.url"]) or "embedded"
            try:
                if self.embedded is None and not self.config["database.url"]:
                    shown = "embedded"
                    dsn, self.embedded = await resolve_database(self.config)
                else:
                    dsn = self.embedded.uri if self.embedded else self.config["database.url"]
                self.store = await asyncio.wait_for(
                    EventStore.open(
                        dsn,
                        pool_size=self.config["database.pool_size"],
                        observer=self.metrics.observe_batch,
                    ),
                    timeout=30,
                )
                self.database_state = "ok"
                log.info("database connected", database=mask_url(dsn), attempt=attempt)
                return
            except (*DATABASE_ERRORS, RuntimeError) as exc:
                self.database_state = f"unreachable: {exc.__class__.__name__}"
                log.warning(
                    "database unreachable; retrying",
                    database=shown,
                    error=str(exc) or exc.__class__.__name__,
                    attempt=attempt,
                    retry_in_s=retry,
                )
                await asyncio.sleep(retry)

    async def close(self) -> None:
        """Stop projections, finish in-flight appends, close the pool, stop embedded PG."""
        self.ready = False
        if self.leadership is not None:
            await _bounded("engine", self.leadership.stop())
        if self.runner is not None:
            await _bounded("projections", self.runner.stop())
        if self.store is not None:
            await _bounded("event store", self.store.close())
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
