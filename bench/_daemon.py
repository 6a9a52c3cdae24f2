"""Helpers of the benchmarks that run the real daemon: subprocesses, CPU accounting, requests.

- Server processes (``python -m ilertd serve``, or a benchmark script re-run as a helper
  server such as a webhook receiver) with their output in a temporary file, shown when a
  run fails.
- CPU seconds of those processes, PostgreSQL's and the host's, read from ``/proc`` around a
  timed interval (Linux; null elsewhere), as ``bench/ingest.py`` documents them.
- For the benchmarks whose daemon sends something out (a webhook, an e-mail): timed POSTs
  that each open an alert (``Sends``), paced or closed-loop, and the recording helper
  process that notes each arrival (``recorder_app``, ``RecorderControl``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import aiohttp
import asyncpg
import orjson
from _common import progress, recreate_database, resolve_dsn
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
ADMIN_KEY = "ilk_bench_ingest_0123456789abcdefghijklmnopqrstuv"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
JSON_HEADERS = {"Content-Type": "application/json"}
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 60.0
#: How much of the daemon's log is scanned for the per-message counts (``log_summary``).
LOG_SCAN_CHARS = 50_000_000
LOG_EXCERPT_CHARS = 3000
#: Untimed requests whose arrivals ``warm_up`` waits for, at most this long.
WARMUP_TIMEOUT_S = 30.0
#: How often ``RecorderControl.drain`` asks for new records.
POLL_S = 0.2
#: After every expected arrival, ``RecorderControl.drain`` waits this long more for duplicates.
SETTLE_S = 1.0


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

    async def wait_ready(
        self,
        session: aiohttp.ClientSession,
        timeout: float = READY_TIMEOUT_S,
        path: str = "/readyz",
    ) -> None:
        """Poll ``GET <path>`` until it answers 200 (``/-/ready`` for Alertmanager, say)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited {self.proc.returncode} before it was ready:\n"
                    + self.log_tail()
                )
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with session.get(self.url + path) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name}: {path} not 200 after {timeout:.0f} s:\n{self.log_tail()}")

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


@contextlib.contextmanager
def log_on_failure(server: Server, label: str) -> Iterator[Server]:
    """While the block runs: on any exception, show ``<label> log (tail)``; killed at the end
    (stop it inside the block for a clean exit)."""
    try:
        yield server
    except BaseException:
        progress(f"{label} log (tail):\n{server.log_tail()}")
        raise
    finally:
        server.close()


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


def start_daemon(dsn: str, data_dir: str, settings: Mapping[str, str] | None = None) -> Server:
    """``python -m ilertd serve`` on ``dsn``; ``settings`` (ILERTD_*) add to ``daemon_env``."""
    port = free_port()
    env = daemon_env(dsn, port, data_dir)
    env.update(settings or {})
    return Server("ilertd", [sys.executable, "-m", "ilertd", "serve"], env, port)


def start_helper(name: str, script: str, mode: str, *extra: str) -> Server:
    """A benchmark script run again as a helper server: ``script <mode> --port N <extra>``."""
    port = free_port()
    argv = [sys.executable, str(Path(script).resolve()), mode, "--port", str(port), *extra]
    return Server(name, argv, dict(os.environ), port)


def add_daemon_env_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--daemon-env",
        action="append",
        default=[],
        metavar="ILERTD_NAME=VALUE",
        help="extra daemon setting, e.g. ILERTD_OUTBOUND_CONCURRENCY=128 (repeatable)",
    )


def daemon_env_settings(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, str]:
    """``--daemon-env`` items as a mapping; a usage error for one that is not a setting."""
    settings = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("ILERTD_"):
            parser.error(f"--daemon-env wants ILERTD_NAME=VALUE, got {item!r}")
        settings[name] = value
    return settings


def add_sender_args(
    parser: argparse.ArgumentParser, *, warmup: int, warmup_help: str, drain_help: str
) -> None:
    """``--clients``, ``--warmup`` and ``--drain-timeout-s``, of a benchmark that opens alerts
    and waits for what the daemon sends out for them."""
    parser.add_argument(
        "--clients", type=int, default=64, help="concurrent senders / HTTP connections"
    )
    parser.add_argument("--warmup", type=int, default=warmup, help=warmup_help)
    parser.add_argument("--drain-timeout-s", type=float, default=30.0, help=drain_help)


def client_session(clients: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=clients),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    )


# --- The scratch database -------------------------------------------------------------


