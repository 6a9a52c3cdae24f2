"""Alert storm: thousands of new alerts at once, each paged, escalated and read back.

What is measured
    The issue's goal, "every alert paged within a second in a storm". The script starts an
    SMTP server (aiosmtpd, in its own process: ``bench/notify.py``'s) and ``python -m ilertd
    serve`` on a freshly recreated scratch database, paging by e-mail through that server.
    Through the REST API it creates two responders, A and B, each with an e-mail contact
    and one EMAIL alert notification rule (HIGH_PRIORITY, no delay); an escalation policy
    whose level 0 pages A and waits ``--timeout-s`` (default 20 s, sent as ``"PT20S"``)
    and whose level 1 pages B; and an API alert source on that policy. Then ``--clients``
    (default 64) closed-loop clients post ``--alerts`` (default 5000) ALERT events, each
    with an alert key of its own and priority HIGH, to ``POST /api/events`` as fast as the
    daemon accepts them (rate limit off). Per alert the script keeps when its POST was sent
    and when its 202 (with the ``alertId``) came back, both ``time.time()``.

    Every figure of the daemon's work comes from the event store afterwards (SQL on the
    scratch database): ``alert-created`` and ``alert-escalated`` (``data.level``) on the
    alert's stream, ``alert-notifications-sent`` / ``-failed`` (``data.alert_id``,
    ``data.user_id``) on the (alert, user) stream. An event's time is its ``recorded_at``
    (PostgreSQL's ``clock_timestamp()`` at the insert of the group-committed append: the
    host's clock, the same as the client's ``time.time()``), except where ``timestamp`` (the
    event data's domain time, the daemon's clock when it decided) is named.

    - ``first_page``: per alert, the first ``alert-notifications-sent`` for A minus the
      alert's 202 (``from_202``, the headline and the target's subject), minus its
      ``alert-created`` (``from_created``) and minus its POST being sent (``from_post``):
      p50/p90/p99/max ms; ``missing`` (no page sent for A when the drain ended),
      ``doubled`` (alerts with more than one sent page for A), ``failed`` (alerts with a
      failed attempt); ``level0_step_from_created``: the level-0 ``alert-escalated`` (the
      step that pages A) minus ``alert-created``.
    - ``level1_escalation``: per alert, the level-1 ``alert-escalated`` minus (the
      ``alert-created`` ``timestamp`` + the timeout): what B sees, so a late level 0, which
      moves level 1's due time along with it, counts; ``missing``, ``doubled`` (more than
      one level-1 step); ``from_due``: the step's ``timestamp`` minus the due time the
      level-0 step set (``next_escalation_at``), the timer's own lag.
    - ``level1_pages``: B's first sent page minus the level-1 escalation; missing, doubled.
    - ``smtp``: the same from the SMTP server's arrival records (``X-Ilertd-Alert-Ids: 1,2,3``
      of a bundled page, else ``X-Ilertd-Alert-Id``): A's first e-mail per alert minus its
      202, alerts without or with more than one e-mail to A (B likewise), messages and the
      most alerts in one message.
    - ``read_models``: after the last 202, ``GET /api/alerts/count?sources=<id>`` is polled
      every 20 ms until it counts every alert of the run: ``api_count_caught_up_ms`` from the
      last 202 to that answer. And from the store: the head position right after the last
      202, and for each projection the last event at or below it that the projection
      handles (a projection only writes its ``projection_tracking`` position when a batch
      had events for it): ``projections_caught_up_ms`` is the time from the last 202 until
      every projection's tracked position reached that, polled every 20 ms (per projection
      in ``per_projection_ms``).
    - ``projection_lag``: every 150 ms from the first POST to the end of the drain, a sampler
      reads the new events and every tracked position: per projection the events it handles
      that it has not yet committed (``max_events_behind``) and the age of the oldest of them
      (``max_staleness_ms``, now minus its ``recorded_at``), their maxima over the run.
    - ``ingest``: alerts accepted per second (first POST to last 202), errors, the 202's
      p50/p99/max as each client saw it.
    - ``cpu``: daemon, its PostgreSQL backends, the SMTP server, this client and the host
      from the first POST to the end of the drain, as in ``bench/ingest.py``, per alert.

    The drain ends when every accepted alert has its page for A, its level-1 step and its
    page for B in the store, or ``--timeout-s`` + ``--drain-timeout-s`` (default 60 s)
    after the last 202; then 2 s more so doubles show. ``--warmup`` untimed alerts
    (default 20) go first on another source, whose one-level policy pages a third user,
    and their pages are awaited, so the leader election, connection set-up and first-touch
    costs are not in the figures.

Raw ceilings, same run
    - ``noop_handler``: the do-nothing aiohttp handler of ``bench/ingest.py`` (reads and
      parses the body, answers 202) in its own process, driven by this script's client with
      the run's bodies (repeated to at least 20,000 requests): ``ingest_ratio`` is the
      daemon's accepted alerts/s over it. This Python client is the limit there
      (``client_cpu_pct`` near 100); the wrk runs below are not client-bound.
    - ``smtp``: ``bench/notify.py``'s plain aiosmtplib loop replaying a captured page to the
      same SMTP server (``--raw-messages``, default 1000), connections kept open.
    - ``alertmanager`` (when ``prometheus-alertmanager`` and ``wrk`` are installed, unless
      ``--no-alertmanager``): Alertmanager in memory (its own storage directory, clustering
      off, a receiver that sends nothing) taking ``POST /api/v2/alerts``, one alert with
      unique labels per request, from ``wrk`` (one thread, ``--clients`` connections, 2 s
      warm-up then ``--wrk-duration-s``, default 5 s), next to the daemon's Events API with
      a unique alert key per request under the same load (after the storm, on another source
      without a policy, so nothing is paged): ``ratio`` = daemon / Alertmanager requests/s
      (the issue's target: >= 0.05).

Targets (``targets``)
    At 3,600 alerts: first page p99 <= 1000 ms from the 202, level-1 escalation p99 <=
    250 ms and max <= 1000 ms from created + timeout, read models caught up (the API count
    and every projection) <= 1000 ms after the last 202, and nothing missing or doubled.
    At 10,000: first page p99 <= 3000 ms and none missing. The tier is the largest one not
    above ``--alerts`` (none below 3,600: ``met`` is then false); ``met`` says whether
    every check held and every alert was accepted.

The database (``--database``, default ``ilertd_bench_storm``) is dropped and recreated at
start; the daemon runs with warning-level JSON logs in a temporary file, shown on failure,
and is stopped with SIGTERM at the end. Progress goes to stderr, one JSON object to stdout.

Usage: ``python bench/storm.py [--alerts 5000] [--clients 64] [--timeout-s 20]``
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import contextlib
import itertools
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg
from _common import (
    add_database_args,
    ms_summary,
    per_s,
    print_result,
    progress,
    run_facts,
)
from _daemon import (
    AUTH,
    CpuSnapshot,
    Sends,
    Server,
    add_daemon_env_arg,
    alert_events,
    api_post,
    backend_pids,
    client_session,
    closed_load,
    cpu_report,
    daemon_env_settings,
    event_answer,
    free_port,
    fresh_database,
    log_on_failure,
    log_summary,
)
from ingest import WRK_LUA, WRK_WARMUP_S, WrkRun, run_wrk, start_noop_server, wrk_snapshot
from notify import (
    SmtpControl,
    notification_stats,
    raw_ceiling,
    start_paging_daemon,
    start_smtp_server,
)

#: The sampler's period during the run, and the poll period while waiting for catch-up.
SAMPLE_S = 0.15
CATCH_UP_POLL_S = 0.02
#: How often the drain looks at what the sampler has seen.
DRAIN_POLL_S = 0.25
#: After everything arrived, this long more for doubles.
SETTLE_S = 2.0
WARMUP_TIMEOUT_S = 30.0
WARMUP_CLIENTS = 4
#: The noop ceiling posts the run's bodies, repeated to at least this many requests.
NOOP_MIN_REQUESTS = 20_000
NOOP_WARMUP = 500
RAW_SMTP_SENDERS = 20
PERCENTILES = (50, 90, 99)
SENT = "alert-notifications-sent"
FAILED = "alert-notifications-failed"
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")
ALERTMANAGER_TARGET_RATIO = 0.05

#: (alerts at least, checks): the 3,600 tier and the 10,000 tier of the issue.
TIER_3600 = 3_600
TIER_10000 = 10_000


# --- The Events API load --------------------------------------------------------------


@dataclass
class EventSends(Sends):
    """Per alert: when its event was sent and its 202 came back, and the alertId named."""

    codes: collections.Counter[str] = field(default_factory=collections.Counter)

    def alert_id(self, status: int, raw: bytes) -> str | None:
        if status != 202:
            self.error(f"{status}: {raw.decode(errors='replace')}")
            return None
        alert_id = event_answer(raw, self.codes).get("alertId")
        if not isinstance(alert_id, int):
            self.error(f"202 without alertId: {raw.decode(errors='replace')}")
            return None
        return str(alert_id)


@dataclass
class NoopSends(Sends):
    """The noop handler's answers: any 202 counts (it names no alert)."""

    def alert_id(self, status: int, raw: bytes) -> str | None:
        if status != 202:
            self.error(f"{status}: {raw.decode(errors='replace')}")
            return None
        return "noop"


