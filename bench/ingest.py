"""Events API throughput: the real daemon answering ``POST /api/events`` to many clients.

What is measured
    The script starts ``python -m ilertd serve`` as a subprocess on a scratch database, creates
    one alert source through the API, and has ``--clients`` concurrent clients (default 64,
    one aiohttp session, ``TCPConnector(limit=clients)``) post ``--events`` ALERT events
    (default 20000) spread uniformly at random over ``--keys`` alert keys (default 2000). The
    first event for a key opens an alert (``NEW_ALERT_CREATED``); later ones are deduplicated
    into it (``ALERT_ALREADY_EXISTS``), so with the defaults about 1 event in 10 creates an
    alert and the rest are dedup hits: the mix a noisy monitoring system produces. Each
    answer is acknowledged only after its event is committed, so this is the end-to-end
    cost of one inbound event: HTTP, JSON, integration-key lookup, loading the alert from
    its stream, the domain rules, the group-committed append, and the alert id lookup.

    Reported: ``events_per_s`` (wall clock over the timed events), the latency each client
    sees (``p50_ms``, ``p99_ms``), ``errors`` (non-2xx or exception), the answer codes, and
    the group-commit batching the daemon did (from its ``/metrics``). A ``--warmup`` of
    untimed events (default 500) goes first so connection set-up, prepared statements and
    first-touch allocations do not count.

Durability
    Every 202 names its ``alertId``. After the load the daemon is stopped with SIGTERM and the
    scratch database is checked with SQL: the ``alert-created`` plus ``alert-event-received``
    rows must number exactly the acknowledged ALERT events (warm-up included), and every
    distinct acknowledged ``alertId`` must be the position of an ``alert-created`` row.
    ``durable`` is true only if both hold. (A request that the client gave up on but the
    daemon committed makes the store hold more than was acknowledged: ``durable`` is then
    false too, and ``errors`` and the counts show why.)

Why a raw ceiling
    The absolute number depends on the machine (cores, fsync cost) and on the client, which
    here is Python too and shares the CPU with the server and PostgreSQL. So the same run
    also measures a do-nothing aiohttp server in its own process (the handler reads the
    body, parses it with orjson and answers 202 with a tiny JSON body), driven by the same
    client code with the same bodies, clients and counts -> ``noop_handler_events_per_s``.
    ``ratio`` = events_per_s / noop_handler_events_per_s is the share of "as fast as this
    client can talk HTTP to Python on this machine" that the daemon reaches.

Where the time goes
    CPU seconds of the daemon process, of the PostgreSQL backends serving the scratch
    database, of every other PostgreSQL process (WAL writer, checkpointer, and other users'
    backends), of this client process and of the whole host are read from ``/proc`` around
    each timed phase and reported as percent of one core (``*_cpu_pct``; Linux only, null
    elsewhere), plus ``other_cpu_pct`` for whatever else kept the host busy. The daemon's
    and its backends' CPU per event (``*_cpu_ms_per_event``) stay meaningful when the
    machine is shared, unlike events/s. ``daemon_runqueue_wait_pct`` is the time the daemon
    was ready to run but had no CPU: ``daemon_cpu_pct`` plus that near 100 means its single
    event loop always had work, i.e. the daemon (or the CPUs it has to share) is the limit,
    not PostgreSQL's commits.

The database (``--database``, default ``ilertd_bench_ingest``) is dropped and recreated at
start; the daemon runs with the rate limit off and warning-level JSON logs in a temporary
file, shown on failure.

Usage: ``python bench/ingest.py [--clients 64] [--events 20000] [--keys 2000] [--dsn URL]``
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from _common import add_database_args, percentile_ms, print_result, progress, run_facts
from _daemon import (
    JSON_HEADERS,
    REQUEST_TIMEOUT_S,
    CpuSnapshot,
    Server,
    add_daemon_env_arg,
    api_post,
    backend_pids,
    client_session,
    cpu_report,
    daemon_env_settings,
    event_answer,
    fresh_database,
    log_on_failure,
    start_daemon,
    start_helper,
)

ALERT_EVENT_TYPES = ("alert-created", "alert-event-received")
SEED = 20240601


# --- The raw ceiling's server ------------------------------------------------------


def start_noop_server() -> Server:
    return start_helper("noop", __file__, "--noop-server")


def run_noop_server(port: int) -> None:
    """The raw ceiling's server: read and parse the body, answer 202 with a tiny JSON body."""
    from aiohttp import web

    answer = orjson.dumps({"responseCode": "NOOP"})

    async def post_event(request: web.Request) -> web.Response:
        orjson.loads(await request.read())
        return web.Response(status=202, body=answer, content_type="application/json")

    async def ready(_request: web.Request) -> web.Response:
        return web.Response(status=200, text="ok")

    app = web.Application()
    app.router.add_post("/api/events", post_event)
    app.router.add_get("/readyz", ready)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# --- Load -----------------------------------------------------------------------------


