"""Shift reminders: each user's ``duties`` rules, sent before their on-call shifts start.

Runs on the engine's leader beside the notifier. Each round (every ``ROUND_S`` seconds at
most, sooner when a reminder becomes due or a retry is waiting) it reads the users with
``duties`` rules who are neither deleted nor muted, computes their shifts in every schedule
they are part of from now to the longest ``before_min`` ahead, and sends each reminder that
is due (``ilertd.notify.reminder``) and not yet recorded on its (user, schedule, shift
start) stream: SENT, or FAILED and retried with doubling waits up to ``max_attempts``
while the shift has not started, then given up. The stream is read before sending, so a
restarted or new leader never sends a reminder again.

A round finishes its sends before the next starts, so one leader never sends one reminder
twice; a database error ends the round, is logged, and the next round tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from uuid import UUID

import aiohttp
import asyncpg
import structlog

from eventstore.repository import AggregateNotFoundError, Repository
from projections.schedules import oncall_schedule, schedules_by_ids
from projections.users import notification_rules

from .. import oncall
from ..clock import Clock
from ..domain.duty_reminders import ShiftReminders, shift_reminders_id
from ..outbound.email_message import check_address
from ..outbound.guard import make_connector
from ..outbound.smtp import SmtpDeliveryError, send_email
from .errors import ProviderError
from .notifier import NotifySettings
from .ntfy import NtfyClient
from .reminder import (
    DueReminder,
    DutyRule,
    ShiftReminder,
    due_reminders,
    next_opening,
    schedule_users,
    shift_window,
)
from .twilio import TwilioClient, say_twiml

log = structlog.get_logger(__name__)

ROUND_S = 30.0
COOL_DOWN_S = 5.0
MIN_WAIT_S = 0.05
DATABASE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


@dataclass(frozen=True)
class _Schedule:
    """A schedules row as the rounds need it, kept until the row changes."""

    id: int
    name: str
    updated_at: datetime
    oncall: oncall.Schedule
    users: frozenset[int]


class DutyReminders:
    def __init__(
        self,
        pool: asyncpg.Pool,
        repository: Repository,
        clock: Clock,
        settings: NotifySettings,
    ) -> None:
        self.pool = pool
        self.repository = repository
        self.clock = clock
        self.settings = settings
        #: rounds finished (successfully or not): tests and metrics watch it
        self.rounds = 0
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._schedules: dict[int, _Schedule] = {}
        #: reminder streams read or written, with the shift start they are about (None: no
        #: stream yet); only this leader appends to them, so they stay true until stop()
        self._streams: dict[UUID, tuple[datetime, ShiftReminders | None]] = {}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            return
        self._session = aiohttp.ClientSession(connector=make_connector(self.settings.policy))
        self._task = asyncio.get_running_loop().create_task(self._run(), name="DutyReminders")
        log.info("worker started", worker="DutyReminders")

    async def stop(self) -> None:
        """Stop; a reminder being sent is abandoned and, while still due, sent again by the
        next leader (at least once)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._streams.clear()
        self._schedules.clear()

    async def wake(self) -> None:
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                wait = await self.run_round()
            except asyncio.CancelledError:
                raise
            except DATABASE_ERRORS as exc:
                log.warning("duty reminders cannot read the database; retrying", error=str(exc))
                wait = COOL_DOWN_S
            except Exception:
                log.exception("duty reminder round failed; retrying")
                wait = COOL_DOWN_S
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), wait)

    # -- one round -------------------------------------------------------------------------

    async def run_round(self) -> float:
        """Send what is due now; the seconds until the next round should run."""
        now = self.clock.now()
        self._streams = {k: v for k, v in self._streams.items() if v[0] > now - timedelta(days=1)}
        rules = await self._rules(now)
        if not rules:
            return ROUND_S
        start, end = shift_window(now, (rule for each in rules.values() for rule in each))
        wake_at = now + timedelta(seconds=ROUND_S)
        work: list[Callable[[], Awaitable[datetime | None]]] = []
        for schedule in await self._schedules_of(set(rules)):
            try:
                shifts = [
                    s for s in oncall.shifts(schedule.oncall, start, end) if s.user_id in rules
                ]
            except ValueError as exc:
                log.warning("schedule has no shifts", schedule_id=schedule.id, error=str(exc))
                continue
            opening = next_opening(shifts, rules, now)
            if opening is not None:
                wake_at = min(wake_at, opening)
            for due in due_reminders(shifts, rules, now):
                state = await self._state(schedule.id, due.shift)
                if state is not None and not state.is_due(due.rule.rule_id, now):
                    retry_at = state.retry_at.get(due.rule.rule_id)
                    if retry_at is not None:  # failed before; tried again at retry_at
                        wake_at = min(wake_at, retry_at)
                    continue
                work.append(lambda s=schedule, d=due, n=now: self._remind(s, d, n))
        for retry_at in await self._run_all(work):
            if retry_at is not None:
                wake_at = min(wake_at, retry_at)
        return max(MIN_WAIT_S, (wake_at - now).total_seconds())

    async def _run_all(
        self, work: Sequence[Callable[[], Awaitable[datetime | None]]]
    ) -> list[datetime | None]:
        """Run the sends, ``concurrency`` at a time, each giving when to try it again (or
        None); one failing does not stop the others."""
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def guarded(job: Callable[[], Awaitable[datetime | None]]) -> datetime | None:
            async with limit:
                try:
                    return await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("shift reminder failed unexpectedly; the next round retries")
                    return None

        return list(await asyncio.gather(*(guarded(job) for job in work)))

    async def _rules(self, now: datetime) -> dict[int, list[DutyRule]]:
        """The ``duties`` rules of every live, unmuted user that has some, by user id."""
        users = await self.pool.fetch(
            """
            SELECT u.id FROM users u
            WHERE u.deleted_at IS NULL AND (u.muted_until IS NULL OR u.muted_until <= $1)
              AND EXISTS (SELECT 1 FROM user_notification_rules r
                          WHERE r.user_id = u.id AND r.kind = 'duties')
            ORDER BY u.id
            """,
            now,
        )
        found: dict[int, list[DutyRule]] = {}
        for user in users:
            user_id = user["id"]
            for row in await notification_rules(self.pool, user_id, "duties"):
                target = row["target"]
                if row["method"] == "PUSH":
                    target = f"{self.settings.ntfy_topic_prefix}{user_id}"
                if target:  # a rule whose contact is gone reaches nobody
                    found.setdefault(user_id, []).append(
                        DutyRule(row["rule_id"], row["method"], target, row["before_min"] or 0)
                    )
        return found

    async def _schedules_of(self, users: set[int]) -> list[_Schedule]:
        """The live schedules any of ``users`` is part of; rows are parsed again only when
        they changed."""
        rows = await self.pool.fetch("SELECT id, updated_at FROM schedules WHERE NOT deleted")
        current = {row["id"]: row["updated_at"] for row in rows}
        cached = self._schedules
        stale = [i for i, at in current.items() if i not in cached or cached[i].updated_at != at]
        self._schedules = {i: s for i, s in self._schedules.items() if i in current}
        for row in await schedules_by_ids(self.pool, stale) if stale else []:
            try:
                built = oncall_schedule(row)
            except ValueError as exc:
                log.warning("schedule cannot be read", schedule_id=row["id"], error=str(exc))
                continue
            self._schedules[row["id"]] = _Schedule(
                row["id"], row["name"], row["updated_at"], built, schedule_users(built)
            )
        return [s for s in self._schedules.values() if s.users & users]

    async def _state(self, schedule_id: int, shift: oncall.Shift) -> ShiftReminders | None:
        """The reminders recorded for this shift so far; None when there are none."""
        stream = shift_reminders_id(shift.user_id, schedule_id, shift.start)
        known = self._streams.get(stream)
        if known is not None:
            return known[1]
        try:
            state = await self.repository.load(stream)
        except AggregateNotFoundError:
            state = None
        self._streams[stream] = (shift.start, state)
        return state

    # -- sending ---------------------------------------------------------------------------

    async def _remind(
        self, schedule: _Schedule, due: DueReminder, now: datetime
    ) -> datetime | None:
        """Send one reminder and record the outcome; when to try again, if it failed."""
        rule, shift = due.rule, due.shift
        # the shift as a whole: the round's window cut its end short
        whole = oncall.on_call_at(schedule.oncall, shift.start) or shift
        end = whole.end if whole.user_id == shift.user_id else shift.end
        reminder = ShiftReminder(
            schedule_name=schedule.name,
            start=shift.start,
            end=end,
            now=now,
            zone=schedule.oncall.zone,
            schedule_url=f"{self.settings.public_url}/api/schedules/{schedule.id}",
        )
        context = {
            "user_id": shift.user_id,
            "schedule_id": schedule.id,
            "rule_id": rule.rule_id,
            "method": rule.method,
            "shift_start": shift.start.isoformat(),
        }
        try:
            reference = await self._deliver(rule, reminder, now)
        except (ProviderError, ValueError) as exc:
            error = str(exc)
            state = await self._state(schedule.id, shift)
            attempt = (state.attempts.get(rule.rule_id, 0) if state else 0) + 1
            retry_at = None
            retryable = isinstance(exc, ProviderError) and exc.retryable
            if retryable and attempt < self.settings.max_attempts:
                wait = self.settings.retry_base_s * 2 ** (attempt - 1)
                retry_at = self.clock.now() + timedelta(seconds=wait)
                if retry_at >= due.closes:
                    retry_at = None  # the shift will have started: too late to remind
            log.info("shift reminder failed", **context, error=error, retry=retry_at is not None)
            await self._record(
                schedule.id,
                shift,
                end,
                rule.rule_id,
                lambda r: r.failed(rule.rule_id, rule.method, rule.target, error, retry_at),
            )
            return retry_at
        log.info("shift reminder sent", **context)
        ref = str(reference)[:200]
        await self._record(
            schedule.id,
            shift,
            end,
            rule.rule_id,
            lambda r: r.sent(rule.rule_id, rule.method, rule.target, ref),
        )
        return None

    async def _record(
        self,
        schedule_id: int,
        shift: oncall.Shift,
        end: datetime,
        rule_id: int,
        change: Callable[[ShiftReminders], None],
    ) -> None:
        stream = shift_reminders_id(shift.user_id, schedule_id, shift.start)

        def command(reminders: ShiftReminders) -> bool:
            if rule_id in reminders.done:
                return False
            change(reminders)
            return True

        state, _ = await self.repository.change(
            stream,
            command,
            metadata={"actor": "system:notify"},
            create=lambda: ShiftReminders(
                user_id=shift.user_id,
                schedule_id=schedule_id,
                shift_start=shift.start,
                shift_end=end,
                id=stream,
            ),
        )
        known = self._streams.get(stream)
        if known is None or known[1] is None or known[1].version <= state.version:
            # sends for several rules of one shift record concurrently: keep the latest
            self._streams[stream] = (shift.start, state)

    async def _deliver(self, rule: DutyRule, reminder: ShiftReminder, now: datetime) -> str:
        """Send one reminder; the provider's reference. Raises ProviderError, or ValueError
        for a target the channel cannot take."""
        assert self._session is not None
        timeout = self.settings.timeout_s
        if rule.method == "EMAIL":
            smtp = self.settings.smtp
            if smtp is None:
                raise ProviderError("no SMTP server configured (smtp.host)", retryable=False)
            message = reminder_email(smtp.sender, rule.target, reminder, now)
            try:
                await send_email(smtp, message)
            except SmtpDeliveryError as exc:  # send_email has logged the details
                raise ProviderError(
                    f"reminder e-mail not sent: {exc}", retryable=not exc.permanent, code=exc.code
                ) from exc
            return str(message["Message-ID"])
        if rule.method in ("SMS", "VOICE"):
            if self.settings.twilio is None:
                raise ProviderError("no SMS/voice provider configured", retryable=False)
            client = TwilioClient(self._session, self.settings.twilio, timeout)
            if rule.method == "SMS":
                return await client.send_sms(rule.target, reminder.sms_text())
            return await client.place_call(rule.target, say_twiml(reminder.voice_text()))
        if rule.method == "PUSH":
            if self.settings.ntfy is None:
                raise ProviderError(
                    "no push server configured (notify.ntfy_base_url)", retryable=False
                )
            return await NtfyClient(self._session, self.settings.ntfy, timeout).publish_text(
                rule.target,
                reminder.push_title(),
                reminder.push_message(),
                click=reminder.schedule_url,
            )
        raise ProviderError(f"ilertd cannot remind by {rule.method}", retryable=False)


def reminder_email(
    sender: str, recipient: str, reminder: ShiftReminder, now: datetime
) -> EmailMessage:
    """The reminder as a plain-text e-mail; ValueError for an address that is not a bare
    ASCII one."""
    check_address(recipient)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = reminder.email_subject()
    message["Date"] = formatdate(now.timestamp(), usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(reminder.email_text())
    return message
