"""``start-index`` and ``max-results``, the same on every list: over the cap is a 400 naming
the parameter, never silently clamped (API.md, Conventions)."""

from __future__ import annotations

import re

from aiohttp import web

from .problems import ProblemError
from .routes import Param

DEFAULT_PAGE = 50
MAX_PAGE = 100
MAX_BIGINT = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    value = int(raw) if _DIGITS.fullmatch(raw.strip()) else None
    if value is None or not low <= value <= high:
        raise ProblemError(
            400,
            "BAD_REQUEST",
            f"{name}: must be an integer from {low} to {high}, got {raw[:20]!r}",
            field=name,
        )
    return value


def page(
    request: web.Request, *, default: int = DEFAULT_PAGE, cap: int = MAX_PAGE
) -> tuple[int, int]:
    """(start, size) of the requested page."""
    start = query_int(request, "start-index", 0, 0, MAX_BIGINT)
    return start, query_int(request, "max-results", default, 1, cap)


#: How every list documents its paging.
PAGING = (
    Param(
        "start-index",
        "query",
        {"type": "integer", "minimum": 0, "maximum": MAX_BIGINT, "default": 0},
    ),
    Param(
        "max-results",
        "query",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE},
        f"more than {MAX_PAGE} is a 400",
    ),
)
