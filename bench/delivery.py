"""Outbound webhook delivery: from an accepted alert event to the webhook's arrival.

What is measured
    The script starts a webhook receiver (an aiohttp server in a process of its own, so its
    CPU does not steal from this script's event loop) and, per phase, ``python -m ilertd
    serve`` as a subprocess on a freshly recreated scratch database. It creates one alert
    source and one alert action (``connectorType: webhook``, trigger ``alert-created``,
    ``webhookUrl`` the receiver's ``/hook``) through the API, then posts ALERT events, each
    with an alert key of its own, so each opens an alert and each alert owes exactly one
    webhook delivery: the daemon's outbox projection turns the ``alert-created`` event into
    a delivery row, its dispatcher loads the alert, builds ilertd's webhook body (the alert
    as JSON, ``id`` the alertId), signs it, POSTs it and records the outcome as an event.

    The receiver notes, per request, its arrival time (``time.time()``, the same clock as
    this script's on one machine), the ``id`` in the body and the ``X-Ilertd-Delivery``
    header, answers 200 at once, and hands the records over on ``GET /records``. Every 202
    from ``/api/events`` names its ``alertId``; this script records the wall-clock time it
    sent each event and the time the 202 arrived (acknowledged), so per alert:

    - ``ack_to_received``: receiver arrival minus acknowledgement, the delay a webhook
      consumer sees after ilertd has accepted the event (what the p99 target is about). It
      can be negative when the webhook overtakes the 202 on its way back to this client.
    - ``send_to_received``: receiver arrival minus the moment the event was sent.
    - (paced only) ``scheduled_to_received``: arrival minus the time the event was due
      by the schedule, which also counts any slip of the sender (coordinated omission).

    ``missing`` is acknowledged alerts with no delivery when draining ended (all arrived,
    or ``--drain-timeout-s`` without a new arrival, default 30 s); ``duplicates`` counts
    requests repeating an ``X-Ilertd-Delivery`` already received (at-least-once delivery
    makes them legal, but a healthy run has none); ``extra_deliveries`` counts alerts that
    got more than one distinct delivery. ``outbox`` is the daemon's own ``deliveries``
    table for the phase's alerts after the run (status counts, retries), ``daemon_attempts``
    its delivery-attempt counter, ``daemon_log`` its log lines counted by level and message
    (with the first error line).

Phases
    1. ``paced``: ``--events`` events (default 10000) at ``--rate`` events/s (default 500)
       from an open-loop schedule: event i is due at start + i/rate, fixed in advance, and
       ``--clients`` sender tasks (default 64) each take the next due event, so one slow
       answer does not delay the others. ``schedule_slip_*`` says how late sends started
       (large only if every sender was stuck in a request: the load then turns closed-loop
       and ``achieved_send_rate_per_s`` falls below the rate); ``deliveries_per_s`` (first
       to last arrival) says whether delivery kept up. Target from the issue:
       ``ack_to_received_p99_ms`` <= 200 ms at 500 events/s.
    2. ``burst``: ``--burst-events`` events (default 10000) as fast as ``--clients``
       closed-loop clients get them accepted. Reported: ``events_per_s`` accepted (first
       send to last 202), ``deliveries_per_s`` from the first to the last arrival at the
       receiver, ``overall_deliveries_per_s`` from the first 202 to the last arrival, and
       ``backlog_deliveries_per_s`` for the arrivals after the last 202 (the dispatcher
       alone, ingest no longer competing for the daemon's event loop). Target from the
       issue: >= 2,000 deliveries/s to a fast local receiver, checked both ways:
       ``backlog_met`` (what the dispatcher delivers, ``backlog_deliveries_per_s``) and
       ``burst_met`` (end to end, ``deliveries_per_s``, which cannot exceed the rate the
       same process accepts the events at while it delivers).

    Each phase first sends ``--warmup`` untimed events (default 50) and waits for their
    webhooks, so connection set-up and first-touch costs do not count, then clears the
    receiver's records. Each phase has a fresh scratch database and a fresh daemon
    (``"database_per_phase": true``), so the burst does not start behind the paced phase's
    outbox. CPU of the daemon, its PostgreSQL backends, the receiver, this client and the
    host over each phase's load plus drain is reported as in ``bench/ingest.py``.

Why a raw ceiling
    The daemon's sender is a Python aiohttp client sharing this machine's cores with
    PostgreSQL, this script and the receiver. ``raw_receiver_ceiling_per_s`` is the rate
    the same receiver takes from a plain aiohttp client loop in this process (``--clients``
    concurrent, one session) posting a real captured delivery body with ilertd's headers,
    ``--burst-events`` requests: an upper bound for any Python sender on this machine.
    ``burst.ratio_to_ceiling`` is the share of it the daemon reaches end to end.

The database (``--database``, default ``ilertd_bench_delivery``) is dropped and recreated
before each phase; the daemon runs with the rate limit off, loopback allowed as a
destination (the receiver is on loopback) and warning-level JSON logs in a temporary file, shown on
failure; ``--daemon-env ILERTD_NAME=VALUE`` adds a daemon setting (say a larger
``ILERTD_OUTBOUND_CONCURRENCY``), echoed as ``daemon_env``. Progress goes to stderr, one JSON
object to stdout.

Usage: ``python bench/delivery.py [--rate 500] [--events 10000] [--burst-events 10000]``
"""