async def other_backends(dsn: str, database: str) -> list[int]:
    """Pids of the backends connected to ``database``, other than the one asking."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


async def backend_pids(dsn: str, database: str) -> set[int]:
    return set(await other_backends(dsn, database))


async def refuse_if_in_use(admin_dsn: str, database: str) -> None:
    """Recreating drops with FORCE: a second run on the same database would cut the first's
    daemon off mid-load (and that daemon would then write into the new database)."""
    pids = await other_backends(admin_dsn, database)
    if pids:
        raise SystemExit(
            f"database {database} has {len(pids)} open connection(s) (backend pids "
            f"{', '.join(str(pid) for pid in pids[:8])}): another run is using it; "
            "wait for it, stop it, or pass --database"
        )


async def fresh_database(dsn_flag: str | None, database: str) -> str:
    """Refuse a database in use, then drop and recreate it; a DSN pointing at it."""
    admin_dsn = resolve_dsn(dsn_flag)
    await refuse_if_in_use(admin_dsn, database)
    dsn = await recreate_database(admin_dsn, database)
    progress(f"database {database} recreated")
    return dsn


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


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants: the daemon runs its engine as a child process, whose
    CPU is the daemon's as much as the HTTP process's is."""
    parents: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{entry.name}/stat") as f:
                    ppid = int(f.read().rpartition(")")[2].split()[1])
                parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, ()))
    return tree


def tree_cpu_s(pid: int) -> float | None:
    """CPU seconds of ``pid`` and its descendants (None if ``pid`` is gone)."""
    own = process_cpu_s(pid)
    if own is None:
        return None
    return own + sum(s for c in process_tree(pid)[1:] if (s := process_cpu_s(c)) is not None)


def tree_wait_s(pid: int) -> float | None:
    """Run-queue wait of ``pid`` and its descendants (None if ``pid`` is gone)."""
    own = process_wait_s(pid)
    if own is None:
        return None
    return own + sum(s for c in process_tree(pid)[1:] if (s := process_wait_s(c)) is not None)


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
    #: CPU seconds of a helper process (a receiver the daemon sends to), if one is watched.
    helper_s: float | None = None

    @classmethod
    def take(cls, server_pid: int, helper_pid: int | None = None) -> CpuSnapshot:
        postgres = {pid: s for pid in postgres_pids() if (s := process_cpu_s(pid)) is not None}
        return cls(
            at=time.perf_counter(),
            client_s=time.process_time(),
            server_s=tree_cpu_s(server_pid),
            server_wait_s=tree_wait_s(server_pid),
            postgres_s=postgres,
            host=host_cpu_jiffies(),
            helper_s=None if helper_pid is None else process_cpu_s(helper_pid),
        )


def cpu_report(
    before: CpuSnapshot,
    after: CpuSnapshot,
    *,
    events: int,
    server: str,
    prefix: str = "",
    backend_pids: set[int] | None = None,
    helper: str | None = None,
) -> dict[str, float | None]:
    """Percent of one core over the interval (100 = one core busy all the time).

    ``server`` names the server process's entries, its child processes (the engine)
    included: ``<server>_cpu_pct``, its CPU time per event, and
    ``<server>_runqueue_wait_pct``, the time it was ready to run but had no CPU (high means
    the machine, not the server, is the limit). With ``backend_pids``,
    PostgreSQL's CPU is split into those backends and everything else. ``other_cpu_pct`` is
    the host's busy time minus all of the above: other processes (a concurrent test run,
    say) and kernel time not charged to any process (loopback softirq). ``helper`` names
    ``<helper>_cpu_pct``, the helper process's (counted in ``other_cpu_pct`` too).
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
    if helper is not None:
        report[f"{prefix}{helper}_cpu_pct"] = pct(delta(before.helper_s, after.helper_s))
    return report


def cpu_pct(before: float | None, after: float | None, seconds: float) -> float | None:
    """CPU seconds from ``before`` to ``after`` as percent of one core over ``seconds``."""
    if before is None or after is None or seconds <= 0:
        return None
    return round(100 * (after - before) / seconds, 1)


async def timed_with_cpu(
    work: Awaitable[float], helper: Server
) -> tuple[float, float | None, float | None]:
    """Await ``work``, which returns the seconds it took; return those and this process's and
    ``helper``'s CPU over them, as percent of one core."""
    client_before = time.process_time()
    helper_before = process_cpu_s(helper.proc.pid)
    elapsed = await work
    client_after = time.process_time()
    helper_after = process_cpu_s(helper.proc.pid)
    return (
        elapsed,
        cpu_pct(client_before, client_after, elapsed),
        cpu_pct(helper_before, helper_after, elapsed),
    )


# --- Talking to the daemon ------------------------------------------------------------


async def api_post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    """POST as the admin; the 201's JSON body (anything else raises)."""
    async with session.post(url, json=body, headers=AUTH) as response:
        text = await response.text()
        if response.status != 201:
            raise RuntimeError(f"POST {url}: {response.status} {text}")
    return json.loads(text)