@dataclass
class Load:
    """What the clients saw in one phase."""

    latencies: list[float] = field(default_factory=list)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    alert_ids: list[int] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def acknowledged(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def per_s(self) -> float:
        return len(self.latencies) / self.elapsed_s if self.elapsed_s else 0.0

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:300])


def event_bodies(integration_key: str, count: int, keys: int, rng: random.Random) -> list[bytes]:
    """``count`` ALERT bodies, each for a uniformly random one of ``keys`` alert keys."""
    bodies = []
    for _ in range(count):
        k = rng.randrange(keys)
        bodies.append(
            orjson.dumps(
                {
                    "integrationKey": integration_key,
                    "eventType": "ALERT",
                    "summary": f"Disk usage above 90% on host db-{k}",
                    "details": "Filesystem /var/lib/postgresql is filling up.",
                    "alertKey": f"key-{k}",
                }
            )
        )
    return bodies


async def drive(
    session: aiohttp.ClientSession, url: str, bodies: list[bytes], clients: int
) -> Load:
    """Post every body once, from ``clients`` concurrent tasks; time and classify each."""
    load = Load()
    work: Iterator[bytes] = iter(bodies)  # shared: next() never awaits

    async def client() -> None:
        for body in work:
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=JSON_HEADERS) as response:
                    raw = await response.read()
                    status = response.status
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                load.error(f"{type(exc).__name__}: {exc}")
                continue
            load.latencies.append(time.perf_counter() - started)
            load.statuses[status] += 1
            if not 200 <= status < 300:
                load.error(f"{status}: {raw.decode(errors='replace')}")
                continue
            answer = event_answer(raw, load.codes)
            if isinstance(answer.get("alertId"), int):
                load.alert_ids.append(answer["alertId"])

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    load.elapsed_s = time.perf_counter() - started
    return load


# --- The daemon phase -----------------------------------------------------------------


async def create_source(session: aiohttp.ClientSession, base: str) -> str:
    source = await api_post(
        session, base + "/api/alert-sources", {"name": "bench", "integrationType": "API"}
    )
    return source["integrationKey"]


async def group_commit_counters(session: aiohttp.ClientSession, base: str) -> dict[str, float]:
    """Sum and count of the daemon's appends-per-commit histogram."""
    async with session.get(base + "/metrics") as response:
        text = await response.text()
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("ilertd_append_batch_appends_sum", "ilertd_append_batch_appends_count"):
            found[name.rpartition("_")[2]] = float(value)
    return found


