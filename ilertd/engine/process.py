"""The engine in a process of its own, so HTTP and the engine each have a core.

``ilertd serve`` (with ``engine.process = separate``) serves HTTP and keeps the shared read
models up to date; it starts ``ilertd engine`` as a child on the same database, which
competes for the engine's leadership like any instance and, as leader, runs the timers,
the pager and notifier, the outbox and dispatcher, and their own read models. They share
nothing but the database: the event store serialises both processes' appends, and reads of
the engine's read models go to its tables (the read barrier follows their tracked
positions). In a storm the HTTP process accepts alerts while the engine pages them,
instead of one event loop doing both by turns.

The child dies with its parent (``PR_SET_PDEATHSIG`` on Linux, and a check of the parent
pid every second elsewhere), and the parent starts it again if it exits on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys

import asyncpg
import structlog

from .. import event_loop
from ..config import Config
from ..metrics import Metrics
from .leader import HELD_BY_SQL, LEADER_LOCK_KEY, engine_session_name

log = structlog.get_logger(__name__)

RESTART_PAUSE_S = 1.0
STOP_TIMEOUT_S = 20.0
LEADER_WATCH_S = 0.5
PR_SET_PDEATHSIG = 1


class EngineProcess:
    """The parent's handle on the engine child: start, restart on exit, stop."""

    def __init__(self, config: Config, dsn: str) -> None:
        self.config = config
        self.dsn = dsn
        self._proc: subprocess.Popen[bytes] | None = None
        self._task: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _spawn(self) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "ilertd"]
        if self.config.source is not None:
            argv += ["--config", str(self.config.source)]
        argv.append("engine")
        env = dict(os.environ)
        env["ILERTD_DATABASE_URL"] = self.dsn  # the embedded server too: never a second one
        env["ILERTD_ENGINE_PARENT_PID"] = str(os.getpid())
        env.pop("NOTIFY_SOCKET", None)  # systemd hears from the parent only
        proc = subprocess.Popen(argv, env=env)
        log.info("engine process started", pid=proc.pid)
        return proc

    def start(self, pool: asyncpg.Pool | None = None, metrics: Metrics | None = None) -> None:
        """Start the child; with ``metrics``, keep ``ilertd_engine_leader`` saying whether
        it leads (its leader session holds the lock)."""
        self._proc = self._spawn()
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._supervise())
        if pool is not None and metrics is not None:
            self._watch = loop.create_task(self._watch_leadership(pool, metrics))

    async def _watch_leadership(self, pool: asyncpg.Pool, metrics: Metrics) -> None:
        name = engine_session_name(os.getpid())
        while True:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                metrics.leader.set(
                    1 if await pool.fetchval(HELD_BY_SQL, name, LEADER_LOCK_KEY) else 0
                )
            await asyncio.sleep(LEADER_WATCH_S)

    async def _supervise(self) -> None:
        while True:
            assert self._proc is not None
            code = await asyncio.to_thread(self._proc.wait)
            if self._stopping:
                return
            log.error("engine process exited; starting it again", exit_code=code)
            await asyncio.sleep(RESTART_PAUSE_S)
            if self._stopping:
                return
            self._proc = self._spawn()

    async def stop(self) -> None:
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.error("engine process ignored SIGTERM; killing it", pid=proc.pid)
                proc.kill()
                await asyncio.to_thread(proc.wait)
        for task in (self._task, self._watch):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _die_with_parent() -> None:
    """Ask Linux for SIGTERM when the parent dies (a kill -9 of ``ilertd serve``)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


async def _parent_gone(parent: int) -> None:
    while os.getppid() == parent:  # noqa: ASYNC110 - nothing signals a parent death
        await asyncio.sleep(1.0)


def engine_main(config: Config) -> int:
    """The child's whole life; it exits at once afterwards, so no task left behind by a
    connection that died with the parent can hold the process up."""
    code = event_loop.run(run_engine(config))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


async def run_engine(config: Config) -> int:
    """``ilertd engine``: the engine alone, until SIGTERM or the parent's death."""
    from ..app import Services
    from ..gc_tuning import freeze_startup_heap, tune_collector

    _die_with_parent()
    tune_collector()
    parent = int(os.environ.get("ILERTD_ENGINE_PARENT_PID") or os.getppid())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    services = Services(config, role="engine")
    watch = loop.create_task(_parent_gone(parent))
    watch.add_done_callback(lambda _: stop.set())

    async def start() -> None:
        await services.start()
        freeze_startup_heap()

    starting = loop.create_task(start())
    starting.add_done_callback(lambda t: None if t.cancelled() or not t.exception() else stop.set())
    await stop.wait()
    failed = starting.done() and not starting.cancelled() and starting.exception() is not None
    if failed:
        log.error("engine start-up failed", error=repr(starting.exception()))
    for task in (starting, watch):
        task.cancel()
    # bounded: a start-up retrying a database that died with the parent can swallow the
    # cancellation (asyncio.wait_for's race); the process exits right after anyway
    await asyncio.wait({starting, watch}, timeout=STOP_TIMEOUT_S / 4)
    try:
        await asyncio.wait_for(services.close(), STOP_TIMEOUT_S)
    except TimeoutError:
        log.error("engine did not close in time; exiting anyway")
    log.info("engine stopped")
    return 1 if failed else 0
