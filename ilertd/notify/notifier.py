"""The notifier: turns page requests into scheduled notifications and sends them.

It runs on the engine's leader beside the outbound dispatcher, and works per round, not
per page, because a storm is the case that matters:

1. **Plan** every open page request (a user became a responder, or a status update is
   owed) in one go: one read of the users, one of their rules, one of the alerts'
   priorities and one of the (alert, user) notification streams; the pure rules in
   ``planning`` decide; the ``Scheduled`` (or ``Skipped``) events of all of them are
   appended concurrently, so the store's group commit writes them in a few transactions.
2. **Send**: a notification due at once by e-mail or push is handed straight to its
   recipient's *mailbox*, without waiting for the pager projection to show it. A mailbox
   sends the first page at once; pages to the same person that fall due within
   ``message_window_s`` after a message wait for the window's end and go out together as
   one message listing every alert (a storm is a message every quarter second per person,
   not hundreds). Delayed notifications, retries, texts and calls come from the pager
   projection once due; texts and calls to one number are bundled over the longer
   ``bundle_window_s``.
3. **Record** the outcome of every covered notification (``Sent`` naming the message, or
   ``Failed`` with the reason, retried with doubling waits up to ``max_attempts``).

Every step is an event on the (alert, user) notifications stream, and a notification stays
"in flight" here from planning until the pager projection shows its outcome, so nothing
goes out twice from one leader and nothing is lost across a restart: a request planned but
not sent is found again as a due row, one not planned as an open request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg
import structlog

from eventstore import ConcurrencyError
from eventstore.repository import Repository
from projections import ProjectionRunner
from projections.pager_incidents import INCIDENT_KINDS, NOT_OWED_SQL
from projections.users import notification_rules_of

from ..clock import Clock
from ..domain.alert_notifications import (
    INCIDENT_PAGE,
    PAGE,
    PAGE_KINDS,
    AlertNotifications,
    notifications_id,
)
from ..engine.worker import IDLE_POLL_S, LeaderWorker, Wakeup
from ..outbound.guard import NetworkPolicy, make_connector
from ..outbound.smtp import SmtpSender, SmtpSettings
from .email_page import BUNDLE_LIST_MAX, build_bundle_email, message_id_for, send_message
from .errors import ProviderError
from .incident_page import IncidentPage
from .links import ActionLink, LinkAction, make_token
from .ntfy import NtfyClient, NtfySettings
from .page import UPDATES, Page
from .planning import decide, incident_priority, notification_id
from .twilio import TwilioClient, TwilioSettings, gather_twiml, say_twiml

log = structlog.get_logger(__name__)

#: Page requests planned per round.
PLAN_BATCH = 1000
#: Due notifications read per round from the pager projection.
DUE_BATCH = 500
#: Saved notification streams kept for recording their outcome without a read.
SAVED_MAX = 10_000
#: Sent by mailboxes (one message covers many pages); texts and calls go one by one.
MAILBOX_METHODS = frozenset({"EMAIL", "PUSH"})

#: Which of the given notifications are no longer owed: no longer SCHEDULED in the pager,
#: or pages about an alert that is not PENDING any more.
CANCELLED_SQL = """
SELECT d.id FROM unnest($1::text[], $2::uuid[], $3::text[]) AS d(id, stream, kind)
WHERE EXISTS (SELECT 1 FROM notifications n WHERE n.id = d.id AND n.status <> 'SCHEDULED')
   OR (d.kind = 'ALERT' AND EXISTS (
       SELECT 1 FROM pager_alerts a WHERE a.stream_id = d.stream AND a.status <> 'PENDING'))