from __future__ import annotations

import argparse
import collections
import math
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import orjson
from _common import (
    add_database_args,
    ms_summary,
    per_s,
    percentile_ms,
    print_result,
    progress,
    recreate_database,
    resolve_dsn,
    run_facts,
)
from _daemon import (
    WARMUP_TIMEOUT_S,
    CpuSnapshot,
    RecorderControl,
    Sends,
    Server,
    add_daemon_env_arg,
    add_sender_args,
    alert_events,
    api_post,
    backend_pids,
    client_session,
    closed_load,
    cpu_report,
    daemon_env_settings,
    event_answer,
    in_parallel,
    log_on_failure,
    log_summary,
    paced_load,
    recorder_app,
    refuse_if_in_use,
    start_daemon,
    start_helper,
    timed_with_cpu,
    warm_up,
)

TARGET_RATE = 500.0
TARGET_P99_MS = 200.0
TARGET_DELIVERIES_PER_S = 2000.0
#: Untimed requests before the raw ceiling's timed ones.
RAW_WARMUP = 500
HOOK_PATH = "/hook"
#: Headers of a captured delivery that the raw ceiling sends along with its body.
COPIED_HEADERS = ("Content-Type", "X-Ilertd-Event", "X-Ilertd-Timestamp", "X-Ilertd-Signature")

#: (arrival time.time(), alert id, X-Ilertd-Delivery, X-Ilertd-Event)
Record = tuple[float, str | None, str | None, str | None]

# --- The receiver (its own process) ---------------------------------------------------


def start_receiver() -> Server:
    return start_helper("receiver", __file__, "--receiver")


def run_receiver(port: int) -> None:
    """Record (arrival, alert id, delivery id, event type) per POST /hook; answer 200."""
    from aiohttp import web

    records: list[Record] = []
    sample: dict[str, Any] = {}

    async def hook(request: web.Request) -> web.Response:
        arrived = time.time()
        body = await request.read()
        try:
            alert_id = orjson.loads(body).get("id")
        except (orjson.JSONDecodeError, AttributeError):
            alert_id = None
        headers = request.headers
        records.append(
            (
                arrived,
                None if alert_id is None else str(alert_id),
                headers.get("X-Ilertd-Delivery"),
                headers.get("X-Ilertd-Event"),
            )
        )
        if not sample and alert_id is not None:
            sample["body"] = body.decode("utf-8", "replace")
            sample["headers"] = {k: headers[k] for k in COPIED_HEADERS if k in headers}
        return web.Response(status=200, text="ok")

    app = recorder_app(records, sample)
    app.router.add_post(HOOK_PATH, hook)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


class ReceiverControl(RecorderControl):
    """This script's side of the receiver: reset, fetch records, wait for deliveries."""

    name = "receiver"
    unit = "delivery"
    arrived = "delivered"
    owed = "a webhook"


# --- Sending events -------------------------------------------------------------------