async def check_durability(dsn: str, acknowledged: int, alert_ids: set[int]) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        counts = {
            row["type"]: row["n"]
            for row in await conn.fetch(
                "SELECT type, count(*) AS n FROM events WHERE type = ANY($1::text[]) GROUP BY type",
                list(ALERT_EVENT_TYPES),
            )
        }
        missing = await conn.fetchval(
            "SELECT count(*) FROM unnest($1::bigint[]) AS acked(id) WHERE NOT EXISTS "
            "(SELECT 1 FROM events e WHERE e.position = acked.id AND e.type = 'alert-created')",
            sorted(alert_ids),
        )
    finally:
        await conn.close()
    stored = sum(counts.values())
    return {
        "durable": stored == acknowledged and missing == 0,
        "acknowledged_incl_warmup": acknowledged,
        "stored_alert_events": stored,
        "stored_alert_created": counts.get("alert-created", 0),
        "stored_alert_event_received": counts.get("alert-event-received", 0),
        "acknowledged_alert_ids": len(alert_ids),
        "alert_ids_missing": missing,
    }


def load_summary(load: Load, prefix: str = "") -> dict[str, Any]:
    return {
        f"{prefix}p50_ms": round(percentile_ms(load.latencies, 50), 3),
        f"{prefix}p99_ms": round(percentile_ms(load.latencies, 99), 3),
        f"{prefix}elapsed_s": round(load.elapsed_s, 3),
        f"{prefix}errors": load.errors,
    }


async def bench_daemon(args: argparse.Namespace, dsn: str) -> tuple[dict[str, Any], list[bytes]]:
    rng = random.Random(SEED)
    with (
        tempfile.TemporaryDirectory(prefix="bench-ingest-") as data_dir,
        log_on_failure(start_daemon(dsn, data_dir, args.daemon_env), "ilertd") as daemon,
    ):
        async with client_session(args.clients) as session:
            await daemon.wait_ready(session)
            progress(f"ilertd ready on {daemon.url} (pid {daemon.proc.pid})")
            key = await create_source(session, daemon.url)
            url = daemon.url + "/api/events"
            warm_bodies = event_bodies(key, args.warmup, args.keys, rng)
            bodies = event_bodies(key, args.events, args.keys, rng)

            warm = await drive(session, url, warm_bodies, args.clients)
            progress(f"warm-up: {args.warmup} events, {warm.errors} errors")
            commits_before = await group_commit_counters(session, daemon.url)
            cpu_before = CpuSnapshot.take(daemon.proc.pid)
            progress(f"ilertd: {args.events} events, {args.clients} clients")
            load = await drive(session, url, bodies, args.clients)
            cpu_after = CpuSnapshot.take(daemon.proc.pid)
            backends = await backend_pids(dsn, args.database)
            commits_after = await group_commit_counters(session, daemon.url)
        progress(f"ilertd: {load.per_s:.1f} events/s, {load.errors} errors; stopping it")
        exit_code = await daemon.stop()
        if exit_code != 0:
            progress(f"ilertd exited {exit_code}:\n{daemon.log_tail()}")
        if load.errors or warm.errors:
            progress(f"error samples: {warm.error_samples + load.error_samples}")

    durability = await check_durability(
        dsn,
        warm.acknowledged + load.acknowledged,
        set(warm.alert_ids) | set(load.alert_ids),
    )
    commits = commits_after.get("count", 0) - commits_before.get("count", 0)
    appends = commits_after.get("sum", 0) - commits_before.get("sum", 0)
    other_codes = {
        code: n
        for code, n in load.codes.items()
        if code not in ("NEW_ALERT_CREATED", "ALERT_ALREADY_EXISTS")
    }
    other_statuses = {str(s): n for s, n in load.statuses.items() if s != 202}
    result = {
        "events_per_s": round(load.per_s, 1),
        **load_summary(load),
        "acknowledged": load.acknowledged,
        "new_alerts": load.codes["NEW_ALERT_CREATED"],
        "dedup_hits": load.codes["ALERT_ALREADY_EXISTS"],
        **({"other_response_codes": other_codes} if other_codes else {}),
        **({"non_202_statuses": other_statuses} if other_statuses else {}),
        **durability,
        "commits": int(commits),
        "mean_appends_per_commit": round(appends / commits, 1) if commits else 0.0,
        **cpu_report(
            cpu_before,
            cpu_after,
            events=len(load.latencies),
            server="daemon",
            backend_pids=backends,
        ),
        "daemon_exit_code": exit_code,
        "daemon_stop_s": round(daemon.stop_s or 0.0, 3),
    }
    return result, warm_bodies + bodies


