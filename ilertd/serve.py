"""``ilertd serve``: HTTP first (so /healthz answers at once), then the database, then the
inbound e-mail listener when configured (``inbound_email.listen``), then READY.

SIGTERM: tell systemd STOPPING, stop accepting connections (SMTP first, then HTTP), let
in-flight messages and requests finish, flush queued appends, stop the embedded PostgreSQL, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog
from aiohttp import web

from .app import Services
from .config import Config
from .engine.process import EngineProcess
from .gc_tuning import freeze_startup_heap, tune_collector
from .http.events import RATE_LIMITER
from .http.server import build_app
from .inbound.smtp import MailListener, email_settings
from .sdnotify import sd_notify, watchdog_interval

log = structlog.get_logger(__name__)


async def _watchdog(interval: float) -> None:
    while True:
        sd_notify("WATCHDOG=1")
        await asyncio.sleep(interval)


async def serve(config: Config) -> int:
    tune_collector()
    separate = config["engine.process"] == "separate"
    services = Services(config, role="http" if separate else "all")
    engine: EngineProcess | None = None
    mail: MailListener | None = None
    app = build_app(services)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=config["http.shutdown_timeout_s"],
    )
    await runner.setup()
    host, port = config.listen
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        log.error("cannot listen", listen=config["http.listen"], error=str(exc))
        await runner.cleanup()
        return 1
    log.info("listening", listen=config["http.listen"])

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    tasks: list[asyncio.Task] = []
    interval = watchdog_interval()
    if interval:
        tasks.append(loop.create_task(_watchdog(interval)))

    async def start() -> None:
        nonlocal engine, mail
        runtime = await services.start()
        if separate:
            engine = EngineProcess(config, runtime.store.dsn)
            engine.start(runtime.pool, services.metrics)
        mail_settings = email_settings(config)
        if mail_settings is not None:  # once ready: a mail is ingested as soon as accepted
            mail = MailListener(runtime, app[RATE_LIMITER], mail_settings)
            await mail.start()
        freeze_startup_heap()
        sd_notify("READY=1\nSTATUS=ready")

    starting = loop.create_task(start())
    stopping = loop.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    failed = starting.done() and starting.exception() is not None
    if failed:
        log.error("start-up failed", error=repr(starting.exception()))
        stop.set()
    await stop.wait()

    log.info("stopping")
    sd_notify("STOPPING=1")
    for task in (*tasks, starting):
        task.cancel()
    for task in (*tasks, starting):
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if mail is not None:  # stops accepting, lets messages being ingested commit
        await mail.stop(config["http.shutdown_timeout_s"])
    await runner.cleanup()  # stops accepting, waits for in-flight handlers
    if engine is not None:
        await engine.stop()
    await services.close()
    log.info("stopped")
    return 1 if failed else 0