@dataclass
class EventSends(Sends):
    """Per event: when it was due, sent and acknowledged (wall clock), and its alertId."""

    codes: collections.Counter[str] = field(default_factory=collections.Counter)

    def alert_id(self, status: int, raw: bytes) -> str | None:
        if not 200 <= status < 300:
            self.error(f"{status}: {raw.decode(errors='replace')}")
            return None
        answer = event_answer(raw, self.codes)
        if answer.get("alertId") is None:
            self.error(f"{status} without alertId: {raw.decode(errors='replace')}")
            return None
        return str(answer["alertId"])


# --- The daemon -----------------------------------------------------------------------


def start_webhook_daemon(dsn: str, data_dir: str, extra: dict[str, str]) -> Server:
    """``ilertd serve`` as in bench/ingest.py, with loopback let in: the receiver is on
    loopback, which the default ``deny_private_networks`` refuses (as would a deny list in
    /etc/ilertd/ilertd.toml). ``extra``: ``--daemon-env`` settings."""
    settings = {
        "ILERTD_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
        "ILERTD_OUTBOUND_DENY_NETWORKS": "",
        **extra,
    }
    return start_daemon(dsn, data_dir, settings)


async def set_up(session: aiohttp.ClientSession, base: str, hook_url: str) -> str:
    """One API alert source, one webhook action on its alert-created; the integration key."""
    source = await api_post(
        session, base + "/api/alert-sources", {"name": "bench", "integrationType": "API"}
    )
    await api_post(
        session,
        base + "/api/alert-actions",
        {
            "name": "bench",
            "connectorType": "webhook",
            "alertSources": [{"id": source["id"]}],
            "triggerTypes": ["alert-created"],
            "params": {"webhookUrl": hook_url},
        },
    )
    return source["integrationKey"]


DELIVERIES_RE = re.compile(r'^ilertd_outbound_deliveries_total\{[^}]*outcome="(\w+)"[^}]*\} (\S+)$')


async def outbound_metrics(session: aiohttp.ClientSession, base: str) -> dict[str, float]:
    """Delivery attempts by outcome, and the sum/count of the daemon's delivery lag."""
    async with session.get(base + "/metrics") as response:
        text = await response.text()
    found: dict[str, float] = collections.defaultdict(float)
    for line in text.splitlines():
        if m := DELIVERIES_RE.match(line):
            found[m[1]] += float(m[2])
            continue
        name, _, value = line.partition(" ")
        if name in (
            "ilertd_outbound_delivery_lag_seconds_sum",
            "ilertd_outbound_delivery_lag_seconds_count",
        ):
            found[name.rpartition("_")[2]] = float(value)
    return found