def client_figures(sends: Sends) -> dict[str, Any]:
    """Accepted per second (first POST to last answer), errors, and the answer's latency."""
    answered = [i for i, t in enumerate(sends.acked) if not math.isnan(t)]
    rtt = [sends.acked[i] - sends.sent[i] for i in answered]
    elapsed = sends.last_acked - sends.first_sent if answered else 0.0
    return {
        "accepted": len(answered),
        "per_s": per_s(len(answered), elapsed),
        "elapsed_s": round(elapsed, 3),
        "errors": sends.errors,
        **({"error_samples": sends.error_samples} if sends.error_samples else {}),
        **({"statuses": dict(sends.statuses)} if set(sends.statuses) != {202} else {}),
        **ms_summary(rtt, "client", (50, 99)),
    }


# --- Setup over HTTP ------------------------------------------------------------------


@dataclass
class Setup:
    user_a: int
    user_b: int
    email_a: str
    email_b: str
    source_id: int
    key: str
    warmup_user: int
    warmup_key: str


async def responder(session: aiohttp.ClientSession, base: str, name: str) -> tuple[int, str]:
    """A RESPONDER with an e-mail contact and one EMAIL alert rule (high priority, at once)."""
    email = f"{name}@example.test"
    user = await api_post(
        session,
        base + "/api/users",
        {"email": email, "firstName": name, "lastName": "Storm", "role": "RESPONDER"},
    )
    user_id = user["id"]
    contact = await api_post(
        session, f"{base}/api/users/{user_id}/contacts/emails", {"target": email}
    )
    await api_post(
        session,
        f"{base}/api/users/{user_id}/notification-preferences/alerts",
        {
            "method": "EMAIL",
            "contact": {"id": contact["id"]},
            "delayMin": 0,
            "type": "HIGH_PRIORITY",
        },
    )
    return user_id, email


async def source_on_policy(
    session: aiohttp.ClientSession, base: str, name: str, levels: list[tuple[int, int]]
) -> dict[str, Any]:
    """An API alert source on a new policy of ``levels`` (user id, timeout seconds)."""
    policy = await api_post(
        session,
        base + "/api/escalation-policies",
        {
            "name": name,
            "escalationRules": [
                {"escalationTimeout": f"PT{timeout}S", "users": [{"id": user}]}
                for user, timeout in levels
            ],
        },
    )
    return await api_post(
        session,
        base + "/api/alert-sources",
        {"name": name, "integrationType": "API", "escalationPolicy": {"id": policy["id"]}},
    )