# --- The raw ceiling ------------------------------------------------------------------


async def bench_noop(args: argparse.Namespace, bodies: list[bytes]) -> dict[str, Any]:
    warm_bodies, timed_bodies = bodies[: args.warmup], bodies[args.warmup :]
    with log_on_failure(start_noop_server(), "noop server") as server:
        async with client_session(args.clients) as session:
            await server.wait_ready(session)
            url = server.url + "/api/events"
            await drive(session, url, warm_bodies, args.clients)
            cpu_before = CpuSnapshot.take(server.proc.pid)
            load = await drive(session, url, timed_bodies, args.clients)
            cpu_after = CpuSnapshot.take(server.proc.pid)
        await server.stop()
    if load.errors:
        progress(f"noop error samples: {load.error_samples}")
    return {
        "noop_handler_events_per_s": round(load.per_s, 1),
        **load_summary(load, "noop_"),
        **cpu_report(
            cpu_before, cpu_after, events=len(load.latencies), server="noop_server", prefix="noop_"
        ),
    }


# --- The wrk client -------------------------------------------------------------------
#
# wrk (a C load generator) instead of the Python client: the client then costs a fraction
# of a core, so the daemon and PostgreSQL get most of this machine. wrk runs for a
# duration, not a count; its Lua script picks a random alert key per request, counts the
# requests it sent, the 2xx and other answers, and the response codes in the bodies, and
# prints them from ``done``. Per-response alertIds are not collected, so the durability
# check is count-based only (``"durability_check": "count"``). wrk stops with requests in
# flight; the daemon may still commit those, so the store must hold at least the
# acknowledged events and at most the acknowledged plus the unanswered ones
# (``unanswered_at_stop``: sent minus answered, including any socket errors).

WRK_WARMUP_S = 2.0
WRK_TIMEOUT_S = int(REQUEST_TIMEOUT_S)
WRK_COUNTS = ("sent", "ok", "other", "created", "deduped")
WRK_SOCKET_ERRORS = ("connect", "read", "write", "timeout")

WRK_LUA = """
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
end

local requests = {{}}
function init(args)
  sent, ok, other, created, deduped = 0, 0, 0, 0, 0
  first_error = ""
  math.randomseed({seed})
  local headers = {{["Content-Type"] = "application/json"}}
  for k = 0, {keys} - 1 do
    local body = [==[{prefix}]==] .. k .. [==[{suffix}]==]
    requests[k] = wrk.format("POST", "/api/events", headers, body)
  end
end

function request()
  sent = sent + 1
  return requests[math.random(0, {keys} - 1)]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    if body:find("NEW_ALERT_CREATED", 1, true) then
      created = created + 1
    elseif body:find("ALERT_ALREADY_EXISTS", 1, true) then
      deduped = deduped + 1
    end
  else
    other = other + 1
    if first_error == "" then
      first_error = status .. ": " .. string.sub(body or "", 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local totals = {{sent = 0, ok = 0, other = 0, created = 0, deduped = 0}}
  local sample = ""
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
    if sample == "" then sample = thread:get("first_error") or "" end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH_COUNTS sent=%d ok=%d other=%d created=%d deduped=%d "
      .. "connect=%d read=%d write=%d timeout=%d\\n",
    totals.sent, totals.ok, totals.other, totals.created, totals.deduped,
    e.connect, e.read, e.write, e.timeout))
  io.write("BENCH_ERROR_SAMPLE " .. string.gsub(sample, "\\n", " ") .. "\\n")
end
"""

