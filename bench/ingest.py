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
import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from _common import (
    machine_facts,
    percentile_ms,
    progress,
    recreate_database,
    resolve_dsn,
    server_facts,
)

ROOT = Path(__file__).resolve().parents[1]
ADMIN_KEY = "ilk_bench_ingest_0123456789abcdefghijklmnopqrstuv"
JSON_HEADERS = {"Content-Type": "application/json"}
ALERT_EVENT_TYPES = ("alert-created", "alert-event-received")
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 60.0
SEED = 20240601


# --- Subprocesses ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server subprocess with its output in a temporary file (nothing blocks on a pipe)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
            prefix=f"bench-{name}-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.exit_code: int | None = None
        self.stop_s: float | None = None

    def log_tail(self, chars: int = 4000) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-chars:]

    async def wait_ready(self, session: aiohttp.ClientSession, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited {self.proc.returncode} before it was ready:\n"
                    + self.log_tail()
                )
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with session.get(self.url + "/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError(
            f"{self.name}: /readyz not 200 after {timeout:.0f} s:\n{self.log_tail()}"
        )

    async def stop(self) -> int:
        """SIGTERM and wait for the exit; kill if it does not come in time."""
        started = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                progress(f"{self.name} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s; killing it")
                self.kill()
        self.stop_s = time.perf_counter() - started
        self.exit_code = self.proc.returncode
        return self.exit_code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        self._log.close()
        with contextlib.suppress(OSError):
            os.unlink(self._log.name)


def daemon_env(dsn: str, port: int, data_dir: str) -> dict[str, str]:
    """Our environment without anyone's ILERTD_/systemd settings, plus the bench's own."""
    ours = ("ILERTD_", "NOTIFY_SOCKET", "WATCHDOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(
        ILERTD_DATABASE_URL=dsn,
        ILERTD_HTTP_LISTEN=f"127.0.0.1:{port}",
        ILERTD_ADMIN_API_KEY=ADMIN_KEY,
        ILERTD_EVENTS_RATE_LIMIT_PER_MINUTE="0",
        ILERTD_LOG_LEVEL="warning",
        ILERTD_LOG_FORMAT="json",
        ILERTD_DATA_DIR=data_dir,  # never the user's ~/.local/share/ilertd
    )
    return env


def start_daemon(dsn: str, data_dir: str) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "ilertd", "serve"]
    return Server("ilertd", argv, daemon_env(dsn, port, data_dir), port)


def start_noop_server() -> Server:
    port = free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--noop-server", "--port", str(port)]
    return Server("noop", argv, dict(os.environ), port)


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


# --- CPU accounting (Linux /proc) -----------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of one process, or None if it is gone (or not Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # fields[0] is the state, field 3 of stat(5)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def process_wait_s(pid: int) -> float | None:
    """Seconds the process's threads were runnable but waiting for a CPU (schedstat)."""
    total = 0.0
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"{task.path}/schedstat") as f:
                    total += int(f.read().split()[1]) / 1e9
    except OSError:
        return None
    return total


def postgres_pids() -> list[int]:
    pids = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError), open(f"/proc/{entry.name}/comm") as f:
                if f.read().strip() == "postgres":
                    pids.append(int(entry.name))
    return pids


def host_cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies over all cores since boot."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class CpuSnapshot:
    at: float
    client_s: float
    server_s: float | None
    server_wait_s: float | None
    postgres_s: dict[int, float]
    host: tuple[int, int] | None

    @classmethod
    def take(cls, server_pid: int) -> CpuSnapshot:
        postgres = {pid: s for pid in postgres_pids() if (s := process_cpu_s(pid)) is not None}
        return cls(
            at=time.perf_counter(),
            client_s=time.process_time(),
            server_s=process_cpu_s(server_pid),
            server_wait_s=process_wait_s(server_pid),
            postgres_s=postgres,
            host=host_cpu_jiffies(),
        )


