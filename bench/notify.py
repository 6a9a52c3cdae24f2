"""Paging by e-mail: from a created alert to its page arriving at the SMTP server.

What is measured
    The script starts an SMTP server (aiosmtpd, in a process of its own, so neither its CPU
    nor its event loop is shared with the daemon's sender or with this script) and ``python
    -m ilertd serve`` as a subprocess on a freshly recreated scratch database, with the
    daemon's SMTP settings pointing at that server (``security = none``). Through the API it
    creates ``--users`` users (default 50, role RESPONDER, no notification rules) and one
    API alert source, then creates alerts with ``POST /api/alerts``, each with one of the
    users as its responder, round-robin. A user without notification rules is paged by one
    e-mail to their address as soon as they become a responder, so every alert owes exactly
    one e-mail: the pager projection turns the ``alert-created`` event into a page request,
    the notifier (on the engine's leader) plans it into a notification, builds the page
    e-mail with its signed action links, hands it to the SMTP server over a new connection,
    and records the outcome as an event.

    The SMTP server notes, per message, the time its DATA was complete (``time.time()``, the
    same clock as this script's on one machine), the alerts it covers (the
    ``X-Ilertd-Alert-Ids: 1,2,3`` header of a bundled page, else ``X-Ilertd-Alert-Id``; one
    record per alert) and the envelope recipients, answers 250, and hands the records over
    on ``GET /records`` of a small HTTP endpoint beside it. This script records, per alert,
    when its ``POST /api/alerts`` was due by the schedule, when it was sent and when the 201
    came back (ilertd answers once the alert is in its read model), so per alert:

    - ``send_to_received``: SMTP arrival minus the moment the POST was sent, i.e. from
      "alert created" to "e-mail received by the SMTP server": the headline (``headline``,
      and the target's subject), counted from the creation POST, not from its 201;
    - ``ack_to_received``: SMTP arrival minus the 201's arrival (negative when the e-mail
      overtakes the 201 on its way back to this client: ``received_before_ack``);
    - ``scheduled_to_received``: arrival minus the time the POST was due, which also counts
      any slip of the sender (coordinated omission);

    each as p50/p95/p99/max in ms. ``missing`` is acknowledged alerts without an e-mail when
    the drain ended: it ends when every alert has its e-mail, or ``--drain-timeout-s``
    (default 30 s) after the last 201, whichever comes first. ``duplicates`` counts e-mails
    beyond the first for one alert (a healthy run has none), ``wrong_recipient`` e-mails not
    addressed to the alert's responder, ``unexpected_messages`` e-mails for no alert of the
    run, ``messages`` and ``max_alerts_per_message`` how the pages were bundled.
    ``notifications`` is the daemon's own ``notifications`` table for the run's alerts
    afterwards (status counts, retried ones, the most frequent errors), ``daemon_log`` its
    log lines counted by level and message.

Load
    Open loop: alert i is due at start + i/``--rate`` (default 100 alerts/s), fixed in
    advance, and ``--clients`` sender tasks (default 64) each take the next due alert, so
    one slow answer does not delay the others. ``schedule_slip_*`` says how late POSTs
    started (large only if every sender was stuck waiting for an answer: the load then
    turns closed-loop and ``achieved_send_rate_per_s`` falls below the rate);
    ``mails_per_s`` (first to last arrival) says whether paging kept up. First, ``--warmup``
    untimed alerts (default 20) are created and their e-mails awaited, so connection set-up,
    the leader election and first-touch costs do not count; the SMTP server's records are
    then cleared. Target from the issue: ``send_to_received_p99_ms`` <= 500 ms at 100
    alerts/s (``target_met``, which also requires nothing missing and the rate kept).

Why a raw ceiling
    The daemon's sender is aiosmtplib in a Python event loop that shares this machine's
    cores with PostgreSQL, this script and the SMTP server. ``raw_smtp_ceiling_per_s`` is the
    rate at which the same SMTP server accepts a real captured page e-mail from a plain
    aiosmtplib client loop in this process (``--raw-senders`` concurrent, default 20;
    ``--raw-messages`` messages, default 1000), each sender keeping its connection open
    between messages as the daemon does: an upper bound for any Python sender of this kind
    on this machine, to read the achieved rate against. CPU of the daemon, its PostgreSQL
    backends, the SMTP server, this client and the host over load plus drain is reported
    as in ``bench/ingest.py``.

The database (``--database``, default ``ilertd_bench_notify``) is dropped and recreated at
start; the daemon runs with the rate limit off and warning-level JSON logs in a temporary
file, shown on failure; it is stopped with SIGTERM at the end. Progress goes to stderr, one
JSON object to stdout.

Usage: ``python bench/notify.py [--rate 100] [--alerts 3000] [--users 50] [--dsn URL]``
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import re
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from typing import Any

import aiohttp
import aiosmtplib
import asyncpg
import orjson
from _common import (
    add_database_args,
    ms_summary,
    per_s,
    percentile_ms,
    print_result,
    progress,
    run_facts,
)
from _daemon import (
    AUTH,
    JSON_HEADERS,
    WARMUP_TIMEOUT_S,
    CpuSnapshot,
    RecorderControl,
    Sends,
    Server,
    add_sender_args,
    api_post,
    backend_pids,
    client_session,
    cpu_report,
    free_port,
    fresh_database,
    in_parallel,
    log_on_failure,
    log_summary,
    paced_load,
    recorder_app,
    start_daemon,
    start_helper,
    timed_with_cpu,
    warm_up,
)

TARGET_RATE = 100.0
TARGET_P99_MS = 500.0
SMTP_FROM = "bench@example.test"
#: Untimed messages before the raw ceiling's timed ones.
RAW_WARMUP = 50
RAW_TIMEOUT_S = 30.0
ALERT_ID_RE = re.compile(rb"^X-Ilertd-Alert-Id:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
#: A bundled page names every alert it covers; a long list is folded over several lines.
ALERT_IDS_RE = re.compile(
    rb"^X-Ilertd-Alert-Ids:[ \t]*((?:[^\r\n]|\r?\n[ \t])*)", re.IGNORECASE | re.MULTILINE
)
ID_SEPARATORS_RE = re.compile(r"[\s,]+")

#: (arrival time.time(), alert id or None, envelope recipients comma-joined, message number):
#: one record per alert a message covers (a bundled message gives several, one number).
Record = tuple[float, str | None, str, int]


def alert_ids_of(head: bytes) -> list[str]:
    """The alerts a message's header block names: ``X-Ilertd-Alert-Ids: 1,2,3`` (a bundled
    page; folded over lines, or as RFC 2047 encoded words, which is how Python's e-mail
    package writes a long list without spaces) or else ``X-Ilertd-Alert-Id: 1``; [] if
    neither."""
    bundled = ALERT_IDS_RE.search(head)
    if bundled:
        value = bundled[1].decode("ascii", "replace")
        if "=?" in value:
            value = str(make_header(decode_header(value)))
        ids = [i for i in ID_SEPARATORS_RE.split(value) if i]
        if ids:
            return ids
    match = ALERT_ID_RE.search(head)
    return [match[1].decode("ascii", "replace")] if match else []


# --- The SMTP server (its own process) ------------------------------------------------


def start_smtp_server() -> tuple[Server, int]:
    """The SMTP server process; its HTTP control port is the Server's port."""
    smtp_port = free_port()
    server = start_helper("smtp", __file__, "--smtp-server", "--smtp-port", str(smtp_port))
    return server, smtp_port