WRK_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
WRK_LATENCY_RE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
WRK_RPS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.M)
WRK_TOTAL_RE = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.M)
WRK_COUNTS_RE = re.compile(r"^BENCH_COUNTS (.*)$", re.M)
WRK_SAMPLE_RE = re.compile(r"^BENCH_ERROR_SAMPLE ?(.*)$", re.M)


def wrk_script(integration_key: str, keys: int) -> str:
    """The Lua script: ALERT events for a uniformly random one of ``keys`` alert keys."""
    prefix = (
        '{"integrationKey": ' + json.dumps(integration_key) + ', "eventType": "ALERT", '
        '"summary": "load", "alertKey": "key-'
    )
    return WRK_LUA.format(seed=SEED, keys=keys, prefix=prefix, suffix='"}')


@dataclass
class WrkRun:
    """What wrk saw in one run (counts from the Lua hooks, rates from its report)."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    elapsed_s: float
    counts: dict[str, int]
    socket_errors: dict[str, int]
    error_sample: str
    output: str

    @property
    def acknowledged(self) -> int:
        return self.counts["ok"]

    @property
    def answered(self) -> int:
        return self.counts["ok"] + self.counts["other"]

    @property
    def unanswered(self) -> int:
        return self.counts["sent"] - self.answered

    @property
    def errors(self) -> int:
        return self.counts["other"] + sum(self.socket_errors.values())


def wrk_seconds(value: str, unit: str) -> float:
    return float(value) * WRK_UNITS_S[unit]


def parse_wrk(output: str) -> WrkRun:
    latency = {m[1]: wrk_seconds(m[2], m[3]) * 1000 for m in WRK_LATENCY_RE.finditer(output)}
    rps = WRK_RPS_RE.search(output)
    total = WRK_TOTAL_RE.search(output)
    counts_line = WRK_COUNTS_RE.search(output)
    if not (rps and total and counts_line and "50" in latency and "99" in latency):
        raise RuntimeError(f"cannot parse wrk's output:\n{output}")
    fields = dict(pair.split("=", 1) for pair in counts_line[1].split())
    sample = WRK_SAMPLE_RE.search(output)
    return WrkRun(
        requests_per_s=float(rps[1]),
        p50_ms=latency["50"],
        p99_ms=latency["99"],
        elapsed_s=wrk_seconds(total[2], total[3]),
        counts={name: int(fields[name]) for name in WRK_COUNTS},
        socket_errors={name: int(fields[name]) for name in WRK_SOCKET_ERRORS},
        error_sample=sample[1].strip() if sample else "",
        output=output,
    )


async def run_wrk(wrk: str, script: str, url: str, clients: int, duration_s: float) -> WrkRun:
    argv = [
        wrk,
        "-t1",
        f"-c{clients}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        "--latency",
        "-s",
        script,
        url,
    ]
    done = await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


def children_cpu_s() -> float:
    """CPU seconds of this process's reaped children (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk_snapshot(server_pid: int) -> CpuSnapshot:
    """A CPU snapshot whose client time is this process's plus wrk's (a reaped child)."""
    snapshot = CpuSnapshot.take(server_pid)
    return replace(snapshot, client_s=snapshot.client_s + children_cpu_s())


def wrk_summary(run: WrkRun, prefix: str = "") -> dict[str, Any]:
    return {
        f"{prefix}p50_ms": round(run.p50_ms, 3),
        f"{prefix}p99_ms": round(run.p99_ms, 3),
        f"{prefix}elapsed_s": round(run.elapsed_s, 3),
        f"{prefix}errors": run.errors,
    }


def wrk_report_errors(name: str, *runs: WrkRun) -> None:
    for run in runs:
        if run.errors:
            progress(
                f"{name}: {run.errors} errors (non-2xx {run.counts['other']}, socket "
                f"{run.socket_errors}); sample: {run.error_sample!r}"
            )