async def set_up(session: aiohttp.ClientSession, base: str, timeout_s: int) -> Setup:
    user_a, email_a = await responder(session, base, "ann")
    user_b, email_b = await responder(session, base, "bob")
    source = await source_on_policy(
        session, base, "storm", [(user_a, timeout_s), (user_b, timeout_s)]
    )
    warmup_user, _ = await responder(session, base, "wes")
    warmup = await source_on_policy(session, base, "storm-warm-up", [(warmup_user, 3600)])
    return Setup(
        user_a,
        user_b,
        email_a,
        email_b,
        source["id"],
        source["integrationKey"],
        warmup_user,
        warmup["integrationKey"],
    )


# --- Following the store while the run goes on ----------------------------------------


def projection_filters() -> dict[str, Callable[[str], bool]]:
    """Each projection's name -> whether it handles an event type (this tree's code)."""
    try:
        from projections import all_projections
    except ImportError as exc:  # run without the package on the path
        progress(f"projections not importable ({exc}); every projection counts every event")
        return {}
    return {p.name: p.wants for p in all_projections()}


NEW_EVENTS_SQL = f"""
SELECT position, stream_id, type, extract(epoch FROM recorded_at)::float8 AS rec,
       CASE WHEN type = 'alert-escalated' THEN (data->>'level')::int END AS level,
       CASE WHEN type = '{SENT}' THEN (data->>'alert_id')::bigint END AS alert_id,
       CASE WHEN type = '{SENT}' THEN (data->>'user_id')::bigint END AS user_id
FROM events WHERE position > $1 ORDER BY position
"""


class StoreWatcher:
    """One connection of its own, following the events table and ``projection_tracking``.

    Each tick reads the events appended since the last one (position, type, recorded_at,
    and the few fields the drain needs) and every tracked position; while ``recording`` it
    keeps, per projection, how many of the events it handles it has not committed yet and
    how old the oldest of them is. After ``catch_up_from`` it polls fast until every
    projection has committed the last event it handles at or below the head it read first.
    """

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.filters = projection_filters()
        self.last_position = 0
        #: Per projection (and "*" for one this tree does not know): handled positions and
        #: their recorded_at, in order.
        self.positions: dict[str, list[int]] = collections.defaultdict(list)
        self.recorded: dict[str, list[float]] = collections.defaultdict(list)
        self._names_for: dict[str, list[str]] = {}
        self.alert_of_stream: dict[UUID, int] = {}
        self.escalated: dict[int, set[int]] = collections.defaultdict(set)
        self.sent_to: dict[int, set[int]] = collections.defaultdict(set)
        self.recording = False
        self.max_behind: dict[str, int] = collections.defaultdict(int)
        self.max_staleness: dict[str, float] = collections.defaultdict(float)
        self.samples = 0
        self.tracked_names: set[str] = set()
        self.catch_up_from: float | None = None
        self.head_at_last_202: int | None = None
        self.caught_up_at: dict[str, float] = {}
        self.all_caught_up_at: float | None = None
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def names_for(self, event_type: str) -> list[str]:
        names = self._names_for.get(event_type)
        if names is None:
            names = [n for n, wants in self.filters.items() if wants(event_type)] + ["*"]
            self._names_for[event_type] = names
        return names

    async def read_events(self) -> None:
        rows = await self.conn.fetch(NEW_EVENTS_SQL, self.last_position)
        for row in rows:
            position, event_type, rec = row["position"], row["type"], row["rec"]
            for name in self.names_for(event_type):
                self.positions[name].append(position)
                self.recorded[name].append(rec)
            if event_type == "alert-created":
                self.alert_of_stream[row["stream_id"]] = position
            elif event_type == "alert-escalated":
                alert = self.alert_of_stream.get(row["stream_id"])
                if alert is not None and row["level"] is not None:
                    self.escalated[row["level"]].add(alert)
            elif event_type == SENT and row["user_id"] is not None:
                self.sent_to[row["user_id"]].add(row["alert_id"])
        if rows:
            self.last_position = rows[-1]["position"]

    def handled(self, name: str) -> str:
        return name if name in self.filters else "*"

    def behind(self, name: str, tracked: int, now: float) -> tuple[int, float]:
        """Events ``name`` handles after ``tracked``, and the age of the oldest of them."""
        key = self.handled(name)
        positions = self.positions[key]
        first = bisect.bisect_right(positions, tracked)
        if first >= len(positions):
            return 0, 0.0
        return len(positions) - first, max(now - self.recorded[key][first], 0.0)

    def target(self, name: str, head: int) -> int:
        """The last position at or below ``head`` that ``name`` handles (0: none)."""
        positions = self.positions[self.handled(name)]
        at = bisect.bisect_right(positions, head)
        return positions[at - 1] if at else 0

    async def tick(self) -> None:
        if self.catch_up_from is not None and self.head_at_last_202 is None:
            self.head_at_last_202 = await self.conn.fetchval(
                "SELECT coalesce(max(position), 0) FROM events"
            )
        await self.read_events()
        rows = await self.conn.fetch("SELECT name, position FROM projection_tracking")
        now = time.time()
        tracked = {r["name"]: r["position"] for r in rows}
        self.tracked_names = set(tracked)
        if self.recording:
            self.samples += 1
            for name, position in tracked.items():
                events, age = self.behind(name, position, now)
                self.max_behind[name] = max(self.max_behind[name], events)
                self.max_staleness[name] = max(self.max_staleness[name], age)
        head = self.head_at_last_202
        if head is not None and self.all_caught_up_at is None:
            for name, position in tracked.items():
                if name not in self.caught_up_at and position >= self.target(name, head):
                    self.caught_up_at[name] = now
            if tracked and len(self.caught_up_at) == len(tracked):
                self.all_caught_up_at = now

    def catching_up(self) -> bool:
        return self.catch_up_from is not None and self.all_caught_up_at is None

    def mark_last_202(self, at: float) -> None:
        self.catch_up_from = at
        self._wake.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            await self.tick()
            interval = CATCH_UP_POLL_S if self.catching_up() else SAMPLE_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def done(self, alerts: set[int], setup: Setup) -> tuple[int, int, int]:
        """Of ``alerts``: paged to A, escalated to level 1, paged to B (so far)."""
        return (
            len(self.sent_to[setup.user_a] & alerts),
            len(self.escalated[1] & alerts),
            len(self.sent_to[setup.user_b] & alerts),
        )

    def lag_report(self) -> dict[str, Any]:
        names = sorted(self.tracked_names)
        return {
            "samples": self.samples,
            "sample_period_ms": SAMPLE_S * 1000,
            "max_events_behind": max((self.max_behind[n] for n in names), default=None),
            "max_staleness_ms": round(
                1000 * max((self.max_staleness[n] for n in names), default=0.0), 1
            ),
            "per_projection": {
                n: {
                    "max_events_behind": self.max_behind[n],
                    "max_staleness_ms": round(1000 * self.max_staleness[n], 1),
                }
                for n in names
            },
            **(
                {"unknown_projections": sorted(n for n in names if n not in self.filters)}
                if any(n not in self.filters for n in names)
                else {}
            ),
        }

    def catch_up_report(self) -> dict[str, Any]:
        start = self.catch_up_from

        def ms(at: float | None) -> float | None:
            return None if at is None or start is None else round(1000 * (at - start), 1)

        return {
            "head_at_last_202": self.head_at_last_202,
            "projections_caught_up_ms": ms(self.all_caught_up_at),
            "per_projection_ms": {
                n: ms(self.caught_up_at.get(n)) for n in sorted(self.tracked_names)
            },
        }