def event_answer(raw: bytes, codes: collections.Counter[str]) -> Any:
    """The JSON answer to ``POST /api/events`` ({} if none), its responseCode counted."""
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        answer = {}
    codes[str(answer.get("responseCode"))] += 1
    return answer


def alert_events(
    integration_key: str, prefix: str, count: int, priority: str | None = None
) -> list[bytes]:
    """ALERT events with an alert key each (``<prefix>-<k>``), so every one opens an alert of
    its own; with ``priority`` (HIGH, LOW) set on each, else the source's default."""
    return [
        orjson.dumps(
            {
                "integrationKey": integration_key,
                "eventType": "ALERT",
                "summary": f"Disk usage above 90% on host db-{k}",
                "details": "Filesystem /var/lib/postgresql is filling up.",
                "alertKey": f"{prefix}-{k}",
                **({"priority": priority} if priority else {}),
            }
        )
        for k in range(count)
    ]


def log_summary(server: Server) -> dict[str, Any]:
    """Count the server's log lines by level and message (JSON lines; others as such)."""
    counts: collections.Counter[str] = collections.Counter()
    first_error = ""
    for line in server.log_tail(LOG_SCAN_CHARS).splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            counts["(not JSON)"] += 1
            continue
        if isinstance(entry, dict):
            level = entry.get("level", "?")
            counts[f"{level}: {entry.get('event', '?')}"] += 1
            if not first_error and level in ("error", "critical"):
                first_error = line[-LOG_EXCERPT_CHARS:]
    summary: dict[str, Any] = {"counts": dict(counts.most_common(10))}
    if first_error:
        summary["first_error"] = first_error
    return summary


# --- Timed requests that each open an alert -------------------------------------------


async def in_parallel(count: int, workers: int, one: Callable[[int], Awaitable[None]]) -> float:
    """``one(i)`` for every i in ``range(count)``, from ``workers`` tasks that each take the
    next i as soon as their last one is done; the seconds it all took."""
    work = iter(range(count))  # shared: next() never awaits

    async def worker() -> None:
        for i in work:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - started


@dataclass
class Sends(ABC):
    """Per request: when it was due, sent and acknowledged (wall clock), and the id of the
    alert it opened. A subclass says what a request's answer must be (``alert_id``)."""

    scheduled: list[float]
    sent: list[float]
    acked: list[float]
    alert_ids: list[str | None]
    lateness: list[float]
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    headers: ClassVar[dict[str, str]] = JSON_HEADERS

    @classmethod
    def empty(cls: type[S], n: int) -> S:
        nan = math.nan
        return cls([nan] * n, [nan] * n, [nan] * n, [None] * n, [nan] * n)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:300])

    @abstractmethod
    def alert_id(self, status: int, raw: bytes) -> str | None:
        """The alert id an answer names, or None after noting why it names none."""

    async def post(self, session: aiohttp.ClientSession, url: str, body: bytes, i: int) -> None:
        self.sent[i] = time.time()
        try:
            async with session.post(url, data=body, headers=self.headers) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.error(f"{type(exc).__name__}: {exc}")
            return
        answered = time.time()
        self.statuses[status] += 1
        alert_id = self.alert_id(status, raw)
        if alert_id is not None:
            self.acked[i] = answered
            self.alert_ids[i] = alert_id

    def acknowledged(self) -> dict[str, int]:
        """alert id -> index of the request that opened it."""
        return {a: i for i, a in enumerate(self.alert_ids) if a is not None}

    @staticmethod
    def valid(values: list[float]) -> list[float]:
        return [t for t in values if not math.isnan(t)]

    @property
    def first_sent(self) -> float:
        return min(self.valid(self.sent))

    @property
    def first_acked(self) -> float:
        return min(self.valid(self.acked))

    @property
    def last_acked(self) -> float:
        return max(self.valid(self.acked))


S = TypeVar("S", bound=Sends)


async def paced_load(
    session: aiohttp.ClientSession,
    url: str,
    kind: type[S],
    bodies: list[bytes],
    rate: float,
    clients: int,
) -> S:
    """Open loop: request i is due at start + i/rate; ``clients`` tasks take the next due one."""
    loop = asyncio.get_running_loop()
    sends = kind.empty(len(bodies))
    start = loop.time() + 0.1
    wall_offset = time.time() - loop.time()
    for i in range(len(bodies)):
        sends.scheduled[i] = start + i / rate + wall_offset

    async def send(i: int) -> None:
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        sends.lateness[i] = loop.time() - due
        await sends.post(session, url, bodies[i], i)

    await in_parallel(len(bodies), clients, send)
    return sends


async def closed_load(
    session: aiohttp.ClientSession, url: str, kind: type[S], bodies: list[bytes], clients: int
) -> S:
    """Closed loop: ``clients`` tasks post the next body as soon as their last is answered."""
    sends = kind.empty(len(bodies))
    await in_parallel(len(bodies), clients, lambda i: sends.post(session, url, bodies[i], i))
    return sends


