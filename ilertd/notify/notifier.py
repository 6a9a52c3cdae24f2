"""The notifier: turns page requests into scheduled notifications and sends them.

It runs on the engine's leader beside the outbound dispatcher. Each round it

1. plans open page requests (a user became a responder): the user's ``alerts`` rules for
   the alert's priority become ``Scheduled`` notifications, due after each rule's delay; a
   user without rules gets an e-mail at once to their address; a muted user's page is
   ``Skipped`` with the reason (on the timeline);
2. sends the due notifications over their channel (EMAIL over SMTP, SMS and VOICE through
   a Twilio-compatible API, PUSH through ntfy), each page carrying signed, expiring links to
   accept, resolve or escalate; a failure is retried with doubling waits up to
   ``max_attempts``, then the notification is an ERROR and the user's later rules still go
   out.

Every step is an event on the (alert, user) notifications stream, and a notification stays
"in flight" here until the pager projection shows its outcome, so nothing goes out twice
from one leader and nothing is lost across a restart.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg
import structlog

from eventstore.repository import Repository
from projections import ProjectionRunner
from projections.users import notification_rules

from ..clock import Clock
from ..domain.alert_notifications import PAGE, AlertNotifications, notifications_id
from ..engine.worker import IDLE_POLL_S, LeaderWorker
from ..outbound.guard import NetworkPolicy, make_connector
from ..outbound.smtp import SmtpSettings
from .email_page import send_page_email
from .errors import ProviderError
from .links import ActionLink, LinkAction, make_token
from .ntfy import NtfyClient, NtfySettings
from .page import UPDATES, Page
from .twilio import TwilioClient, TwilioSettings, gather_twiml

log = structlog.get_logger(__name__)

BATCH = 100
PRIORITY_RULE = {"HIGH": "HIGH_PRIORITY", "LOW": "LOW_PRIORITY"}


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
    policy: NetworkPolicy = field(default_factory=NetworkPolicy)


class Notifier(LeaderWorker):
    projection = "pager"

    def __init__(
        self,
        pool: asyncpg.Pool,
        repository: Repository,
        runner: ProjectionRunner,
        clock: Clock,
        settings: NotifySettings,
    ) -> None:
        super().__init__(runner, settings.concurrency)
        self.pool = pool
        self.repository = repository
        self.clock = clock
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        #: (method, number, kind) of each text or call in flight, by its first notification
        self._phone_targets: dict[str, tuple[str, str, str]] = {}
        #: numbers texted or called whose notifications the pager has not shown as sent yet
        self._phones_recorded: dict[tuple[str, str, str], int] = {}

    async def _open(self) -> None:
        self._session = aiohttp.ClientSession(connector=make_connector(self.settings.policy))

    async def _close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _round(self) -> float:
        now = self.clock.now()
        busy = self._busy()
        applied = self.runner.positions.get("pager", 0)
        self._phones_recorded = {k: p for k, p in self._phones_recorded.items() if p > applied}
        if self.free > 0:
            for row in await self.pool.fetch(
                "SELECT * FROM page_requests WHERE NOT planned AND NOT (id = ANY($1::text[])) "
                "ORDER BY paged_at LIMIT $2",
                busy,
                min(self.free, BATCH),
            ):
                self._start([row["id"]], lambda row=row: self._plan(row))
        if self.free > 0:
            self._start_sends(await self._due(now, busy), self.free)
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
            BATCH * 5,
        )

    def _start_sends(self, rows: list[asyncpg.Record], free: int) -> None:
        """One send per notification; texts and calls to one number as one bundle, and
        none while another to that number is still in flight. Pages and each kind of
        status update are bundled apart."""
        phones_busy = set(self._phone_targets.values())
        bundles: dict[tuple[str, str, str], list[asyncpg.Record]] = {}
        for row in rows:
            if row["method"] in ("SMS", "VOICE"):
                key = (row["method"], row["target"], row["kind"])
                if key not in phones_busy:
                    bundles.setdefault(key, []).append(row)
            elif free > 0:
                self._start([row["id"]], lambda row=row: self._send([row]))
                free -= 1
        for key, group in bundles.items():
            if free <= 0:
                break
            ids = [r["id"] for r in group]
            self._phone_targets[ids[0]] = key
            self._start(ids, lambda ids=ids, group=group: self._send_phone(ids[0], group))
            free -= 1

    async def _send_phone(self, first: str, group: list[asyncpg.Record]) -> int | None:
        key = self._phone_targets[first]
        position = None
        try:
            position = await self._send(group)
            return position
        finally:
            self._phone_targets.pop(first, None)
            if position is not None:  # busy until the pager shows it was sent
                self._phones_recorded[key] = position

    # -- planning ----------------------------------------------------------------------

    async def _save(self, row: asyncpg.Record, change: Any) -> int | None:
        """Apply ``change`` to the (alert, user) stream and append it (retried on a race);
        the position of the last event appended, None when there was nothing to do."""
        alert_stream = UUID(str(row["alert_stream"]))
        stream = notifications_id(alert_stream, row["user_id"])
        _, result = await self.repository.change(
            stream,
            change,
            metadata={"actor": "system:notify"},
            create=lambda: AlertNotifications(
                alert_id=row["alert_id"],
                alert_stream=alert_stream,
                user_id=row["user_id"],
                id=stream,
            ),
        )
        return result.last_position if result else None

    async def _plan(self, page: asyncpg.Record) -> int | None:
        now = self.clock.now()
        user = await self.pool.fetchrow(
            "SELECT id, email, muted_until, deleted_at FROM users WHERE id = $1", page["user_id"]
        )
        alert = await self.pool.fetchrow(
            "SELECT priority FROM pager_alerts WHERE stream_id = $1", page["alert_stream"]
        )
        priority = alert["priority"] if alert else "HIGH"
        plans: list[tuple[str, str, int, int | None]] = []
        reason = None
        if user is None or user["deleted_at"] is not None:
            reason = "the user does not exist"
        elif user["muted_until"] is not None and user["muted_until"] > now:
            reason = f"the user is muted until {user['muted_until'].isoformat()}"
        elif page["kind"] != PAGE:
            plans = await self._update_plans(user, page["kind"])
            if not plans:
                reason = f"the user has no updates rule for {page['kind']} any more"
        else:
            plans = await self._plans(user, priority)
            if not plans:
                reason = "the user has no way to be reached"

        def change(notifications: AlertNotifications) -> bool:
            if page["id"] in notifications.planned:
                return False
            if reason is not None:
                notifications.skip(page["id"], reason)
                return True
            for method, target, delay_min, rule_id in plans:
                notifications.schedule(
                    page["id"],
                    f"{page['id']}-{rule_id or 0}",
                    method,
                    target,
                    page["paged_at"] + timedelta(minutes=delay_min),
                    rule_id,
                    page["kind"],
                )
            return True

        return await self._save(page, change)

    async def _plans(
        self, user: asyncpg.Record, priority: str
    ) -> list[tuple[str, str, int, int | None]]:
        """(method, target, delay in minutes, rule id) for each of the user's rules."""
        wanted = PRIORITY_RULE.get(priority, "HIGH_PRIORITY")
        rules = [
            r
            for r in await notification_rules(self.pool, user["id"], "alerts")
            if (r["priority_type"] or "HIGH_PRIORITY") == wanted
        ]
        if not rules:
            return [("EMAIL", user["email"], 0, None)] if user["email"] else []
        return self._rule_plans(user, rules)

    async def _update_plans(
        self, user: asyncpg.Record, kind: str
    ) -> list[tuple[str, str, int, int | None]]:
        """The user's ``updates`` rules for ``kind``, all at once."""
        rules = await notification_rules(self.pool, user["id"], "updates")
        return self._rule_plans(user, [r for r in rules if r["update_type"] == kind])

    def _rule_plans(
        self, user: asyncpg.Record, rules: list[asyncpg.Record]
    ) -> list[tuple[str, str, int, int | None]]:
        plans = []
        for rule in rules:
            method = rule["method"]
            target = rule["target"]
            if method == "PUSH":
                target = f"{self.settings.ntfy_topic_prefix}{user['id']}"
            if target:
                plans.append((method, target, rule["delay_min"] or 0, rule["rule_id"]))
        return plans

    # -- sending -----------------------------------------------------------------------

    def _links(self, alert_id: int, user_id: int) -> dict[str, str]:
        expires = self.clock.now() + timedelta(seconds=self.settings.link_ttl_s)
        return {
            action.value: f"{self.settings.public_url}/r/"
            + make_token(self.settings.link_secret, ActionLink(alert_id, user_id, action, expires))
            for action in LinkAction
        }

    async def _page(self, row: asyncpg.Record) -> Page:
        alert = await self.pool.fetchrow(
            "SELECT a.summary, a.details, a.priority, s.name AS source_name FROM alerts a "
            "LEFT JOIN alert_sources s ON s.id = a.source_id WHERE a.id = $1",
            row["alert_id"],
        )
        kind = row["kind"]
        links = self._links(row["alert_id"], row["user_id"]) if kind == PAGE else {}
        return Page(
            alert_id=row["alert_id"],
            summary=alert["summary"] if alert else f"alert {row['alert_id']}",
            details=alert["details"] if alert else "",
            priority=alert["priority"] if alert else "HIGH",
            source_name=(alert["source_name"] if alert else None) or "",
            alert_url=f"{self.settings.public_url}/api/alerts/{row['alert_id']}",
            links=links,
            update=UPDATES.get(kind, ""),
        )

    async def _deliver(self, row: asyncpg.Record, page: Page) -> str:
        """Send one notification; the provider's reference. Raises ProviderError."""
        method, target = row["method"], row["target"]
        assert self._session is not None
        timeout = self.settings.timeout_s
        if method == "EMAIL":
            if self.settings.smtp is None:
                raise ProviderError("no SMTP server configured (smtp.host)", retryable=False)
            return await send_page_email(self.settings.smtp, target, page)
        if method in ("SMS", "VOICE"):
            if self.settings.twilio is None:
                raise ProviderError("no SMS/voice provider configured", retryable=False)
            client = TwilioClient(self._session, self.settings.twilio, timeout)
            if method == "SMS":
                return await client.send_sms(target, page.sms_text())
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

    async def _send(self, group: list[asyncpg.Record]) -> int | None:
        """Send one notification, or several to one number as one summary; record the
        outcome for each."""
        row = max(group, key=lambda r: r["due_at"])  # a bundle shows its latest alert
        page = await self._page(row)
        if len(group) > 1:
            page = replace(page, bundled=len(group))
        attempt = row["attempts"] + 1
        try:
            reference = await self._deliver(row, page)
        except (ProviderError, ValueError) as exc:
            error = str(exc)
            retryable = isinstance(exc, ProviderError) and exc.retryable
            retry_at: datetime | None = None
            if retryable and attempt < self.settings.max_attempts:
                wait = self.settings.retry_base_s * 2 ** (attempt - 1)
                retry_at = self.clock.now() + timedelta(seconds=wait)
            log.info(
                "notification failed",
                notification=row["id"],
                method=row["method"],
                bundled=len(group),
                error=error,
                retry=retry_at is not None,
            )
            return await self._record_all(
                group,
                lambda n, r: n.failed(
                    r["id"], r["method"], r["target"], r["attempts"] + 1, error, retry_at
                ),
            )
        log.info(
            "notification sent", notification=row["id"], method=row["method"], bundled=len(group)
        )
        ref = str(reference)[:200]
        return await self._record_all(
            group, lambda n, r: n.sent(r["id"], r["method"], r["target"], ref)
        )

    async def _record_all(self, group: list[asyncpg.Record], change: Any) -> int | None:
        positions = await asyncio.gather(
            *(self._save(r, lambda n, r=r: change(n, r)) for r in group)
        )
        return max((p for p in positions if p is not None), default=None)