async def check_durability_count(dsn: str, acknowledged: int, unanswered: int) -> dict[str, Any]:
    """Count-based: acknowledged <= stored <= acknowledged + unanswered-at-stop."""
    conn = await asyncpg.connect(dsn)
    try:
        counts = {
            row["type"]: row["n"]
            for row in await conn.fetch(
                "SELECT type, count(*) AS n FROM events WHERE type = ANY($1::text[]) GROUP BY type",
                list(ALERT_EVENT_TYPES),
            )
        }
    finally:
        await conn.close()
    stored = sum(counts.values())
    return {
        "durable": acknowledged <= stored <= acknowledged + unanswered,
        "durability_check": "count",
        "acknowledged_incl_warmup": acknowledged,
        "unanswered_at_stop_incl_warmup": unanswered,
        "stored_alert_events": stored,
        "stored_minus_acknowledged": stored - acknowledged,
        "stored_alert_created": counts.get("alert-created", 0),
        "stored_alert_event_received": counts.get("alert-event-received", 0),
    }


async def bench_daemon_wrk(args: argparse.Namespace, dsn: str, wrk: str) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-ingest-") as data_dir,
        log_on_failure(start_daemon(dsn, data_dir, args.daemon_env), "ilertd") as daemon,
    ):
        script = os.path.join(data_dir, "events.lua")
        async with client_session(4) as session:
            await daemon.wait_ready(session)
            progress(f"ilertd ready on {daemon.url} (pid {daemon.proc.pid})")
            key = await create_source(session, daemon.url)
            Path(script).write_text(wrk_script(key, args.keys))
            url = daemon.url + "/api/events"

            progress(f"wrk warm-up: {WRK_WARMUP_S:.0f} s, {args.clients} connections")
            warm = await run_wrk(wrk, script, url, args.clients, WRK_WARMUP_S)
            progress(f"warm-up: {warm.acknowledged} acknowledged, {warm.errors} errors")
            commits_before = await group_commit_counters(session, daemon.url)
            cpu_before = wrk_snapshot(daemon.proc.pid)
            progress(f"ilertd: wrk for {args.duration_s:.0f} s, {args.clients} connections")
            load = await run_wrk(wrk, script, url, args.clients, args.duration_s)
            cpu_after = wrk_snapshot(daemon.proc.pid)
            backends = await backend_pids(dsn, args.database)
            commits_after = await group_commit_counters(session, daemon.url)
        progress(f"ilertd: {load.requests_per_s:.1f} events/s, {load.errors} errors; stopping")
        exit_code = await daemon.stop()
        if exit_code != 0:
            progress(f"ilertd exited {exit_code}:\n{daemon.log_tail()}")
        wrk_report_errors("ilertd", warm, load)

    durability = await check_durability_count(
        dsn, warm.acknowledged + load.acknowledged, warm.unanswered + load.unanswered
    )
    commits = commits_after.get("count", 0) - commits_before.get("count", 0)
    appends = commits_after.get("sum", 0) - commits_before.get("sum", 0)
    other_codes = load.acknowledged - load.counts["created"] - load.counts["deduped"]
    return {
        "events_per_s": round(load.requests_per_s, 1),
        **wrk_summary(load),
        "acknowledged": load.acknowledged,
        "warmup_acknowledged": warm.acknowledged,
        "new_alerts": load.counts["created"],
        "dedup_hits": load.counts["deduped"],
        **({"other_response_codes": other_codes} if other_codes else {}),
        **({"non_2xx_answers": load.counts["other"]} if load.counts["other"] else {}),
        **({"socket_errors": load.socket_errors} if any(load.socket_errors.values()) else {}),
        **durability,
        "commits": int(commits),
        "mean_appends_per_commit": round(appends / commits, 1) if commits else 0.0,
        **cpu_report(
            cpu_before,
            cpu_after,
            events=load.answered,
            server="daemon",
            backend_pids=backends,
        ),
        "daemon_exit_code": exit_code,
        "daemon_stop_s": round(daemon.stop_s or 0.0, 3),
    }