def cpu_report(
    before: CpuSnapshot,
    after: CpuSnapshot,
    *,
    events: int,
    server: str,
    prefix: str = "",
    backend_pids: set[int] | None = None,
) -> dict[str, float | None]:
    """Percent of one core over the interval (100 = one core busy all the time).

    ``server`` names the server process's entries: ``<server>_cpu_pct``, its CPU time per
    event, and ``<server>_runqueue_wait_pct``, the time it was ready to run but had no CPU
    (high means the machine, not the server, is the limit). With ``backend_pids``,
    PostgreSQL's CPU is split into those backends and everything else. ``other_cpu_pct`` is
    the host's busy time minus all of the above: other processes (a concurrent test run,
    say) and kernel time not charged to any process (loopback softirq).
    """
    wall = after.at - before.at

    def pct(seconds: float | None) -> float | None:
        return round(100 * seconds / wall, 1) if seconds is not None and wall > 0 else None

    def per_event_ms(seconds: float | None) -> float | None:
        return round(1000 * seconds / events, 3) if seconds is not None and events else None

    def delta(a: float | None, b: float | None) -> float | None:
        return b - a if a is not None and b is not None else None

    server_s = delta(before.server_s, after.server_s)
    client_s = after.client_s - before.client_s
    report = {
        f"{server}_cpu_pct": pct(server_s),
        f"{server}_cpu_ms_per_event": per_event_ms(server_s),
        f"{server}_runqueue_wait_pct": pct(delta(before.server_wait_s, after.server_wait_s)),
        f"{prefix}client_cpu_pct": pct(client_s),
    }
    accounted = (server_s or 0.0) + client_s
    if backend_pids is not None and after.postgres_s:
        ours = other = 0.0
        for pid, seconds in after.postgres_s.items():
            spent = seconds - before.postgres_s.get(pid, 0.0)
            if pid in backend_pids:
                ours += spent
            else:
                other += spent
        report[f"{prefix}postgres_backends_cpu_pct"] = pct(ours)
        report[f"{prefix}postgres_backends_cpu_ms_per_event"] = per_event_ms(ours)
        report[f"{prefix}postgres_other_cpu_pct"] = pct(other)
        accounted += ours + other
    elif backend_pids is not None:
        report[f"{prefix}postgres_backends_cpu_pct"] = None
        report[f"{prefix}postgres_backends_cpu_ms_per_event"] = None
        report[f"{prefix}postgres_other_cpu_pct"] = None
    if before.host and after.host and after.host[1] > before.host[1]:
        busy = (after.host[0] - before.host[0]) / (after.host[1] - before.host[1])
        busy_pct = 100 * busy * (os.cpu_count() or 1)
        report[f"{prefix}host_cpu_busy_pct"] = round(busy_pct, 1)
        report[f"{prefix}other_cpu_pct"] = round(max(busy_pct - 100 * accounted / wall, 0.0), 1)
    else:
        report[f"{prefix}host_cpu_busy_pct"] = None
        report[f"{prefix}other_cpu_pct"] = None
    return report


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
            try:
                answer = orjson.loads(raw)
            except orjson.JSONDecodeError:
                answer = {}
            load.codes[str(answer.get("responseCode"))] += 1
            if isinstance(answer.get("alertId"), int):
                load.alert_ids.append(answer["alertId"])

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    load.elapsed_s = time.perf_counter() - started
    return load


def client_session(clients: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=clients),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    )


# --- The daemon phase -----------------------------------------------------------------