async def outbox_stats(dsn: str, alert_ids: list[int]) -> dict[str, Any]:
    """The daemon's deliveries table for these alerts: status counts and retries."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n, count(*) FILTER (WHERE attempts > 1) AS retried "
            "FROM deliveries WHERE alert_id = ANY($1::bigint[]) GROUP BY status",
            alert_ids,
        )
        errors = await conn.fetch(
            "SELECT last_error, count(*) AS n FROM deliveries "
            "WHERE alert_id = ANY($1::bigint[]) AND last_error IS NOT NULL "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 3",
            alert_ids,
        )
    finally:
        await conn.close()
    return {
        "rows": sum(r["n"] for r in rows),
        "status": {r["status"]: r["n"] for r in rows},
        "retried": sum(r["retried"] for r in rows),
        **({"last_errors": {r["last_error"]: r["n"] for r in errors}} if errors else {}),
    }


# --- Analysis -------------------------------------------------------------------------


def analyse(sends: EventSends, records: list[Record], paced: bool) -> dict[str, Any]:
    acked = sends.acknowledged()
    ours = [r for r in records if r[1] in acked]
    first_arrival: dict[str, float] = {}
    deliveries_per_alert: dict[str, set[str | None]] = collections.defaultdict(set)
    for arrived, alert_id, delivery, _event in ours:
        assert alert_id is not None
        if alert_id not in first_arrival or arrived < first_arrival[alert_id]:
            first_arrival[alert_id] = arrived
        deliveries_per_alert[alert_id].add(delivery)
    repeats = collections.Counter(r[2] for r in ours)
    ack_lat, send_lat, sched_lat = [], [], []
    for alert_id, arrived in first_arrival.items():
        i = acked[alert_id]
        ack_lat.append(arrived - sends.acked[i])
        send_lat.append(arrived - sends.sent[i])
        if paced:
            sched_lat.append(arrived - sends.scheduled[i])
    ack_rtt = [sends.acked[i] - sends.sent[i] for i in acked.values()]
    result: dict[str, Any] = {
        "sent": len(sends.sent),
        "acknowledged": len(acked),
        "errors": sends.errors,
        **({"error_samples": sends.error_samples} if sends.error_samples else {}),
        **(
            {"response_codes": dict(sends.codes)}
            if set(sends.codes) != {"NEW_ALERT_CREATED"}
            else {}
        ),
        "received": len(first_arrival),
        "missing": len(acked) - len(first_arrival),
        "duplicates": sum(n - 1 for n in repeats.values() if n > 1),
        "extra_deliveries": sum(len(d) - 1 for d in deliveries_per_alert.values()),
        "unexpected_requests": len(records) - len(ours),
        "event_types": dict(collections.Counter(r[3] for r in ours)),
        **ms_summary(ack_lat, "ack_to_received"),
        "received_before_ack": sum(1 for x in ack_lat if x < 0),
        **ms_summary(send_lat, "send_to_received"),
    }
    if paced:
        result.update(ms_summary(sched_lat, "scheduled_to_received"))
        lateness = [x for x in sends.lateness if not math.isnan(x)]
        result.update(ms_summary(lateness, "schedule_slip"))
        result["sent_over_10ms_late"] = sum(1 for x in lateness if x > 0.010)
        sent = [t for t in sends.sent if not math.isnan(t)]
        result["achieved_send_rate_per_s"] = per_s(len(sent) - 1, max(sent) - min(sent))
    result.update(ms_summary(ack_rtt, "ack_rtt"))
    if not first_arrival:
        return result
    first, last = min(first_arrival.values()), max(first_arrival.values())
    result["first_to_last_arrival_s"] = round(last - first, 3)
    result["deliveries_per_s"] = per_s(len(first_arrival), last - first)
    if not paced:
        ingest_s = sends.last_acked - sends.first_sent
        after_ingest = sorted(t for t in first_arrival.values() if t > sends.last_acked)
        result.update(
            {
                "events_per_s": per_s(len(acked), ingest_s),
                "ingest_s": round(ingest_s, 3),
                "overall_deliveries_per_s": per_s(len(first_arrival), last - sends.first_acked),
                "delivered_during_ingest": len(first_arrival) - len(after_ingest),
                "delivered_after_ingest": len(after_ingest),
                "backlog_deliveries_per_s": per_s(len(after_ingest), last - sends.last_acked)
                if after_ingest
                else None,
                "last_arrival_after_last_ack_s": round(last - sends.last_acked, 3),
            }
        )
    return result


# --- One phase ------------------------------------------------------------------------


async def run_phase(
    args: argparse.Namespace,
    admin_dsn: str,
    receiver_server: Server,
    receiver: ReceiverControl,
    phase: str,
) -> tuple[dict[str, Any], str]:
    paced = phase == "paced"
    count = args.events if paced else args.burst_events
    dsn = await recreate_database(admin_dsn, args.database)
    progress(f"{phase}: database {args.database} recreated")
    with (
        tempfile.TemporaryDirectory(prefix="bench-delivery-") as data_dir,
        log_on_failure(
            start_webhook_daemon(dsn, data_dir, args.daemon_env), f"{phase}: ilertd"
        ) as daemon,
    ):
        async with client_session(args.clients) as session:
            await daemon.wait_ready(session)
            progress(f"{phase}: ilertd ready on {daemon.url} (pid {daemon.proc.pid})")
            key = await set_up(session, daemon.url, receiver.url + HOOK_PATH)
            url = daemon.url + "/api/events"
            await receiver.reset()
            warmed = await warm_up(
                session,
                url,
                EventSends,
                alert_events(key, f"{phase}-warm", args.warmup),
                args.clients,
                receiver,
                idle_timeout_s=WARMUP_TIMEOUT_S,
            )
            progress(f"{phase}: warm-up delivered {warmed}/{args.warmup}")
            bodies = alert_events(key, phase, count)
            metrics_before = await outbound_metrics(session, daemon.url)
            cpu_before = CpuSnapshot.take(daemon.proc.pid, receiver_server.proc.pid)
            if paced:
                progress(f"{phase}: {count} events at {args.rate:g}/s, {args.clients} senders")
                sends = await paced_load(session, url, EventSends, bodies, args.rate, args.clients)
            else:
                progress(f"{phase}: {count} events, {args.clients} clients, no pacing")
                sends = await closed_load(session, url, EventSends, bodies, args.clients)
            acked = sends.acknowledged()
            progress(
                f"{phase}: {len(acked)} acknowledged, {sends.errors} errors; "
                "waiting for the webhooks"
            )
            records, done_at = await receiver.drain(
                set(acked), phase, idle_timeout_s=args.drain_timeout_s
            )
            cpu_after = CpuSnapshot.take(daemon.proc.pid, receiver_server.proc.pid)
            backends = await backend_pids(dsn, args.database)
            metrics_after = await outbound_metrics(session, daemon.url)
        exit_code = await daemon.stop()
        result = analyse(sends, records, paced)
        result["daemon_log"] = log_summary(daemon)
        failed = (
            exit_code != 0 or result["missing"] or result["duplicates"] or not acked or sends.errors
        )
        if failed:
            progress(f"{phase}: ilertd exited {exit_code}; log (tail):\n{daemon.log_tail()}")

    outbox = await outbox_stats(dsn, [int(a) for a in acked])
    attempts = {
        k: int(metrics_after.get(k, 0) - metrics_before.get(k, 0)) for k in ("success", "failure")
    }
    lag_count = metrics_after.get("count", 0) - metrics_before.get("count", 0)
    lag_sum = metrics_after.get("sum", 0) - metrics_before.get("sum", 0)
    result.update(
        {
            "outbox": outbox,
            "daemon_attempts": attempts,
            # the daemon's own view: due time (the event) to the end of the successful POST
            "daemon_delivery_lag_mean_ms": round(1000 * lag_sum / lag_count, 3)
            if lag_count
            else None,
            "measured_s": round(done_at - sends.first_sent, 3),
            **cpu_report(
                cpu_before,
                cpu_after,
                events=len(acked),
                server="daemon",
                backend_pids=backends,
                helper="receiver",
            ),
            "daemon_exit_code": exit_code,
            "warmup_delivered": warmed,
        }
    )
    if paced:
        result = {"events": count, "rate_per_s": args.rate, **result}
        p99 = result["ack_to_received_p99_ms"]
        result["target_met"] = bool(
            result["missing"] == 0
            and p99 is not None
            and p99 <= TARGET_P99_MS
            and args.rate >= TARGET_RATE
        )
    else:
        result = {"events": count, **result}
        rate = result.get("deliveries_per_s")
        backlog = result.get("backlog_deliveries_per_s")
        result["target_met"] = bool(
            result["missing"] == 0 and rate is not None and rate >= TARGET_DELIVERIES_PER_S
        )
        result["backlog_target_met"] = bool(
            result["missing"] == 0 and backlog is not None and backlog >= TARGET_DELIVERIES_PER_S
        )
    progress(
        f"{phase}: received {result['received']}/{len(acked)}, p99 ack->received "
        f"{result['ack_to_received_p99_ms']} ms"
        + ("" if paced else f", {result.get('deliveries_per_s')} deliveries/s")
    )
    return result, dsn


# --- The raw ceiling ------------------------------------------------------------------


async def raw_ceiling(
    receiver_server: Server, receiver: ReceiverControl, requests: int, clients: int
) -> dict[str, Any]:
    """A plain aiohttp client loop posting a captured delivery to the same receiver."""
    sample = await receiver.sample()
    if not sample:
        raise RuntimeError("the receiver captured no delivery to replay")
    body = sample["body"].encode()
    headers = dict(sample["headers"])
    url = receiver.url + HOOK_PATH
    latencies: list[float] = []
    errors = 0

    def poster(
        session: aiohttp.ClientSession, tag: str, timed: bool
    ) -> Callable[[int], Awaitable[None]]:
        async def post(i: int) -> None:
            nonlocal errors
            started = time.perf_counter()
            try:
                async with session.post(
                    url, data=body, headers={**headers, "X-Ilertd-Delivery": f"{tag}-{i}"}
                ) as response:
                    await response.read()
                    ok = response.status == 200
            except (aiohttp.ClientError, OSError, TimeoutError):
                ok = False
            if timed:
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        return post

    async with client_session(clients) as session:
        await in_parallel(RAW_WARMUP, clients, poster(session, "raw-warm", timed=False))
        await receiver.reset()
        elapsed, client_cpu, receiver_cpu = await timed_with_cpu(
            in_parallel(requests, clients, poster(session, "raw", timed=True)), receiver_server
        )
    arrived = await receiver.count()
    await receiver.reset()
    return {
        "raw_receiver_ceiling_per_s": per_s(len(latencies), elapsed),
        "raw_requests": requests,
        "raw_received": arrived,
        "raw_errors": errors,
        "raw_body_bytes": len(body),
        "raw_p50_ms": round(percentile_ms(latencies, 50), 3) if latencies else None,
        "raw_p99_ms": round(percentile_ms(latencies, 99), 3) if latencies else None,
        "raw_client_cpu_pct": client_cpu,
        "raw_receiver_cpu_pct": receiver_cpu,
    }


# --- Main -----------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> dict[str, Any]:
    admin_dsn = resolve_dsn(args.dsn)
    await refuse_if_in_use(admin_dsn, args.database)
    with log_on_failure(start_receiver(), "receiver") as receiver_server:
        async with client_session(4) as control:
            await receiver_server.wait_ready(control)
            receiver = ReceiverControl(control, receiver_server.url)
            progress(f"receiver ready on {receiver.url} (pid {receiver_server.proc.pid})")
            paced, dsn = await run_phase(args, admin_dsn, receiver_server, receiver, "paced")
            burst, dsn = await run_phase(args, admin_dsn, receiver_server, receiver, "burst")
            progress(f"raw ceiling: {args.burst_events} posts of a captured delivery")
            ceiling = await raw_ceiling(receiver_server, receiver, args.burst_events, args.clients)
            progress(f"raw ceiling: {ceiling['raw_receiver_ceiling_per_s']} requests/s")
        await receiver_server.stop()

    ceiling_rate = ceiling["raw_receiver_ceiling_per_s"]
    if burst.get("deliveries_per_s") and ceiling_rate:
        burst["ratio_to_ceiling"] = round(burst["deliveries_per_s"] / ceiling_rate, 3)
    return {
        "benchmark": "delivery",
        "clients": args.clients,
        "warmup": args.warmup,
        "drain_timeout_s": args.drain_timeout_s,
        "database_per_phase": True,
        "daemon_env": args.daemon_env,
        "targets": {
            "paced_ack_to_received_p99_ms_max": TARGET_P99_MS,
            "paced_rate_per_s": TARGET_RATE,
            "burst_deliveries_per_s_min": TARGET_DELIVERIES_PER_S,
            "paced_met": paced["target_met"],
            "burst_met": burst["target_met"],
            "backlog_met": burst["backlog_target_met"],
        },
        "paced": paced,
        "burst": burst,
        **ceiling,
        **(await run_facts(dsn, args.database)),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="paced events/s")
    parser.add_argument("--events", type=int, default=10000, help="events of the paced phase")
    parser.add_argument("--burst-events", type=int, default=10000, help="events of the burst phase")
    add_sender_args(
        parser,
        warmup=50,
        warmup_help="untimed events per phase, delivered first",
        drain_help="stop waiting for webhooks after this long without a new one",
    )
    add_database_args(parser, "ilertd_bench_delivery")
    add_daemon_env_arg(parser)
    # Internal: the receiver process runs this same file.
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        return args
    if args.rate <= 0 or args.events < 1 or args.burst_events < 1 or args.clients < 1:
        parser.error("--rate, --events, --burst-events and --clients must be positive")
    if args.warmup < 1 or args.drain_timeout_s <= 0:
        parser.error("--warmup and --drain-timeout-s must be positive")
    args.daemon_env = daemon_env_settings(parser, args.daemon_env)
    return args


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.receiver:
        run_receiver(arguments.port)
    else:
        print_result(main(arguments))
