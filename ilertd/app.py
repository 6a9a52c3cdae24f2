"""Wiring: config -> database -> runtime (event store, projections, engine) -> HTTP.

``Services`` holds what exists before the database (config, metrics, clock, the embedded
server) and, once the database is up, the ``Runtime`` built in one go (ilertd.runtime)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import structlog

from eventstore import EventStore

from .bootstrap import KEY_FILE_NAME, ensure_admin
from .clock import Clock, SystemClock
from .config import Config, mask_url
from .embedded import EmbeddedPostgres, start_embedded
from .engine.leader import engine_session_name
from .metrics import Metrics
from .runtime import Role, Runtime, bounded, build_runtime
from .sdnotify import sd_notify

log = structlog.get_logger(__name__)

#: How long one connection attempt (embedded start or pool open) may take.
CONNECT_TIMEOUT_S = 30

DATABASE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


async def resolve_database(config: Config) -> tuple[str, EmbeddedPostgres | None]:
    """The configured URL, or the embedded server's (started if needed)."""
    if config["database.url"]:
        return config["database.url"], None
    embedded = await asyncio.to_thread(start_embedded, Path(config.data_dir))
    return embedded.uri, embedded


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
        self.role = role
        self.config = config
        self.metrics = metrics or Metrics()
        self.clock = clock or SystemClock()
        #: None with a configured database URL
        self.embedded: EmbeddedPostgres | None = None
        self.database_state = "connecting"
        #: Every part that needs the database: None until it is up (``start``).
        self.runtime: Runtime | None = None
        #: Caught up and bootstrapped: the readiness middleware lets requests in.
        self.ready = False

    async def start(self) -> Runtime:
        """Connect (retrying while unreachable), build the runtime, catch up, bootstrap;
        then ready."""
        store = await self._connect()
        try:
            runtime = await build_runtime(
                store,
                self.config,
                self.metrics,
                self.clock,
                self.role,
                session_name=self._session_name(),
            )
        except BaseException:  # cancelled (SIGTERM) or failed: nobody else closes the store
            await bounded("event store", store.close())
            raise
        self.runtime = runtime
        await runtime.start()
        if self.role == "engine":
            self.ready = True
            log.info("engine ready", positions=runtime.runner.positions)
            return runtime
        created = await ensure_admin(
            runtime.repository,
            self.config["admin_api_key"],
            self.config["http.listen"],
            self.config.data_dir / KEY_FILE_NAME,
        )
        if created:
            await runtime.runner.wait_for(await runtime.store.head_position())
        self.ready = True
        log.info("ready", positions=runtime.runner.positions)
        return runtime

    def _session_name(self) -> str:
        parent = os.environ.get("ILERTD_ENGINE_PARENT_PID")
        if self.role == "engine" and parent:
            return engine_session_name(int(parent))
        return "ilertd-engine"

    async def _connect(self) -> EventStore:
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
                store = await asyncio.wait_for(
                    EventStore.open(
                        dsn,
                        pool_size=self.config["database.pool_size"],
                        # the engine's workers wait their turn; requests get a 503
                        acquire_timeout_s=None
                        if self.role == "engine"
                        else self.config["database.acquire_timeout_s"],
                        statement_timeout_s=self.config["database.statement_timeout_s"],
                        observer=self.metrics.observe_batch,
                    ),
                    timeout=CONNECT_TIMEOUT_S,
                )
                self.database_state = "ok"
                sd_notify("STATUS=catching up")
                log.info("database connected", database=mask_url(dsn), attempt=attempt)
                return store
            except (*DATABASE_ERRORS, RuntimeError) as exc:
                self.database_state = f"unreachable: {exc.__class__.__name__}"
                log.warning(
                    "database unreachable; retrying",
                    database=shown,
                    error=str(exc) or exc.__class__.__name__,
                    attempt=attempt,
                    retry_in_s=retry,
                )
                # systemd would kill a start that waits longer than TimeoutStartSec: say
                # what ilertd waits for and push the timeout past the next attempt
                extend_usec = int((retry + CONNECT_TIMEOUT_S + 30) * 1_000_000)
                sd_notify(
                    f"STATUS=waiting for database ({self.database_state}, attempt {attempt})\n"
                    f"EXTEND_TIMEOUT_USEC={extend_usec}"
                )
                await asyncio.sleep(retry)

    async def close(self) -> None:
        """Stop the runtime (engine, projections, appends, pool), then embedded PG."""
        self.ready = False
        if self.runtime is not None:
            await self.runtime.close()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