async def create_source(session: aiohttp.ClientSession, base: str) -> str:
    async with session.post(
        base + "/api/alert-sources",
        json={"name": "bench", "integrationType": "API"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ) as response:
        text = await response.text()
        if response.status != 201:
            raise RuntimeError(f"POST /api/alert-sources: {response.status} {text}")
    return json.loads(text)["integrationKey"]


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


async def backend_pids(dsn: str, database: str) -> set[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()
    return {row["pid"] for row in rows}


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
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as data_dir:
        daemon = start_daemon(dsn, data_dir)
        try:
            async with client_session(args.clients) as session:
                await daemon.wait_ready(session, READY_TIMEOUT_S)
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
        except BaseException:
            progress(f"ilertd log (tail):\n{daemon.log_tail()}")
            raise
        finally:
            daemon.close()

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
    server = start_noop_server()
    try:
        async with client_session(args.clients) as session:
            await server.wait_ready(session, READY_TIMEOUT_S)
            url = server.url + "/api/events"
            await drive(session, url, warm_bodies, args.clients)
            cpu_before = CpuSnapshot.take(server.proc.pid)
            load = await drive(session, url, timed_bodies, args.clients)
            cpu_after = CpuSnapshot.take(server.proc.pid)
        await server.stop()
    except BaseException:
        progress(f"noop server log (tail):\n{server.log_tail()}")
        raise
    finally:
        server.close()
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
    with contextlib.ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ingest-"))
        script = os.path.join(data_dir, "events.lua")
        daemon = start_daemon(dsn, data_dir)
        try:
            async with client_session(4) as session:
                await daemon.wait_ready(session, READY_TIMEOUT_S)
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
        except BaseException:
            progress(f"ilertd log (tail):\n{daemon.log_tail()}")
            raise
        finally:
            daemon.close()

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
    server = start_noop_server()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as scratch:
            script = os.path.join(scratch, "events.lua")
            Path(script).write_text(wrk_script("ilk_noop", args.keys))
            async with client_session(4) as session:
                await server.wait_ready(session, READY_TIMEOUT_S)
            url = server.url + "/api/events"
            warm = await run_wrk(wrk, script, url, args.clients, WRK_WARMUP_S)
            cpu_before = wrk_snapshot(server.proc.pid)
            load = await run_wrk(wrk, script, url, args.clients, args.duration_s)
            cpu_after = wrk_snapshot(server.proc.pid)
        await server.stop()
    except BaseException:
        progress(f"noop server log (tail):\n{server.log_tail()}")
        raise
    finally:
        server.close()
    wrk_report_errors("noop", warm, load)
    return {
        "noop_handler_events_per_s": round(load.requests_per_s, 1),
        **wrk_summary(load, "noop_"),
        **cpu_report(
            cpu_before, cpu_after, events=load.answered, server="noop_server", prefix="noop_"
        ),
    }


async def refuse_if_in_use(admin_dsn: str, database: str) -> None:
    """Recreating drops with FORCE: a second run on the same database would cut the first's
    daemon off mid-load (and that daemon would then write into the new database)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()
    if pids:
        raise SystemExit(
            f"database {database} has {len(pids)} open connection(s) (backend pids "
            f"{', '.join(str(r['pid']) for r in pids[:8])}): another run is using it; "
            "wait for it, stop it, or pass --database"
        )


async def main(args: argparse.Namespace) -> dict[str, Any]:
    admin_dsn = resolve_dsn(args.dsn)
    await refuse_if_in_use(admin_dsn, args.database)
    dsn = await recreate_database(admin_dsn, args.database)
    progress(f"database {args.database} recreated")

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
        **daemon,
        **noop,
        "ratio": round(ratio, 3),
        **machine_facts(),
        **(await server_facts(dsn)),
        "database": args.database,
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
    parser.add_argument(
        "--dsn",
        default=None,
        help="server to use (its database only administers); default $ILERTD_BENCH_DSN or "
        "postgresql://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument(
        "--database", default="ilertd_bench_ingest", help="scratch database, recreated"
    )
    # Internal: the raw ceiling's server process runs this same file.
    parser.add_argument("--noop-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noop_server:
        return args
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
        print(json.dumps(asyncio.run(main(arguments)), indent=2))