async def api_count_caught_up(
    session: aiohttp.ClientSession, base: str, source_id: int, expected: int, deadline: float
) -> float | None:
    """Poll the alert count of the source until it is ``expected``; when that answer came."""
    url = f"{base}/api/alerts/count"
    while time.time() < deadline:
        async with session.get(url, params={"sources": str(source_id)}, headers=AUTH) as answer:
            body = await answer.json() if answer.status == 200 else {}
        if body.get("count", 0) >= expected:
            return time.time()
        await asyncio.sleep(CATCH_UP_POLL_S)
    return None


# --- The figures, from the store ------------------------------------------------------

STORE_SQL = f"""
SELECT position, stream_id, type,
       extract(epoch FROM recorded_at)::float8 AS rec,
       extract(epoch FROM (data->>'timestamp')::timestamptz)::float8 AS ts,
       (data->>'level')::int AS level,
       extract(epoch FROM (data->>'next_escalation_at')::timestamptz)::float8 AS next_at,
       (data->>'alert_id')::bigint AS alert_id,
       (data->>'user_id')::bigint AS user_id
FROM events
WHERE type IN ('alert-created', 'alert-escalated', '{SENT}', '{FAILED}')
ORDER BY position
"""


def summary(samples_s: list[float], prefix: str) -> dict[str, Any]:
    return ms_summary(samples_s, prefix, PERCENTILES)