# --- A recording helper process and this script's side of it --------------------------


def recorder_app(records: list[Any], sample: dict[str, Any]) -> web.Application:
    """The HTTP side of a helper process that records what the daemon sends it (one tuple
    per arrival, the alert id second): ``GET /records?since=N``, ``GET /count``, ``GET
    /sample`` (one arrival kept for the raw ceiling to replay), ``POST /reset`` (forgets the
    records) and ``GET /readyz``. The caller adds the route (or server) that records."""

    async def get_records(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.Response(body=orjson.dumps(records[since:]), content_type="application/json")

    async def count(_request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps({"count": len(records)}))

    async def get_sample(_request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(sample), content_type="application/json")

    async def reset(_request: web.Request) -> web.Response:
        records.clear()
        return web.Response(status=204)

    async def ready(_request: web.Request) -> web.Response:
        return web.Response(status=200, text="ok")

    app = web.Application()
    app.router.add_get("/records", get_records)
    app.router.add_get("/count", count)
    app.router.add_get("/sample", get_sample)
    app.router.add_post("/reset", reset)
    app.router.add_get("/readyz", ready)
    return app


class RecorderControl:
    """This script's side of a recording helper: reset, fetch records, wait for arrivals."""

    #: For messages: the helper, what arrives ("no new <unit>"), and the arrived ones.
    name = "recorder"
    unit = "message"
    arrived = "received"
    #: What each acknowledged alert owes ("got <owed>").
    owed = "a message"

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def reset(self) -> None:
        async with self.session.post(self.url + "/reset") as response:
            if response.status != 204:
                raise RuntimeError(f"{self.name} /reset: {response.status}")

    async def records(self, since: int = 0) -> list[Any]:
        async with self.session.get(self.url + "/records", params={"since": since}) as response:
            return [tuple(r) for r in orjson.loads(await response.read())]

    async def count(self) -> int:
        async with self.session.get(self.url + "/count") as response:
            return orjson.loads(await response.read())["count"]

    async def sample(self) -> dict[str, Any]:
        async with self.session.get(self.url + "/sample") as response:
            return orjson.loads(await response.read())

    async def drain(
        self,
        expected: set[str],
        label: str,
        *,
        idle_timeout_s: float | None = None,
        deadline: float | None = None,
    ) -> tuple[list[Any], float]:
        """Poll until every expected alert id arrived, or nothing new for ``idle_timeout_s``,
        or ``deadline`` (``time.time()``) passed; then ``SETTLE_S`` more for duplicates.
        Returns the records and when all had arrived (or the drain gave up), as
        ``time.time()``."""
        records: list[Any] = []
        seen: set[str] = set()
        last_progress = last_report = time.monotonic()
        while True:
            new = await self.records(len(records))
            records.extend(new)
            before = len(seen)
            seen.update(r[1] for r in new if r[1] in expected)
            now = time.monotonic()
            if len(seen) > before:
                last_progress = now
            if len(seen) >= len(expected):
                break
            missing = f"{len(expected) - len(seen)} of {len(expected)} never arrived"
            if idle_timeout_s is not None and now - last_progress >= idle_timeout_s:
                progress(f"{label}: no new {self.unit} for {idle_timeout_s:.0f} s; {missing}")
                break
            if deadline is not None and time.time() >= deadline:
                progress(f"{label}: {missing}")
                break
            if now - last_report >= 5:
                progress(f"{label}: {len(seen)}/{len(expected)} {self.arrived}")
                last_report = now
            await asyncio.sleep(POLL_S)
        done_at = time.time()
        await asyncio.sleep(SETTLE_S)
        records.extend(await self.records(len(records)))
        return records, done_at


async def warm_up(
    session: aiohttp.ClientSession,
    url: str,
    kind: type[Sends],
    bodies: list[bytes],
    clients: int,
    recorder: RecorderControl,
    **limit: float,
) -> int:
    """Untimed requests, closed loop; wait for what they owe (``limit``: the drain's). Raises
    if nothing arrives: nothing to measure. Clears the recorder; the arrivals counted."""
    sends = await closed_load(session, url, kind, bodies, clients)
    expected = set(sends.acknowledged())
    if not expected:
        raise RuntimeError(f"warm-up: no alert opened: {sends.error_samples}")
    records, _ = await recorder.drain(expected, "warm-up", **limit)
    arrived = {r[1] for r in records} & expected
    if not arrived:
        raise RuntimeError(
            f"warm-up: none of {len(expected)} acknowledged alerts got {recorder.owed} within "
            f"{WARMUP_TIMEOUT_S:.0f} s; the daemon does not send them"
        )
    await recorder.reset()
    return len(arrived)