"""


@dataclass(frozen=True)
class NotifySettings:
    public_url: str = "http://127.0.0.1:8080"
    link_secret: bytes = b""
    link_ttl_s: int = 86_400
    max_attempts: int = 3
    retry_base_s: float = 10.0
    timeout_s: float = 10.0
    concurrency: int = 32
    smtp: SmtpSettings | None = None
    twilio: TwilioSettings | None = None
    ntfy: NtfySettings | None = None
    ntfy_topic_prefix: str = "ilertd-user-"
    #: After a text or call to a number, further ones wait this long and go out as one
    #: summary (a storm of alerts is not a storm of texts).
    bundle_window_s: float = 180.0
    #: E-mail and push: pages to one person due within this window after a message go out
    #: together as the next message.
    message_window_s: float = 0.25
    policy: NetworkPolicy = field(default_factory=NetworkPolicy)


@dataclass(frozen=True)
class Due:
    """A notification to send now: from planning this round, or a due projection row."""

    id: str
    alert_id: int
    alert_stream: UUID
    user_id: int
    method: str
    target: str
    kind: str
    due_at: datetime
    attempts: int = 0
    #: The alert's text for the page (from planning); None: read it when sending.
    alert: asyncpg.Record | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, row: asyncpg.Record) -> Due:
        return cls(
            row["id"],
            row["alert_id"],
            UUID(str(row["alert_stream"])),
            row["user_id"],
            row["method"],
            row["target"],
            row["kind"],
            row["due_at"],
            row["attempts"],
        )

    @functools.cached_property
    def stream(self) -> UUID:
        return notifications_id(self.alert_stream, self.user_id)

    @property
    def mailbox(self) -> tuple[str, str, str]:
        """Pages and each kind of status update to one address are bundled apart; an
        incident's messages are never bundled with another incident's."""
        if self.kind in INCIDENT_KINDS:
            return (self.method, self.target, f"{self.kind}:{self.alert_id}")
        return (self.method, self.target, self.kind)


class Notifier(LeaderWorker):
    projection = "pager"

    def __init__(
        self,
        pool: asyncpg.Pool,
        repository: Repository,
        runner: ProjectionRunner,
        clock: Clock,
        settings: NotifySettings,
        *,
        woken_by: Wakeup,
    ) -> None:
        super().__init__(runner, settings.concurrency, woken_by)
        self.pool = pool
        self.repository = repository
        self.clock = clock
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        #: Connections to the SMTP server, kept between messages.
        self._smtp: SmtpSender | None = None
        #: (method, number, kind) of each text or call in flight, by its first notification
        self._phone_targets: dict[str, tuple[str, str, str]] = {}
        #: numbers texted or called whose notifications the pager has not shown as sent yet
        self._phones_recorded: dict[tuple[str, str, str], int] = {}
        #: Notifications waiting in a mailbox, by mailbox; each mailbox has one courier.
        self._mailboxes: dict[tuple[str, str, str], list[Due]] = {}
        self._couriers: dict[tuple[str, str, str], asyncio.Task[None]] = {}
        self._messages: set[asyncio.Task[None]] = set()
        self._queued: set[str] = set()
        #: Notification streams as saved by planning, until their outcome is recorded.
        self._saved: dict[UUID, AlertNotifications] = {}
        #: When each mailbox last sent a message (event loop time).
        self._last_message: dict[tuple[str, str, str], float] = {}

    async def _open(self) -> None:
        self._session = aiohttp.ClientSession(connector=make_connector(self.settings.policy))

    async def _close(self) -> None:
        tasks = [*self._couriers.values(), *self._messages]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._couriers.clear()
        self._mailboxes.clear()
        self._saved.clear()
        self._queued.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._smtp is not None:
            await self._smtp.close()
            self._smtp = None

    def _busy(self) -> list[str]:
        return [*super()._busy(), *self._queued]

    @property
    def free(self) -> int:
        """Sends in flight, not notifications: one message covers many."""
        return self.concurrency - len(set(self._inflight.values()))

    async def _round(self) -> float:
        now = self.clock.now()
        applied = self.runner.positions.get("pager", 0)
        self._phones_recorded = {k: p for k, p in self._phones_recorded.items() if p > applied}
        pages = await self.pool.fetch(
            "SELECT * FROM page_requests WHERE NOT planned AND NOT (id = ANY($1::text[])) "
            "ORDER BY paged_at LIMIT $2",
            self._busy(),
            PLAN_BATCH,
        )
        if pages:
            for due in await self._plan(pages, now):
                self._post(due)
        if self.free > 0:
            self._start_sends(await self._due(now, self._busy()), self.free)
        upcoming = await self.pool.fetchval(
            "SELECT min(next_attempt_at) FROM notifications "
            "WHERE status = 'SCHEDULED' AND next_attempt_at > $1",
            now,
        )
        if upcoming is None:
            return IDLE_POLL_S
        return max(0.0, min(IDLE_POLL_S, (upcoming - now).total_seconds()))

    async def _due(self, now: datetime, busy: list[str]) -> list[asyncpg.Record]:
        """Due notifications, except texts and calls to a number that got one within the
        bundling window: those wait for the window to pass and then go out together."""
        return await self.pool.fetch(
            """
            SELECT * FROM notifications n WHERE status = 'SCHEDULED'
              AND next_attempt_at <= $1 AND NOT (id = ANY($2::text[]))
              AND NOT (method IN ('SMS', 'VOICE') AND EXISTS (
                  SELECT 1 FROM notifications s WHERE s.status = 'SUCCESS'
                  AND s.target = n.target AND s.method = n.method AND s.kind = n.kind
                  AND s.updated_at > $1 - make_interval(secs => $3)))
            ORDER BY next_attempt_at LIMIT $4
            """,
            now,
            busy,
            self.settings.bundle_window_s,
            DUE_BATCH,
        )

    def _start_sends(self, rows: list[asyncpg.Record], free: int) -> None:
        """E-mail and push to their mailboxes; texts and calls to one number as one bundle,
        and none while another to that number is still in flight."""
        phones_busy = set(self._phone_targets.values())
        bundles: dict[tuple[str, str, str], list[Due]] = {}
        for row in rows:
            due = Due.of(row)
            if due.method in MAILBOX_METHODS:
                self._post(due)
            elif due.method in ("SMS", "VOICE"):
                if due.mailbox not in phones_busy:
                    bundles.setdefault(due.mailbox, []).append(due)
            elif free > 0:
                self._start([due.id], lambda due=due: self._send([due]))
                free -= 1
        for key, group in bundles.items():
            if free <= 0:
                break
            ids = [d.id for d in group]
            self._phone_targets[ids[0]] = key
            self._start(ids, lambda ids=ids, group=group: self._send_phone(ids[0], group))
            free -= 1

    async def _send_phone(self, first: str, group: list[Due]) -> int | None:
        key = self._phone_targets[first]
        position = None
        try:
            position = await self._send(group)
            return position
        finally:
            self._phone_targets.pop(first, None)
            if position is not None:  # busy until the pager shows it was sent
                self._phones_recorded[key] = position

    # -- mailboxes ---------------------------------------------------------------------

    def _post(self, due: Due) -> None:
        """Queue an e-mail or push notification for its recipient's next message."""
        if due.id in self._queued or due.id in self._inflight:
            return
        self._queued.add(due.id)
        self._mailboxes.setdefault(due.mailbox, []).append(due)
        if due.mailbox not in self._couriers:
            self._couriers[due.mailbox] = asyncio.get_running_loop().create_task(
                self._courier(due.mailbox)
            )

    async def _courier(self, key: tuple[str, str, str]) -> None:
        """Empty one mailbox: a message at once, then at most one per window. Recording a
        message's outcome (an append per covered alert) goes on beside the next window."""
        loop = asyncio.get_running_loop()
        try:
            while self._mailboxes.get(key):
                wait = self._last_message.get(key, -1e9) + self.settings.message_window_s
                if wait > loop.time():
                    await asyncio.sleep(wait - loop.time())
                group = self._mailboxes.pop(key)
                self._last_message[key] = loop.time()
                handed_over = asyncio.Event()
                message = loop.create_task(self._message(group, handed_over))
                self._messages.add(message)
                message.add_done_callback(self._messages.discard)
                waiter = loop.create_task(handed_over.wait())
                try:
                    await asyncio.wait({message, waiter}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
        finally:
            self._couriers.pop(key, None)
            if len(self._last_message) > 10_000:
                self._last_message = {
                    k: t
                    for k, t in self._last_message.items()
                    if t > loop.time() - self.settings.message_window_s
                }
            self._wakeup.set()

    async def _message(self, group: list[Due], handed_over: asyncio.Event) -> None:
        """Send one mailbox message and record it; its notifications stay in flight until
        the pager shows the outcome."""
        loop = asyncio.get_running_loop()
        ids = [d.id for d in group]
        self._queued.difference_update(ids)
        task = asyncio.current_task()
        assert task is not None
        for nid in ids:
            self._inflight[nid] = task
        try:
            position = await self._send(await self._still_owed(group), handed_over)
            if position is not None:
                self._recorded.update(dict.fromkeys(ids, position))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("message failed unexpectedly; cooling down", items=len(ids))
            self._cooling.update(dict.fromkeys(ids, loop.time() + 5.0))
        finally:
            handed_over.set()
            for nid in ids:
                self._inflight.pop(nid, None)
            self._wakeup.set()

    async def _still_owed(self, group: list[Due]) -> list[Due]:
        """Leave out what was cancelled while it waited (the alert was accepted or
        resolved, the responder removed)."""
        gone = {
            r["id"]
            for r in await self.pool.fetch(
                CANCELLED_SQL,
                [d.id for d in group],
                [d.alert_stream for d in group],
                [d.kind for d in group],
            )
        }
        paged = [d for d in group if d.kind == INCIDENT_PAGE]
        if paged:  # joined, removed or resolved while it waited
            gone.update(
                r["id"]
                for r in await self.pool.fetch(
                    NOT_OWED_SQL,
                    [d.id for d in paged],
                    [d.alert_stream for d in paged],
                    [d.user_id for d in paged],
                )
            )
        return [d for d in group if d.id not in gone]

    # -- planning ----------------------------------------------------------------------

    async def _plan(self, pages: list[asyncpg.Record], now: datetime) -> list[Due]:
        """Plan ``pages`` (one round's open requests) in one go; the notifications due now
        by e-mail or push, to hand to their mailboxes."""
        user_ids = sorted({p["user_id"] for p in pages})
        alert_streams = list({p["alert_stream"] for p in pages})
        users = {
            r["id"]: r
            for r in await self.pool.fetch(
                "SELECT id, email, muted_until, deleted_at FROM users WHERE id = ANY($1::bigint[])",
                user_ids,
            )
        }
        rules = await notification_rules_of(self.pool, user_ids, ("alerts", "updates"))
        alerts = {
            r["stream_id"]: r
            for r in await self.pool.fetch(
                "SELECT a.stream_id, a.alert_id, a.summary, a.details, a.priority, "
                "s.name AS source_name FROM pager_alerts a "
                "LEFT JOIN alert_sources s ON s.id = a.source_id "
                "WHERE a.stream_id = ANY($1::uuid[])",
                alert_streams,
            )
        }
        incident_streams = list({p["alert_stream"] for p in pages if p["kind"] in INCIDENT_KINDS})
        if incident_streams:
            alerts.update(await self._incident_subjects(incident_streams))
        by_stream: dict[UUID, list[asyncpg.Record]] = {}
        for page in pages:
            stream = notifications_id(UUID(str(page["alert_stream"])), page["user_id"])
            by_stream.setdefault(stream, []).append(page)
        aggregates = await self.repository.load_many(list(by_stream))
        changed: list[tuple[AlertNotifications, list[str]]] = []
        due_now: list[Due] = []
        for stream, stream_pages in by_stream.items():
            first = stream_pages[0]
            notifications = aggregates.get(stream) or AlertNotifications(
                alert_id=first["alert_id"],
                alert_stream=UUID(str(first["alert_stream"])),
                user_id=first["user_id"],
                id=stream,
            )
            alert = alerts.get(first["alert_stream"])
            for page in stream_pages:
                if page["id"] in notifications.planned:
                    continue
                kind = page["kind"]
                decision = decide(
                    kind,
                    alert["priority"] if alert else "HIGH",
                    users.get(page["user_id"]),
                    rules.get((page["user_id"], "alerts" if kind in PAGE_KINDS else "updates"), []),
                    now,
                    self.settings.ntfy_topic_prefix,
                )
                if decision.skipped is not None:
                    notifications.skip(page["id"], decision.skipped)
                for plan in decision.plans:
                    due_at = page["paged_at"] + timedelta(minutes=plan.delay_min)
                    nid = notification_id(page["id"], plan.rule_id)
                    notifications.schedule(
                        page["id"], nid, plan.method, plan.target, due_at, plan.rule_id, kind
                    )
                    if due_at <= now and plan.method in MAILBOX_METHODS:
                        due_now.append(
                            Due(
                                nid,
                                page["alert_id"],
                                UUID(str(page["alert_stream"])),
                                page["user_id"],
                                plan.method,
                                plan.target,
                                kind,
                                due_at,
                                alert=alert,
                            )
                        )
            if notifications.pending_events:
                changed.append((notifications, [p["id"] for p in stream_pages]))
        results = await asyncio.gather(
            *(self.repository.save(n, metadata={"actor": "system:notify"}) for n, _ in changed),
            return_exceptions=True,
        )
        lost: set[UUID] = set()
        for (notifications, page_ids), result in zip(changed, results, strict=True):
            if isinstance(result, ConcurrencyError):
                lost.add(notifications.id)  # planned elsewhere: the next round sees it
            elif isinstance(result, BaseException):
                raise result
            elif result is not None:
                # not picked again until the pager shows them planned
                self._recorded.update(dict.fromkeys(page_ids, result.last_position))
        due_now = [d for d in due_now if d.stream not in lost]
        self._keep_saved({n.id: n for n, _ in changed if n.id not in lost}, due_now)
        return due_now

    async def _incident_subjects(self, streams: list[Any]) -> dict[Any, dict[str, str]]:
        """The incidents among ``streams`` in the shape planning reads an alert in."""
        rows = await self.pool.fetch(
            "SELECT stream_id, severity FROM pager_incidents WHERE stream_id = ANY($1::uuid[])",
            streams,
        )
        return {r["stream_id"]: {"priority": incident_priority(r["severity"])} for r in rows}

    def _keep_saved(self, saved: dict[UUID, AlertNotifications], due_now: list[Due]) -> None:
        """Keep the streams just saved whose notifications go out now: recording their
        outcome then needs no read (a stream that moved meanwhile is read again)."""
        for due in due_now:
            if due.stream in saved:
                self._saved[due.stream] = saved[due.stream]
        while len(self._saved) > SAVED_MAX:
            del self._saved[next(iter(self._saved))]

    # -- sending -----------------------------------------------------------------------

    def _links(
        self, alert_id: int, user_id: int, actions: tuple[LinkAction, ...] | None = None
    ) -> dict[str, str]:
        expires = self.clock.now() + timedelta(seconds=self.settings.link_ttl_s)
        return {
            action.value: f"{self.settings.public_url}/r/"
            + make_token(self.settings.link_secret, ActionLink(alert_id, user_id, action, expires))
            for action in (actions or (LinkAction.ACCEPT, LinkAction.RESOLVE, LinkAction.ESCALATE))
        }

    async def _incident_pages(self, group: list[Due]) -> dict[int, Page]:
        """An incident's page (a join link) or a change told to a subscriber (what the
        change was, kept by the pager per event: the page id starts with its position)."""
        incidents = {
            r["incident_id"]: r
            for r in await self.pool.fetch(
                "SELECT * FROM pager_incidents WHERE incident_id = ANY($1::bigint[])",
                list({d.alert_id for d in group}),
            )
        }
        changes = {
            r["position"]: r
            for r in await self.pool.fetch(
                "SELECT * FROM pager_incident_changes WHERE position = ANY($1::bigint[])",
                [int(d.id.split("-", 1)[0]) for d in group if d.kind != INCIDENT_PAGE],
            )
        }
        pages: dict[int, Page] = {}
        for due in group:
            incident = incidents.get(due.alert_id)
            if incident is None:
                continue
            change = changes.get(int(due.id.split("-", 1)[0]))
            pages[due.alert_id] = IncidentPage(
                alert_id=due.alert_id,
                summary=incident["title"],
                details=change["details"] if change else incident["summary"],
                priority=incident_priority(incident["severity"]),
                source_name=incident["reference"],
                alert_url=f"{self.settings.public_url}/api/incidents/{due.alert_id}",
                links=(
                    self._links(due.alert_id, due.user_id, (LinkAction.JOIN,))
                    if due.kind == INCIDENT_PAGE
                    else {}
                ),
                update=change["update"] if change else "",
                reference=incident["reference"],
                severity=incident["severity"],
                status=incident["status"],
            )
        return pages

    async def _pages(self, group: list[Due]) -> dict[int, Page]:
        """Each covered alert's page, from the pager's own copy of the alerts (it has them
        before any page request for them exists)."""
        if group[0].kind in INCIDENT_KINDS:  # a mailbox holds one incident's messages only
            return await self._incident_pages(group)
        rows = {d.alert_id: d.alert for d in group if d.alert is not None}
        unread = list({d.alert_id for d in group if d.alert_id not in rows})
        if unread:
            rows.update(
                (r["alert_id"], r)
                for r in await self.pool.fetch(
                    "SELECT a.alert_id, a.summary, a.details, a.priority, s.name AS source_name "
                    "FROM pager_alerts a LEFT JOIN alert_sources s ON s.id = a.source_id "
                    "WHERE a.alert_id = ANY($1::bigint[])",
                    unread,
                )
            )
        # A message lists the newest alerts with their links and counts the rest: only
        # those (and the latest, which texts, calls and pushes act on) need signed links.
        newest = sorted({d.alert_id for d in group}, reverse=True)[:BUNDLE_LIST_MAX]
        linked = {*newest, group[-1].alert_id}
        pages: dict[int, Page] = {}
        for due in group:
            alert = rows.get(due.alert_id)
            pages[due.alert_id] = Page(
                alert_id=due.alert_id,
                summary=alert["summary"] if alert else f"alert {due.alert_id}",
                details=alert["details"] if alert else "",
                priority=alert["priority"] if alert else "HIGH",
                source_name=(alert["source_name"] if alert else None) or "",
                alert_url=f"{self.settings.public_url}/api/alerts/{due.alert_id}",
                links=(
                    self._links(due.alert_id, due.user_id)
                    if due.kind == PAGE and due.alert_id in linked
                    else {}
                ),
                update=UPDATES.get(due.kind, ""),
            )
        return pages

    async def _deliver(self, due: Due, pages: list[Page], message_id: str) -> str:
        """Send one message about ``pages`` (the latest last); the provider's reference.
        Raises ProviderError."""
        method, target = due.method, due.target
        assert self._session is not None
        timeout = self.settings.timeout_s
        latest = pages[-1]
        page = replace(latest, bundled=len(pages)) if len(pages) > 1 else latest
        if method == "EMAIL":
            smtp = self.settings.smtp
            if smtp is None:
                raise ProviderError("no SMTP server configured (smtp.host)", retryable=False)
            message = build_bundle_email(smtp.sender, target, pages, message_id)
            if self._smtp is None or self._smtp.settings is not smtp:
                self._smtp = SmtpSender(smtp, max_idle=self.concurrency)
            return await send_message(self._smtp, message, latest)
        if method in ("SMS", "VOICE"):
            if self.settings.twilio is None:
                raise ProviderError("no SMS/voice provider configured", retryable=False)
            client = TwilioClient(self._session, self.settings.twilio, timeout)
            if method == "SMS":
                return await client.send_sms(target, page.sms_text())
            if isinstance(page, IncidentPage):  # no keypress menu: join by the link
                return await client.place_call(target, say_twiml(page.voice_text()))
            token = page.links["accept"].rsplit("/", 1)[-1]
            action = f"{self.settings.public_url}/api/notify/voice?t={token}"
            return await client.place_call(target, gather_twiml(page.voice_text(), action))
        if method == "PUSH":
            if self.settings.ntfy is None:
                raise ProviderError(
                    "no push server configured (notify.ntfy_base_url)", retryable=False
                )
            return await NtfyClient(self._session, self.settings.ntfy, timeout).publish(
                target, page
            )
        raise ProviderError(f"ilertd cannot notify by {method}", retryable=False)

    async def _send(self, group: list[Due], handed_over: asyncio.Event | None = None) -> int | None:
        """Send one message covering every notification of ``group`` (one recipient);
        record the outcome for each. ``handed_over`` is set once the provider answered."""
        if not group:
            return None
        group = sorted(group, key=lambda d: (d.due_at, d.alert_id))
        pages_by_alert = await self._pages(group)
        pages = list({d.alert_id: pages_by_alert[d.alert_id] for d in group}.values())
        latest = group[-1]
        message_id = (
            message_id_for(self.settings.smtp.sender)
            if latest.method == "EMAIL" and self.settings.smtp is not None
            else ""
        )
        try:
            reference = await self._deliver(latest, pages, message_id)
        except (ProviderError, ValueError) as exc:
            if handed_over is not None:
                handed_over.set()
            error = str(exc)
            retryable = isinstance(exc, ProviderError) and exc.retryable
            log.info(
                "notification failed",
                notification=latest.id,
                method=latest.method,
                bundled=len(group),
                error=error,
            )

            def failed(n: AlertNotifications, d: Due) -> None:
                attempt = d.attempts + 1
                retry_at: datetime | None = None
                if retryable and attempt < self.settings.max_attempts:
                    wait = self.settings.retry_base_s * 2 ** (attempt - 1)
                    retry_at = self.clock.now() + timedelta(seconds=wait)
                n.failed(d.id, d.method, d.target, attempt, error, retry_at)

            return await self._record_all(group, failed)
        if handed_over is not None:
            handed_over.set()
        log.info(
            "notification sent", notification=latest.id, method=latest.method, bundled=len(group)
        )
        ref = str(reference)[:200]
        return await self._record_all(
            group,
            lambda n, d: n.sent(d.id, d.method, d.target, ref, message_id or ref, len(pages)),
        )

    async def _record_all(self, group: list[Due], change: Any) -> int | None:
        """Apply ``change`` for each notification on its stream and append them all at
        once (one read of the streams; a stream that moved on is read again)."""
        by_stream: dict[UUID, list[Due]] = {}
        for due in group:
            by_stream.setdefault(due.stream, []).append(due)
        aggregates = {s: a for s in by_stream if (a := self._saved.pop(s, None)) is not None}
        unknown = [s for s in by_stream if s not in aggregates]
        if unknown:
            aggregates.update(await self.repository.load_many(unknown))

        async def save(stream: UUID, dues: list[Due]) -> int | None:
            notifications = aggregates.get(stream)
            for _ in range(5):
                if notifications is not None:
                    for due in dues:
                        change(notifications, due)
                    try:
                        result = await self.repository.save(
                            notifications, metadata={"actor": "system:notify"}
                        )
                        return result.last_position if result else None
                    except ConcurrencyError:
                        pass
                notifications = (await self.repository.load_many([stream])).get(stream)
            raise RuntimeError(f"notifications stream {stream} keeps moving")

        positions = await asyncio.gather(*(save(s, d) for s, d in by_stream.items()))
        return max((p for p in positions if p is not None), default=None)
