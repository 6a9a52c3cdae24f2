"""Commands on one alert from the REST API and from answered pages, and auto-resolve.

Commands on one stream queue on an in-process lock, so only other instances race on the
version check, and a lost race applies the command again on the fresh state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg

from eventstore import ConcurrencyError
from eventstore.repository import Repository

from ..clock import Clock
from ..domain.alert import Alert, AlertStatus
from ..domain.errors import DomainError
from ..keyed_locks import KeyedLocks
from .escalation import Escalation
from .streams import MAX_ATTEMPTS, stream_of


class Commands:
    def __init__(
        self,
        repository: Repository,
        pool: asyncpg.Pool,
        clock: Clock,
        locks: KeyedLocks,
        escalation: Escalation,
    ) -> None:
        self.repository = repository
        self.pool = pool
        self.clock = clock
        self._locks = locks
        self._escalation = escalation

    async def auto_resolve(self, stream: UUID) -> bool:
        """Resolve the alert if its auto-resolve deadline has passed (a timer fired).

        Re-checked on the current version: an event received a moment ago moved the
        deadline, and a resolved alert stays as it is. True if this call resolved it.
        """
        resolved = False

        def command(alert: Alert) -> None:
            nonlocal resolved
            resolved = False  # a retry starts from the freshly loaded alert
            due = alert.auto_resolve_due_at()
            if due is not None and due <= self.clock.now():
                alert.resolve({"type": "system", "reason": "auto-resolve"}, "AUTO_RESOLVE")
                resolved = True

        async with self._locks.hold(stream):
            await self._act(stream, command, {"actor": "system:auto-resolve"})
        return resolved

    async def act(
        self,
        alert_id: int,
        command: Callable[[Alert], Any],
        metadata: dict[str, Any],
    ) -> tuple[Alert, int | None]:
        """Apply ``command`` with retries; returns the alert and the last position written."""
        stream = await stream_of(self.pool, alert_id)
        async with self._locks.hold(stream):
            return await self._act(stream, command, metadata)

    async def _act(
        self, stream: UUID, command: Callable[[Alert], Any], metadata: dict[str, Any]
    ) -> tuple[Alert, int | None]:
        try:
            alert, result = await self.repository.change(
                stream, command, metadata=metadata, attempts=MAX_ATTEMPTS
            )
        except ConcurrencyError:
            raise DomainError("the alert is changing too fast; try again") from None
        return alert, result.last_position if result else None

    async def respond(self, alert_id: int, user_id: int, channel: str, answer: str) -> Alert:
        """A responder answered a page (``answer`` accept, resolve or escalate by
        ``channel``): the answer and what it asks for are appended together."""
        actor: dict[str, Any] = {"type": "user", "id": user_id, "via": channel}
        metadata = {"actor": f"user:{user_id}", "via": channel}

        def command(alert: Alert) -> None:
            if answer == "accept" and alert.status is AlertStatus.ACCEPTED:
                raise DomainError("the alert is already accepted")
            alert.record_response(user_id, channel, answer, actor)
            if answer == "accept":
                alert.accept(actor, user_id)
            elif answer == "resolve":
                alert.resolve(actor)
            elif not alert.is_open:
                raise DomainError("cannot escalate: the alert is resolved")

        alert, _ = await self.act(alert_id, command, metadata)
        if answer == "escalate":
            await self._escalation.escalate(await stream_of(self.pool, alert_id), by=actor)
        return alert