async def bench_noop_wrk(args: argparse.Namespace, wrk: str) -> dict[str, Any]:
    with log_on_failure(start_noop_server(), "noop server") as server:
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as scratch:
            script = os.path.join(scratch, "events.lua")
            Path(script).write_text(wrk_script("ilk_noop", args.keys))
            async with client_session(4) as session:
                await server.wait_ready(session)
            url = server.url + "/api/events"
            warm = await run_wrk(wrk, script, url, args.clients, WRK_WARMUP_S)
            cpu_before = wrk_snapshot(server.proc.pid)
            load = await run_wrk(wrk, script, url, args.clients, args.duration_s)
            cpu_after = wrk_snapshot(server.proc.pid)
        await server.stop()
    wrk_report_errors("noop", warm, load)
    return {
        "noop_handler_events_per_s": round(load.requests_per_s, 1),
        **wrk_summary(load, "noop_"),
        **cpu_report(
            cpu_before, cpu_after, events=load.answered, server="noop_server", prefix="noop_"
        ),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    dsn = await fresh_database(args.dsn, args.database)

    if args.client == "wrk":
        wrk = shutil.which("wrk")
        if wrk is None:
            raise SystemExit("--client wrk: wrk not found on PATH")
        daemon = await bench_daemon_wrk(args, dsn, wrk)
        progress(f"raw ceiling: wrk for {args.duration_s:.0f} s to a do-nothing aiohttp handler")
        noop = await bench_noop_wrk(args, wrk)
        load_shape: dict[str, Any] = {
            "duration_s": args.duration_s,
            "warmup_s": WRK_WARMUP_S,
            "events": daemon["acknowledged"],
        }
    else:
        daemon, bodies = await bench_daemon(args, dsn)
        daemon["durability_check"] = "count+alert_ids"
        progress(f"raw ceiling: {args.events} events to a do-nothing aiohttp handler")
        noop = await bench_noop(args, bodies)
        load_shape = {"events": args.events, "warmup": args.warmup}
    progress(f"raw ceiling: {noop['noop_handler_events_per_s']} events/s")

    ratio = daemon["events_per_s"] / noop["noop_handler_events_per_s"]
    return {
        "benchmark": "ingest",
        "client": args.client,
        "clients": args.clients,
        **load_shape,
        "keys": args.keys,
        "daemon_env": args.daemon_env,
        **daemon,
        **noop,
        "ratio": round(ratio, 3),
        **(await run_facts(dsn, args.database)),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64, help="concurrent HTTP clients")
    parser.add_argument("--events", type=int, default=20000, help="timed events in total")
    parser.add_argument("--keys", type=int, default=2000, help="distinct alert keys")
    parser.add_argument("--warmup", type=int, default=500, help="untimed events first")
    parser.add_argument(
        "--client",
        choices=("python", "wrk"),
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator: wrk (C, default when installed) or the Python aiohttp client",
    )
    parser.add_argument(
        "--duration-s",
        type=float,
        default=10.0,
        help="wrk client: timed seconds (after a 2 s warm-up); --events/--warmup are for python",
    )
    add_database_args(parser, "ilertd_bench_ingest")
    add_daemon_env_arg(parser)
    # Internal: the raw ceiling's server process runs this same file.
    parser.add_argument("--noop-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noop_server:
        return args
    args.daemon_env = daemon_env_settings(parser, args.daemon_env)
    if args.duration_s < 1:
        parser.error("--duration-s must be at least 1")
    if args.clients < 1 or args.events < 1 or args.keys < 1 or args.warmup < 0:
        parser.error("--clients, --events and --keys must be positive, --warmup not negative")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.noop_server:
        run_noop_server(arguments.port)
    else:
        print_result(main(arguments))