async def store_figures(
    dsn: str, sends: EventSends, setup: Setup, timeout_s: int
) -> dict[str, dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(STORE_SQL)
    finally:
        await conn.close()
    acked = {int(a): i for a, i in sends.acknowledged().items()}
    created: dict[int, asyncpg.Record] = {}
    alert_of_stream: dict[UUID, int] = {}
    steps: dict[tuple[int, int], list[asyncpg.Record]] = collections.defaultdict(list)
    sent: dict[tuple[int, int], list[float]] = collections.defaultdict(list)
    failed: set[tuple[int, int]] = set()
    for row in rows:
        kind = row["type"]
        if kind == "alert-created":
            created[row["position"]] = row
            alert_of_stream[row["stream_id"]] = row["position"]
        elif kind == "alert-escalated":
            alert = alert_of_stream.get(row["stream_id"])
            if alert is not None:
                steps[(alert, row["level"])].append(row)
        elif kind == SENT:
            sent[(row["alert_id"], row["user_id"])].append(row["rec"])
        else:
            failed.add((row["alert_id"], row["user_id"]))

    a, b = setup.user_a, setup.user_b
    from_202, from_created, from_post, level0_step = [], [], [], []
    first_pages: list[float] = []
    for alert, i in acked.items():
        step0 = steps.get((alert, 0))
        if step0 and alert in created:
            level0_step.append(step0[0]["rec"] - created[alert]["rec"])
        pages = sent.get((alert, a))
        if not pages:
            continue
        first = min(pages)
        first_pages.append(first)
        from_202.append(first - sends.acked[i])
        from_post.append(first - sends.sent[i])
        if alert in created:
            from_created.append(first - created[alert]["rec"])
    first_page = {
        "paged": len(from_202),
        "missing": len(acked) - len(from_202),
        "doubled": sum(1 for alert in acked if len(sent.get((alert, a), ())) > 1),
        "failed": sum(1 for alert in acked if (alert, a) in failed),
        **summary(from_202, "from_202"),
        "within_1s_of_202": sum(1 for x in from_202 if x <= 1.0),
        **summary(from_created, "from_created"),
        **summary(from_post, "from_post"),
        **summary(level0_step, "level0_step_from_created"),
    }
    if len(first_pages) > 1:
        window = max(first_pages) - min(first_pages)
        first_page["first_to_last_page_s"] = round(window, 3)
        first_page["pages_per_s"] = per_s(len(first_pages) - 1, window)

    lag, from_due, b_lag = [], [], []
    escalated = doubled = b_paged = b_doubled = 0
    for alert in acked:
        b_pages = sent.get((alert, b), ())
        b_doubled += len(b_pages) > 1
        step1 = steps.get((alert, 1))
        if not step1:
            continue
        escalated += 1
        doubled += len(step1) > 1
        first = min(step1, key=lambda r: r["rec"])
        if alert in created and created[alert]["ts"] is not None:
            lag.append(first["rec"] - (created[alert]["ts"] + timeout_s))
        step0 = steps.get((alert, 0))
        if step0 and step0[0]["next_at"] is not None and first["ts"] is not None:
            from_due.append(first["ts"] - step0[0]["next_at"])
        if b_pages:
            b_paged += 1
            b_lag.append(min(b_pages) - first["rec"])
    level1 = {
        "escalated": escalated,
        "missing": len(acked) - escalated,
        "doubled": doubled,
        **summary(lag, "lag"),
        "late_over_250ms": sum(1 for x in lag if x > 0.25),
        "late_over_1s": sum(1 for x in lag if x > 1.0),
        "early": sum(1 for x in lag if x < 0),
        **summary(from_due, "from_due"),
    }
    level1_pages = {
        "paged": b_paged,
        "missing": len(acked) - b_paged,
        "doubled": b_doubled,
        "failed": sum(1 for alert in acked if (alert, b) in failed),
        **summary(b_lag, "from_escalation"),
    }
    return {"first_page": first_page, "level1_escalation": level1, "level1_pages": level1_pages}


def smtp_figures(sends: EventSends, records: list[Any], setup: Setup) -> dict[str, Any]:
    """What the SMTP server saw: per alert and address, the messages and the first arrival."""
    acked = sends.acknowledged()
    ours = [r for r in records if r[1] in acked]
    messages: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    first: dict[tuple[str, str], float] = {}
    for arrived, alert_id, rcpts, message in ours:
        for rcpt in rcpts.split(","):
            key = (alert_id, rcpt)
            messages[key].add(message)
            first[key] = min(first.get(key, math.inf), arrived)
    result: dict[str, Any] = {
        "messages": len({r[3] for r in ours}),
        "max_alerts_per_message": max(collections.Counter(r[3] for r in ours).values(), default=0),
        "unexpected_messages": len({r[3] for r in records} - {r[3] for r in ours}),
    }
    for label, email in (("user_a", setup.email_a), ("user_b", setup.email_b)):
        received = [a for a in acked if (a, email) in first]
        result[f"{label}_received"] = len(received)
        result[f"{label}_missing"] = len(acked) - len(received)
        result[f"{label}_doubled"] = sum(1 for a in received if len(messages[(a, email)]) > 1)
    lags = [
        first[(a, setup.email_a)] - sends.acked[i]
        for a, i in acked.items()
        if (a, setup.email_a) in first
    ]
    result.update(summary(lags, "user_a_from_202"))
    return result


# --- The storm ------------------------------------------------------------------------


async def warm_up(
    session: aiohttp.ClientSession,
    url: str,
    setup: Setup,
    watcher: StoreWatcher,
    count: int,
) -> int:
    """Untimed alerts on the warm-up source; wait for their pages in the store."""
    bodies = alert_events(setup.warmup_key, "warm-up", count, "HIGH")
    sends = await closed_load(session, url, EventSends, bodies, WARMUP_CLIENTS)
    expected = {int(a) for a in sends.acknowledged()}
    if not expected:
        raise RuntimeError(f"warm-up: no alert opened: {sends.error_samples}")
    deadline = time.monotonic() + WARMUP_TIMEOUT_S
    while time.monotonic() < deadline:
        paged = len(watcher.sent_to[setup.warmup_user] & expected)
        if paged >= len(expected):
            break
        await asyncio.sleep(DRAIN_POLL_S)
    paged = len(watcher.sent_to[setup.warmup_user] & expected)
    if not paged:
        raise RuntimeError(
            f"warm-up: none of {len(expected)} alerts paged within {WARMUP_TIMEOUT_S:.0f} s"
        )
    return paged


async def drain(
    watcher: StoreWatcher, alerts: set[int], setup: Setup, deadline: float
) -> tuple[int, int, int]:
    """Until every alert is paged to A, escalated and paged to B, or the deadline."""
    last_report = time.monotonic()
    while True:
        done = watcher.done(alerts, setup)
        if min(done) >= len(alerts):
            break
        if time.time() >= deadline:
            progress(f"drain: deadline; A paged, level 1, B paged: {done} of {len(alerts)}")
            break
        if time.monotonic() - last_report >= 5:
            progress(
                f"drain: A paged {done[0]}, level 1 {done[1]}, B paged {done[2]} of {len(alerts)}"
            )
            last_report = time.monotonic()
        await asyncio.sleep(DRAIN_POLL_S)
    await asyncio.sleep(SETTLE_S)
    return watcher.done(alerts, setup)


async def storm(
    args: argparse.Namespace,
    dsn: str,
    session: aiohttp.ClientSession,
    daemon: Server,
    smtp_server: Server,
    smtp: SmtpControl,
    watcher: StoreWatcher,
    setup: Setup,
) -> dict[str, Any]:
    url = daemon.url + "/api/events"
    bodies = alert_events(setup.key, "storm", args.alerts, "HIGH")
    progress(f"storm: {args.alerts} alerts from {args.clients} clients")
    cpu_before = CpuSnapshot.take(daemon.proc.pid, smtp_server.proc.pid)
    watcher.recording = True
    sends = await closed_load(session, url, EventSends, bodies, args.clients)
    cpu_ingest = CpuSnapshot.take(daemon.proc.pid, smtp_server.proc.pid)
    alerts = {int(a) for a in sends.acknowledged()}
    if not alerts:
        raise RuntimeError(f"storm: no alert accepted: {sends.error_samples}")
    last_202 = sends.last_acked
    watcher.mark_last_202(last_202)
    progress(
        f"storm: {len(alerts)} accepted in {last_202 - sends.first_sent:.1f} s, "
        f"{sends.errors} errors; draining"
    )
    deadline = last_202 + args.timeout_s + args.drain_timeout_s
    counted = asyncio.create_task(
        api_count_caught_up(session, daemon.url, setup.source_id, len(alerts), deadline)
    )
    done = await drain(watcher, alerts, setup, deadline)
    cpu_after = CpuSnapshot.take(daemon.proc.pid, smtp_server.proc.pid)
    watcher.recording = False
    api_caught_up = await counted
    progress(f"drain: A paged, level 1, B paged: {done} of {len(alerts)}")
    backends = await backend_pids(dsn, args.database)
    backends.discard(watcher.conn.get_server_pid())
    records = await smtp.records()
    read_models = {
        "api_count_caught_up_ms": (
            round(1000 * (api_caught_up - last_202), 1) if api_caught_up is not None else None
        ),
        **watcher.catch_up_report(),
    }
    cpu = {
        "measured_s": round(cpu_after.at - cpu_before.at, 3),
        **cpu_report(
            cpu_before,
            cpu_after,
            events=len(alerts),
            server="daemon",
            backend_pids=backends,
            helper="smtp_server",
        ),
        **{
            f"ingest_{k}": v
            for k, v in cpu_report(
                cpu_before, cpu_ingest, events=len(alerts), server="daemon"
            ).items()
            if k.startswith("daemon_")
        },
    }
    return {
        "sends": sends,
        "records": records,
        "read_models": read_models,
        "projection_lag": watcher.lag_report(),
        "cpu": cpu,
    }


# --- wrk: the daemon's Events API and Alertmanager, unique keys -------------------------

#: ingest.py's response/done hooks (counts, first error), after a request() that makes
#: every body unique: ``<prefix><n><suffix>`` for n = 1, 2, ...
WRK_UNIQUE_LUA = """
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
end

local headers = {{["Content-Type"] = "application/json"}}
local n = 0
function init(args)
  sent, ok, other, created, deduped = 0, 0, 0, 0, 0
  first_error = ""
end

function request()
  sent = sent + 1
  n = n + 1
  return wrk.format("POST", "{path}", headers, [==[{prefix}]==] .. n .. [==[{suffix}]==])
end

""" + WRK_LUA[WRK_LUA.index("function response(") :]


def daemon_wrk_script(key: str, run: str) -> str:
    prefix = (
        '{"integrationKey": "' + key + '", "eventType": "ALERT", "priority": "HIGH", '
        '"summary": "wrk storm", "alertKey": "wrk-' + run + "-"
    )
    return WRK_UNIQUE_LUA.format(path="/api/events", prefix=prefix, suffix='"}')


def alertmanager_wrk_script(run: str) -> str:
    prefix = (
        '[{"labels": {"alertname": "StormBench", "severity": "critical", "instance": "' + run + "-"
    )
    suffix = '"}, "annotations": {"summary": "wrk storm"}}]'
    return WRK_UNIQUE_LUA.format(path="/api/v2/alerts", prefix=prefix, suffix=suffix)


async def wrk_phase(
    wrk: str,
    scripts: Callable[[str], str],
    url: str,
    server: Server,
    clients: int,
    duration_s: float,
    scratch: str,
) -> tuple[WrkRun, dict[str, Any]]:
    """A warm-up, then the timed wrk run, each with its own unique bodies; the timed run and
    the server's CPU over it."""
    paths = {}
    for run in ("warm", "timed"):
        paths[run] = os.path.join(scratch, f"{server.name}-{run}.lua")
        Path(paths[run]).write_text(scripts(run))
    warm = await run_wrk(wrk, paths["warm"], url, clients, WRK_WARMUP_S)
    before = wrk_snapshot(server.proc.pid)
    load = await run_wrk(wrk, paths["timed"], url, clients, duration_s)
    after = wrk_snapshot(server.proc.pid)
    for one in (warm, load):
        if one.errors:
            progress(f"{server.name} wrk: {one.errors} errors; sample {one.error_sample!r}")
    cpu = cpu_report(before, after, events=max(load.answered, 1), server=server.name)
    return load, {k: v for k, v in cpu.items() if k.startswith(server.name)}


def wrk_figures(load: WrkRun) -> dict[str, Any]:
    return {
        "requests_per_s": round(load.requests_per_s, 1),
        "p50_ms": round(load.p50_ms, 3),
        "p99_ms": round(load.p99_ms, 3),
        "elapsed_s": round(load.elapsed_s, 3),
        "acknowledged": load.acknowledged,
        "errors": load.errors,
    }


async def daemon_wrk(
    args: argparse.Namespace, session: aiohttp.ClientSession, daemon: Server, wrk: str
) -> dict[str, Any]:
    source = await api_post(
        session, daemon.url + "/api/alert-sources", {"name": "wrk", "integrationType": "API"}
    )
    key = source["integrationKey"]
    with tempfile.TemporaryDirectory(prefix="bench-storm-wrk-") as scratch:
        load, cpu = await wrk_phase(
            wrk,
            lambda run: daemon_wrk_script(key, run),
            daemon.url + "/api/events",
            daemon,
            args.clients,
            args.wrk_duration_s,
            scratch,
        )
    return {**wrk_figures(load), "new_alerts": load.counts["created"], **cpu}


ALERTMANAGER_CONFIG = """
route:
  receiver: blackhole
receivers:
  - name: blackhole
"""


async def alertmanager_wrk(args: argparse.Namespace, binary: str, wrk: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-storm-am-") as scratch:
        config = os.path.join(scratch, "alertmanager.yml")
        Path(config).write_text(ALERTMANAGER_CONFIG)
        storage = os.path.join(scratch, "data")
        os.mkdir(storage)
        port = free_port()
        argv = [
            binary,
            f"--config.file={config}",
            f"--storage.path={storage}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        with log_on_failure(
            Server("alertmanager", argv, dict(os.environ), port), "alertmanager"
        ) as am:
            async with client_session(2) as session:
                await am.wait_ready(session, path="/-/ready")
            load, cpu = await wrk_phase(
                wrk,
                alertmanager_wrk_script,
                am.url + "/api/v2/alerts",
                am,
                args.clients,
                args.wrk_duration_s,
                scratch,
            )
            await am.stop()
    return {**wrk_figures(load), **cpu}


def alertmanager_tools(args: argparse.Namespace) -> tuple[str, str] | str:
    """(alertmanager, wrk), or why the comparison is skipped."""
    if args.no_alertmanager:
        return "--no-alertmanager"
    wrk = shutil.which("wrk")
    binary = next(filter(None, map(shutil.which, ALERTMANAGER_BINARIES)), None)
    if wrk is None or binary is None:
        return "needs wrk and prometheus-alertmanager (apt-get install wrk prometheus-alertmanager)"
    return binary, wrk


# --- The raw ceilings -----------------------------------------------------------------


async def noop_ceiling(bodies: list[bytes], clients: int) -> dict[str, Any]:
    """The run's bodies, cycled, at the noop handler from the same closed-loop client."""
    timed = list(itertools.islice(itertools.cycle(bodies), max(len(bodies), NOOP_MIN_REQUESTS)))
    with log_on_failure(start_noop_server(), "noop server") as server:
        async with client_session(clients) as session:
            await server.wait_ready(session)
            url = server.url + "/api/events"
            await closed_load(session, url, NoopSends, timed[:NOOP_WARMUP], clients)
            before = CpuSnapshot.take(server.proc.pid)
            sends = await closed_load(session, url, NoopSends, timed, clients)
            after = CpuSnapshot.take(server.proc.pid)
        await server.stop()
    figures = client_figures(sends)
    return {
        "requests": len(timed),
        "requests_per_s": figures.pop("per_s"),
        **figures,
        **{
            k: v
            for k, v in cpu_report(before, after, events=len(timed), server="noop_server").items()
            if k.startswith("noop_server") or k == "client_cpu_pct"
        },
    }


# --- Targets --------------------------------------------------------------------------


def check(what: str, value: float | None, limit: float) -> dict[str, Any]:
    return {
        "what": what,
        "value": value,
        "limit": limit,
        "ok": value is not None and value <= limit,
    }


def targets(alerts: int, accepted: int, result: dict[str, Any]) -> dict[str, Any]:
    first, level1, pages_b = (
        result["first_page"],
        result["level1_escalation"],
        result["level1_pages"],
    )
    read = result["read_models"]
    if alerts >= TIER_10000:
        tier: int | None = TIER_10000
        checks = [
            check("first page p99 ms, from the 202", first["from_202_p99_ms"], 3000.0),
            check("first pages missing", first["missing"], 0),
        ]
    elif alerts >= TIER_3600:
        tier = TIER_3600
        caught = [read["api_count_caught_up_ms"], read["projections_caught_up_ms"]]
        checks = [
            check("first page p99 ms, from the 202", first["from_202_p99_ms"], 1000.0),
            check("level-1 escalation p99 ms, from created + timeout", level1["lag_p99_ms"], 250.0),
            check(
                "level-1 escalation max ms, from created + timeout", level1["lag_max_ms"], 1000.0
            ),
            check(
                "read models caught up ms after the last 202 (API count and every projection)",
                None if None in caught else max(caught),
                1000.0,
            ),
            check(
                "missing or doubled (first pages, level-1 steps, level-1 pages)",
                sum(s[k] for s in (first, level1, pages_b) for k in ("missing", "doubled")),
                0,
            ),
        ]
    else:
        tier, checks = None, []
    checks.append(check("alerts not accepted", alerts - accepted, 0))
    return {
        "tier_alerts": tier,
        "checks": checks,
        "met": tier is not None and all(c["ok"] for c in checks),
    }


# --- Main -----------------------------------------------------------------------------


async def bench(args: argparse.Namespace, dsn: str) -> dict[str, Any]:
    tools = alertmanager_tools(args)
    smtp_server, smtp_port = start_smtp_server()
    with log_on_failure(smtp_server, "SMTP server"):
        async with client_session(4) as control:
            await smtp_server.wait_ready(control)
            smtp = SmtpControl(control, smtp_server.url, smtp_port)
            progress(f"SMTP server on 127.0.0.1:{smtp_port} (pid {smtp_server.proc.pid})")
            with (
                tempfile.TemporaryDirectory(prefix="bench-storm-") as data_dir,
                log_on_failure(
                    start_paging_daemon(dsn, data_dir, smtp_port, args.daemon_env), "ilertd"
                ) as daemon,
            ):
                conn = await asyncpg.connect(dsn)
                watcher = StoreWatcher(conn)
                following = None
                try:
                    async with client_session(args.clients) as session:
                        await daemon.wait_ready(session)
                        progress(f"ilertd ready on {daemon.url} (pid {daemon.proc.pid})")
                        setup = await set_up(session, daemon.url, args.timeout_s)
                        following = asyncio.create_task(watcher.run())
                        await smtp.reset()
                        warmed = 0
                        if args.warmup:
                            warmed = await warm_up(
                                session, daemon.url + "/api/events", setup, watcher, args.warmup
                            )
                            progress(f"warm-up: {warmed}/{args.warmup} alerts paged")
                            await smtp.reset()
                        run = await storm(
                            args, dsn, session, daemon, smtp_server, smtp, watcher, setup
                        )
                        watcher.stop()
                        await following
                        following = None
                        wrk_daemon: dict[str, Any] | None = None
                        if not isinstance(tools, str):
                            progress(f"wrk: the Events API, unique keys, {args.wrk_duration_s:g} s")
                            wrk_daemon = await daemon_wrk(args, session, daemon, tools[1])
                            progress(f"wrk: ilertd {wrk_daemon['requests_per_s']} requests/s")
                finally:
                    if following is not None:
                        watcher.stop()
                        following.cancel()
                    await conn.close()
                exit_code = await daemon.stop()
                daemon_log = log_summary(daemon)
                if exit_code != 0:
                    progress(f"ilertd exited {exit_code}; log (tail):\n{daemon.log_tail()}")
            sends: EventSends = run["sends"]
            figures = await store_figures(dsn, sends, setup, args.timeout_s)
            progress(
                f"first page p99 {figures['first_page']['from_202_p99_ms']} ms from the 202; "
                f"level 1 p99 {figures['level1_escalation']['lag_p99_ms']} ms; "
                f"caught up {run['read_models']['api_count_caught_up_ms']} ms"
            )
            progress(f"raw ceiling: plain aiosmtplib, {args.raw_messages} messages")
            smtp_ceiling = await raw_ceiling(smtp_server, smtp, args.raw_messages, RAW_SMTP_SENDERS)
        await smtp_server.stop()

    progress("raw ceiling: the noop handler, same client and bodies")
    noop = await noop_ceiling(alert_events(setup.key, "storm", args.alerts, "HIGH"), args.clients)
    ingest = client_figures(sends)
    if ingest["per_s"] and noop["requests_per_s"]:
        noop["ingest_ratio"] = round(ingest["per_s"] / noop["requests_per_s"], 3)
    pages_per_s = figures["first_page"].get("pages_per_s")
    if pages_per_s and smtp_ceiling.get("raw_smtp_ceiling_per_s"):
        smtp_ceiling["first_pages_ratio"] = round(
            pages_per_s / smtp_ceiling["raw_smtp_ceiling_per_s"], 3
        )
    if isinstance(tools, str):
        alertmanager: dict[str, Any] = {"skipped": tools}
    else:
        progress(f"wrk: Alertmanager, {args.wrk_duration_s:g} s")
        am = await alertmanager_wrk(args, tools[0], tools[1])
        assert wrk_daemon is not None
        ratio = (
            wrk_daemon["requests_per_s"] / am["requests_per_s"] if am["requests_per_s"] else None
        )
        alertmanager = {
            "alertmanager": am,
            "ilertd_events_api": wrk_daemon,
            "ratio": round(ratio, 4) if ratio is not None else None,
            "target_ratio": ALERTMANAGER_TARGET_RATIO,
            "ratio_met": ratio is not None and ratio >= ALERTMANAGER_TARGET_RATIO,
        }
        progress(
            f"wrk: Alertmanager {am['requests_per_s']} requests/s, ratio {alertmanager['ratio']}"
        )

    result: dict[str, Any] = {
        "ingest": {"alerts": args.alerts, **ingest, "response_codes": dict(sends.codes)},
        **figures,
        "smtp": smtp_figures(sends, run["records"], setup),
        "read_models": run["read_models"],
        "projection_lag": run["projection_lag"],
        "cpu": run["cpu"],
    }
    try:
        result["notifications"] = await notification_stats(
            dsn, [int(a) for a in sends.acknowledged()]
        )
    except asyncpg.PostgresError as exc:
        result["notifications"] = {"error": str(exc)}
    result.update(
        {
            "raw_ceilings": {"noop_handler": noop, "smtp": smtp_ceiling, "wrk": alertmanager},
            "warmup_paged": warmed,
            "daemon_log": daemon_log,
            "daemon_exit_code": exit_code,
            "daemon_stop_s": round(daemon.stop_s or 0.0, 3),
        }
    )
    result = {
        "targets": targets(args.alerts, ingest["accepted"], result),
        **result,
    }
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    dsn = await fresh_database(args.dsn, args.database)
    result = await bench(args, dsn)
    return {
        "benchmark": "storm",
        "alerts": args.alerts,
        "clients": args.clients,
        "timeout_s": args.timeout_s,
        "drain_timeout_s": args.drain_timeout_s,
        "warmup": args.warmup,
        "daemon_env": args.daemon_env,
        **result,
        **(await run_facts(dsn, args.database)),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=5000, help="new alerts in the storm")
    parser.add_argument("--clients", type=int, default=64, help="concurrent HTTP clients")
    parser.add_argument(
        "--timeout-s", type=int, default=20, help="level 0's escalation timeout, seconds"
    )
    parser.add_argument(
        "--drain-timeout-s",
        type=float,
        default=60.0,
        help="after the last 202 + the timeout, stop waiting for pages and escalations",
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="untimed alerts first (another source)"
    )
    parser.add_argument(
        "--raw-messages", type=int, default=1000, help="messages of the raw SMTP ceiling"
    )
    parser.add_argument(
        "--no-alertmanager", action="store_true", help="skip the wrk / Alertmanager comparison"
    )
    parser.add_argument(
        "--wrk-duration-s", type=float, default=5.0, help="timed seconds of each wrk run"
    )
    add_database_args(parser, "ilertd_bench_storm")
    add_daemon_env_arg(parser)
    args = parser.parse_args()
    args.daemon_env = daemon_env_settings(parser, args.daemon_env)
    if args.alerts < 1 or args.clients < 1 or args.timeout_s < 1 or args.raw_messages < 1:
        parser.error("--alerts, --clients, --timeout-s and --raw-messages must be positive")
    if args.warmup < 0 or args.drain_timeout_s <= 0 or args.wrk_duration_s < 1:
        parser.error("--warmup >= 0, --drain-timeout-s > 0 and --wrk-duration-s >= 1, please")
    return args


if __name__ == "__main__":
    print_result(main(parse_args()))