def run_smtp_server(http_port: int, smtp_port: int) -> None:
    """aiosmtpd on ``smtp_port`` recording each message; records over HTTP on ``http_port``."""
    from aiohttp import web
    from aiosmtpd.smtp import SMTP

    records: list[Record] = []
    sample: dict[str, Any] = {}
    messages = 0

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            nonlocal messages
            arrived = time.time()
            content: bytes = envelope.content
            head = content.split(b"\r\n\r\n", 1)[0]
            alert_ids = alert_ids_of(head)
            rcpts = ",".join(envelope.rcpt_tos)
            messages += 1
            for alert_id in alert_ids or [None]:
                records.append((arrived, alert_id, rcpts, messages))
            if not sample and alert_ids:
                sample["content"] = content.decode("utf-8", "replace")
                sample["rcpt_tos"] = list(envelope.rcpt_tos)
            return "250 OK"

    handler = Handler()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        # an explicit hostname: the default calls getfqdn(), which can block on DNS
        smtp = await loop.create_server(
            lambda: SMTP(handler, hostname="bench-smtp.example.test", ident="bench"),
            "127.0.0.1",
            smtp_port,
            backlog=1024,
        )
        runner = web.AppRunner(recorder_app(records, sample), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", http_port).start()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        smtp.close()
        await runner.cleanup()

    asyncio.run(serve())


class SmtpControl(RecorderControl):
    """This script's side of the SMTP server: reset, fetch records, wait for e-mails."""

    name = "smtp server"
    unit = "e-mail"
    arrived = "e-mails received"
    owed = "an e-mail"

    def __init__(self, session: aiohttp.ClientSession, url: str, smtp_port: int) -> None:
        super().__init__(session, url)
        self.smtp_port = smtp_port


# --- Creating alerts ------------------------------------------------------------------


class AlertSends(Sends):
    """Per alert: when it was due, sent and acknowledged (wall clock), and its id."""

    headers = {**AUTH, **JSON_HEADERS}

    def alert_id(self, status: int, raw: bytes) -> str | None:
        if status != 201:
            self.error(f"{status}: {raw.decode(errors='replace')}")
            return None
        try:
            alert_id = orjson.loads(raw).get("id")
        except (orjson.JSONDecodeError, AttributeError):
            alert_id = None
        if alert_id is None:
            self.error(f"{status} without id: {raw.decode(errors='replace')}")
            return None
        return str(alert_id)


def alert_bodies(source_id: int, users: list[int], prefix: str, count: int) -> list[bytes]:
    """Alert i has users[i % len(users)] as its responder."""
    return [
        orjson.dumps(
            {
                "summary": f"{prefix} {i}: disk usage above 90% on host db-{i % 97}",
                "details": "Filesystem /var/lib/postgresql is filling up.",
                "alertSource": {"id": source_id},
                "responders": [{"user": {"id": users[i % len(users)]}}],
            }
        )
        for i in range(count)
    ]


# --- The daemon -----------------------------------------------------------------------


def start_paging_daemon(
    dsn: str, data_dir: str, smtp_port: int, extra: Mapping[str, str] | None = None
) -> Server:
    """``ilertd serve`` as in bench/ingest.py, paging by e-mail through our SMTP server;
    ``extra`` ILERTD_* settings on top."""
    settings = {
        "ILERTD_SMTP_HOST": "127.0.0.1",
        "ILERTD_SMTP_PORT": str(smtp_port),
        "ILERTD_SMTP_SECURITY": "none",
        "ILERTD_SMTP_FROM": SMTP_FROM,
        **(extra or {}),
    }
    return start_daemon(dsn, data_dir, settings)


def user_email(n: int) -> str:
    return f"u{n}@example.test"


async def set_up(
    session: aiohttp.ClientSession, base: str, users: int
) -> tuple[int, list[int], dict[int, str]]:
    """``users`` responders without notification rules and one API alert source."""
    ids: list[int] = []
    emails: dict[int, str] = {}
    for n in range(1, users + 1):
        user = await api_post(
            session,
            base + "/api/users",
            {"email": user_email(n), "firstName": "U", "lastName": str(n), "role": "RESPONDER"},
        )
        ids.append(user["id"])
        emails[user["id"]] = user_email(n)
    source = await api_post(
        session, base + "/api/alert-sources", {"name": "bench", "integrationType": "API"}
    )
    return source["id"], ids, emails


async def notification_stats(dsn: str, alert_ids: list[int]) -> dict[str, Any]:
    """The daemon's notifications table for these alerts: status counts and retries."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT method, status, count(*) AS n, count(*) FILTER (WHERE attempts > 1) AS retried"
            " FROM notifications WHERE alert_id = ANY($1::bigint[]) GROUP BY method, status",
            alert_ids,
        )
        errors = await conn.fetch(
            "SELECT last_error, count(*) AS n FROM notifications "
            "WHERE alert_id = ANY($1::bigint[]) AND last_error IS NOT NULL "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 3",
            alert_ids,
        )
        unplanned = await conn.fetchval(
            "SELECT count(*) FROM page_requests WHERE alert_id = ANY($1::bigint[]) AND NOT planned",
            alert_ids,
        )
    finally:
        await conn.close()
    return {
        "rows": sum(r["n"] for r in rows),
        "status": {f"{r['method']}:{r['status']}": r["n"] for r in rows},
        "retried": sum(r["retried"] for r in rows),
        "page_requests_unplanned": unplanned,
        **({"last_errors": {r["last_error"]: r["n"] for r in errors}} if errors else {}),
    }


# --- Analysis -------------------------------------------------------------------------


def analyse(sends: Sends, records: list[Record], responder_of: dict[str, str]) -> dict[str, Any]:
    """``responder_of``: alert id -> the e-mail address its page must go to."""
    acked = sends.acknowledged()
    ours = [r for r in records if r[1] in acked]
    first_arrival: dict[str, float] = {}
    for arrived, alert_id, _rcpt, _message in ours:
        assert alert_id is not None
        if alert_id not in first_arrival or arrived < first_arrival[alert_id]:
            first_arrival[alert_id] = arrived
    per_alert = collections.Counter(r[1] for r in ours)
    send_lat, ack_lat, sched_lat = [], [], []
    for alert_id, arrived in first_arrival.items():
        i = acked[alert_id]
        send_lat.append(arrived - sends.sent[i])
        ack_lat.append(arrived - sends.acked[i])
        sched_lat.append(arrived - sends.scheduled[i])
    ack_rtt = [sends.acked[i] - sends.sent[i] for i in acked.values()]
    lateness = sends.valid(sends.lateness)
    sent = sends.valid(sends.sent)
    result: dict[str, Any] = {
        "sent": len(sent),
        "acknowledged": len(acked),
        "errors": sends.errors,
        **({"error_samples": sends.error_samples} if sends.error_samples else {}),
        **({"statuses": dict(sends.statuses)} if set(sends.statuses) != {201} else {}),
        "received": len(first_arrival),
        "missing": len(acked) - len(first_arrival),
        "duplicates": sum(n - 1 for n in per_alert.values() if n > 1),
        "wrong_recipient": sum(1 for r in ours if r[2] != responder_of.get(str(r[1]))),
        "unexpected_messages": len({r[3] for r in records} - {r[3] for r in ours}),
        "messages": len({r[3] for r in ours}),
        "max_alerts_per_message": max(collections.Counter(r[3] for r in ours).values(), default=0),
        **ms_summary(send_lat, "send_to_received"),
        **ms_summary(ack_lat, "ack_to_received"),
        "received_before_ack": sum(1 for x in ack_lat if x < 0),
        **ms_summary(sched_lat, "scheduled_to_received"),
        **ms_summary(ack_rtt, "ack_rtt"),
        **ms_summary(lateness, "schedule_slip"),
        "sent_over_10ms_late": sum(1 for x in lateness if x > 0.010),
        "achieved_send_rate_per_s": per_s(len(sent) - 1, max(sent) - min(sent))
        if len(sent) > 1
        else None,
    }
    if first_arrival:
        first, last = min(first_arrival.values()), max(first_arrival.values())
        result["first_to_last_arrival_s"] = round(last - first, 3)
        result["mails_per_s"] = per_s(len(first_arrival) - 1, last - first)
        if sends.valid(sends.acked):
            result["last_arrival_after_last_ack_s"] = round(last - max(sends.valid(sends.acked)), 3)
    return result


# --- The daemon run -------------------------------------------------------------------


async def bench_daemon(
    args: argparse.Namespace, dsn: str, smtp_server: Server, smtp: SmtpControl
) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-notify-") as data_dir,
        log_on_failure(start_paging_daemon(dsn, data_dir, smtp.smtp_port), "ilertd") as daemon,
    ):
        async with client_session(args.clients) as session:
            await daemon.wait_ready(session)
            progress(f"ilertd ready on {daemon.url} (pid {daemon.proc.pid})")
            source_id, users, emails = await set_up(session, daemon.url, args.users)
            progress(f"{len(users)} users and alert source {source_id} created")
            url = daemon.url + "/api/alerts"
            await smtp.reset()
            warmed = 0
            if args.warmup:
                warm = alert_bodies(source_id, users, "warm-up", args.warmup)
                warmed = await warm_up(
                    session,
                    url,
                    AlertSends,
                    warm,
                    4,
                    smtp,
                    deadline=time.time() + WARMUP_TIMEOUT_S,
                )
                progress(f"warm-up: {warmed}/{args.warmup} e-mails received")
            bodies = alert_bodies(source_id, users, "bench", args.alerts)
            cpu_before = CpuSnapshot.take(daemon.proc.pid, smtp_server.proc.pid)
            progress(f"{args.alerts} alerts at {args.rate:g}/s, {args.clients} senders")
            sends = await paced_load(session, url, AlertSends, bodies, args.rate, args.clients)
            acked = sends.acknowledged()
            progress(f"{len(acked)} alerts created, {sends.errors} errors; waiting for e-mails")
            last_ack = max(sends.valid(sends.acked), default=time.time())
            records, _ = await smtp.drain(
                set(acked), "notify", deadline=last_ack + args.drain_timeout_s
            )
            cpu_after = CpuSnapshot.take(daemon.proc.pid, smtp_server.proc.pid)
            backends = await backend_pids(dsn, args.database)
        exit_code = await daemon.stop()
        responder_of = {a: emails[users[i % len(users)]] for a, i in acked.items()}
        result = analyse(sends, records, responder_of)
        result["daemon_log"] = log_summary(daemon)
        if exit_code != 0 or result["missing"] or not acked or sends.errors:
            progress(f"ilertd exited {exit_code}; log (tail):\n{daemon.log_tail()}")

    result.update(
        {
            "notifications": await notification_stats(dsn, [int(a) for a in acked]),
            "measured_s": round(cpu_after.at - cpu_before.at, 3),
            **cpu_report(
                cpu_before,
                cpu_after,
                events=len(acked),
                server="daemon",
                backend_pids=backends,
                helper="smtp_server",
            ),
            "daemon_exit_code": exit_code,
            "daemon_stop_s": round(daemon.stop_s or 0.0, 3),
            "warmup_received": warmed,
        }
    )
    return result


# --- The raw ceiling ------------------------------------------------------------------


async def raw_ceiling(
    smtp_server: Server, smtp: SmtpControl, messages: int, senders: int
) -> dict[str, Any]:
    """A plain aiosmtplib client loop sending a captured page to the same SMTP server,
    connections kept open between messages like the daemon's."""
    sample = await smtp.sample()
    if not sample:
        raise RuntimeError("the SMTP server captured no page e-mail to replay")
    message = message_from_bytes(sample["content"].encode(), policy=policy.SMTP).as_bytes(
        policy=policy.SMTP
    )
    recipients = sample["rcpt_tos"]
    latencies: list[float] = []
    errors: list[str] = []
    idle: list[aiosmtplib.SMTP] = []

    def sender(timed: bool) -> Callable[[int], Awaitable[None]]:
        async def send(_i: int) -> None:
            started = time.perf_counter()
            client = idle.pop() if idle else None
            try:
                if client is None:
                    client = aiosmtplib.SMTP(
                        hostname="127.0.0.1",
                        port=smtp.smtp_port,
                        local_hostname="localhost",
                        start_tls=False,
                        timeout=RAW_TIMEOUT_S,
                    )
                    await client.connect()
                await client.sendmail(SMTP_FROM, recipients, message)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                if client is not None:
                    client.close()
                if timed and len(errors) < 1000:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                return
            idle.append(client)
            if timed:
                latencies.append(time.perf_counter() - started)

        return send

    await smtp.reset()
    await in_parallel(RAW_WARMUP, senders, sender(timed=False))
    await smtp.reset()
    elapsed, client_cpu, smtp_cpu = await timed_with_cpu(
        in_parallel(messages, senders, sender(timed=True)), smtp_server
    )
    arrived = await smtp.count()
    for client in idle:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            await client.quit()
    await smtp.reset()
    return {
        "raw_smtp_ceiling_per_s": per_s(len(latencies), elapsed),
        "raw_messages": messages,
        "raw_senders": senders,
        "raw_received": arrived,
        "raw_errors": len(errors),
        **({"raw_error_samples": errors[:3]} if errors else {}),
        "raw_message_bytes": len(sample["content"].encode()),
        "raw_p50_ms": round(percentile_ms(latencies, 50), 3) if latencies else None,
        "raw_p99_ms": round(percentile_ms(latencies, 99), 3) if latencies else None,
        "raw_client_cpu_pct": client_cpu,
        "raw_smtp_server_cpu_pct": smtp_cpu,
    }


# --- Main -----------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> dict[str, Any]:
    dsn = await fresh_database(args.dsn, args.database)
    smtp_server, smtp_port = start_smtp_server()
    with log_on_failure(smtp_server, "SMTP server"):
        async with client_session(4) as control:
            await smtp_server.wait_ready(control)
            smtp = SmtpControl(control, smtp_server.url, smtp_port)
            progress(f"SMTP server on 127.0.0.1:{smtp_port} (pid {smtp_server.proc.pid})")
            daemon = await bench_daemon(args, dsn, smtp_server, smtp)
            progress(
                f"received {daemon['received']}/{daemon['acknowledged']}, p99 send->received "
                f"{daemon['send_to_received_p99_ms']} ms"
            )
            progress(f"raw ceiling: {args.raw_messages} messages, {args.raw_senders} senders")
            ceiling = await raw_ceiling(smtp_server, smtp, args.raw_messages, args.raw_senders)
            progress(f"raw ceiling: {ceiling['raw_smtp_ceiling_per_s']} messages/s")
        await smtp_server.stop()

    p99 = daemon["send_to_received_p99_ms"]
    achieved = daemon["achieved_send_rate_per_s"] or 0.0
    target_met = bool(
        daemon["missing"] == 0
        and daemon["acknowledged"] == args.alerts
        and p99 is not None
        and p99 <= TARGET_P99_MS
        and args.rate >= TARGET_RATE
        and achieved >= 0.98 * args.rate
    )
    return {
        "benchmark": "notify",
        "alerts": args.alerts,
        "rate_per_s": args.rate,
        "users": args.users,
        "clients": args.clients,
        "warmup": args.warmup,
        "drain_timeout_s": args.drain_timeout_s,
        "headline": {
            "what": "alert created (its POST /api/alerts sent) -> its page at the SMTP server",
            "p50_ms": daemon["send_to_received_p50_ms"],
            "p99_ms": p99,
            "max_ms": daemon["send_to_received_max_ms"],
            "missing": daemon["missing"],
            "duplicates": daemon["duplicates"],
        },
        "targets": {
            "send_to_received_p99_ms_max": TARGET_P99_MS,
            "rate_per_s": TARGET_RATE,
            "met": target_met,
        },
        **daemon,
        **ceiling,
        **(await run_facts(dsn, args.database)),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="alerts created per s")
    parser.add_argument("--alerts", type=int, default=3000, help="timed alerts in total")
    parser.add_argument("--users", type=int, default=50, help="responders, round-robin")
    add_sender_args(
        parser,
        warmup=20,
        warmup_help="untimed alerts first, e-mails awaited",
        drain_help="stop waiting for e-mails this long after the last 201",
    )
    parser.add_argument(
        "--raw-messages", type=int, default=1000, help="messages of the raw SMTP ceiling"
    )
    parser.add_argument(
        "--raw-senders", type=int, default=20, help="concurrent senders of the raw ceiling"
    )
    add_database_args(parser, "ilertd_bench_notify")
    # Internal: the SMTP server process runs this same file.
    parser.add_argument("--smtp-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--smtp-port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp_server:
        return args
    if args.rate <= 0 or args.alerts < 1 or args.users < 1 or args.clients < 1:
        parser.error("--rate, --alerts, --users and --clients must be positive")
    if args.warmup < 0 or args.drain_timeout_s <= 0:
        parser.error("--warmup must not be negative, --drain-timeout-s must be positive")
    if args.raw_messages < 1 or args.raw_senders < 1:
        parser.error("--raw-messages and --raw-senders must be positive")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.smtp_server:
        run_smtp_server(arguments.port, arguments.smtp_port)
    else:
        print_result(main(arguments))
