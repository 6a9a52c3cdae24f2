"""What the resource handlers share to write an aggregate.

Every write in alert_sources, escalation_policies, schedules and users goes the same way:
load the live aggregate (404 when it was deleted), run a command (its rule violations
become 400 or 409), append the pending events with who did it, and wait until the
projections applied them, so the answer and the caller's next GET already show the write.
What differs between resources (a 404 message, which domain errors mean 404) is a parameter
here.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from aiohttp import web

from eventstore.repository import Repository
from projections import ProjectionRunner

from ..domain.errors import DomainError, InvalidValueError
from .context import REQUEST_ID, runtime
from .problems import ProblemError

#: Up to 19 ASCII digits: an API id (int64). ``str.isdigit`` would admit other scripts' digits.
_ID = re.compile(r"[0-9]{1,19}")
INT64_MAX = 2**63 - 1


def bad(field: str, message: str, *, separator: str = ": ") -> ProblemError:
    """400 naming ``field``, so a client can point at the input it has to fix.
    ``separator`` joins field and message (users' messages read "email is required")."""
    return ProblemError(400, "BAD_REQUEST", f"{field}{separator}{message}", field=field)


def parse_id(text: str) -> int | None:
    """``text`` as an API id when it is 1 to 19 ASCII digits within bigint, else None (the
    caller decides whether that is a 404 or another kind of reference, such as an
    integration key)."""
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= INT64_MAX else None


def path_id(request: web.Request, not_found: str) -> int:
    """The ``{id}`` of the path as an API id; 404 (``not_found``) when it cannot be one."""
    value = parse_id(request.match_info["id"])
    if value is None:
        raise ProblemError(404, "NOT_FOUND", not_found)
    return value


def pool(request: web.Request) -> asyncpg.Pool:
    return runtime(request).pool


def writer(request: web.Request) -> tuple[Repository, ProjectionRunner]:
    """The repository to append with and the runner to wait on."""
    parts = runtime(request)
    return parts.repository, parts.runner


def metadata(
    request: web.Request, actor: asyncpg.Record, *, request_id: bool = True
) -> dict[str, Any]:
    """Who did it (``user:<id>``) and, unless ``request_id`` is False, the request id the
    log lines carry, so a stored event can be traced to its request."""
    result: dict[str, Any] = {"actor": f"user:{actor['id']}"}
    if request_id:
        result["request_id"] = request[REQUEST_ID]
    return result


async def save(
    request: web.Request,
    actor: asyncpg.Record,
    aggregate: Any,
    *,
    request_id: bool = True,
) -> int | None:
    """Append the aggregate's pending events as ``actor`` and wait until the projections
    applied them; the position of the first one (a new aggregate's id), None when there was
    nothing to save (a command that changed nothing)."""
    repository, runner = writer(request)
    result = await repository.save(
        aggregate, metadata=metadata(request, actor, request_id=request_id)
    )
    if result is None:
        return None
    await runner.wait_for(result.last_position)
    return result.first_position


async def load_live(request: web.Request, row: asyncpg.Record, not_found: str) -> Any:
    """The aggregate behind a projection ``row``; 404 (``not_found``) when it was deleted
    after the row was read, so a write never resurrects or re-deletes it."""
    repository, _ = writer(request)
    aggregate = await repository.load(row["stream_id"])
    if aggregate.deleted:
        raise ProblemError(404, "NOT_FOUND", not_found)
    return aggregate


def domain_problem(
    exc: DomainError, *, not_found: tuple[type[DomainError], ...] = ()
) -> ProblemError:
    """An aggregate's rule violation as an answer: a bad value 400 naming its field, one of
    ``not_found`` (such as a missing escalation level) 404, any other broken rule 409."""
    if isinstance(exc, InvalidValueError):
        return ProblemError(400, "BAD_REQUEST", str(exc), field=exc.field)
    if isinstance(exc, not_found):
        return ProblemError(404, "NOT_FOUND", str(exc))
    return ProblemError(409, "CONFLICT", str(exc))
